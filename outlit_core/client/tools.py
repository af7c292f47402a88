"""The public Outlit tools as a declarative catalog, with an input model per tool.

Inputs are checked here before any request so that a typo in a scheduled job fails at once with a message
naming the field, the bad value and what is allowed, instead of burning an API call on a 400.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from .exceptions import OutlitToolInputError, OutlitUnknownToolError

__all__ = [
    "TOOLS",
    "ToolSpec",
    "check_query_sql",
    "get_tool",
    "tool_names",
    "validate_tool_input",
]

# --- field types -----------------------------------------------------------------------------------------

_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$")


def _to_utc_iso(value: Any) -> Any:
    """Accept an aware datetime or an ISO-8601 string with a zone; send it as UTC ``...Z``."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("datetime has no timezone: pass an aware datetime (e.g. tzinfo=UTC)")
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, str):
        if not _DATETIME_RE.match(value):
            raise ValueError("must be an ISO-8601 date-time with a timezone, e.g. '2025-01-31T23:59:59Z'")
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"is not a real calendar date-time ({exc})") from None
        if value.endswith("Z"):
            return value
        return parsed.astimezone(UTC).isoformat().replace("+00:00", "Z")
    raise ValueError("must be an ISO-8601 date-time string or a datetime")


DateTime = Annotated[str, BeforeValidator(_to_utc_iso)]
Str500 = Annotated[str, Field(strict=True, max_length=500)]
NonEmpty500 = Annotated[str, Field(strict=True, min_length=1, max_length=500)]
Cursor = Annotated[str, Field(strict=True, min_length=1, max_length=2000)]
Limit1000 = Annotated[int, Field(strict=True, ge=1, le=1000)]
Limit100 = Annotated[int, Field(strict=True, ge=1, le=100)]
# Lax pydantic would turn "yes" / 1 into True; the contract (and Outlit) take JSON booleans only.
StrictBool = Annotated[bool, Field(strict=True)]


def _non_negative_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    if value < 0:
        raise ValueError("must be >= 0")
    return value


def _trait_value(value: Any) -> Any:
    if isinstance(value, str):
        if len(value) > 500:
            raise ValueError("a string trait value may be at most 500 characters")
        return value
    if isinstance(value, bool | int | float):
        return value
    raise ValueError("trait values must be a string, number or boolean")


