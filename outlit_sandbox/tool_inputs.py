"""Input specs of the public tools (see validation.py for the spec language).

Written from the published tool input contracts: same field names, bounds, enums and defaults. Where a
contract allows extra keys the spec does too (the gateway ignores them).
"""

from __future__ import annotations

import re
from typing import Any

from .dataset import BILLING_STATUSES, CHANNELS, FACT_STATUSES, FACT_TYPES, JOURNEY_STAGES

Spec = dict[str, Any]

SOURCE_TYPE_INPUTS = (
    "EMAIL",
    "CALL",
    "CALENDAR_EVENT",
    "SUPPORT_TICKET",
    "OPPORTUNITY",
    "SLACK",
    "CRM",
    "CRM_OPPORTUNITY",
)
SOURCE_TYPE_ALIASES = {"CRM": "OPPORTUNITY", "CRM_OPPORTUNITY": "OPPORTUNITY"}
WINDOWS = ("7d", "14d", "30d", "90d")
VIEWS = ("activity", "customers", "users", "revenue")

_DT: Spec = {"type": "string", "datetime": True}
_TEXT: Spec = {"type": "string", "max": 500}
_TRAIT_FILTERS: Spec = {
    "type": "object",
    "keys": re.compile(r"^[A-Za-z0-9_-]{1,100}$"),
    "additional": {
        "anyOf": [_TEXT, {"type": "number"}, {"type": "boolean"}],
        "message": "Invalid input: expected a string (<=500 characters), number or boolean",
    },
}
_LIMIT_1000: Spec = {"type": "number", "min": 1, "max": 1000}
_LIMIT_100: Spec = {"type": "integer", "min": 1, "max": 100}
_CURSOR: Spec = {"type": "string"}
_DIRECTION: Spec = {"type": "string", "enum": ("asc", "desc")}


def _about_a_customer(longest: int, props: dict[str, Spec]) -> Spec:
    """A per-customer tool's input: ``customer`` (an id, domain or name up to ``longest``) plus ``props``."""
    customer: Spec = {"type": "string", "min": 1, "max": longest}
    return {"type": "object", "required": ("customer",), "props": {"customer": customer, **props}}


def _sorted_pages(*order_by: str) -> dict[str, Spec]:
    """The paging and ordering inputs every list tool takes (limit up to 1000, cursor, orderBy, direction)."""
    return {
        "limit": _LIMIT_1000,
        "cursor": _CURSOR,
        "orderBy": {"type": "string", "enum": order_by},
        "orderDirection": _DIRECTION,
    }


_SOURCE_TYPES: Spec = {"type": "array", "items": {"type": "string", "enum": SOURCE_TYPE_INPUTS}}
_JSON_VALUE: Spec = {"type": "any"}
# the contracts' uuid pattern: versions 1-8, RFC variant, plus the nil and max uuids
_CONTRACT_UUID = re.compile(
    r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
    r"|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$"
)

