"""Airflow Assets for what Outlit tasks write, so DAGs can be scheduled on them (data-aware scheduling).

Names are built from what a DAG file knows when it is parsed (connection ids, schema and table names, the
reverse-load sync name), never from a connection lookup, so declaring an outlet costs nothing at parse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk import Asset

OUTLIT_EVENTS_URI = "outlit://ingest/{name}"


def warehouse_table_asset(conn_id: str, schema: str, table: str) -> Asset:
    """A warehouse table written by an extract or read by a reverse-load: ``<conn_id>.<schema>.<table>``."""
    from airflow.sdk import Asset

    return Asset(name=f"{conn_id}.{schema}.{table}", group="outlit")


def outlit_events_asset(sync_name: str) -> Asset:
    """The Outlit ingest events one reverse-load sync (mapping ``name``) or ingest task sends."""
    from airflow.sdk import Asset

    return Asset(
        name=f"outlit.events.{sync_name}", uri=OUTLIT_EVENTS_URI.format(name=sync_name), group="outlit"
    )
