"""Arrow tables built per page from the typed columns a resource declares.

A resource that yields Arrow tables skips dlt's row-by-row normalizer: dlt writes the table to Parquet (or,
for a destination without Parquet, converts it to the destination's format) and the normalize step
becomes a file move. The table follows the declared column hints exactly (same names, types and
nullability), so dlt keeps the declared schema and nothing differs from the row path:

* ``timestamp`` columns are ``timestamp[us, UTC]``, ``double`` ``float64``, ``bigint`` ``int64``;
* ``json`` columns are JSON text (``string``), which is how dlt itself represents a ``json`` column without
  a nested Arrow type; DuckDB and PostgreSQL store it as ``JSON`` / ``jsonb``;
* a field the API returns that is not declared is kept as a column of the type Arrow infers (nested values
  as JSON text), as the row path would add it;
* a value that does not fit its declared type (say, an unparseable timestamp) is loaded as NULL in the
  typed column and kept verbatim in a ``<column>__v_text`` column, like dlt's own variant columns, so
  nothing is lost and the page still loads.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.normalizers.naming.snake_case import NamingConvention
from dlt.common.schema.typing import TTableSchemaColumns

from . import arrays
from .timestamps import format_timestamp, parse_timestamp

Rows = list[dict[str, Any]]

TIMESTAMP = pa.timestamp("us", tz="UTC")
_ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "json": pa.string(),
    "double": pa.float64(),
    "bigint": pa.int64(),
    "bool": pa.bool_(),
    "timestamp": TIMESTAMP,
}
_naming = NamingConvention()
_ISO_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@functools.lru_cache(maxsize=4096)
def column_name(key: str) -> str:
    """The column dlt's default naming gives an API field, e.g. ``occurredAt`` -> ``occurred_at``."""
    return _naming.normalize_identifier(key)


def arrow_type(hint: dict[str, Any]) -> pa.DataType:
    return _ARROW_TYPES[hint["data_type"]]


