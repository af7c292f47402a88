"""SqlToOutlitOperator: send rows from any Airflow SQL connection to Outlit as ingest events, exactly once."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.common.sql.operators.sql import BaseSQLOperator

from outlit_core.reverse_load import (
    EventMapping,
    MappingError,
    Warehouse,
    load_mapping,
    run_reverse_load,
)
from outlit_core.reverse_load.runner import DEFAULT_MAX_IN_FLIGHT
from outlit_core.reverse_load.warehouse import check_dialect
from outlit_provider.hooks.outlit import OutlitHook
from outlit_provider.operators.base import StopOnKill

if TYPE_CHECKING:
    from airflow.sdk import Context

# Airflow connection types whose SQLAlchemy dialect name differs from the type.
_DIALECTS = {"postgres": "postgresql", "gcpbigquery": "bigquery", "google_cloud_platform": "bigquery"}


class SqlToOutlitOperator(StopOnKill, BaseSQLOperator):
    """Read ``table`` (or the rows of ``sql``) through an Airflow SQL connection and send each row to
    Outlit as an ingest event described by ``mapping``.

    Only rows that are new or changed since their last delivery are sent (``mode="changed"``); the
    delivery ledger, dead letters and run log are tables in the same database (``_outlit_sync_ledger``,
    ``_outlit_rejected``, ``_outlit_sync_runs``), so task retries and reruns never send a delivered row
    twice. Returns the run's counts (``read``, ``sent``, ``unchanged``, ``rejected``, ``retries``, ...).

    :param conn_id: an Airflow connection whose hook is a common-sql ``DbApiHook`` and whose database can
        hold the bookkeeping tables: Postgres, Snowflake, SQLite, DuckDB, MySQL / MariaDB or SQL Server
        (``SUPPORTED_DIALECTS``). Others (BigQuery, Redshift, Oracle, ...) are refused before anything is
        opened or sent. ``database`` and ``hook_params`` are passed to that hook as in other SQL operators.
    :param sql: a SELECT whose rows to send (templated). Give either ``sql`` or ``table``.
    :param table: a ``[schema.]table`` to send (templated).
    :param mapping: the row -> event mapping: a dict, or a path to a JSON/YAML file (templated); a
        relative path is looked up in the DAG's folder and its ``template_searchpath``.
    :param outlit_conn_id: the ``outlit`` connection (needs the public key extra).
    :param mode: ``"changed"`` (default) or ``"all"``. ``"all"`` resends every row with the uuid it was
        delivered under, so Outlit drops the repeats; it cannot restore events lost on Outlit's side.
    :param fresh_uuids: with ``mode="all"``, a deliberate full re-send: every event gets a new uuid
        (templated). ``True`` derives them from each try's run id, so a task retry would store the rows the
        failed try delivered a second time; a label such as ``"{{ run_id }}"`` derives them from the label,
        so a retry repeats them and Outlit deduplicates what already arrived.
    :param bookkeeping_schema: schema for the ``_outlit_*`` tables (default: the connection's).
    :param retry_rejected: try again rows an earlier run dead-lettered, even if unchanged.
    :param fail_on_rejected: fail the task (after recording everything) if any row was dead-lettered.

    When the task is killed (``on_kill``), the run stops between batches: the requests in flight finish
    and are recorded, nothing new is sent, the run is logged as ``stopped`` and the task fails. The next
    try sends exactly the rows that were not recorded.
    """

    template_fields: Sequence[str] = (
        *BaseSQLOperator.template_fields,
        "sql",
        "table",
        "mapping",
        "mode",
        "bookkeeping_schema",
        "fresh_uuids",
    )
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"sql": "sql", "mapping": "json"}
    ui_color = "#f0e4ff"

    def __init__(
        self,
        *,
        conn_id: str,
        mapping: Mapping[str, Any] | str | EventMapping,
        sql: str | None = None,
        table: str | None = None,
        outlit_conn_id: str = OutlitHook.default_conn_name,
        mode: str = "changed",
        bookkeeping_schema: str | None = None,
        chunk_size: int = 5_000,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        retry_rejected: bool = False,
        fail_on_rejected: bool = False,
        fresh_uuids: bool | str = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=conn_id, **kwargs)
        if (sql is None) == (table is None):
            raise ValueError(f"{type(self).__name__}: pass exactly one of sql= or table=")
        if mode not in ("changed", "all"):
            raise ValueError(f"{type(self).__name__}: mode must be 'changed' or 'all', got {mode!r}")
        self.sql = sql
        self.table = table
        self.mapping = (
            mapping.model_dump(exclude_defaults=True) if isinstance(mapping, EventMapping) else mapping
        )
        self.outlit_conn_id = outlit_conn_id
        self.mode = mode
        self.bookkeeping_schema = bookkeeping_schema
        self.chunk_size = chunk_size
        self.max_in_flight = max_in_flight
        self.retry_rejected = retry_rejected
        self.fail_on_rejected = fail_on_rejected
        self.fresh_uuids = fresh_uuids

    def execute(self, context: Context) -> dict[str, Any]:
        # a bad mapping fails before any connection is opened
        mapping = load_mapping(self._mapping_source())
        self._fresh_stop_event()
        warehouse = self._warehouse()
        outlit = OutlitHook(self.outlit_conn_id)
        try:
            with outlit.get_client() as client:
                result = run_reverse_load(
                    warehouse,
                    mapping,
                    table=self.table,
                    sql=self.sql,
                    mode=self.mode,  # type: ignore[arg-type]
                    client=client,
                    chunk_size=self.chunk_size,
                    max_in_flight=self.max_in_flight,
                    retry_rejected=self.retry_rejected,
                    stop=self.stop_event,  # on_kill: in-flight batches finish and are recorded
                    fresh_uuids=self.fresh_uuids,
                )
        finally:
            warehouse.close()
        self._lineage_run = (result.sync_name, result.sent)
        counts = result.as_dict()
        self.log.info(
            "reverse load %s: read %d, sent %d, unchanged %d, rejected %d, retries %d",
            result.sync_name,
            result.read,
            result.sent,
            result.unchanged,
            result.rejected,
            result.retries,
        )
        if result.status == "stopped":
            raise RuntimeError(
                f"reverse load {result.sync_name!r} was stopped (on_kill) after sending {result.sent} "
                f"event(s), all recorded in the ledger (run_id '{result.run_id}'); a rerun sends the rest"
            )
        if self.fail_on_rejected and result.rejected:
            raise RuntimeError(
                f"{result.rejected} row(s) were dead-lettered; see _outlit_rejected where run_id = "
                f"'{result.run_id}' (everything else was delivered and recorded)"
            )
        return counts

    def _mapping_source(self) -> Any:
        """A relative mapping path is looked up where the DAG's templates are: its folder, then
        ``template_searchpath``; a worker's working directory is no place to look for it."""
        if not isinstance(self.mapping, str) or Path(self.mapping).is_absolute():
            return self.mapping
        folders: list[Path] = []
        with suppress(Exception):
            folders += [Path(p) for p in getattr(self.get_template_env().loader, "searchpath", [])]
        dag = getattr(self, "dag", None) if self.has_dag() else None
        if dag is not None and getattr(dag, "fileloc", None):
            folders.append(Path(dag.fileloc).parent)
        for folder in folders:
            if (folder / self.mapping).is_file():
                return folder / self.mapping
        if Path(self.mapping).is_file():
            return self.mapping
        looked = ", ".join(str(f) for f in dict.fromkeys(folders)) or "the working directory"
        raise MappingError(
            f"mapping file {self.mapping!r} was not found in the DAG's folder or template_searchpath "
            f"({looked}); give a path relative to the DAG file, or an absolute one"
        )

    def _warehouse(self) -> Warehouse:
        from airflow.sdk import BaseHook

        hook = self.get_db_hook()  # raises a clear error unless the connection's hook is a DbApiHook
        conn_type = (
            getattr(hook, "conn_type", None) or BaseHook.get_connection(str(self.conn_id)).conn_type or ""
        )
        dialect = _DIALECTS.get(conn_type, conn_type)
        check_dialect(dialect, where=f" (Airflow connection {self.conn_id!r}, type {conn_type!r})")
        first = hook.get_conn()
        opened = [first]

        def connect() -> Any:
            # Hand out the connection opened above first; the reader needs a second one of its own.
            return opened.pop() if opened else hook.get_conn()

        return Warehouse(
            connect, dialect=dialect, paramstyle=_paramstyle(first), schema=self.bookkeeping_schema
        )

    # -- OpenLineage (issue 12.5): kept apart from the transfer itself --------------------------------------

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Input: the warehouse table (or the query's tables); output: ``ingest/<sync name>`` on Outlit."""
        from outlit_provider.lineage import operator_lineage, outlit_namespace, sql_tables

        sync_name, sent = getattr(self, "_lineage_run", (None, None))
        base_url = OutlitHook(self.outlit_conn_id).get_settings().base_url
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(str(self.conn_id))
        warehouse = f"{conn.conn_type}://{conn.host or 'localhost'}" + (f":{conn.port}" if conn.port else "")
        tables = [self.table] if self.table else sql_tables(self.sql or "")
        database = conn.schema or ""
        return operator_lineage(
            namespace=outlit_namespace(base_url),
            input_namespace=warehouse,
            inputs=[f"{database}.{t}" if database else t for t in tables],
            outputs=[f"ingest/{sync_name}"] if sync_name else [],
            sql=self.sql,
            output_rows=sent,
        )


def _paramstyle(connection: Any) -> str:
    """The DB-API paramstyle of the driver that made ``connection`` (e.g. psycopg2 -> 'pyformat')."""
    parts = type(connection).__module__.split(".")
    for end in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:end]))
        except ImportError:
            continue
        style = getattr(module, "paramstyle", None)
        if isinstance(style, str):
            return style
    return "format"
