"""One source row -> one ingest event: value conversion, local validation, content hash and uuid.

Everything here is deterministic: the same row under the same mapping always gives the same event, the
same content hash and the same uuid, which is what makes a resent batch harmless (Outlit dedupes by uuid).
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from outlit_core.client import is_email
from outlit_core.client.exceptions import OutlitInputError
from outlit_core.reverse_load.mapping import (
    ENUMS,
    IDENTITY_FIELDS,
    OBJECT_WIRE_NAMES,
    REQUIRED_TYPE_FIELDS,
    SHARED_FIELDS,
    Constant,
    EventMapping,
    FieldKind,
    required_identity,
    type_fields,
)

_encode_string = json.encoder.encode_basestring  # the C encoder json.dumps uses
# The ingest API refuses request bodies over 1 MB; an event must leave room for the envelope around it.
MAX_EVENT_BYTES = 1_000_000 - 1_024
# Fixed namespace so uuids are stable across machines and versions of this package.
EVENT_UUID_NAMESPACE = uuid.UUID("4f0e6d1c-2b7a-5e3f-9c1d-0a8b7e6f5d4c")
_NAMESPACE_BYTES = EVENT_UUID_NAMESPACE.bytes
_FLAT_OBJECTS = {"traits", "customer_traits", "form_fields"}  # Outlit takes only scalar values in these


class RowRejected(OutlitInputError):
    """A row that cannot become a valid event; ``field`` is the event field path that failed."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


@dataclass(slots=True)
class MappedRow:
    key: str
    content_hash: str
    event: dict[str, Any]  # gets its "uuid" once the ledger says which version of the row this is
    #: the event's canonical JSON without its uuid, which ``content_hash`` is taken of
    body: bytes = b""

    def stamp(self, event_uuid: str) -> bytes | None:
        """Give the event its uuid; returns the event's JSON with it, for ``prepare_event(encoded=)``.

        The canonical body with the uuid put first: encoding each event once, not twice, is a tenth of
        the loader's CPU per event.
        """
        self.event["uuid"] = event_uuid
        if not self.body:
            return None
        return b'{"uuid":' + _encode_string(event_uuid).encode() + b"," + self.body[1:]


def row_key(mapping: EventMapping, row: Mapping[str, Any]) -> str:
    """The row's key columns as canonical JSON, the identity of the row in the ledger.

    Written out by hand: the same text ``json.dumps(parts, separators=(",", ":"), ensure_ascii=False)``
    gives (the ledger's keys depend on it), at a fraction of its cost per row.
    """
    return "[" + ",".join(_key_json(_key_part(row.get(c))) for c in mapping.key) + "]"


def _key_json(part: Any) -> str:
    if isinstance(part, str):
        return _encode_string(part)
    if part is None:
        return "null"
    if part is True or part is False:
        return "true" if part else "false"
    return int.__repr__(part)


