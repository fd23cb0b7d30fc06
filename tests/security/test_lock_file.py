"""requirements.lock, which `make` installs with --require-hashes: every dependency that
pyproject.toml names (the dev extra and the build backend too) is pinned there at a version its
range admits, with the hashes of its files, and Jinja2 at a release without the known sandbox
escapes. A dependency added to pyproject.toml without `make lock` fails here."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(?:\s*;\s*([^\\]+?))?\s*\\?$")


def locked() -> dict[str, dict]:
    """{name: {"version", "marker", "hashes"}} of every pin in the lock."""
    pins: dict[str, dict] = {}
    current = None
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if found := PIN.match(line):
            name, version, marker = found.groups()
            current = pins[canonicalize_name(name)] = {
                "version": Version(version), "marker": marker, "hashes": []
            }  # fmt: skip
        elif current is not None and (digest := re.search(r"--hash=sha256:([0-9a-f]{64})", line)):
            current["hashes"].append(digest.group(1))
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    names = [
        *project["project"]["dependencies"],
        *project["project"]["optional-dependencies"]["dev"],
        *project["build-system"]["requires"],
    ]
    return [Requirement(name) for name in names]


def test_every_locked_package_has_hashes():
    pins = locked()
    assert len(pins) > 50
    assert [name for name, pin in pins.items() if not pin["hashes"]] == []


@pytest.mark.parametrize("requirement", declared(), ids=str)
def test_each_dependency_is_pinned_in_its_range(requirement):
    pin = locked().get(canonicalize_name(requirement.name))
    assert pin is not None, f"{requirement.name} is not in requirements.lock: run `make lock`"
    assert requirement.specifier.contains(pin["version"], prereleases=True), (
        f"{requirement.name}=={pin['version']} is outside {requirement.specifier}: `make lock`"
    )
    if requirement.marker:  # kept, so pip skips it where pyproject.toml says to
        assert pin["marker"] and requirement.marker.evaluate() == eval_marker(pin["marker"])


def eval_marker(marker: str) -> bool:
    return Requirement(f"x; {marker}").marker.evaluate()


def test_jinja2_is_past_the_sandbox_escapes():
    """3.1.5 and 3.1.6 fixed sandbox escapes through str.format and the |attr filter."""
    assert locked()["jinja2"]["version"] >= Version("3.1.6")
    [jinja] = [r for r in declared() if canonicalize_name(r.name) == "jinja2"]
    assert not jinja.specifier.contains("3.1.5")