TOOL_INPUTS: dict[str, Spec] = {
    "outlit_list_customers": {
        "type": "object",
        "props": {
            # the only date-time input whose contract pattern also allows an offset (+01:00)
            "activatedSince": {"type": "string", "datetime": "offset"},
            "billingStatus": {"type": "string", "enum": BILLING_STATUSES},
            "hasActivityInLast": {"type": "string", "enum": WINDOWS},
            "noActivityInLast": {"type": "string", "enum": WINDOWS},
            "mrrAbove": {"type": "number", "min": 0},
            "mrrBelow": {"type": "number", "min": 0},
            "traitFilters": _TRAIT_FILTERS,
            "search": _TEXT,
            "ownerId": _TEXT,
            "ownerEmail": _TEXT,
            "hasOwner": {"type": "boolean"},
            **_sorted_pages("last_activity_at", "first_seen_at", "name", "mrr_cents"),
        },
    },
    "outlit_list_users": {
        "type": "object",
        "props": {
            "journeyStage": {"type": "string", "enum": JOURNEY_STAGES},
            "customerId": _TEXT,
            "traitFilters": _TRAIT_FILTERS,
            "hasActivityInLast": {"type": "string", "pattern": re.compile(r"^\d+(d|h|m)$")},
            "noActivityInLast": {"type": "string", "pattern": re.compile(r"^\d+(d|h|m)$")},
            "search": _TEXT,
            **_sorted_pages("last_activity_at", "first_seen_at", "email"),
        },
    },
    "outlit_list_workspace_users": {
        "type": "object",
        "props": {
            "search": _TEXT,
            "role": {"type": "string", "max": 100},
            "managerEmail": _TEXT,
            "hasOwnedCustomers": {"type": "boolean"},
            **_sorted_pages("name", "email", "owned_customer_count"),
        },
    },
    "outlit_get_customer": _about_a_customer(
        500,
        {
            "include": {
                "type": "array",
                "items": {
                    "type": "string",
                    "enum": ("users", "revenue", "recentTimeline", "behaviorMetrics", "enrichment"),
                },
            },
            "timeframe": {"type": "string", "enum": WINDOWS},
        },
    ),
    "outlit_get_timeline": _about_a_customer(
        200,
        {
            "channels": {"type": "array", "items": {"type": "string", "enum": CHANNELS}},
            "eventTypes": {"type": "array", "items": {"type": "string"}},
            "timeframe": {"type": "string", "enum": (*WINDOWS, "all")},
            "startDate": _DT,
            "endDate": _DT,
            "limit": _LIMIT_1000,
            "cursor": _CURSOR,
        },
    ),
    "outlit_list_facts": _about_a_customer(
        500,
        {
            "status": {"type": "array", "items": {"type": "string", "enum": FACT_STATUSES}},
            "sourceTypes": _SOURCE_TYPES,
            "factTypes": {"type": "array", "items": {"type": "string", "enum": FACT_TYPES}},
            "factCategories": {"type": "array", "items": {"type": "string", "enum": ("MEMORY", "CUSTOM")}},
            "after": _DT,
            "before": _DT,
            "limit": _LIMIT_100,
            "cursor": _CURSOR,
        },
    ),
    "outlit_get_fact": {
        "type": "object",
        "required": ("factId",),
        "props": {
            "factId": {"type": "string", "min": 1, "max": 500},
            "include": {"type": "array", "items": {"type": "string", "min": 1, "max": 100}},
        },
    },
    "outlit_get_source": {
        "type": "object",
        "required": ("sourceType", "sourceId"),
        "props": {
            "sourceType": {"type": "string", "enum": SOURCE_TYPE_INPUTS},
            "sourceId": {"type": "string", "min": 1, "max": 500},
            "limit": _LIMIT_100,
            "cursor": {"type": "string", "min": 1, "max": 2000},
        },
    },
    "outlit_list_sources": {
        "type": "object",
        "additional": False,
        "props": {
            "sourceType": {"type": "string", "enum": SOURCE_TYPE_INPUTS},
            "customer": {"type": "string", "min": 1, "max": 200},
            "after": _DT,
            "before": _DT,
            "participant": {"type": "string", "min": 1, "max": 500},
            "provider": {"type": "string", "min": 1, "max": 200},
            "hasTranscript": {"type": "boolean"},
            "limit": _LIMIT_100,
            "cursor": {"type": "string", "min": 1, "max": 2000},
        },
    },
    "outlit_search_customer_context": {
        "type": "object",
        "required": ("query",),
        "additional": False,
        "props": {
            "customer": {"type": "string", "min": 1, "max": 500, "nullable": True},
            "query": {"type": "string", "min": 2, "max": 2000},
            "topK": {"type": "integer", "min": 1, "max": 50},
            "after": _DT,
            "before": _DT,
            "sourceTypes": _SOURCE_TYPES,
        },
    },
    "outlit_query": {
        "type": "object",
        "required": ("sql",),
        "props": {
            "sql": {"type": "string", "min": 1, "max": 10000},
            "limit": {"type": "integer", "min": 1, "max": 10000},
        },
    },
    "outlit_schema": {
        "type": "object",
        "props": {"table": {"type": "string", "enum": VIEWS}},
    },
    # No ToolInput schema in openapi-tool-contracts.json: the rules are those of Outlit's own @outlit/tools
    # contract (official/tool-contracts.ts, outlit_send_notification).
    "outlit_send_notification": {
        "type": "object",
        "required": ("title",),
        "additional": False,
        "props": {
            "title": {"type": "string", "min": 1, "max": 160},
            "payload": _JSON_VALUE,  # serialized size <= 100,000 characters, checked by the tool
            "message": {"type": "string", "min": 1, "max": 1200},
            "markdown": {"type": "string", "min": 1, "max": 100000},
            "severity": {"type": "string", "enum": ("low", "medium", "high")},
            "source": {"type": "string", "min": 1, "max": 120},
            "subject": {"type": "string", "min": 1, "max": 240},
            "destinationIds": {
                "type": "array",
                "min": 1,
                "max": 10,
                "items": {"type": "string", "pattern": _CONTRACT_UUID},
            },
        },
    },
}

TOOL_NAMES = tuple(TOOL_INPUTS)
