"""The import contracts `make lint` runs: the project keeps them, and they break on a forbidden
import (a small package in a temporary folder, checked by the real lint-imports)."""

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

CONFIG = """
[tool.importlinter]
root_packages = ["shop"]
contract_types = ["domain: tests.support.import_contracts.DomainContract"]

[[tool.importlinter.contracts]]
name = "Blueprints are independent"
type = "independence"
modules = ["shop.api", "shop.admin"]

[[tool.importlinter.contracts]]
name = "The domain"
type = "domain"
containers = ["shop"]
outside = ["shop.api", "shop.admin", "shop.models"]
above = ["shop.api", "shop.admin"]
below = ["shop.models"]
"""

CLEAN = {
    "shop/__init__.py": "",
    "shop/models.py": "TABLES = []\n",
    "shop/orders.py": "from shop import models\n",
    "shop/billing.py": "from shop import orders\n",
    "shop/api.py": "from shop import billing\n",
    "shop/admin.py": "from shop import orders\n",
}


def lint(tmp_path: Path, changes: dict[str, str]) -> subprocess.CompletedProcess:
    for name, text in (CLEAN | changes).items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    (tmp_path / "pyproject.toml").write_text(CONFIG)
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tmp_path / "pyproject.toml")],
        cwd=tmp_path,
        env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_clean_layout_keeps_the_contracts(tmp_path):
    result = lint(tmp_path, {})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_a_blueprint_importing_another_breaks_them(tmp_path):
    result = lint(tmp_path, {"shop/admin.py": "from shop import api\n"})
    assert result.returncode == 1
    assert "shop.admin is not allowed to import shop.api" in result.stdout


def test_a_domain_cycle_breaks_them(tmp_path):
    result = lint(tmp_path, {"shop/orders.py": "from shop import billing, models\n"})
    assert result.returncode == 1
    assert "domain modules import each other: shop.billing, shop.orders" in result.stdout


def test_an_import_inside_a_domain_function_breaks_them(tmp_path):
    hidden = """
        def total():
            from shop import billing

            return billing
    """
    result = lint(tmp_path, {"shop/orders.py": hidden})
    assert result.returncode == 1
    assert "import inside a function in the domain: shop.orders:3" in result.stdout


def test_the_domain_importing_a_blueprint_breaks_them(tmp_path):
    result = lint(tmp_path, {"shop/billing.py": "from shop import admin, orders\n"})
    assert result.returncode == 1
    assert "an import up the layers: shop.billing -> shop.admin" in result.stdout


def test_a_model_importing_the_domain_breaks_them(tmp_path):
    result = lint(tmp_path, {"shop/models.py": "from shop import billing\n"})
    assert result.returncode == 1
    assert "an import up the layers: shop.models -> shop.billing" in result.stdout