def to_table(rows: Rows, columns: TTableSchemaColumns, *, drop: Iterable[str] = ()) -> pa.Table:
    """One page of API records (camelCase keys, already shaped) as an Arrow table.

    Declared columns come first, in declaration order, and are always present (NULL when the page lacks
    them); then any other field, named as dlt names it. Keys in ``drop`` are left out.
    """
    by_column: dict[str, str] = {}
    seen = set(drop)
    for row in rows:
        for key in row:
            if key not in seen:
                seen.add(key)
                by_column.setdefault(column_name(key), key)
    arrays: list[pa.Array] = []
    fields: list[pa.Field] = []
    for name, hint in columns.items():
        key = by_column.pop(name, name)
        values = [row.get(key) for row in rows]
        typed, variant = _typed(values, hint.get("data_type") or "text")  # an untyped column: text
        arrays.append(typed)
        fields.append(pa.field(name, typed.type, nullable=hint.get("nullable", True)))
        if variant is not None:
            arrays.append(variant)
            fields.append(pa.field(f"{name}__v_text", pa.string()))
    for name, key in by_column.items():
        array = _inferred([row.get(key) for row in rows])
        arrays.append(array)
        fields.append(pa.field(name, array.type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


class PageBatch:
    """Pages (Arrow tables or row lists) gathered until they hold ``rows`` rows, then handed over as one."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self._pages: list[Any] = []
        self._count = 0

    def add(self, page: Any) -> Any:
        """The batch as one item once it is full (``None`` until then); with ``rows=0`` the page itself."""
        self._pages.append(page)
        self._count += page.num_rows if isinstance(page, pa.Table) else len(page)
        return self.take() if self._count >= self.rows else None

    def take(self) -> Any:
        """What is gathered as one item (``None`` when empty); the batch starts afresh."""
        pages, self._pages, self._count = self._pages, [], 0
        return join_pages(pages) if pages else None


def join_pages(pages: list[Any]) -> Any:
    """Pages as one item: row lists joined, Arrow tables concatenated (a column a page lacks is NULL there).

    Pages whose column types cannot be unified (a field that is a number on one page and text on
    another) stay separate tables in a list, which dlt takes as one item too.
    """
    if len(pages) == 1:
        return pages[0]
    if all(isinstance(page, list) for page in pages):
        return [row for page in pages for row in page]
    try:
        return pa.concat_tables(pages, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pages


def latest_timestamp(table: pa.Table, column: str) -> str | None:
    """The largest value of a timestamp column, formatted as the tools take it (None when all NULL)."""
    if column not in table.column_names or table.num_rows == 0:
        return None
    values = table.column(column)
    if not pa.types.is_timestamp(values.type):
        return None
    latest = pc.max(values.cast(TIMESTAMP))
    return format_timestamp(_from_micros(latest.value)) if latest.is_valid else None


def column_values(table: pa.Table | Rows, column: str) -> list[Any]:
    """One column of a page as Python values, from an Arrow table or from rows."""
    if isinstance(table, pa.Table):
        if column not in table.column_names:
            return [None] * table.num_rows
        values = table.column(column)
        if pa.types.is_timestamp(values.type):
            return [
                None if m is None else _from_micros(m)
                for m in values.cast(TIMESTAMP).cast(pa.int64()).to_pylist()
            ]
        return values.to_pylist()
    return [row.get(column) for row in table]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _from_micros(micros: int) -> datetime:
    """A UTC datetime from microseconds since the epoch.

    pyarrow's own conversion of a zoned timestamp (``as_py``, ``to_pylist``) probes for pandas and imports
    it; inside dlt's extract threads that first import can race another thread's and fail the run with
    "partially initialized module 'pandas'". This conversion takes the integer instead.
    """
    return _EPOCH + timedelta(microseconds=micros)


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _json_bytes(value: Any) -> bytes | None:
    """A JSON column's value as UTF-8 JSON: by orjson (several times faster than json, and always valid
    UTF-8), or as :func:`_safe_json_text` writes it for what orjson refuses (ints beyond 64 bits, lone
    surrogates). orjson writes a few floats differently (``1e-05`` as ``0.00001``): the same JSON number."""
    if value is None:
        return None
    try:
        return orjson.dumps(value, default=str)
    except orjson.JSONEncodeError:
        return _safe_json_text(value).encode()  # type: ignore[union-attr]


def _safe_json_text(value: Any) -> str | None:
    """JSON text that is valid UTF-8: a lone surrogate inside is written as its ``\\u`` escape instead,
    which is the same JSON value."""
    text = _json_text(value)
    if text is None:
        return None
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":"), default=str)
    return text


def _typed(values: list[Any], data_type: str) -> tuple[pa.Array, pa.Array | None]:
    """The values as the declared type, plus a variant column for any value that does not fit."""
    target = _ARROW_TYPES[data_type]
    try:
        if data_type == "json":
            return arrays.utf8([_json_bytes(v) for v in values]), None
        if data_type == "timestamp":
            return arrays.strings(values).cast(TIMESTAMP), None
        return arrays.build(values, target), None
    except (arrays.NotPlain, pa.ArrowInvalid):
        pass
    if data_type in ("bigint", "double"):  # ``pa.array`` takes a few more (3.0 as a bigint, True as a double)
        try:
            return _pa_array(values, target), None
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            pass
    convert = _CONVERTERS[data_type]
    typed: list[Any] = []
    variant: list[str | None] = []
    for value in values:
        try:
            typed.append(None if value is None else convert(value))
            variant.append(None)
        except (TypeError, ValueError, OverflowError):
            typed.append(None)
            variant.append(_variant_text(value))
    _log.warning(
        f"Outlit: {sum(v is not None for v in variant)} value(s) do not fit the declared type {data_type}; "
        "loaded as NULL with the raw value in a __v_text column"
    )
    return _pa_array(typed, target), arrays.strings(variant)


def _inferred(values: list[Any]) -> pa.Array:
    if any(isinstance(v, dict | list) for v in values):
        return arrays.utf8([_json_bytes(v) for v in values])
    try:
        array = arrays.infer(values)
    except arrays.NotPlain:
        try:
            array = _pa_array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, UnicodeEncodeError):
            return arrays.strings([None if v is None else _variant_text(v) for v in values])
    if pa.types.is_string(array.type) and array.null_count < len(array):
        # dlt's row path types ISO-8601 timestamp strings as timestamps (its iso_timestamp detection)
        present = [v for v in values if v is not None]
        if all(isinstance(v, str) and _ISO_TIMESTAMP.match(v) for v in present):
            try:
                return array.cast(TIMESTAMP)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                return array
    # a field that is NULL on every row of this page has no type yet; dlt skips such columns until a
    # page gives them one, as the row path does
    return array


def _pa_array(values: list[Any], target: pa.DataType | None = None) -> pa.Array:
    """``pa.array`` for what the builders do not take (bad data, mostly), one thread at a time.

    Its first call in a process imports pandas when installed; two of dlt's extract threads doing that at
    once can deadlock in the import system, which Python breaks by handing one of them a partially
    initialized module ("partially initialized module 'pandas'"), failing the run.
    """
    with _PA_ARRAY_LOCK:
        return pa.array(values, target)


_PA_ARRAY_LOCK = threading.Lock()


def _variant_text(value: Any) -> str:
    """A value that does not fit its column, as text that keeps it whole.

    Text that is not valid UTF-8 (a lone surrogate, as a JSON ``"\\ud800"`` escape decodes to) is kept as its
    JSON string literal, escapes and all, since no Arrow or warehouse string can hold it as is.
    """
    if isinstance(value, str):
        try:
            value.encode()
            return value
        except UnicodeEncodeError:
            return json.dumps(value)
    return _safe_json_text(value) or "null"  # value is not None here, so its text is never None


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("bool is not a bigint")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("not a whole number")
    return int(value)


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError("bool is not a double")
    return float(value)


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        value.encode()  # a lone surrogate raises: the value goes to the variant column as JSON
        return value
    raise TypeError("not text")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError("not a bool")


def _to_timestamp(value: Any) -> datetime:
    return parse_timestamp(value, field="value")


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "text": _to_text,
    "json": _safe_json_text,
    "double": _to_float,
    "bigint": _to_int,
    "bool": _to_bool,
    "timestamp": _to_timestamp,
}
_log = logging.getLogger("dlt_sources.outlit")


def quiet_json_hint_notice(resources: Sequence[str]) -> None:
    """Drop dlt's notice that an Arrow ``string`` column is declared ``json`` for the named resources.

    dlt logs, once per table and run, that the declared hint (``json``) wins over the Arrow type (``string``)
    and that the destination coerces the value; that is the intended path for JSON text, so the notice
    would only be noise on every scheduled run. Other notices, and other resources' notices, still show.
    """
    from dlt.common import logger as dlt_logger

    names = frozenset(resources)
    target = getattr(dlt_logger, "LOGGER", None) or logging.getLogger("dlt")
    if any(isinstance(f, _JsonHintFilter) and f.names >= names for f in target.filters):
        return
    target.addFilter(_JsonHintFilter(names))


class _JsonHintFilter(logging.Filter):
    def __init__(self, names: frozenset[str]) -> None:
        super().__init__()
        self.names = names

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "when merging arrow schema with dlt schema" not in message:
            return True
        return not any(f"In resource: {name}," in message for name in self.names)