def _key_part(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return str(value)


def content_hash(event: Mapping[str, Any]) -> str:
    """SHA-256 of the event as canonical JSON (sorted keys), without its uuid."""
    body = {k: v for k, v in event.items() if k != "uuid"}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


# One encoder for every row: json.dumps with these options builds a new one per call, a third of its cost.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 as is: the text content hashes are taken of (ledgers depend on it)."""
    return _CANONICAL.encode(value)


def canonical_bytes(event: dict[str, Any]) -> bytes:
    """``canonical_json(event).encode()``, by orjson (several times faster) where it writes the same bytes.

    orjson writes strings, ints, booleans, null and sorted keys exactly as the json module does here, and
    floats too unless Python would write them with an exponent (``1e-05`` is ``0.00001`` in orjson) or
    they are not finite (orjson writes NaN as null; json refuses it). Events holding such a float, a nested
    list or object, a type other than those, or an int beyond 64 bits (orjson refuses it) go through
    ``canonical_json``, so a row's hash never depends on which encoder wrote it.
    """
    for value in event.values():
        if type(value) is dict:
            if not all(map(_same_in_orjson, value.values())):
                return canonical_json(event).encode()
        elif not _same_in_orjson(value):
            return canonical_json(event).encode()
    try:
        return orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # an int over 64 bits, a lone surrogate: json decides (and refuses)
        return canonical_json(event).encode()


def _same_in_orjson(value: Any) -> bool:
    """A scalar both encoders write alike: floats only when finite and written without an exponent."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    return kind is float and (value == 0.0 or 1e-4 <= abs(value) < 1e16)


def event_uuid(namespace: str, key: str, digest: str, previous_uuid: str = "") -> str:
    """Name-based (v5) uuid of one version of one row: a resend of that version repeats the uuid.

    ``namespace`` is the sync's uuid namespace (its name unless set): two sources sending the same row under
    one namespace produce the same uuid, so Outlit keeps one of them; different namespaces keep both.

    ``previous_uuid`` (the uuid last delivered for the key) makes a row that changes back to an earlier
    content a new event, so a status going paid -> churned -> paid is not deduplicated away.
    """
    name = f"{namespace}\x1f{key}\x1f{digest}\x1f{previous_uuid}"
    # uuid.uuid5 by hand (the same RFC 4122 steps and text): building a UUID object was most of its cost.
    # On the hex digits: the version nibble (13th) becomes 5, and the variant's two bits set the 17th
    # digit to one of 8, 9, a, b.
    h = hashlib.sha1(_NAMESPACE_BYTES + name.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


class RowMapper:
    """Turns rows (dicts keyed by column) into events (without uuid) for one validated mapping.

    What each event field reads and how it is converted is worked out once per mapping, here, so that the
    per-row work is a walk over short lists with a fast path for the common value types; the output (and
    so every content hash) is the same as converting field by field.
    """

    def __init__(self, mapping: EventMapping) -> None:
        m = self.mapping = mapping
        kinds = {**type_fields(m.event_type), **SHARED_FIELDS}
        self._key_columns = tuple(m.key)
        self._base = {"type": m.event_type, "url": m.url, "path": m.path}
        self._identity = [
            (wire, col, FieldKind.EMAIL if wire == "email" else FieldKind.STRING)
            for attr, wire in IDENTITY_FIELDS.items()
            if (col := getattr(m, attr))
        ]
        self._fields: list[tuple[str, bool, Any, str, tuple[str, ...] | None]] = [
            (
                name,
                isinstance(source, Constant),
                source.value if isinstance(source, Constant) else source,
                kinds[name],
                ENUMS.get((m.event_type, name)),
            )
            for name, source in m.fields.items()
        ]
        self._objects = [
            (
                wire,
                [(out, col, f"{wire}.{out}") for out, col in m.object_columns(obj).items()],
                obj in _FLAT_OBJECTS,
                obj == "form_fields",
            )
            for obj, wire in OBJECT_WIRE_NAMES.items()
            if getattr(m, obj)
        ]
        required = REQUIRED_TYPE_FIELDS.get(m.event_type, ())
        self._required = [
            (name, source if isinstance(source, str) else "(literal)")
            for name, source in m.fields.items()
            if name in required
        ]
        self._identity_needed = required_identity(m.event_type)

    def key_of(self, row: Mapping[str, Any]) -> str:
        return row_key(self.mapping, row)

    def map(self, row: Mapping[str, Any], key: str | None = None) -> MappedRow:
        """Build the event for ``row`` or raise :class:`RowRejected` naming the field at fault."""
        m = self.mapping
        key = self.key_of(row) if key is None else key
        get = row.get
        for col in self._key_columns:
            if get(col) is None:
                raise RowRejected(f"key column '{col}' is null", f"key.{col}")
        event: dict[str, Any] = self._base.copy()
        if m.timestamp:
            ts = get(m.timestamp)
            if ts is None:
                raise RowRejected(
                    f"timestamp column '{m.timestamp}' is null; fill it, or leave 'timestamp' out of the "
                    "mapping to have Outlit stamp each event with the time it receives it",
                    "timestamp",
                )
            event["timestamp"] = _to_epoch_ms(ts, "timestamp")
        if m.event_type == "custom":
            name = m.event_name if m.event_name else get(m.event_name_column or "")
            if name is None or (isinstance(name, str) and not name.strip()):
                raise RowRejected(f"event name column '{m.event_name_column}' is empty", "eventName")
            event["eventName"] = _to_string(name, "eventName")
        for wire, col, kind in self._identity:
            value = get(col)
            if value is None:
                continue
            if type(value) is str:
                if not value.strip():
                    continue
                if kind == FieldKind.STRING:
                    event[wire] = value
                    continue
            elif str(value).strip() == "":
                continue
            event[wire] = _convert(value, kind, wire)
        for name, constant, source, kind, enum in self._fields:
            value = source if constant else get(source)
            if value is None:
                continue
            plain = kind == FieldKind.STRING and type(value) is str
            converted = value if plain else _convert(value, kind, name)
            if enum and converted not in enum:
                raise RowRejected(f"{name} is {converted!r}, not one of {', '.join(enum)}", name)
            event[name] = converted
        for wire, columns, flat, form in self._objects:
            values: dict[str, Any] = {}
            for out, col, field in columns:
                value = get(col)
                vtype = type(value)
                # str, int, bool and None pass as they are: the common case, checked without a call
                if vtype is str or vtype is int or vtype is bool or value is None:
                    values[out] = value
                else:
                    values[out] = _object_value(value, field, flat=flat)
            event[wire] = {k: str(v) for k, v in values.items() if v is not None} if form else values
        self._check_required(event)
        try:
            body = canonical_bytes(event)
        except ValueError as exc:  # a NaN that slipped through a nested value
            raise RowRejected(f"value is not valid JSON: {exc}") from None
        if len(body) > MAX_EVENT_BYTES:
            raise RowRejected(
                f"event is {len(body)} bytes, over the 1 MB request limit; map fewer or smaller columns"
            )
        digest = hashlib.sha256(body).hexdigest()
        return MappedRow(key=key, content_hash=digest, event=event, body=body)

    def _check_required(self, event: dict[str, Any]) -> None:
        for name, col in self._required:
            if name not in event:
                raise RowRejected(f"required field '{name}' is null (column '{col}')", name)
        needed = self._identity_needed
        if not any(event.get(f) for f in needed):
            m = self.mapping
            raise RowRejected(f"missing identity: '{m.event_type}' events need one of {', '.join(needed)}")


def _convert(value: Any, kind: str, field: str) -> Any:
    if kind == FieldKind.STRING:
        return _to_string(value, field)
    if kind == FieldKind.EMAIL:
        text = _to_string(value, field).strip()
        if not is_email(text):  # the client's rule, the same for send_events and the ingest operator
            raise RowRejected(f"{field} {text!r} is not an email address", field)
        return text
    if kind == FieldKind.NUMBER:
        return _to_number(value, field)
    if kind == FieldKind.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise RowRejected(f"{field} must be a boolean, got {type(value).__name__} {value!r}", field)
    if kind == FieldKind.DATETIME:
        if isinstance(value, dt.datetime):
            return _aware(value).isoformat().replace("+00:00", "Z")
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, str):
            try:
                dt.datetime.fromisoformat(value)
            except ValueError:
                raise RowRejected(f"{field} {value!r} is not an ISO 8601 date-time", field) from None
            return value
        raise RowRejected(f"{field} must be a date-time, got {type(value).__name__}", field)
    if kind == FieldKind.UUID:
        try:
            return str(uuid.UUID(str(value)))
        except ValueError:
            raise RowRejected(f"{field} {value!r} is not a UUID", field) from None
    raise AssertionError(f"unknown field kind {kind}")


def _to_string(value: Any, field: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | bytes | bytearray | memoryview | dict | list | tuple):
        raise RowRejected(f"{field} must be text, got {type(value).__name__}", field)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RowRejected(f"{field} is {value}, not text", field)
        if value.is_integer():  # ids stored as DOUBLE would otherwise read "42.0"
            return str(int(value))
    if isinstance(value, decimal.Decimal) and value == value.to_integral_value():
        return str(value.quantize(decimal.Decimal(1)))
    return str(value)


def _to_number(value: Any, field: str) -> int | float:
    if isinstance(value, bool):
        raise RowRejected(f"{field} must be a number, got a boolean", field)
    if isinstance(value, int):
        return value
    if isinstance(value, float | decimal.Decimal):
        number = float(value)
        if not math.isfinite(number):
            raise RowRejected(f"{field} is {value}, not a finite number", field)
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    raise RowRejected(f"{field} must be a number, got {type(value).__name__} {value!r}", field)


def _object_value(value: Any, field: str, *, flat: bool) -> Any:
    """A property/trait value as JSON: scalars always, nested lists/dicts only where Outlit allows them."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float | decimal.Decimal):
        return _to_number(value, field)
    if isinstance(value, dt.datetime):
        return _aware(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, dict | list | tuple):
        if flat:
            raise RowRejected(
                f"{field} must be a string, number, boolean or null, got {type(value).__name__}", field
            )
        if isinstance(value, dict):
            return {str(k): _object_value(v, f"{field}.{k}", flat=False) for k, v in value.items()}
        return [_object_value(v, f"{field}[{i}]", flat=False) for i, v in enumerate(value)]
    raise RowRejected(f"{field} has unsupported type {type(value).__name__}", field)


def _aware(value: dt.datetime) -> dt.datetime:
    # Warehouses commonly store naive timestamps meaning UTC.
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _to_epoch_ms(value: Any, field: str) -> int:
    if isinstance(value, dt.datetime):
        return int(_aware(value).timestamp() * 1000)
    if isinstance(value, dt.date):
        return int(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).timestamp() * 1000)
    if isinstance(value, bool):
        raise RowRejected(f"{field} must be a timestamp, got a boolean", field)
    if isinstance(value, int | float | decimal.Decimal):
        number = float(value)
        if not math.isfinite(number) or number < 0:
            raise RowRejected(f"{field} is {value}, not a valid epoch time", field)
        # Epoch seconds are ~1.7e9, milliseconds ~1.7e12: accept both rather than silently send 1970 dates.
        return int(number * 1000) if number < 1e11 else int(number)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise RowRejected(f"{field} {value!r} is not an ISO 8601 timestamp", field) from None
        return int(_aware(parsed).timestamp() * 1000)
    raise RowRejected(f"{field} must be a timestamp, got {type(value).__name__}", field)


def row_as_json(row: Mapping[str, Any]) -> str:
    """The source row for the dead-letter table; values JSON can't hold are written as text."""
    return json.dumps(dict(row), default=str, ensure_ascii=False)


def row_hash(row_json: str) -> str:
    """Hash recorded for a row that could not become an event, so an unchanged bad row is not retried."""
    return "row:" + hashlib.sha256(row_json.encode()).hexdigest()
