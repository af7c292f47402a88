"""The tool catalog and client-side input validation."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
import respx
from pydantic import BaseModel

from outlit_core.client import (
    TOOLS,
    OutlitToolInputError,
    OutlitUnknownToolError,
    get_tool,
    validate_tool_input,
)
from tests.conftest import spec_path


def _spec_tools() -> list[str]:
    spec = json.loads(spec_path("OUTLIT_OPENAPI_SPEC").read_text())
    return spec["components"]["schemas"]["ToolCallRequest"]["properties"]["tool"]["enum"]


def test_catalog_matches_the_public_tool_enum() -> None:
    assert sorted(TOOLS) == sorted(_spec_tools())


def test_catalog_fields_and_bounds_match_the_tool_contracts() -> None:
    contracts = json.loads(spec_path("OUTLIT_TOOL_CONTRACTS").read_text())["components"]["schemas"]
    for name, spec in TOOLS.items():
        schema = contracts.get(f"ToolInput_{name}")
        if schema is None:
            assert name == "outlit_send_notification"  # the only public tool without a published schema
            continue
        assert set(spec.fields) == set(schema["properties"]), name
        assert set(spec.required) == set(schema.get("required", [])), name
        if spec.page_size_field:
            assert spec.max_page_size == schema["properties"][spec.page_size_field]["maximum"], name
        assert spec.read_only


def test_every_enum_in_the_contracts_is_enforced() -> None:
    contracts = json.loads(spec_path("OUTLIT_TOOL_CONTRACTS").read_text())["components"]["schemas"]
    checked = 0
    for name in TOOLS:
        schema = contracts.get(f"ToolInput_{name}")
        for field, prop in (schema or {}).get("properties", {}).items():
            values = prop.get("enum") or prop.get("items", {}).get("enum")
            if not values:
                continue
            good = values[0] if "enum" in prop else [values[0]]
            bad = "NOT_A_VALUE" if "enum" in prop else ["NOT_A_VALUE"]
            base = {r: "x" * 3 for r in schema.get("required", []) if r not in ("sourceType",)}
            if "sourceType" in schema.get("required", []) and field != "sourceType":
                base["sourceType"] = "CALL"
            validate_tool_input(name, {**base, field: good})
            with pytest.raises(OutlitToolInputError) as info:
                validate_tool_input(name, {**base, field: bad})
            assert field in str(info.value) and str(values[0]) in str(info.value)
            checked += 1
    assert checked >= 15


def test_unknown_tool_suggests_nearest_names() -> None:
    with pytest.raises(OutlitUnknownToolError) as info:
        get_tool("outlit_list_customer")
    assert info.value.suggestions[0] == "outlit_list_customers"
    assert "Did you mean 'outlit_list_customers'" in str(info.value)
    with pytest.raises(OutlitUnknownToolError) as info:
        get_tool("get_timeline")
    assert "outlit_get_timeline" in info.value.suggestions


def test_unknown_tool_is_refused_before_any_request(api: respx.MockRouter, make_client) -> None:
    with pytest.raises(OutlitUnknownToolError):
        make_client().call_tool("outlit_drop_everything")
    assert not api.calls


@pytest.mark.parametrize(
    ("tool", "data", "field", "hint"),
    [
        ("outlit_list_customers", {"billingStatus": "paying"}, "billingStatus", "'PAYING'"),
        ("outlit_list_customers", {"limit": 1001}, "limit", "less than or equal to 1000"),
        ("outlit_list_customers", {"limit": 0}, "limit", "greater than or equal to 1"),
        ("outlit_list_customers", {"limit": "10"}, "limit", "valid integer"),
        ("outlit_list_facts", {"customer": "a.com", "limit": 101}, "limit", "100"),
        (
            "outlit_list_customers",
            {"billing_status": "PAYING"},
            "billing_status",
            "Did you mean 'billingStatus'",
        ),
        ("outlit_get_customer", {}, "customer", "is required"),
        ("outlit_get_customer", {"customer": ""}, "customer", "at least 1 character"),
        ("outlit_get_timeline", {"customer": "a", "startDate": "2025-01-01"}, "startDate", "date-time"),
        (
            "outlit_get_timeline",
            {"customer": "a", "startDate": "2025-01-01T00:00:00"},
            "startDate",
            "timezone",
        ),
        ("outlit_list_facts", {"customer": "a", "after": "2025-02-30T00:00:00Z"}, "after", "calendar"),
        ("outlit_list_users", {"hasActivityInLast": "7 days"}, "hasActivityInLast", "pattern"),
        ("outlit_search_customer_context", {"query": "x"}, "query", "at least 2"),
        ("outlit_query", {"sql": "select 1", "limit": 10001}, "limit", "10000"),
        ("outlit_schema", {"table": "orders"}, "table", "'customers'"),
        ("outlit_list_customers", {"traitFilters": {"bad key!": "x"}}, "traitFilters", "pattern"),
        (
            "outlit_list_customers",
            {"traitFilters": {"seats": [1]}},
            "traitFilters.seats",
            "string, number or boolean",
        ),
        ("outlit_list_customers", {"mrrAbove": True}, "mrrAbove", "must be a number"),
        ("outlit_list_customers", {"mrrBelow": -1}, "mrrBelow", ">= 0"),
        ("outlit_list_customers", {"mrrAbove": 5, "mrrBelow": 1}, "mrrAbove", "greater than mrrBelow"),
    ],
)
def test_bad_input_names_field_value_and_allowed(tool, data, field, hint) -> None:
    with pytest.raises(OutlitToolInputError) as info:
        validate_tool_input(tool, data)
    text = str(info.value)
    assert field in text and hint in text, text
    assert any(".".join(map(str, d["path"])).startswith(field) for d in info.value.details), (
        info.value.details
    )


@pytest.mark.parametrize(
    ("tool", "data", "field"),
    [
        ("outlit_list_customers", {"hasOwner": "yes"}, "hasOwner"),
        ("outlit_list_customers", {"hasOwner": 1}, "hasOwner"),
        ("outlit_list_workspace_users", {"hasOwnedCustomers": "true"}, "hasOwnedCustomers"),
        ("outlit_list_sources", {"hasTranscript": 1}, "hasTranscript"),
    ],
)
def test_booleans_are_strict(tool, data, field) -> None:
    # pydantic's lax mode would send True; the contract (and the sandbox) refuse anything but a JSON bool.
    with pytest.raises(OutlitToolInputError) as info:
        validate_tool_input(tool, data)
    assert field in str(info.value)
    assert validate_tool_input(tool, {**data, field: True})[1][field] is True


def test_timeframe_and_dates_are_exclusive() -> None:
    with pytest.raises(OutlitToolInputError, match="either timeframe or startDate/endDate"):
        validate_tool_input(
            "outlit_get_timeline", {"customer": "a", "timeframe": "7d", "endDate": "2025-01-01T00:00:00Z"}
        )
    validate_tool_input("outlit_get_timeline", {"customer": "a", "timeframe": "all"})
    validate_tool_input(
        "outlit_get_timeline",
        {"customer": "a", "startDate": "2025-01-01T00:00:00Z", "endDate": "2025-01-02T00:00:00Z"},
    )


def test_window_order_is_checked() -> None:
    with pytest.raises(OutlitToolInputError, match="after"):
        validate_tool_input(
            "outlit_list_sources", {"after": "2025-02-01T00:00:00Z", "before": "2025-01-01T00:00:00Z"}
        )


def test_datetimes_and_offsets_are_sent_as_utc_z() -> None:
    _, payload = validate_tool_input(
        "outlit_get_timeline",
        {"customer": "a", "startDate": datetime(2025, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))},
    )
    assert payload["startDate"] == "2025-01-01T00:00:00Z"
    _, payload = validate_tool_input(
        "outlit_list_facts", {"customer": "a", "after": "2025-01-01T05:30:00+05:30"}
    )
    assert payload["after"] == "2025-01-01T00:00:00Z"
    _, payload = validate_tool_input(
        "outlit_list_facts", {"customer": "a", "after": "2025-01-01T00:00:00.123Z"}
    )
    assert payload["after"] == "2025-01-01T00:00:00.123Z"
    with pytest.raises(OutlitToolInputError, match="timezone"):
        validate_tool_input("outlit_list_facts", {"customer": "a", "after": datetime(2025, 1, 1)})


def test_only_given_fields_are_sent_and_numbers_keep_their_type() -> None:
    _, payload = validate_tool_input("outlit_list_customers", {"billingStatus": "PAYING"})
    assert payload == {"billingStatus": "PAYING"}
    _, payload = validate_tool_input("outlit_list_customers", {"mrrAbove": 100, "traitFilters": {"seats": 5}})
    assert payload == {"mrrAbove": 100, "traitFilters": {"seats": 5}}
    assert type(payload["mrrAbove"]) is int


def test_input_may_be_a_pydantic_model() -> None:
    class Mine(BaseModel):
        customer: str
        timeframe: str = "7d"

    _, payload = validate_tool_input("outlit_get_customer", Mine(customer="acme.com"))
    assert payload == {"customer": "acme.com"}


DEST = "3f2b8c1e-5d4a-4b6f-9a7e-1c2d3e4f5a6b"


def test_send_notification_follows_the_official_contract() -> None:
    # official/tool-contracts.ts: title required (1-160), markdown up to 100,000 characters,
    # destinationIds 1-10 uuids, severity low|medium|high, no other fields.
    _, payload = validate_tool_input(
        "outlit_send_notification",
        {"title": "Churn risk", "markdown": "x" * 100_000, "destinationIds": [DEST] * 10, "severity": "high"},
    )
    assert len(payload["markdown"]) == 100_000 and len(payload["destinationIds"]) == 10
    refused = [
        ({"markdown": "*hi*"}, "title: is required"),
        ({"title": "t", "markdown": "x" * 100_001}, "markdown"),
        ({"title": "t", "destinationIds": []}, "destinationIds"),
        ({"title": "t", "destinationIds": [DEST] * 11}, "destinationIds"),
        ({"title": "t", "destinationIds": ["slack-ops"]}, "destinationIds.0"),
        ({"title": "t", "destinations": [DEST]}, "Did you mean 'destinationIds'"),
        ({"title": "t", "severity": "critical"}, "severity"),
        ({"title": "x" * 161}, "title"),
        ({"title": "t", "payload": {"blob": "x" * 100_001}}, "100,000 characters"),
    ]
    for tool_input, fragment in refused:
        with pytest.raises(OutlitToolInputError, match=re.escape(fragment)):
            validate_tool_input("outlit_send_notification", tool_input)
    assert not TOOLS["outlit_send_notification"].read_only


def test_non_mapping_input_is_refused() -> None:
    with pytest.raises(OutlitToolInputError, match="mapping"):
        validate_tool_input("outlit_schema", ["customers"])  # type: ignore[arg-type]


def test_validate_false_skips_checks_but_not_the_tool_name(api: respx.MockRouter, make_client) -> None:
    route = api.post("/api/tools/call").respond(200, json={"items": [], "pagination": {"hasMore": False}})
    make_client().call_tool("outlit_list_customers", {"brandNewFilter": 1}, validate=False)
    assert json.loads(route.calls.last.request.content) == {
        "tool": "outlit_list_customers",
        "input": {"brandNewFilter": 1},
    }
    with pytest.raises(OutlitUnknownToolError):
        make_client().call_tool("nope", validate=False)


def test_catalog_declares_items_keys() -> None:
    assert {n: s.items_key for n, s in TOOLS.items() if s.paginated} == {
        "outlit_list_customers": "items",
        "outlit_list_users": "items",
        "outlit_list_workspace_users": "items",
        "outlit_get_timeline": "events",
        "outlit_list_facts": "facts",
        "outlit_list_sources": "items",
    }
    assert TOOLS["outlit_search_customer_context"].items_key == "results"
