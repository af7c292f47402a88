"""The warehouse SQL a reverse load runs must be one read-only SELECT, checked in the warehouse's dialect.

The check runs before anything is opened, so a typo like ``DELETE FROM t; SELECT * FROM t`` is refused with
a message instead of emptying ``t``. It is the first of two locks: the rows are then also read inside a
read-only transaction where the database offers one (DuckDB and Postgres), which stops a write the parser
could not see (a function that runs SQL of its own, a data-modifying CTE).
"""

from __future__ import annotations

import re

from outlit_core.client.exceptions import OutlitInputError

# Warehouse dialect (SQLAlchemy's name) -> sqlglot's name for it.
_SQLGLOT_DIALECT = {
    "duckdb": "duckdb",
    "postgresql": "postgres",
    "sqlite": "sqlite",
    "snowflake": "snowflake",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mssql": "tsql",
}
# Besides sqlglot's DML and DDL classes: statements and clauses that write, lock or change session state.
_OTHER_WRITES = (
    "Drop",
    "Alter",
    "TruncateTable",
    "Command",  # anything sqlglot could not parse into a known statement
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
    "Into",  # SELECT ... INTO new_table
    "Lock",  # SELECT ... FOR UPDATE
    "Export",
    "LoadData",
)
# Functions with side effects a read-only transaction does not stop (or that run SQL of their own).
_SIDE_EFFECTS = re.compile(
    r"^(pg_sleep\w*|pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_rotate_logfile|"
    r"pg_advisory\w*|pg_try_advisory\w*|set_config|setval|nextval|lo_\w+|dblink\w*|query_to_xml\w*|"
    r"table_to_xml\w*|cursor_to_xml\w*|checkpoint|force_checkpoint|json_execute_serialized_sql|"
    r"query|query_table|sleep|benchmark|get_lock|release_lock|xp_\w+|sp_\w+)$",
    re.IGNORECASE,
)


def sqlglot_dialect(dialect: str) -> str:
    return _SQLGLOT_DIALECT.get(dialect, dialect)


class UnsafeWarehouseSQLError(OutlitInputError):
    """``sql=`` / ``--sql`` is not a single read-only SELECT; nothing was opened or sent."""


def check_select(sql: str, dialect: str) -> str:
    """Return ``sql`` if it is exactly one read-only SELECT in ``dialect``; raise naming what is wrong."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    read = sqlglot_dialect(dialect)
    fix = "give one SELECT (WITH ... SELECT is fine); reverse load only reads the warehouse"
    try:
        statements = [s for s in sqlglot.parse(sql, read=read) if s is not None]
    except SqlglotError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UnsafeWarehouseSQLError(f"sql= could not be parsed as {dialect} SQL: {first}; {fix}") from None
    if len(statements) != 1:
        raise UnsafeWarehouseSQLError(f"sql= holds {len(statements)} statements, not one; {fix}")
    root = statements[0]
    if not isinstance(root, exp.Select | exp.Union | exp.Intersect | exp.Except | exp.Subquery):
        raise UnsafeWarehouseSQLError(f"sql= is a {root.key.upper()} statement, not a SELECT; {fix}")
    blocked = (exp.DML, exp.DDL, *(getattr(exp, name) for name in _OTHER_WRITES if hasattr(exp, name)))
    for node in root.walk():
        if isinstance(node, blocked):
            what = node.key.upper()
            raise UnsafeWarehouseSQLError(f"sql= contains {what}, which writes or locks; {fix}")
        if isinstance(node, exp.Func):
            name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
            if _SIDE_EFFECTS.match(name or ""):
                raise UnsafeWarehouseSQLError(f"sql= calls {name}(), which has side effects; {fix}")
    return sql
