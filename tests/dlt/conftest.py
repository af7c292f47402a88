"""dlt test setup: make the shared helper module importable and keep dlt away from the user's ~/.dlt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_dlt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # dlt reads ./.dlt and ~/.dlt; a developer's own Outlit config must not leak into the tests
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt_data"))
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "WARNING")
    for name in (
        "SOURCES__OUTLIT__API_KEY",
        "SOURCES__OUTLIT__BASE_URL",
        "OUTLIT_API_KEY",
        "OUTLIT_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture(autouse=True)
def _no_airflow_variable_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    # With Airflow installed dlt also asks Airflow Variables for each config value; outside a task that
    # only costs time (and logs errors against the uninitialised test metadata DB).
    monkeypatch.setenv("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")
