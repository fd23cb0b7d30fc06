# Every target bootstraps .venv from pyproject.toml first.
# The first interpreter that actually runs and is 3.11+ (a pyenv shim may exist without its version).
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-postgres test-sqlite bench lint translations

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/followup run

# The whole suite on PostgreSQL + Redis when they answer (else SQLite + embedded Redis),
# then again on SQLite with the embedded redis-server.
test: test-postgres test-sqlite

test-postgres: $(STAMP)
	$(BIN)/pytest

test-sqlite: $(STAMP)
	FOLLOWUP_TEST_DB=sqlite FOLLOWUP_TEST_REDIS=embedded $(BIN)/pytest -m "not browser"

bench: $(STAMP)
	$(BIN)/python -m bench.drain

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# After changing user-facing text: re-extract, merge into each catalog, translate what
# `pybabel update` marks new, then compile (the .mo files are committed).
CATALOGS := followup/translations
translations: $(STAMP)
	$(BIN)/pybabel extract -F $(CATALOGS)/babel.cfg -k _l -k translatable --no-location \
		--omit-header --sort-output -o $(CATALOGS)/messages.pot .
	$(BIN)/pybabel update -i $(CATALOGS)/messages.pot -d $(CATALOGS)
	$(BIN)/pybabel compile -d $(CATALOGS)
