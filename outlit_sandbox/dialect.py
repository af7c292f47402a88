"""ClickHouse SQL, as Outlit's analytics store speaks it, checked and translated to DuckDB.

sqlglot reads the query as ClickHouse and writes DuckDB; this module adds what it does not map
(``toStartOfMonth`` returning a Date, ``toYYYYMM``, ``sumIf``, ``JSONExtractInt``...), ClickHouse's alias
rules (an alias is visible in WHERE / GROUP BY / HAVING / ORDER BY and wins over a column of the same
name) and ClickHouse's names for unaliased columns (``count()``, ``countIf(equals(x, 'A'))``). ``now()``
and ``today()`` read the sandbox clock, passed as the ``$outlit_now`` parameter.

The read-only check resolves every table reference by scope (sqlglot's scope analysis): a name counts
as a view only where no CTE or derived table of an enclosing scope defines it, so a CTE named like a
DuckDB catalog table cannot smuggle that table in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError
from sqlglot.optimizer.scope import Scope, traverse_scope

NOW_PARAM = "outlit_now"
VIEW_NAMES = ("activity", "customers", "users", "revenue")


class UnsafeQuery(ValueError):
    """The query is not one read-only SELECT over the views, or cannot be run here."""


# ----------------------------------------------------------------------------------------- checking
# Node types that write, change settings or reach outside the database, wherever they appear.
_FORBIDDEN_NODES = (exp.DML, exp.DDL, exp.Command, exp.Set, exp.Pragma, exp.Into, exp.Copy, exp.Lock)
# DuckDB functions that read files, run SQL given as text or reveal the server's settings.
_FORBIDDEN_PREFIXES = ("read_", "parquet_", "glob", "sniff_", "duckdb_", "pragma_", "iceberg_", "delta_")
_FORBIDDEN_FUNCTIONS = {
    "getenv", "current_setting", "query", "query_table", "load", "install", "http_get", "getvariable",
    "json_execute_serialized_sql", "json_serialize_sql", "checkpoint", "force_checkpoint",
    "file", "url", "executable", "remote", "remotesecure", "mysql", "postgresql", "s3", "hdfs",
}  # fmt: skip


def _check(tree: exp.Expr) -> None:
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            raise UnsafeQuery("Only read-only SELECT queries are allowed")
        if isinstance(node, exp.Placeholder | exp.Parameter):
            raise UnsafeQuery("Query parameters are not supported: write the values into the SQL")
        if isinstance(node, exp.Func):
            name = _written_name(node).lower()
            if name in _FORBIDDEN_FUNCTIONS or name.startswith(_FORBIDDEN_PREFIXES):
                raise UnsafeQuery(f"Function {_written_name(node)}() is not allowed in outlit_query")
    try:
        scopes = traverse_scope(tree)
    except OptimizeError as err:
        raise UnsafeQuery(f"Could not resolve the query's tables: {err}") from None
    resolved: set[int] = set()
    for scope in scopes:
        for source in scope.sources.values():
            if isinstance(source, exp.Table):
                _check_table(source)
                resolved.add(id(source))
    for table in tree.find_all(exp.Table):  # a table no scope resolved (a lateral join, a function...)
        if id(table) not in resolved and not _is_cte_reference(table, scopes):
            _check_table(table)


def _is_cte_reference(table: exp.Table, scopes: list[Scope]) -> bool:
    return any(
        table in scope.tables and table.name in scope.cte_sources and not table.args.get("db")
        for scope in scopes
    )


def _check_table(table: exp.Table) -> None:
    if not isinstance(table.this, exp.Identifier):
        raise UnsafeQuery(
            "Table functions are not allowed; query the views activity, customers, users, revenue"
        )
    if table.args.get("db") or table.args.get("catalog") or table.name.lower() not in VIEW_NAMES:
        raise UnsafeQuery(f"Unknown table {table.sql()!r}; query activity, customers, users or revenue")


# ----------------------------------------------------------------------------------------- naming
_OPERATORS: dict[type[exp.Expr], str] = {
    exp.Add: "plus", exp.Sub: "minus", exp.Mul: "multiply", exp.Div: "divide", exp.Mod: "modulo",
    exp.EQ: "equals", exp.NEQ: "notEquals", exp.GT: "greater", exp.GTE: "greaterOrEquals",
    exp.LT: "less", exp.LTE: "lessOrEquals", exp.Like: "like", exp.ILike: "ilike", exp.DPipe: "concat",
}  # fmt: skip


def _written_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous | exp.AnonymousAggFunc):
        return str(node.this)
    return str(node.meta.get("clickhouse_name") or node.sql_name())


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _function_form(node: exp.Expr) -> exp.Expr:
    """One node rewritten the way ClickHouse spells it in a column name: operators as functions."""
    if isinstance(node, exp.Paren):
        return node.this
    for kind, name in _OPERATORS.items():
        if type(node) is kind:
            return _call(name, node.this, node.expression)
    if isinstance(node, exp.And | exp.Or):
        name = "and" if isinstance(node, exp.And) else "or"
        parts: list[exp.Expr] = []
        for part in (node.this, node.expression):  # ClickHouse flattens a chain into one call
            same = isinstance(part, exp.Anonymous) and part.name == name
            parts.extend(part.expressions if same else [part])
        return _call(name, *parts)
    if isinstance(node, exp.Not):
        inner = node.this
        negated = {"isNull": "isNotNull", "in": "notIn", "like": "notLike", "ilike": "notILike"}
        if isinstance(inner, exp.Anonymous) and inner.name in negated:
            return _call(negated[inner.name], *inner.expressions)
        return _call("not", inner)
    if isinstance(node, exp.Neg):
        return _call("negate", node.this)
    if isinstance(node, exp.Is):
        return _call("isNull", node.this)
    if isinstance(node, exp.In):
        return _call("in", node.this, exp.Tuple(expressions=node.expressions))
    if isinstance(node, exp.Between):
        low = _call("greaterOrEquals", node.this.copy(), node.args["low"])
        return _call("and", low, _call("lessOrEquals", node.this, node.args["high"]))
    if isinstance(node, exp.Interval):
        unit = node.unit.name.capitalize() if node.unit else "Second"
        amount = node.this
        if isinstance(amount, exp.Literal) and amount.is_string and amount.this.lstrip("-").isdigit():
            amount = exp.Literal.number(amount.this)  # INTERVAL 30 DAY keeps its number
        return _call(f"toInterval{unit}", amount)
    if isinstance(node, exp.Cast):
        return _call("CAST", node.this, exp.Literal.string(node.to.sql("clickhouse")))
    if isinstance(node, exp.If):
        return _call("if", node.this, node.args["true"], node.args.get("false") or exp.Null())
    if isinstance(node, exp.Case) and not node.this:
        parts = [x for case in node.args["ifs"] for x in (case.this, case.args["true"])]
        return _call("multiIf", *parts, node.args.get("default") or exp.Null())
    if isinstance(node, exp.Count) and isinstance(node.this, exp.Star):
        return _call(_written_name(node))
    if isinstance(node, exp.Count) and isinstance(node.this, exp.Distinct):
        return _call("countDistinct", *node.this.expressions)
    if isinstance(node, exp.DateDiff):
        unit_arg = exp.Literal.string((node.unit.name if node.unit else "day").lower())
        return _call(_written_name(node), unit_arg, node.expression, node.this)
    if isinstance(node, exp.TimestampTrunc | exp.DateTrunc):
        name = _written_name(node)
        if name.startswith("to"):
            return _call(name, node.this)
        unit_arg = exp.Literal.string(node.unit.name.lower() if node.unit else "day")
        return _call(name, unit_arg, node.this)
    return node


def clickhouse_name(node: exp.Expr) -> str:
    """The column name ClickHouse gives an unaliased expression, e.g. ``divide(sum(mrr_cents), 100)``."""
    if isinstance(node, exp.Column):
        return node.name
    return _rewrite(node.copy()).sql(dialect="clickhouse")


def _rewrite(node: exp.Expr) -> exp.Expr:
    """Children first, then the node: each operator's operands are already in function form."""
    for key, value in list(node.args.items()):
        if isinstance(value, exp.Expression):
            node.set(key, _rewrite(value))
        elif isinstance(value, list):
            node.set(key, [_rewrite(v) if isinstance(v, exp.Expression) else v for v in value])
    return _function_form(node)


