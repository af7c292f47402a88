"""Project habits (issue 13 item 9) that a later change could quietly undo."""

from __future__ import annotations

import re
import tomllib
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_no_test_module_edits_sys_path() -> None:
    # Helper modules import by name through pytest's `pythonpath` setting (pyproject.toml), not path hacks.
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"sys\.path\.(insert|append|extend)|sys\.path\s*[+]?=", line)
    ]
    assert offenders == []


def test_every_shipped_package_is_typed_and_type_checked() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    # the wheel takes every file of these folders, so the PEP 561 marker beside __init__.py ships with it
    assert [p for p in packages if not (ROOT / p / "py.typed").is_file()] == []
    checked = config["tool"]["mypy"]["files"]
    assert set(packages) <= set(checked)
    assert "mypy" in (ROOT / "Makefile").read_text().split("\nlint:")[1].split("\n\n")[0]


def test_deprecations_are_filtered_by_name_and_ours_fail_the_test() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    filters = config["tool"]["pytest"]["ini_options"]["filterwarnings"]
    # no blanket ignore: a deprecation nobody named shows in the warnings summary
    assert [f for f in filters if re.fullmatch(r"ignore::\w*Warning", f)] == []
    for package in ("outlit_core", "outlit_provider", "outlit_cli", "dlt_sources", "outlit_sandbox"):
        with pytest.raises(DeprecationWarning, match="old way"):
            warnings.warn_explicit("old way", DeprecationWarning, f"{package}/x.py", 1, module=f"{package}.x")
