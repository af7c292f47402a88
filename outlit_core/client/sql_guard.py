"""A client-side read-only guard for ``outlit_query``.

Outlit runs the SQL in its own sandbox; this guard exists so that a DAG author learns at once (and without
spending an API call) that a statement cannot be a plain read: more than one statement, anything that
writes or changes session state, or a function that reads files, the network or the engine's own settings.
"""

from __future__ import annotations

import logging
import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from .exceptions import OutlitUnsafeQueryError

__all__ = ["check_read_only_sql"]

# Parse with the dialects Outlit's analytics views are most likely served by; the first that parses wins.
_DIALECTS = ("duckdb", "postgres")

_WRITE_NODES: tuple[type[exp.Expression], ...] = tuple(
    getattr(exp, name)
    for name in (
        "Insert",
        "Update",
        "Delete",
        "Merge",
        "Create",
        "Drop",
        "Alter",
        "AlterColumn",
        "TruncateTable",
        "Command",
        "Copy",
        "Set",
        "Pragma",
        "Attach",
        "Detach",
        "Install",
        "Use",
        "Transaction",
        "Commit",
        "Rollback",
        "Grant",
        "Revoke",
        "LoadData",
        "Into",
        "Export",
        "Describe",
        "Analyze",
        "Cache",
        "Uncache",
        "Refresh",
    )
    if hasattr(exp, name)
)

# Functions that read files, other databases or the network, or the host environment.
_BLOCKED_FUNCTION = re.compile(
    r"^(read_\w*|\w*_scan|scan_\w*|glob|parquet_\w+|sniff_csv|iceberg_\w+|delta_\w+|"
    r"pg_read_\w+|pg_ls_dir|pg_stat_file|lo_\w+|dblink\w*|http\w*|s3\w*|gcs\w*|azure\w*|"
    r"load_\w*|install_\w*|getenv|query_table|query|sqlite_attach|postgres_attach|mysql_\w+|"
    r"postgres_\w+|sqlite_\w+|current_setting|set_config|system|shell|"
    # duckdb's catalog and session functions expose settings, secrets and the host (duckdb_settings(),
    # duckdb_secrets(), pragma_*(), which_secret()): not analytics data.
    r"duckdb_\w+|pragma_\w+|which_secret)$",
    re.IGNORECASE,
)
# The same catalog functions' names used as a bare table (FROM duckdb_settings).
_BLOCKED_TABLE = re.compile(r"^(duckdb_\w+|pragma_\w+)$", re.IGNORECASE)
# A quoted table name that is really a path or URL (duckdb reads FROM 'file.csv' / 's3://...').
_PATHLIKE = re.compile(
    r"(://|[/\\~]|\.(csv|tsv|txt|json|jsonl|ndjson|parquet|arrow|gz|zst|xlsx?|db|duckdb|sqlite|avro)$)", re.I
)


def _refuse(sql: str, why: str) -> OutlitUnsafeQueryError:
    return OutlitUnsafeQueryError(
        f"query refused before sending: {why}. outlit_query accepts exactly one read-only SELECT "
        "(or WITH ... SELECT, UNION allowed) over Outlit's analytics views",
        code="unsafe_query",
        details=[{"path": ["sql"], "message": why}],
    )


def _parse(sql: str) -> list[exp.Expression]:
    errors: list[str] = []
    sqlglot_logger = logging.getLogger("sqlglot")
    previous = sqlglot_logger.level
    # sqlglot warns when it falls back to an opaque Command; we refuse those anyway, so keep logs quiet.
    sqlglot_logger.setLevel(logging.ERROR)
    try:
        for dialect in _DIALECTS:
            try:
                # A trailing ";" or "; -- comment" parses as an empty (None) or comment-only
                # (exp.Semicolon) statement: nothing runs there, so it does not count as a second one.
                return [
                    s
                    for s in sqlglot.parse(sql, read=dialect)
                    if s is not None and not isinstance(s, exp.Semicolon)
                ]
            except ParseError as exc:
                errors.append(str(exc).splitlines()[0])
    finally:
        sqlglot_logger.setLevel(previous)
    raise _refuse(sql, f"the SQL does not parse ({errors[0] if errors else 'unknown error'})")


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name)
    return node.sql_name()


def check_read_only_sql(sql: str) -> str:
    """Return ``sql`` unchanged if it is one read-only query; raise :class:`OutlitUnsafeQueryError` if not."""
    if not isinstance(sql, str) or not sql.strip():
        raise _refuse(str(sql), "the SQL is empty")
    statements = _parse(sql)
    if len(statements) != 1:
        raise _refuse(sql, f"found {len(statements)} statements, expected exactly one")
    root = statements[0]
    if not isinstance(root, exp.Query):
        what = root.key.upper() if isinstance(root, _WRITE_NODES) else "the text"
        raise _refuse(sql, f"{what} is not a SELECT statement")
    for node in root.walk():
        if isinstance(node, _WRITE_NODES):
            label = "SELECT ... INTO" if isinstance(node, exp.Into) else node.key.upper()
            raise _refuse(sql, f"{label} is not allowed in a read-only query")
        if isinstance(node, exp.Func):
            name = _function_name(node)
            if _BLOCKED_FUNCTION.match(name):
                raise _refuse(
                    sql,
                    f"function {name.lower()}() reads files, other databases, the network "
                    "or the engine's settings and secrets",
                )
        if isinstance(node, exp.Table):
            target = node.this
            if isinstance(target, exp.Identifier) and _PATHLIKE.search(target.name):
                raise _refuse(sql, f"reading the file or URL {target.name!r} as a table is not allowed")
            if isinstance(target, exp.Identifier) and _BLOCKED_TABLE.match(target.name):
                raise _refuse(sql, f"{target.name.lower()} is a duckdb catalog table, not analytics data")
    return sql
