"""Snowflake without an account: fakesnow's server mode, with the test-only shims of fakesnow_shims.py."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest


@pytest.fixture(scope="session")
def snowflake_server() -> Iterator[dict[str, Any]]:
    """Connection keyword arguments for snowflake.connector.connect() to a fakesnow server on loopback."""
    fakesnow = pytest.importorskip(
        "fakesnow", reason="fakesnow (dev extra) emulates Snowflake for these tests"
    )
    if isinstance(fakesnow.server, ModuleType):  # importing fakesnow.server hides fakesnow.server()
        importlib.reload(fakesnow)
    start = fakesnow.server
    server_module = importlib.import_module("fakesnow.server")
    from fakesnow_shims import FakesnowShims

    original = server_module.app
    server_module.app = FakesnowShims(original)
    try:
        with start() as connection_kwargs:
            yield connection_kwargs
    finally:
        server_module.app = original


@pytest.fixture
def people_database(snowflake_server: dict[str, Any], request: pytest.FixtureRequest) -> str:
    """A database of this test's own holding ANALYTICS.PEOPLE (people.py)."""
    connector = pytest.importorskip("snowflake.connector")
    from people import CREATE, insert_sql

    database = f"DB_{request.node.name.upper()[:40]}"
    with connector.connect(**snowflake_server, database=database, schema="ANALYTICS") as con:
        cur = con.cursor()
        cur.execute(CREATE)
        cur.execute(insert_sql())
    return database


@pytest.fixture
def connect(snowflake_server: dict[str, Any], people_database: str) -> Callable[[], Any]:
    """Opens a new connector connection to the test's database, as ``Warehouse(connect, ...)`` wants."""
    connector = pytest.importorskip("snowflake.connector")

    def connect() -> Any:
        return connector.connect(**snowflake_server, database=people_database, schema="ANALYTICS")

    return connect