def _name_columns(tree: exp.Expr) -> None:
    for select in tree.find_all(exp.Select):
        for i, projection in enumerate(select.expressions):
            if isinstance(projection, exp.Alias | exp.Star | exp.Column):
                continue  # a column keeps its name in both engines
            select.expressions[i] = exp.alias_(projection, clickhouse_name(projection), quoted=True)
            select.expressions[i].parent = select


# ----------------------------------------------------------------------------------------- aliases
def _apply_aliases(tree: exp.Expr) -> None:
    """ClickHouse aliases are visible in the whole SELECT and win over columns of the same name."""
    for select in list(tree.find_all(exp.Select)):
        aliases = {a.alias: a for a in select.expressions if isinstance(a, exp.Alias)}
        if not aliases:
            continue
        for column in list(select.find_all(exp.Column)):
            if column.table or column.name not in aliases or column.find_ancestor(exp.Select) is not select:
                continue
            owner = column.find_ancestor(exp.Alias)
            if owner is not None and owner.parent is select and owner.alias == column.name:
                continue  # inside its own definition the name is the column
            column.replace(exp.Paren(this=_expanded(aliases, column.name, set())))


def _expanded(aliases: dict[str, exp.Alias], name: str, seen: set[str]) -> exp.Expr:
    if name in seen:
        raise UnsafeQuery(f"Cyclic aliases in the query: {name}")
    body = aliases[name].this.copy()
    for column in list(body.find_all(exp.Column)):
        if not column.table and column.name in aliases and column.name != name:
            column.replace(exp.Paren(this=_expanded(aliases, column.name, {*seen, name})))
    return body


