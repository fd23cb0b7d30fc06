"""The test tooling's layout: helpers shared by tests live in tests/support, so no module under
tests/ or bench/ imports a test module or a conftest (fixtures are found by pytest, not
imported), and the product (followup, surveys, workers) never imports tests or bench."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("followup", "surveys", "workers")


def imported_modules(path: Path) -> set[str]:
    """Every module an import statement in the file names (also imports inside functions);
    `from package import name` counts as package.name too, since the name may be a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def is_test_module(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "tests" and (parts[-1].startswith("test_") or parts[-1] == "conftest")


def python_files(*tops: str) -> list[Path]:
    return sorted(path for top in tops for path in (ROOT / top).rglob("*.py"))


def offenders(tops: tuple[str, ...], forbidden) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in python_files(*tops)
        for module in sorted(imported_modules(path))
        if forbidden(module)
    ]


def test_no_test_or_bench_module_imports_a_test_module_or_a_conftest():
    assert offenders(("tests", "bench"), is_test_module) == []


def test_the_product_imports_neither_tests_nor_bench():
    def outside(module: str) -> bool:
        return module.split(".")[0] in ("tests", "bench")

    assert offenders(PRODUCT, outside) == []


@pytest.mark.parametrize(
    "source, breaks",
    [
        ("from tests.app.test_outbox import close", True),
        ("from tests.conftest import csrf_token", True),
        ("from tests.app import test_outbox", True),
        ("def f():\n    from tests.integration.conftest import wait_until", True),
        ("import tests.browser.test_survey_in_browser", True),
        ("from tests.support.cases import close", False),
        ("from tests.support import backends", False),
    ],
)
def test_the_check_sees_what_it_should(tmp_path, source, breaks):
    module = tmp_path / "test_example.py"
    module.write_text(source + "\n")
    assert any(is_test_module(m) for m in imported_modules(module)) is breaks
