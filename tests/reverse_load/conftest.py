"""Reverse-load fixtures: DuckDB / Postgres source tables and a client for the sandbox."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent

# The operator test imports Airflow; give it a home of its own unless another area's conftest already did.
if "airflow" not in sys.modules and "AIRFLOW_HOME" not in os.environ:
    _home = Path(tempfile.mkdtemp(prefix="outlit-rl-airflow-"))
    os.environ["AIRFLOW_HOME"] = str(_home)
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_home / 'airflow.db'}"
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")

import rl_helpers  # noqa: E402


@pytest.fixture
def client(fresh_sandbox: Any) -> Iterator[Any]:
    from outlit_core.client import OutlitClient

    with OutlitClient(
        api_key=fresh_sandbox.api_key, public_key=fresh_sandbox.public_key, base_url=fresh_sandbox.base_url
    ) as c:
        yield c


@pytest.fixture
def duckdb_file(tmp_path: Path) -> Path:
    import duckdb

    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(rl_helpers.CREATE)
        con.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?)", rl_helpers.account_rows())
    return path
