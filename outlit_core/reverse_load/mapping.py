"""How warehouse rows become Outlit ingest events, declared as data and checked before anything is sent.

A mapping is a dict (or a JSON / YAML file) such as::

    name: billing_status            # scopes the delivery ledger; keep it stable across runs
    event_type: billing
    key: [account_id]               # columns that identify a row
    timestamp: updated_at
    customer_id: account_id
    fields: {status: billing_status}
    properties: [plan, mrr]

A plain string always names a column; ``{value: ...}`` is a literal. The only exceptions are ``event_name``
(a literal event name; use ``event_name_column`` to read it from a column), ``url`` and ``path`` (literals).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from outlit_core.client.exceptions import OutlitInputError

EventType = Literal["pageview", "custom", "form", "identify", "engagement", "calendar", "stage", "billing"]
EVENT_TYPES: tuple[str, ...] = (
    "pageview",
    "custom",
    "form",
    "identify",
    "engagement",
    "calendar",
    "stage",
    "billing",
)


class MappingError(OutlitInputError):
    """A mapping that cannot produce valid events; the message names the mapping field and the fix."""


class Constant(BaseModel):
    """A constant value for an event field, written ``{value: ...}`` in a mapping."""

    model_config = ConfigDict(extra="forbid")
    value: str | int | float | bool


FieldSource = str | Constant
"""A column name, or ``{value: ...}`` for a constant."""


class FieldKind:
    """What an event field holds, used to convert and check values row by row."""

    STRING = "string"
    EMAIL = "email"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATETIME = "datetime"  # ISO 8601 string on the wire
    UUID = "uuid"


# Type-specific fields each event type accepts (Outlit's wire names), with their kinds and allowed values.
# Identity fields and the shared fields are handled separately below.
_TYPE_FIELDS: dict[str, dict[str, str]] = {
    "pageview": {"title": FieldKind.STRING},
    "custom": {"fingerprint": FieldKind.STRING},
    "form": {"formId": FieldKind.STRING},
    "identify": {"fingerprint": FieldKind.STRING},
    "engagement": {
        "activeTimeMs": FieldKind.NUMBER,
        "totalTimeMs": FieldKind.NUMBER,
        "sessionId": FieldKind.UUID,
    },
    "calendar": {
        "provider": FieldKind.STRING,
        "eventType": FieldKind.STRING,
        "startTime": FieldKind.DATETIME,
        "endTime": FieldKind.DATETIME,
        "duration": FieldKind.NUMBER,
        "isRecurring": FieldKind.BOOLEAN,
        "inviteeEmail": FieldKind.EMAIL,
        "inviteeName": FieldKind.STRING,
    },
    "stage": {"stage": FieldKind.STRING},
    "billing": {"status": FieldKind.STRING, "stripeCustomerId": FieldKind.STRING},
}
REQUIRED_TYPE_FIELDS: dict[str, tuple[str, ...]] = {
    "engagement": ("activeTimeMs", "totalTimeMs", "sessionId"),
    "calendar": ("provider",),
    "stage": ("stage",),
    "billing": ("status",),
}
ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("calendar", "provider"): ("cal.com", "calendly", "unknown"),
    ("stage", "stage"): ("activated", "engaged", "inactive"),
    ("billing", "status"): ("trialing", "paid", "churned"),
}
SHARED_FIELDS: dict[str, str] = {"referrer": FieldKind.STRING}
# Where each event type takes a free-form object from a list of columns.
_OBJECT_FIELDS: dict[str, tuple[str, ...]] = {
    "custom": ("properties", "customer_traits"),
    "stage": ("properties", "customer_traits"),
    "billing": ("properties", "customer_traits"),
    "identify": ("traits", "customer_traits"),
    "form": ("form_fields", "customer_traits"),
    "pageview": ("customer_traits",),
    "engagement": ("customer_traits",),
    "calendar": ("customer_traits",),
}
OBJECT_WIRE_NAMES = {
    "properties": "properties",
    "traits": "traits",
    "customer_traits": "customerTraits",
    "form_fields": "formFields",
}
# Identity columns a mapping may fill, per event type (Outlit's schemas give e-mail and user id only to
# custom, identify and, for server-side stage events, stage; the others attribute to an account).
IDENTITY_FIELDS = {"email": "email", "user_id": "userId", "customer_id": "customerId"}
_PERSON_TYPES = ("custom", "identify", "stage")
# Identity a server-side event needs, by type (any one of the listed wire fields must be non-empty).
REQUIRED_IDENTITY: dict[str, tuple[str, ...]] = {
    "custom": ("email", "userId", "fingerprint", "customerId"),
    "identify": ("email", "userId"),
    "stage": ("email", "userId", "customerId"),
    "billing": ("customerId", "stripeCustomerId"),
}
_DEFAULT_REQUIRED_IDENTITY = ("customerId",)


def allowed_identity(event_type: str) -> tuple[str, ...]:
    """Mapping attributes among email / user_id / customer_id that this event type carries."""
    return ("email", "user_id", "customer_id") if event_type in _PERSON_TYPES else ("customer_id",)


def required_identity(event_type: str) -> tuple[str, ...]:
    return REQUIRED_IDENTITY.get(event_type, _DEFAULT_REQUIRED_IDENTITY)


def type_fields(event_type: str) -> dict[str, str]:
    return _TYPE_FIELDS[event_type]


class EventMapping(BaseModel):
    """The validated mapping from one source row to one Outlit ingest event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(
        default=None,
        description="Stable name of this sync; scopes the delivery ledger. Defaults to the table name.",
    )
    uuid_namespace: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "Namespace of the event uuids; defaults to the sync name. Two sources sending the same row "
            "under one namespace share a uuid (Outlit keeps one event); give each its own to keep both."
        ),
    )
    event_type: EventType
    key: list[str] = Field(min_length=1, description="Columns that together identify a source row.")
    event_name: str | None = None
    event_name_column: str | None = None
    timestamp: str | None = Field(default=None, description="Column holding when the event happened.")
    email: str | None = None
    user_id: str | None = None
    customer_id: str | None = None
    fields: dict[str, FieldSource] = Field(default_factory=dict)
    properties: list[str] | dict[str, str] = Field(default_factory=list)
    traits: list[str] | dict[str, str] = Field(default_factory=list)
    customer_traits: list[str] | dict[str, str] = Field(default_factory=list)
    form_fields: list[str] | dict[str, str] = Field(default_factory=list)
    url: str = "server://outlit-etl"
    path: str = "/"

    @field_validator("key")
    @classmethod
    def _unique_key(cls, key: list[str]) -> list[str]:
        if len(set(key)) != len(key):
            raise ValueError(f"key lists a column twice: {key}")
        if any(not k for k in key):
            raise ValueError("key has an empty column name")
        return key

    @field_validator("path")
    @classmethod
    def _path_starts_with_slash(cls, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', got {path!r}")
        return path

    @field_validator("url")
    @classmethod
    def _url_has_scheme(cls, url: str) -> str:
        if "://" not in url:
            raise ValueError(f"url must be an absolute URI such as 'server://billing', got {url!r}")
        return url

    @model_validator(mode="after")
    def _fits_event_type(self) -> EventMapping:
        et = self.event_type
        allowed = {**type_fields(et), **SHARED_FIELDS}
        for name, source in self.fields.items():
            if name not in allowed:
                raise ValueError(
                    f"fields.{name} is not a field of '{et}' events; allowed: {', '.join(sorted(allowed))}"
                )
            enum = ENUMS.get((et, name))
            if isinstance(source, Constant) and enum and source.value not in enum:
                raise ValueError(f"fields.{name}: {source.value!r} is not one of {', '.join(enum)}")
        for name in REQUIRED_TYPE_FIELDS.get(et, ()):
            if name not in self.fields:
                raise ValueError(
                    f"'{et}' events require '{name}' but the mapping gives it no source; "
                    f"add fields.{name}: <column> or fields.{name}: {{value: ...}}"
                )
        if et == "custom":
            if not (self.event_name or self.event_name_column):
                raise ValueError(
                    "'custom' events require an event name; "
                    "set event_name: <name> or event_name_column: <column>"
                )
        elif self.event_name or self.event_name_column:
            raise ValueError(f"event_name only applies to 'custom' events, not '{et}'")
        if self.event_name and self.event_name_column:
            raise ValueError("set either event_name or event_name_column, not both")
        for obj in ("properties", "traits", "customer_traits", "form_fields"):
            if getattr(self, obj) and obj not in _OBJECT_FIELDS[et]:
                raise ValueError(
                    f"{obj} does not apply to '{et}' events; "
                    f"this type takes: {', '.join(_OBJECT_FIELDS[et]) or 'no free-form objects'}"
                )
        for attr in IDENTITY_FIELDS:
            if getattr(self, attr) and attr not in allowed_identity(et):
                raise ValueError(
                    f"{attr} does not apply to '{et}' events (they attribute to an account); "
                    f"use customer_id, or event_type custom / identify for per-person events"
                )
        needed = required_identity(et)
        mapped = {w for m, w in IDENTITY_FIELDS.items() if getattr(self, m)}
        mapped |= {f for f in ("fingerprint", "stripeCustomerId") if f in self.fields}
        if not mapped & set(needed):
            options = [_MAPPING_NAME.get(f, f"fields.{f}") for f in needed]
            raise ValueError(
                f"'{et}' events need an identity: map at least one of {', '.join(options)} to a column"
            )
        return self

    # --- derived views -------------------------------------------------------------------------------

    def object_columns(self, obj: str) -> dict[str, str]:
        """Free-form object ``obj`` as {output name: column}."""
        value = getattr(self, obj)
        return dict(value) if isinstance(value, dict) else {c: c for c in value}

    def referenced_columns(self) -> dict[str, str]:
        """Every column the mapping reads, with the mapping field that reads it (for error messages)."""
        refs: dict[str, str] = {}
        for col in self.key:
            refs.setdefault(col, "key")
        for attr in ("event_name_column", "timestamp", "email", "user_id", "customer_id"):
            col = getattr(self, attr)
            if col:
                refs.setdefault(col, attr)
        for name, source in self.fields.items():
            if isinstance(source, str):
                refs.setdefault(source, f"fields.{name}")
        for obj in ("properties", "traits", "customer_traits", "form_fields"):
            for out, col in self.object_columns(obj).items():
                refs.setdefault(col, f"{obj}.{out}")
        return refs

    def resolve_columns(self, columns: Iterable[str]) -> list[str]:
        """The source's column names, spelled as the mapping spells them where only case differs.

        Snowflake and Oracle report unquoted names in upper case; a mapping written in lower case should
        still find them.
        """
        available = list(columns)
        wanted = {c.lower(): c for c in self.referenced_columns()}
        lowered = [c.lower() for c in available]
        return [
            wanted[low] if c not in wanted.values() and low in wanted and lowered.count(low) == 1 else c
            for c, low in zip(available, lowered, strict=True)
        ]

    def check_columns(self, columns: Iterable[str]) -> None:
        """Fail with one clear message if the source lacks any column the mapping reads."""
        available = list(columns)
        have = set(available)
        missing = [(col, where) for col, where in self.referenced_columns().items() if col not in have]
        if missing:
            lines = "; ".join(f"column '{col}' (mapping field {where})" for col, where in missing)
            raise MappingError(
                f"the source rows lack {lines}. Available columns: {', '.join(available)}. "
                "Fix the mapping or select those columns."
            )

    def sync_name(self, table: str | None) -> str:
        if self.name:
            return self.name
        if table:
            return f"{table}:{self.event_type}"
        raise MappingError(
            "mapping field 'name' is required when rows come from a SQL query: it scopes the delivery "
            "ledger, so give the sync a stable name such as name: billing_status"
        )


_MAPPING_NAME = {"email": "email", "userId": "user_id", "customerId": "customer_id"}


def load_mapping(source: EventMapping | Mapping[str, Any] | str | Path) -> EventMapping:
    """Build a mapping from a model, a dict, or a path to a ``.json`` / ``.yaml`` / ``.yml`` file."""
    if isinstance(source, EventMapping):
        return source
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise MappingError(f"mapping file {str(path)!r} does not exist")
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix.lower() in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text)
            else:
                data = json.loads(text)
        except Exception as exc:  # the parser's own message says where the syntax error is
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise MappingError(f"mapping file {str(path)!r} could not be parsed: {first}") from exc
        if not isinstance(data, dict):
            raise MappingError(f"mapping file {str(path)!r} must hold an object, not {type(data).__name__}")
        return _validate(data, f"mapping file {str(path)!r}")
    if isinstance(source, Mapping):
        return _validate(dict(source), "mapping")
    raise MappingError(
        f"mapping must be a dict, a JSON/YAML path or an EventMapping, not {type(source).__name__}"
    )


def _validate(data: dict[str, Any], where: str) -> EventMapping:
    try:
        return EventMapping.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{loc}: {msg}" if loc else msg)
        raise MappingError(f"{where} is invalid: " + "; ".join(problems)) from None