# ----------------------------------------------------------------------------------------- to DuckDB
def _now() -> exp.Expr:
    return exp.Placeholder(this=NOW_PARAM)


def _json_path(args: list[exp.Expr]) -> exp.Expr:
    path = "$"
    for arg in args:
        if not isinstance(arg, exp.Literal):
            raise UnsafeQuery("JSONExtract* keys must be literal strings or indexes")
        if arg.is_string:
            path += '."' + arg.this.replace('"', '\\"') + '"'
        else:
            index = int(arg.this)
            path += f"[{index - 1}]" if index > 0 else f"[#{index}]"
    return exp.Literal.string(path)


def _json_text(json: exp.Expr, keys: list[exp.Expr]) -> exp.Expr:
    return exp.func("json_extract_string", json, _json_path(keys))


def _parse(sql: str) -> exp.Expr:
    return sqlglot.parse_one(sql, read="duckdb")


def _json_int(a: list[exp.Expr]) -> exp.Expr:
    text = _json_text(a[0], a[1:]).sql("duckdb")
    return _parse(f"COALESCE(TRY_CAST(TRUNC(TRY_CAST({text} AS DOUBLE)) AS BIGINT), 0)")


def _json_float(a: list[exp.Expr]) -> exp.Expr:
    return _parse(f"COALESCE(TRY_CAST({_json_text(a[0], a[1:]).sql('duckdb')} AS DOUBLE), 0)")


def _json_bool(a: list[exp.Expr]) -> exp.Expr:
    json, path = a[0].sql("duckdb"), _json_path(a[1:]).sql("duckdb")
    kind = f"json_type({json}, {path})"
    text = f"json_extract_string({json}, {path})"
    return _parse(
        f"CASE WHEN {kind} = 'BOOLEAN' THEN CAST({text} = 'true' AS INTEGER) "
        f"WHEN {kind} IN ('UBIGINT', 'BIGINT', 'DOUBLE') THEN CAST(CAST({text} AS DOUBLE) <> 0 AS INTEGER) "
        f"ELSE 0 END"
    )


def _cast(kind: str) -> Callable[[list[exp.Expr]], exp.Expr]:
    return lambda a: exp.cast(a[0], kind)


def _part(part: str) -> Callable[[list[exp.Expr]], exp.Expr]:
    return lambda a: exp.func("date_part", exp.Literal.string(part), a[0])


def _start_of_week(a: list[exp.Expr]) -> exp.Expr:
    monday = len(a) > 1 and isinstance(a[1], exp.Literal) and int(a[1].this) % 2 == 1
    shift = "" if monday else " + INTERVAL 1 DAY"
    back = "" if monday else " - INTERVAL 1 DAY"
    return _parse(f"CAST(DATE_TRUNC('week', {a[0].sql('duckdb')}{shift}){back} AS DATE)")


def _yyyymm(a: list[exp.Expr], *, day: bool = False) -> exp.Expr:
    x = a[0].sql("duckdb")
    tail = f" * 100 + date_part('day', {x})" if day else ""
    return _parse(f"CAST((date_part('year', {x}) * 100 + date_part('month', {x})){tail} AS BIGINT)")


