"""``outlit_query`` as a dlt resource that pages past the per-call row cap instead of truncating."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import dlt
import pyarrow as pa
from dlt.common import logger
from dlt.common.schema.typing import TTableSchemaColumns, TWriteDispositionConfig
from dlt.sources import DltResource

from outlit_core.client import OutlitClient

from .arrow import column_name, to_table
from .credentials import resolve_outlit_settings
from .helpers import SharedClient
from .settings import DEFAULT_BASE_URL, QUERY_ROW_CAP
from .timestamps import parse_timestamp

_ALIAS = "_outlit_q"
START_TOKEN = "{start}"
END_TOKEN = "{end}"
_ISO_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def outlit_query_resource(
    sql: str,
    name: str,
    primary_key: str | Sequence[str] | None = None,
    incremental: str | dlt.sources.incremental[Any] | None = None,
    *,
    write_disposition: TWriteDispositionConfig | None = None,
    columns: TTableSchemaColumns | None = None,
    buckets: bool = False,
    page_size: int = QUERY_ROW_CAP,
    api_key: str | None = None,
    base_url: str | None = None,
    client: OutlitClient | None = None,
    allow_insecure_http: bool = False,
) -> DltResource:
    """A resource named ``name`` holding the rows of one read-only ``outlit_query``.

    The query is wrapped as a subquery and read page by page (at most ``page_size`` rows per call), so a
    result larger than the API's 10,000-row cap arrives whole. With ``primary_key`` the pages follow the key
    (keyset pagination: stable even while rows are added); without it they are offset pages over a total
    order of all scalar columns.

    ``incremental`` names a timestamp (or other increasing) column of the result, or is a
    ``dlt.sources.incremental``; each run then asks only for rows with ``column >= last value`` (the
    boundary rows are deduplicated by dlt) and, for a backfill, ``column < end_value``. The SQL may also
    contain ``{start}`` / ``{end}``, replaced by those bounds as literals, to filter inside the query
    (before a GROUP BY, say).

    ``buckets=True`` is the incremental mode for aggregates (a ``GROUP BY`` over a day, a month...): the
    incremental column is the bucket's start, ``primary_key`` the bucket plus the group columns. Each run
    recomputes whole buckets from the start of the last loaded bucket (``{start}`` is that bucket's start,
    so filter the raw rows with ``occurred_at >= {start}``) and merges them on the key, so the last,
    partial bucket is replaced by its complete count and repeated runs equal one full recompute.

    The write disposition defaults to ``merge`` with a primary key, ``append`` with only an incremental
    column and ``replace`` otherwise. The API key comes from ``api_key``, ``client``, or dlt config
    (``sources.outlit.api_key``, e.g. env ``SOURCES__OUTLIT__API_KEY``). Pages are Arrow tables, so dlt
    writes Parquet directly (timestamp strings typed as timestamps, as dlt's row path would).
    """
    if not isinstance(sql, str) or not sql.strip():
        raise ValueError("sql must be a non-empty SELECT statement")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("name must be a non-empty table name, e.g. name='daily_activity'")
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= QUERY_ROW_CAP:
        raise ValueError(f"page_size must be between 1 and {QUERY_ROW_CAP}, got {page_size!r}")
    keys = _key_list(primary_key)
    cursor = _as_incremental(incremental)
    if buckets:
        cursor = _bucket_incremental(cursor, keys)
    if write_disposition is None:
        write_disposition = "merge" if keys else ("append" if cursor is not None else "replace")
    body = sql.strip().rstrip(";").strip()
    shared = (
        SharedClient(client=client)
        if client is not None
        else SharedClient(_client_factory(api_key, base_url, allow_insecure_http))
    )

    if cursor is None and any(token in body for token in (START_TOKEN, END_TOKEN)):
        raise ValueError(f"the SQL uses {START_TOKEN}/{END_TOKEN}, which need incremental=... to fill them")

    def rows(cursor: dlt.sources.incremental[Any] | None = cursor) -> Iterator[list[dict[str, Any]]]:
        lower = cursor.last_value if cursor is not None else None
        upper = cursor.end_value if cursor is not None else None
        text = substitute(body, lower, upper)
        pager = Pager(text, keys, cursor.cursor_path if cursor is not None else None, page_size)
        with shared.lease() as outlit:
            for page in pager.pages(outlit, lower, upper):
                yield keys_not_null(to_table(page, {}), keys)

    # dlt types its `= None` defaults without None (implicit Optional), hence the two ignores
    return dlt.resource(
        rows,
        name=name,
        primary_key=keys or None,  # type: ignore[arg-type]
        write_disposition=write_disposition,
        columns=columns,  # type: ignore[arg-type]
    )()


def keys_not_null(table: pa.Table, keys: Sequence[str]) -> pa.Table:
    """The page with its primary key columns marked not null, as dlt declares a primary key.

    Otherwise dlt warns on every run that the Arrow field's nullability differs from its own hint. A key
    column holding a NULL on this page stays nullable, so the table never claims what it does not hold.
    """
    names = {column_name(k) for k in keys}
    if not names:
        return table
    fields = [
        field.with_nullable(False)
        if field.name in names and field.nullable and table.column(field.name).null_count == 0
        else field
        for field in table.schema
    ]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def _bucket_incremental(cursor: dlt.sources.incremental[Any] | None, keys: list[str]) -> Any:
    """The incremental of an aggregate: rows from the last bucket's start on, none dropped at the boundary.

    dlt's incremental normally drops rows whose cursor equals the last value and whose key it has seen,
    which would keep the partial count of the last bucket loaded; here every row of that bucket passes
    (closed range, no de-duplication) and the merge on the key replaces the old count.
    """
    if cursor is None:
        raise ValueError("buckets=True needs incremental=<bucket column>, e.g. incremental='day'")
    if cursor.cursor_path not in keys:
        raise ValueError(
            f"buckets=True merges whole buckets on the key: primary_key must include the bucket column "
            f"{cursor.cursor_path!r} (and the group columns), got {keys or None}"
        )
    return dlt.sources.incremental(
        cursor.cursor_path,
        initial_value=cursor.initial_value,
        end_value=cursor.end_value,
        range_start="closed",
        primary_key=(),
    )


def substitute(sql: str, lower: Any, upper: Any) -> str:
    """Fills the optional ``{start}`` / ``{end}`` tokens with the cursor's bounds as SQL literals.

    The outer filter on the wrapped query is always applied as well; the tokens let a query filter
    *before* it aggregates or joins, which the outer filter cannot do.
    """
    if START_TOKEN in sql:
        if lower is None:
            raise ValueError(
                f"the SQL uses {START_TOKEN} but the incremental has no value yet: give it an initial_value"
            )
        sql = sql.replace(START_TOKEN, sql_literal(lower))
    if END_TOKEN in sql:
        if upper is None:
            raise ValueError(f"the SQL uses {END_TOKEN} but the incremental has no end_value")
        sql = sql.replace(END_TOKEN, sql_literal(upper))
    return sql


def _client_factory(api_key: str | None, base_url: str | None, allow_insecure_http: bool) -> Any:
    found = resolve_outlit_settings(api_key=api_key, base_url=base_url, require=("api_key",))
    key, url = found["api_key"], found.get("base_url") or DEFAULT_BASE_URL

    def build() -> OutlitClient:
        return OutlitClient(str(key), base_url=str(url), allow_insecure_http=allow_insecure_http)

    return build


def _key_list(primary_key: str | Sequence[str] | None) -> list[str]:
    if primary_key is None:
        return []
    keys = [primary_key] if isinstance(primary_key, str) else list(primary_key)
    if not keys or not all(isinstance(k, str) and k for k in keys):
        raise ValueError(f"primary_key must be a column name or a list of them, got {primary_key!r}")
    return keys


def _as_incremental(incremental: Any) -> dlt.sources.incremental[Any] | None:
    if incremental is None:
        return None
    if isinstance(incremental, dlt.sources.incremental):
        # Pages are Arrow tables whose ISO timestamp columns are typed timestamps; dlt compares the
        # bounds with them, so bounds given as ISO strings become datetimes.
        initial, end = _bound(incremental.initial_value), _bound(incremental.end_value)
        if initial is incremental.initial_value and end is incremental.end_value:
            return incremental
        return dlt.sources.incremental(
            incremental.cursor_path,
            initial_value=initial,
            end_value=end,
            range_start=incremental.range_start,
            range_end=incremental.range_end,
            primary_key=incremental.primary_key,
        )
    if isinstance(incremental, str) and incremental:
        return dlt.sources.incremental(incremental)
    raise ValueError(
        f"incremental must be a column name or a dlt.sources.incremental, got {type(incremental).__name__}"
    )


def _bound(value: Any) -> Any:
    if isinstance(value, str) and _ISO_TIMESTAMP.match(value.strip()):
        return parse_timestamp(value, field="incremental bound")
    return value


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        value = _timestamp_text(value)
    elif isinstance(value, date):
        value = value.isoformat()
    elif isinstance(value, str) and _ISO_TIMESTAMP.match(value):
        # 'T' and a zone suffix are not accepted as a timestamp literal by every engine; the space form is
        value = _timestamp_text(datetime.fromisoformat(value))
    # ClickHouse reads a backslash in a string literal as an escape: doubled, no value can end the literal
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def _timestamp_text(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(sep=" ", timespec="microseconds")


class Pager:
    """Builds and runs the page queries for one resource run."""

    def __init__(self, body: str, keys: list[str], cursor_column: str | None, page_size: int) -> None:
        self.body = body
        self.keys = keys
        self.cursor_column = cursor_column
        self.page_size = page_size
        # Keyset pages follow the primary key alone: the API may return timestamps at a coarser precision
        # than it stores, so a timestamp in the page key could neither be matched by `=` nor guarantee
        # progress. The incremental column only bounds the window.
        self.order = list(keys) if keys else ([cursor_column] if cursor_column else [])

    def sql(self, where: list[str], order: list[str], offset: int = 0) -> str:
        text = f"SELECT * FROM ({self.body}) AS {_ALIAS}"
        if where:
            text += " WHERE " + " AND ".join(f"({w})" for w in where)
        if order:
            text += " ORDER BY " + ", ".join(f"{quote_identifier(c)} ASC" for c in order)
        text += f" LIMIT {self.page_size}"
        if offset:
            text += f" OFFSET {offset}"
        return text

    def bounds(self, lower: Any, upper: Any) -> list[str]:
        where = []
        if self.cursor_column is not None:
            column = quote_identifier(self.cursor_column)
            if lower is not None:
                where.append(f"{column} >= {sql_literal(lower)}")
            if upper is not None:
                where.append(f"{column} < {sql_literal(upper)}")
        return where

    def after(self, row: dict[str, Any]) -> str:
        """Rows strictly after ``row`` in key order, spelled without row-value comparison (portable)."""
        terms = []
        for i, column in enumerate(self.order):
            equal = [f"{quote_identifier(c)} = {sql_literal(row[c])}" for c in self.order[:i]]
            terms.append(" AND ".join([*equal, f"{quote_identifier(column)} > {sql_literal(row[column])}"]))
        return " OR ".join(f"({t})" for t in terms)

    def check_columns(self, row: dict[str, Any]) -> None:
        named = self.order + ([self.cursor_column] if self.cursor_column else [])
        missing = [c for c in dict.fromkeys(named) if c not in row]
        if missing:
            raise ValueError(
                f"column(s) {missing} named by primary_key/incremental are not in the query's result "
                f"(it has {sorted(row)}); select them or fix the names"
            )

    def pages(self, outlit: OutlitClient, lower: Any, upper: Any) -> Iterator[list[dict[str, Any]]]:
        base = self.bounds(lower, upper)
        if self.keys:
            yield from self._keyset(outlit, base)
        else:
            yield from self._offset(outlit, base)

    def _keyset(self, outlit: OutlitClient, base: list[str]) -> Iterator[list[dict[str, Any]]]:
        where = list(base)
        previous = None
        while True:
            result = outlit.query(self.sql(where, self.order), limit=self.page_size)
            rows = list(result.rows)
            if rows:
                self.check_columns(rows[0])
                if any(rows[-1][c] is None for c in self.order):
                    raise ValueError(
                        f"a row has NULL in primary_key {self.order}; keyset paging needs a non-null key "
                        "(filter such rows out in the SQL)"
                    )
                yield rows
            if len(rows) < self.page_size and not result.truncated:
                return
            if not rows:
                return
            following = self.after(rows[-1])
            if following == previous:
                raise RuntimeError(
                    f"keyset paging made no progress past {rows[-1]!r}; is primary_key unique?"
                )
            previous = following
            where = [*base, following]

    def _offset(self, outlit: OutlitClient, base: list[str]) -> Iterator[list[dict[str, Any]]]:
        order = list(self.order)
        first = outlit.query(self.sql(base, order), limit=self.page_size)
        rows = list(first.rows)
        if rows:
            self.check_columns(rows[0])
        if len(rows) < self.page_size and not first.truncated:
            if rows:
                yield rows
            return
        # More than one page: ties in a partial order could shift rows between pages, so read again in a
        # total order over every scalar column (one extra call, only for results above the cap).
        scalar = [c for c, v in rows[0].items() if v is None or isinstance(v, str | int | float | bool)]
        order = order + [c for c in sorted(scalar) if c not in order]
        logger.info(f"outlit_query result exceeds {self.page_size} rows; paging by OFFSET ordered by {order}")
        offset = 0
        while True:
            result = outlit.query(self.sql(base, order, offset), limit=self.page_size)
            rows = list(result.rows)
            if rows:
                yield rows
            offset += len(rows)
            if not rows or (len(rows) < self.page_size and not result.truncated):
                return
