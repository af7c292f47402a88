"""The source's README (verified-source layout) and docs/dlt.md name every setting the source takes."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from dlt_sources.outlit import outlit_source

REPO = Path(__file__).resolve().parents[2]
README = REPO / "dlt_sources" / "outlit" / "README.md"
GUIDE = REPO / "docs" / "dlt.md"
# code-only arguments, not configuration keys
NOT_CONFIG = {"client"}


def _settings() -> set[str]:
    return set(inspect.signature(outlit_source).parameters) - NOT_CONFIG


def _documented(text: str) -> set[str]:
    # the first cell of each table row, where one or several `keys` are listed
    return {key for cell in re.findall(r"^\| ([^|]+) \|", text, re.M) for key in re.findall(r"`(\w+)`", cell)}


def test_readme_beside_the_source_lists_every_config_key_and_links_the_guide() -> None:
    text = README.read_text()
    missing = _settings() - _documented(text)
    assert not missing, f"{README.name} does not list the setting(s) {sorted(missing)}"
    assert "(../../docs/dlt.md)" in text, "the README should link docs/dlt.md for column types"
    assert (README.parent / "../../docs/dlt.md").resolve() == GUIDE


def test_guide_settings_table_lists_every_setting() -> None:
    missing = _settings() - _documented(GUIDE.read_text())
    assert not missing, f"docs/dlt.md does not document the setting(s) {sorted(missing)}"