# Annotated[Any, ...] keeps ints as ints (5 stays 5, not 5.0) and gives one clear message per field.
Cents = Annotated[Any, BeforeValidator(_non_negative_number)]
Window = Literal["7d", "14d", "30d", "90d"]
RelativeWindow = Annotated[str, Field(strict=True, pattern=r"^\d+(d|h|m)$")]
TraitKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,100}$")]
TraitValue = Annotated[Any, BeforeValidator(_trait_value)]
SourceType = Literal[
    "EMAIL", "CALL", "CALENDAR_EVENT", "SUPPORT_TICKET", "OPPORTUNITY", "SLACK", "CRM", "CRM_OPPORTUNITY"
]
Direction = Literal["asc", "desc"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SortedPage(_Input):
    """The paging and sort direction of the three sorted list tools (customers, users, workspace users);
    each adds its own filters and ``orderBy`` values."""

    limit: Limit1000 | None = None
    cursor: Cursor | None = None
    orderDirection: Direction | None = None


def _after_not_past_before(model: Any) -> Any:
    """The ``after``/``before`` window of the tools that have one: after must not be later than before."""
    _check_order(model.after, model.before, "after", "before")
    return model


class ListCustomersInput(_SortedPage):
    activatedSince: DateTime | None = None
    billingStatus: Literal["NONE", "TRIALING", "PAYING", "PAST_DUE", "CHURNED"] | None = None
    hasActivityInLast: Window | None = None
    noActivityInLast: Window | None = None
    mrrAbove: Cents | None = None
    mrrBelow: Cents | None = None
    traitFilters: dict[TraitKey, TraitValue] | None = None
    search: Str500 | None = None
    ownerId: Str500 | None = None
    ownerEmail: Str500 | None = None
    hasOwner: StrictBool | None = None
    orderBy: Literal["last_activity_at", "first_seen_at", "name", "mrr_cents"] | None = None

    @model_validator(mode="after")
    def _bounds(self) -> ListCustomersInput:
        if self.mrrAbove is not None and self.mrrBelow is not None and self.mrrAbove > self.mrrBelow:
            raise ValueError("mrrAbove must not be greater than mrrBelow")
        return self


class ListUsersInput(_SortedPage):
    journeyStage: Literal["DISCOVERED", "SIGNED_UP", "ACTIVATED", "ENGAGED", "INACTIVE"] | None = None
    customerId: Str500 | None = None
    traitFilters: dict[TraitKey, TraitValue] | None = None
    hasActivityInLast: RelativeWindow | None = None
    noActivityInLast: RelativeWindow | None = None
    search: Str500 | None = None
    orderBy: Literal["last_activity_at", "first_seen_at", "email"] | None = None


class ListWorkspaceUsersInput(_SortedPage):
    search: Str500 | None = None
    role: Annotated[str, Field(strict=True, max_length=100)] | None = None
    managerEmail: Str500 | None = None
    hasOwnedCustomers: StrictBool | None = None
    orderBy: Literal["name", "email", "owned_customer_count"] | None = None


class GetCustomerInput(_Input):
    customer: NonEmpty500
    include: list[Literal["users", "revenue", "recentTimeline", "behaviorMetrics", "enrichment"]] | None = (
        None
    )
    timeframe: Window | None = None


class GetTimelineInput(_Input):
    customer: Annotated[str, Field(strict=True, min_length=1, max_length=200)]
    channels: (
        list[
            Literal[
                "PRODUCT",
                "COMMUNICATION",
                "MEETING",
                "CRM",
                "BILLING",
                "SUPPORT",
                "IDENTITY",
                "DOCUMENT",
                "SYSTEM",
            ]
        ]
        | None
    ) = None
    eventTypes: list[Annotated[str, Field(strict=True)]] | None = None
    timeframe: Literal["7d", "14d", "30d", "90d", "all"] | None = None
    startDate: DateTime | None = None
    endDate: DateTime | None = None
    limit: Limit1000 | None = None
    cursor: Cursor | None = None

    @model_validator(mode="after")
    def _window(self) -> GetTimelineInput:
        if self.timeframe is not None and (self.startDate is not None or self.endDate is not None):
            raise ValueError("give either timeframe or startDate/endDate, not both")
        _check_order(self.startDate, self.endDate, "startDate", "endDate")
        return self


class ListFactsInput(_Input):
    customer: NonEmpty500
    status: list[Literal["ACTIVE", "ACKNOWLEDGED", "RESOLVED", "SNOOZED", "CANDIDATE"]] | None = None
    sourceTypes: list[SourceType] | None = None
    factTypes: (
        list[
            Literal[
                "CUSTOM",
                "COMPANY_CHANGE",
                "FUNDING_REVENUE",
                "TECHNOLOGY",
                "STRATEGY",
                "COMPETITIVE",
                "SENTIMENT",
                "CHAMPION_RISK",
                "EXPANSION",
                "CHURN_RISK",
                "TIMELINE",
                "BUDGET",
                "DECISION_MAKER",
                "REQUIREMENTS",
                "PRODUCT_USAGE",
                "CONTACT_INFO",
                "CONTACT_PREFERENCE",
            ]
        ]
        | None
    ) = None
    factCategories: list[Literal["MEMORY", "CUSTOM"]] | None = None
    after: DateTime | None = None
    before: DateTime | None = None
    limit: Limit100 | None = None
    cursor: Cursor | None = None

    _window = model_validator(mode="after")(_after_not_past_before)


class GetFactInput(_Input):
    factId: NonEmpty500
    include: list[Annotated[str, Field(strict=True, min_length=1, max_length=100)]] | None = None


class GetSourceInput(_Input):
    sourceType: SourceType
    sourceId: NonEmpty500
    limit: Limit100 | None = None
    cursor: Cursor | None = None


class ListSourcesInput(_Input):
    sourceType: SourceType | None = None
    customer: Annotated[str, Field(strict=True, min_length=1, max_length=200)] | None = None
    after: DateTime | None = None
    before: DateTime | None = None
    participant: NonEmpty500 | None = None
    provider: Annotated[str, Field(strict=True, min_length=1, max_length=200)] | None = None
    hasTranscript: StrictBool | None = None
    limit: Limit100 | None = None
    cursor: Cursor | None = None

    _window = model_validator(mode="after")(_after_not_past_before)


class SearchCustomerContextInput(_Input):
    query: Annotated[str, Field(strict=True, min_length=2, max_length=2000)]
    customer: NonEmpty500 | None = None
    topK: Annotated[int, Field(strict=True, ge=1, le=50)] | None = None
    after: DateTime | None = None
    before: DateTime | None = None
    sourceTypes: list[SourceType] | None = None

    _window = model_validator(mode="after")(_after_not_past_before)


class QueryInput(_Input):
    sql: Annotated[str, Field(strict=True, min_length=1, max_length=10000)]
    limit: Annotated[int, Field(strict=True, ge=1, le=10000)] | None = None


class SchemaInput(_Input):
    table: Literal["activity", "customers", "users", "revenue"] | None = None


def _json_size(value: Any) -> Any:
    import json

    if len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)) > 100_000:
        raise ValueError("the serialized payload must be 100,000 characters or fewer")
    return value