# ClickHouse functions sqlglot leaves as unknown calls, by lower-cased name (ClickHouse's own spelling is
# camelCase; the sandbox also accepts other cases).
_FUNCTIONS: dict[str, Callable[[list[exp.Expr]], exp.Expr]] = {
    "now": lambda a: _now(),
    "now64": lambda a: _now(),
    "today": lambda a: exp.cast(_now(), "DATE"),
    "yesterday": lambda a: _parse(f"CAST(${NOW_PARAM} AS DATE) - INTERVAL 1 DAY"),
    "todate": _cast("DATE"),
    "todatetime": lambda a: exp.func("date_trunc", exp.Literal.string("second"), exp.cast(a[0], "TIMESTAMP")),
    "tostring": _cast("VARCHAR"),
    "toyyyymm": _yyyymm,
    "toyyyymmdd": lambda a: _yyyymm(a, day=True),
    "toyear": _part("year"),
    "tomonth": _part("month"),
    "toquarter": _part("quarter"),
    "todayofmonth": _part("day"),
    "tohour": _part("hour"),
    "tominute": _part("minute"),
    "tostartofweek": _start_of_week,
    "tounixtimestamp": lambda a: exp.cast(exp.func("epoch", a[0]), "BIGINT"),
    "uniqexact": lambda a: exp.Count(this=exp.Distinct(expressions=a)),
    "jsonextractint": _json_int,
    "jsonextractuint": _json_int,
    "jsonextractfloat": _json_float,
    "jsonextractbool": _json_bool,
    "jsonextractraw": lambda a: exp.func("json_extract", a[0], _json_path(a[1:])),
    "jsonhas": lambda a: exp.cast(exp.func("json_exists", a[0], _json_path(a[1:])), "INTEGER"),
}  # fmt: skip
_DATE_TRUNCS = {"week", "month", "quarter", "year"}


def _to_duckdb(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Anonymous) or type(node) is exp.AnonymousAggFunc:
        build = _FUNCTIONS.get(str(node.this).lower())
        if build is not None:
            return build([a.copy() for a in node.expressions])
        return node
    if isinstance(node, exp.TimestampTrunc) and node.unit:
        unit = node.unit.name.lower()
        if unit in _DATE_TRUNCS and _written_name(node).startswith("to"):
            # toStartOfMonth / toMonday / toStartOfYear... return a Date in ClickHouse
            return exp.cast(exp.func("date_trunc", exp.Literal.string(unit), node.this), "DATE")
    if isinstance(node, exp.JSONExtractScalar) and isinstance(node.expression, exp.JSONPath):
        keys: list[exp.Expr] = []
        for part in node.expression.expressions:
            if isinstance(part, exp.JSONPathKey):
                keys.append(exp.Literal.string(str(part.this)))
            elif isinstance(part, exp.JSONPathSubscript):
                keys.append(exp.Literal.number(int(part.this) + 1))
        return _parse(f"COALESCE({_json_text(node.this, keys).sql('duckdb')}, '')")
    if isinstance(node, exp.CombinedAggFunc):  # sumIf(x, cond), avgIf(x, cond): aggregate with a filter
        name = _written_name(node)
        if name.lower().endswith("if") and len(node.expressions) >= 2:
            *args, cond = node.expressions
            agg = exp.func(name[:-2], *args)
            return exp.Filter(this=agg, expression=exp.Where(this=cond))
    if isinstance(node, exp.ApproxDistinct):  # uniq: exact below 65,536 values in ClickHouse
        return exp.Count(this=exp.Distinct(expressions=[node.this]))
    if isinstance(node, exp.Quantile):  # ClickHouse interpolates between neighbours
        return exp.func("quantile_cont", node.this, node.args["quantile"])
    return node


@functools.lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """DuckDB SQL for one read-only ClickHouse SELECT over the views, or UnsafeQuery naming the problem."""
    try:
        # an empty or comment-only statement (`SELECT ...; -- note`, `SELECT 1; ;`) parses as None or a
        # bare Semicolon: it runs nothing, so it does not count as a second statement
        statements = [
            s
            for s in sqlglot.parse(sql, read="clickhouse")
            if s is not None and not isinstance(s, exp.Semicolon)
        ]
    except ParseError:
        raise UnsafeQuery("Could not parse the SQL as ClickHouse SQL; check the syntax") from None
    if not statements:
        raise UnsafeQuery("The SQL holds no statement (only comments or semicolons); send one SELECT")
    if len(statements) != 1:
        raise UnsafeQuery("Send exactly one SQL statement")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise UnsafeQuery("Only read-only SELECT (or WITH ... SELECT) queries are allowed")
    _check(tree)
    _name_columns(tree)
    _apply_aliases(tree)
    tree = tree.transform(_to_duckdb)
    return tree.sql(dialect="duckdb")


def placeholders(**values: Any) -> dict[str, Any]:
    return {NOW_PARAM: values["now"]}
