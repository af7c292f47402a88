"""Bookkeeping DDL per dialect: the three ``_outlit_*`` tables, and which databases can hold them."""

from __future__ import annotations

from outlit_core.client.exceptions import OutlitInputError

LEDGER_TABLE = "_outlit_sync_ledger"
REJECTED_TABLE = "_outlit_rejected"
RUNS_TABLE = "_outlit_sync_runs"

# {name}: sync_name / run_id, {key}: row_key (both in primary keys), {text}: free text, {long}: a whole row
# as JSON (up to ~1 MB), {ts}: naive UTC time, {int}: counts, {pk}: the primary-key clause.
_DDL = {
    LEDGER_TABLE: (
        "sync_name {name} NOT NULL, row_key {key} NOT NULL, content_hash {text} NOT NULL, "
        "event_uuid {text} NOT NULL, status {text} NOT NULL, batch_id {text}, run_id {text}, "
        "delivered_at {ts} NOT NULL, {pk} (sync_name, row_key)"
    ),
    REJECTED_TABLE: (
        "run_id {text} NOT NULL, sync_name {text} NOT NULL, row_key {long} NOT NULL, stage {text} NOT NULL, "
        "reason {long} NOT NULL, field_path {text}, event_uuid {text}, row_json {long}, "
        "rejected_at {ts} NOT NULL"
    ),
    RUNS_TABLE: (
        "run_id {name} NOT NULL, sync_name {text} NOT NULL, mode {text} NOT NULL, "
        "started_at {ts} NOT NULL, finished_at {ts}, read_count {int}, sent_count {int}, "
        "unchanged_count {int}, rejected_count {int}, retries {int}, batches {int}, status {text} NOT NULL, "
        "error {long}, {pk} (run_id)"
    ),
}
_PORTABLE_TYPES = {
    "name": "TEXT",
    "key": "TEXT",
    "text": "TEXT",
    "long": "TEXT",
    "ts": "TIMESTAMP",
    "int": "BIGINT",
    "pk": "PRIMARY KEY",
}
# Column types per dialect. MySQL and SQL Server cannot index TEXT, so key columns get a bounded VARCHAR
# sized to each one's index limit: MySQL InnoDB 3072 bytes at 4 bytes a utf8mb4 character, SQL Server
# 1700 bytes for a nonclustered key at 2 bytes an NVARCHAR character. A row key (the key columns as JSON)
# longer than that fails the ledger write; docs/reverse-load.md says so.
_TYPES: dict[str, dict[str, str]] = {
    "duckdb": _PORTABLE_TYPES,
    "postgresql": _PORTABLE_TYPES,
    "sqlite": _PORTABLE_TYPES,
    "snowflake": {  # PRIMARY KEY is accepted but not enforced; the ledger upsert does not rely on it
        **_PORTABLE_TYPES,
        **dict.fromkeys(("name", "key", "text", "long"), "STRING"),
        "ts": "TIMESTAMP_NTZ",  # plain TIMESTAMP follows the account's TIMESTAMP_TYPE_MAPPING
    },
    "mysql": {
        **_PORTABLE_TYPES,
        "name": "VARCHAR(255)",
        "key": "VARCHAR(500)",
        "text": "VARCHAR(255)",
        "long": "LONGTEXT",  # TEXT stops at 64 KB; a dead-lettered row can be a whole 1 MB event
        "ts": "DATETIME(6)",  # TIMESTAMP NOT NULL gets an implicit auto-update default in MySQL
    },
    "mssql": {
        **_PORTABLE_TYPES,
        "name": "NVARCHAR(128)",
        "key": "NVARCHAR(720)",
        "text": "NVARCHAR(255)",
        "long": "NVARCHAR(MAX)",
        "ts": "DATETIME2",  # TIMESTAMP is a row version in SQL Server, not a time
        "pk": "PRIMARY KEY NONCLUSTERED",  # a clustered key is capped at 900 bytes
    },
}
_TYPES["mariadb"] = _TYPES["mysql"]
SUPPORTED_DIALECTS: tuple[str, ...] = tuple(sorted(_TYPES))


class UnsupportedDialectError(OutlitInputError):
    """The source database cannot hold the bookkeeping tables this engine writes."""


def check_dialect(dialect: str, *, where: str = "") -> None:
    """Refuse, before connecting, a database whose DDL and transactions the ledger has not been built for."""
    if dialect not in _TYPES:
        raise UnsupportedDialectError(
            f"reverse load keeps its ledger in the source database and cannot keep it in a {dialect!r} "
            f"database{where}: supported are {', '.join(SUPPORTED_DIALECTS)}. Copy the rows to one of "
            "those first (e.g. a dlt pipeline into DuckDB or Postgres, then reverse_load(pipeline, ...))"
        )


def bookkeeping_ddl(dialect: str, schema: str | None = None) -> list[str]:
    """The statements that create the schema (if given) and the three bookkeeping tables, if missing."""
    check_dialect(dialect)
    types = _TYPES[dialect]
    statements: list[str] = []
    if dialect == "mssql":  # no IF NOT EXISTS for CREATE in SQL Server
        if schema:
            statements.append(f"IF SCHEMA_ID(N'{_plain(schema)}') IS NULL EXEC(N'CREATE SCHEMA {schema}')")
        for name, columns in _DDL.items():
            table = f"{schema}.{name}" if schema else name
            statements.append(
                f"IF OBJECT_ID(N'{table}', N'U') IS NULL CREATE TABLE {table} ({columns.format(**types)})"
            )
        return statements
    if schema:
        statements.append(f"CREATE SCHEMA IF NOT EXISTS {_plain(schema)}")
    for name, columns in _DDL.items():
        table = f"{schema}.{name}" if schema else name
        statements.append(f"CREATE TABLE IF NOT EXISTS {table} ({columns.format(**types)})")
    return statements


def _plain(name: str) -> str:
    from outlit_core.reverse_load.warehouse import quote_table

    return quote_table(name)
