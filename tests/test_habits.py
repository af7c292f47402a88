"""Project habits (issue 13 item 9) that a later change could quietly undo."""

from __future__ import annotations

import re
from pathlib import Path

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