# official/tool-contracts.ts: destinationIds are NotificationDestination uuids (any version 1-8, or the nil
# and max uuids), 1 to 10 of them.
_UUID = (
    r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
    r"|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$"
)


class SendNotificationInput(_Input):
    """The input contract of Outlit's own ``@outlit/tools`` (official/tool-contracts.ts)."""

    title: Annotated[str, Field(strict=True, min_length=1, max_length=160)]
    markdown: Annotated[str, Field(strict=True, min_length=1, max_length=100_000)] | None = None
    payload: Annotated[Any, BeforeValidator(_json_size)] = None
    message: Annotated[str, Field(strict=True, min_length=1, max_length=1200)] | None = None
    severity: Literal["low", "medium", "high"] | None = None
    source: Annotated[str, Field(strict=True, min_length=1, max_length=120)] | None = None
    subject: Annotated[str, Field(strict=True, min_length=1, max_length=240)] | None = None
    destinationIds: (
        Annotated[list[Annotated[str, Field(strict=True, pattern=_UUID)]], Field(min_length=1, max_length=10)]
        | None
    ) = None


def _check_order(start: str | None, end: str | None, start_name: str, end_name: str) -> None:
    if start is None or end is None:
        return
    if datetime.fromisoformat(start.replace("Z", "+00:00")) > datetime.fromisoformat(
        end.replace("Z", "+00:00")
    ):
        raise ValueError(f"{start_name} ({start}) is after {end_name} ({end})")


# --- catalog ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolSpec:
    """One public tool: how to validate its input and how its results page."""

    name: str
    input_model: type[BaseModel]
    read_only: bool = True
    #: key of the list in the response (``items``, ``events``, ``facts``, ``results``, ``data``), if any
    items_key: str | None = None
    #: input field that sets the page size, and its largest allowed value
    page_size_field: str | None = None
    max_page_size: int | None = None
    #: True when responses carry ``pagination.nextCursor`` to follow
    paginated: bool = False
    required: tuple[str, ...] = ()

    @property
    def fields(self) -> list[str]:
        return list(self.input_model.model_fields)


def _spec(name: str, model: type[BaseModel], **kw: Any) -> ToolSpec:
    required = tuple(n for n, f in model.model_fields.items() if f.is_required())
    return ToolSpec(name=name, input_model=model, required=required, **kw)


def _paged(items_key: str, max_page_size: int, *, page_size_field: str = "limit", cursor: bool = True) -> Any:
    """The settings of a list tool: where its items are, its page-size field and limit, whether it pages."""
    return {
        "items_key": items_key,
        "page_size_field": page_size_field,
        "max_page_size": max_page_size,
        "paginated": cursor,
    }


