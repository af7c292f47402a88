"""The client-side read-only guard for ``outlit_query``, in Outlit's own SQL dialect: ClickHouse.

Outlit runs the SQL in its own sandbox; this guard exists so that a DAG author learns at once (and without
spending an API call) that a statement is not a plain read of the analytics views. It allows rather than
denies: exactly one SELECT (WITH, UNION, subqueries and window functions welcome) whose tables are the four
views (or CTEs defined in scope, resolved with sqlglot's scope analysis), and whose functions are on the
list below (written as ClickHouse calls, the way official/sql-reference.md shows them). Anything else - a
table function (``file()``, ``url()``, ``remote()``, ``s3()``...), ``system.*`` or another database,
``FOR UPDATE``, ``SETTINGS`` / ``FORMAT``, or a function of another engine - is refused with its name.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.optimizer.scope import traverse_scope

from .exceptions import OutlitUnsafeQueryError

__all__ = ["ALLOWED_TABLES", "check_read_only_sql"]

DIALECT = "clickhouse"
#: the analytics views outlit_query serves (outlit_schema lists the same four)
ALLOWED_TABLES = frozenset({"activity", "customers", "users", "revenue"})

# Functions allowed, as ClickHouse calls; the guard learns from parsing these which sqlglot node (or, for
# functions sqlglot does not model, which name) each one becomes. Add a call here to allow a function.
_ALLOWED_CALLS = """
count(), count(x), countIf(x), countDistinct(x), sum(x), sumIf(x, c), avg(x), avgIf(x, c), min(x), max(x),
minIf(x, c), maxIf(x, c), uniq(x), uniqIf(x, c), uniqExact(x), uniqExactIf(x, c), any(x), anyLast(x),
argMin(x, y), argMax(x, y), groupArray(x), groupUniqArray(x), median(x), quantile(0.5)(x),
quantiles(0.5, 0.9)(x), quantileExact(0.5)(x), stddevPop(x), stddevSamp(x), varPop(x), varSamp(x),
corr(x, y), topK(10)(x), avgWeighted(x, y), sumDistinct(x),
now(), now64(), today(), yesterday(), toDate(x), toDateTime(x), toDateTime64(x, 3), toStartOfDay(x),
toStartOfHour(x), toStartOfMinute(x), toStartOfWeek(x), toMonday(x), toStartOfMonth(x),
toStartOfQuarter(x), toStartOfYear(x), toStartOfInterval(x, INTERVAL 1 DAY), toLastDayOfMonth(x),
toYYYYMM(x), toYYYYMMDD(x), toYear(x), toQuarter(x), toMonth(x), toWeek(x), toISOWeek(x),
toDayOfMonth(x), toDayOfWeek(x), toDayOfYear(x), toHour(x), toMinute(x), toSecond(x),
toUnixTimestamp(x), fromUnixTimestamp(x), dateDiff('day', x, y), date_diff('day', x, y),
age('day', x, y), dateAdd(day, 1, x), dateSub(day, 1, x), addDays(x, 1), addHours(x, 1),
addMinutes(x, 1), addWeeks(x, 1), addMonths(x, 1), addYears(x, 1), subtractDays(x, 1),
subtractHours(x, 1), subtractMinutes(x, 1), subtractWeeks(x, 1), subtractMonths(x, 1),
subtractYears(x, 1), date_trunc('day', x), dateTrunc('day', x), formatDateTime(x, '%Y'),
parseDateTimeBestEffort(x), parseDateTimeBestEffortOrNull(x), toTimeZone(x, 'UTC'), makeDate(2026, 1, 1),
toIntervalDay(1), EXTRACT(YEAR FROM x), CURRENT_DATE, CURRENT_TIMESTAMP,
lower(x), upper(x), lowerUTF8(x), upperUTF8(x), length(x), lengthUTF8(x), concat(x, y), substring(x, 1, 2),
substr(x, 1, 2), left(x, 1), right(x, 1), trim(x), trimBoth(x), trimLeft(x), trimRight(x),
replaceAll(x, 'a', 'b'), replaceOne(x, 'a', 'b'), replaceRegexpAll(x, 'a', 'b'), replace(x, 'a', 'b'),
position(x, 'a'), positionCaseInsensitive(x, 'a'), startsWith(x, 'a'), endsWith(x, 'a'),
splitByChar(',', x), splitByString(', ', x), arrayStringConcat(x, ','), domain(x), domainWithoutWWW(x),
match(x, 'a'), like(x, 'a%'), ilike(x, 'a%'), notLike(x, 'a%'), leftPad(x, 5, '0'), rightPad(x, 5, '0'),
repeat(x, 2), reverse(x), format('{}', x), toString(x), empty(x), notEmpty(x), x || y,
toInt8(x), toInt16(x), toInt32(x), toInt64(x), toUInt8(x), toUInt16(x), toUInt32(x), toUInt64(x),
toFloat32(x), toFloat64(x), toDecimal64(x, 2), toInt64OrNull(x), toInt64OrZero(x), toFloat64OrNull(x),
toFloat64OrZero(x), toDateOrNull(x), toDateTimeOrNull(x), toTypeName(x), toBool(x), CAST(x AS String),
if(c, x, y), multiIf(c, x, y), coalesce(x, y), ifNull(x, y), nullIf(x, y), isNull(x), isNotNull(x),
assumeNotNull(x), greatest(x, y), least(x, y), CASE WHEN c THEN x ELSE y END,
round(x), round(x, 2), floor(x), ceil(x), abs(x), sqrt(x), pow(x, 2), power(x, 2), exp(x), log(x), ln(x),
log10(x), log2(x), intDiv(x, y), modulo(x, y), sign(x),
arrayJoin(x), has(x, y), hasAny(x, y), hasAll(x, y), indexOf(x, y), arraySlice(x, 1, 2), array(1, 2),
[1, 2], tuple(1, 2), arrayConcat(x, y), arraySum(x), arrayUniq(x), arrayDistinct(x), arraySort(x),
arrayMap(v -> v, x), arrayFilter(v -> v, x), arrayCount(v -> v, x), arrayExists(v -> v, x),
JSONExtractString(x, 'k'), JSONExtractInt(x, 'k'), JSONExtractUInt(x, 'k'), JSONExtractFloat(x, 'k'),
JSONExtractBool(x, 'k'), JSONExtractRaw(x, 'k'), JSONExtract(x, 'k', 'String'), JSONHas(x, 'k'),
JSONLength(x), JSONType(x), JSONExtractKeys(x), JSONExtractArrayRaw(x, 'k'), simpleJSONExtractString(x, 'k'),
JSON_VALUE(x, '$.k'), JSON_QUERY(x, '$.k'),
row_number() OVER (), rank() OVER (), dense_rank() OVER (), ntile(4) OVER (), lagInFrame(x) OVER (),
leadInFrame(x) OVER (), first_value(x) OVER (), last_value(x) OVER (), nth_value(x, 2) OVER (),
EXISTS (SELECT 1), cityHash64(x)
"""

# sqlglot nodes that carry the function's own name (functions sqlglot does not model one by one).
_NAMED = tuple(
    getattr(exp, n)
    for n in (
        "Anonymous",
        "AnonymousAggFunc",
        "CombinedAggFunc",
        "ParameterizedAgg",
        "CombinedParameterizedAgg",
    )
    if hasattr(exp, n)
)

_WRITE_NODES: tuple[type[exp.Expr], ...] = tuple(
    getattr(exp, name)
    for name in (
        "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "TruncateTable", "Command", "Copy",
        "Set", "Pragma", "Attach", "Detach", "Install", "Use", "Transaction", "Commit", "Rollback", "Grant",
        "Revoke", "LoadData", "Into", "Export", "Describe", "Analyze", "Cache", "Uncache", "Refresh",
    )
    if hasattr(exp, name)
)  # fmt: skip


@functools.cache
def _allowed() -> tuple[frozenset[type[exp.Expr]], frozenset[str]]:
    classes: set[type[exp.Expr]] = set()
    names: set[str] = set()
    for node in sqlglot.parse_one(f"SELECT {_ALLOWED_CALLS}", read=DIALECT).walk():
        if isinstance(node, _NAMED):
            names.add(str(node.name).lower())
        elif isinstance(node, exp.Func):
            classes.add(type(node))
    # AND / OR are operators, but some sqlglot versions (30.22, which the lock holds) model them as Func
    classes.update({exp.And, exp.Or})
    return frozenset(classes), frozenset(names)


def _refuse(why: str) -> OutlitUnsafeQueryError:
    return OutlitUnsafeQueryError(
        f"query refused before sending: {why}. outlit_query takes one read-only ClickHouse SELECT over the "
        f"views {', '.join(sorted(ALLOWED_TABLES))}",
        code="unsafe_query",
        details=[{"path": ["sql"], "message": why}],
    )


def _parse(sql: str) -> list[exp.Expr]:
    sqlglot_logger = logging.getLogger("sqlglot")
    previous = sqlglot_logger.level
    # sqlglot warns when it falls back to an opaque Command; those are refused anyway, so keep logs quiet.
    sqlglot_logger.setLevel(logging.ERROR)
    try:
        statements = sqlglot.parse(sql, read=DIALECT)
    except ParseError as exc:
        first = " ".join(str(exc).splitlines()[0].split()) if str(exc) else "unknown error"
        raise _refuse(f"the SQL does not parse as ClickHouse SQL ({first})") from None
    finally:
        sqlglot_logger.setLevel(previous)
    # A trailing ";" or "; -- comment" parses as an empty (None) or comment-only (exp.Semicolon) statement:
    # nothing runs there, so it does not count as a second one.
    return [s for s in statements if s is not None and not isinstance(s, exp.Semicolon)]


def _function_name(node: exp.Func) -> str:
    if isinstance(node, _NAMED):
        return str(node.name)
    return node.sql_name().lower()


def _check_function(node: exp.Func) -> None:
    classes, names = _allowed()
    allowed = node.name.lower() in names if isinstance(node, _NAMED) else type(node) in classes
    if not allowed:
        raise _refuse(
            f"function {_function_name(node)}() is not on the client's list of ClickHouse functions allowed "
            "in outlit_query (no table functions, file/network/system access or other engines' functions)"
        )


def _check_base_table(table: exp.Table) -> None:
    if not isinstance(table.this, exp.Identifier):
        what = _function_name(table.this) if isinstance(table.this, exp.Func) else table.this.sql(DIALECT)
        raise _refuse(f"table function {what}() is not allowed; read one of the views instead")
    qualified = ".".join(part.name for part in table.parts)
    if table.args.get("db") or table.args.get("catalog") or table.name.lower() not in ALLOWED_TABLES:
        raise _refuse(f"table {qualified!r} is not one of the analytics views")


def _check_tables(root: exp.Expr) -> None:
    checked: set[int] = set()
    for scope in traverse_scope(root):
        for table in scope.tables:
            checked.add(id(table))
            plain = isinstance(table.this, exp.Identifier) and not table.args.get("db")
            if plain and table.name in scope.cte_sources:
                continue  # a CTE visible in this scope, whose own body is checked as a scope of its own
            _check_base_table(table)
    for table in root.find_all(exp.Table):  # anything scope analysis did not reach is checked strictly
        if id(table) not in checked:
            _check_base_table(table)


def check_read_only_sql(sql: Any) -> str:
    """Return ``sql`` unchanged if it is one read-only query; raise :class:`OutlitUnsafeQueryError` if not."""
    if not isinstance(sql, str) or not sql.strip():
        raise _refuse("the SQL is empty")
    statements = _parse(sql)
    if len(statements) != 1:
        raise _refuse(f"found {len(statements)} statements, expected exactly one")
    root = statements[0]
    if not isinstance(root, exp.Query):
        what = root.key.upper() if isinstance(root, _WRITE_NODES) else "the text"
        raise _refuse(f"{what} is not a SELECT statement")
    for node in root.walk():
        if isinstance(node, _WRITE_NODES):
            label = "SELECT ... INTO" if isinstance(node, exp.Into) else node.key.upper()
            raise _refuse(f"{label} is not allowed in a read-only query")
        if isinstance(node, exp.Lock):
            raise _refuse(f"FOR {'UPDATE' if node.args.get('update') else 'SHARE'} locks rows; not allowed")
        if isinstance(node, exp.Query) and (node.args.get("settings") or node.args.get("format")):
            clause = "SETTINGS" if node.args.get("settings") else "FORMAT"
            raise _refuse(f"a {clause} clause changes how the server runs or answers; not allowed")
        if isinstance(node, exp.Func):
            _check_function(node)
    try:
        _check_tables(root)
    except OutlitUnsafeQueryError:
        raise
    except Exception as exc:
        raise _refuse(f"the tables the query reads could not be resolved ({type(exc).__name__})") from None
    return sql