TOOLS: dict[str, ToolSpec] = {
    s.name: s
    for s in (
        _spec("outlit_list_customers", ListCustomersInput, **_paged("items", 1000)),
        _spec("outlit_list_users", ListUsersInput, **_paged("items", 1000)),
        _spec("outlit_list_workspace_users", ListWorkspaceUsersInput, **_paged("items", 1000)),
        _spec("outlit_get_customer", GetCustomerInput),
        _spec("outlit_get_timeline", GetTimelineInput, **_paged("events", 1000)),
        _spec("outlit_list_facts", ListFactsInput, **_paged("facts", 100)),
        _spec("outlit_get_fact", GetFactInput),
        _spec("outlit_get_source", GetSourceInput),
        _spec("outlit_list_sources", ListSourcesInput, **_paged("items", 100)),
        _spec(
            "outlit_search_customer_context",
            SearchCustomerContextInput,
            **_paged("results", 50, page_size_field="topK", cursor=False),
        ),
        _spec("outlit_query", QueryInput, **_paged("data", 10000, cursor=False)),
        _spec("outlit_schema", SchemaInput),
        _spec("outlit_send_notification", SendNotificationInput, read_only=False),
    )
}


def tool_names() -> list[str]:
    return list(TOOLS)


def get_tool(name: str) -> ToolSpec:
    """The spec of a public tool, or :class:`OutlitUnknownToolError` naming the closest valid names."""
    if not isinstance(name, str):
        raise OutlitUnknownToolError(
            f"tool name must be a string, got {type(name).__name__}",
            details=[{"path": ["tool"], "message": "not a string"}],
        )
    spec = TOOLS.get(name)
    if spec is not None:
        return spec
    candidates = list(TOOLS)
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
    if not close and not name.startswith("outlit_"):
        close = difflib.get_close_matches(f"outlit_{name}", candidates, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise OutlitUnknownToolError(
        f"unknown Outlit tool {name!r}.{hint} Public tools: {', '.join(candidates)}",
        suggestions=close,
        details=[{"path": ["tool"], "message": f"unknown tool {name!r}"}],
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _format_errors(spec: ToolSpec, exc: ValidationError) -> OutlitToolInputError:
    details: list[dict[str, Any]] = []
    lines: list[str] = []
    allowed = spec.fields
    for err in exc.errors(include_url=False):
        path = list(err["loc"])
        if not path and err["type"] == "value_error":
            # A rule across fields: point at the first field the message names, so tooling can show it.
            named = [(str(err["msg"]).find(f), f) for f in allowed if f in str(err["msg"])]
            path = [min(named)[1]] if named else []
        field_name = ".".join(str(p) for p in path) or "input"
        if err["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(path[-1]), allowed, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            msg = f"unknown field.{hint} Allowed fields: {', '.join(allowed)}"
        elif err["type"] == "missing":
            msg = "is required"
        else:
            msg = str(err["msg"]).removeprefix("Value error, ")
            if err["loc"]:
                msg += f" (got {_short(err.get('input'))})"
        details.append({"path": path, "message": msg})
        lines.append(f"{field_name}: {msg}" if err["loc"] else msg)
    return OutlitToolInputError(
        f"invalid input for {spec.name}: " + "; ".join(lines), details=details, code="invalid_tool_input"
    )


def validate_tool_input(
    name: str, data: Mapping[str, Any] | BaseModel | None
) -> tuple[ToolSpec, dict[str, Any]]:
    """Check ``data`` against the tool's input model; return the spec and the JSON-ready input."""
    spec = get_tool(name)
    if data is None:
        data = {}
    if isinstance(data, BaseModel):
        data = data.model_dump(exclude_unset=True)
    if not isinstance(data, Mapping):
        raise OutlitToolInputError(
            f"input for {name} must be a mapping of field names to values, got {type(data).__name__}",
            details=[{"path": [], "message": "not an object"}],
        )
    try:
        model = spec.input_model.model_validate(dict(data))
    except ValidationError as exc:
        raise _format_errors(spec, exc) from None
    payload = model.model_dump(mode="json", exclude_unset=True)
    if spec.name == "outlit_query":
        check_query_sql(payload["sql"])
    return spec, payload


def check_query_sql(sql: Any) -> None:
    """The read-only guard for ``outlit_query``'s SQL (sqlglot is imported on first use, ~0.3 s)."""
    from .sql_guard import check_read_only_sql

    check_read_only_sql(sql)
