"""Tool gateway behaviour: pagination, filters, lookups and error bodies."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# ------------------------------------------------------------------------------------------ pagination
@pytest.mark.parametrize("limit", [1, 5, 1000])
def test_customer_pages_cover_everything_once(api: Any, limit: int) -> None:
    dataset = {c["id"] for c in api.sb.dataset()["customers"]}
    items = api.all_pages("outlit_list_customers", {"limit": limit}, "items")
    ids = [c["id"] for c in items]
    assert len(ids) == len(set(ids)) == len(dataset)
    assert set(ids) == dataset
    assert api.tool("outlit_list_customers", {"limit": limit})["pagination"]["total"] == len(dataset)


def test_timeline_pages_to_the_last_event(api: Any) -> None:
    ds = api.sb.dataset()
    customer = ds["customers"][1]["id"]
    events = api.all_pages(
        "outlit_get_timeline", {"customer": customer, "timeframe": "all", "limit": 7}, "events"
    )
    assert [e["id"] for e in events] == list(reversed(ds["timeline"][customer]))  # newest first
    stamps = [e["occurredAt"] for e in events]
    assert stamps == sorted(stamps, reverse=True)


def test_users_and_workspace_users_page_completely(api: Any) -> None:
    ds = api.sb.dataset()
    users = api.all_pages("outlit_list_users", {"limit": 4}, "items")
    assert sorted(u["id"] for u in users) == sorted(ds["users"])
    members = api.all_pages("outlit_list_workspace_users", {"limit": 2}, "items")
    assert sorted(m["id"] for m in members) == sorted(ds["workspace_users"])


def test_cursor_survives_new_events_between_pages(fresh_api: Any) -> None:
    customer = fresh_api.sb.dataset()["customers"][0]["id"]
    args = {"customer": customer, "timeframe": "all", "limit": 5}
    first = fresh_api.tool("outlit_get_timeline", args)
    fresh_api.sb.advance(events_per_customer=4, facts_per_customer=0, status_changes=0)
    rest = fresh_api.all_pages(
        "outlit_get_timeline", {**args, "cursor": first["pagination"]["nextCursor"]}, "events"
    )
    before = fresh_api.sb.dataset()["timeline"][customer]
    served = [e["id"] for e in first["events"] + rest]
    assert len(served) == len(set(served))  # no repeats although 4 newer events now sit on top
    assert set(served) == set(before[:-4])


def test_garbled_cursor_is_a_field_error(api: Any) -> None:
    body = api.tool("outlit_list_customers", {"cursor": "not-a-cursor"}, status=400)
    assert body["details"][0]["path"] == ["cursor"]


def test_issued_cursor_with_other_inputs_still_pages(api: Any) -> None:
    """A cursor is opaque and "from previous response" (openapi-tool-contracts.json); the sandbox reads it as
    the last item served plus its offset, so one issued with other inputs pages on rather than being refused.
    The conformance spec relies on this when it offers each tool's issued cursor with any other inputs."""
    cursor = api.tool("outlit_list_customers", {"limit": 1})["pagination"]["nextCursor"]
    everyone = api.tool("outlit_list_customers", {"limit": 1000})["items"]
    assert api.tool("outlit_list_customers", {"cursor": cursor})["items"] == everyone[1:]
    assert api.tool("outlit_list_customers", {"cursor": cursor, "search": "no-such-name"})["items"] == []
    users = api.tool("outlit_list_users", {"limit": 1000})["items"]
    assert api.tool("outlit_list_users", {"cursor": cursor, "limit": 1000})["items"] == users[1:]


# ------------------------------------------------------------------------------------------ filters
def test_customer_filters_really_filter(api: Any) -> None:
    everyone = api.all_pages("outlit_list_customers", {"limit": 1000}, "items")
    paying = api.tool("outlit_list_customers", {"billingStatus": "PAYING", "limit": 1000})["items"]
    assert paying and all(c["billingStatus"] == "PAYING" for c in paying)
    assert len(paying) == sum(1 for c in everyone if c["billingStatus"] == "PAYING")
    rich = api.tool("outlit_list_customers", {"mrrAbove": 25000, "limit": 1000})["items"]
    assert all(c["currentMrr"] is not None and c["currentMrr"] >= 25000 for c in rich)
    recent = api.tool("outlit_list_customers", {"hasActivityInLast": "7d", "limit": 1000})["items"]
    stale = api.tool("outlit_list_customers", {"noActivityInLast": "7d", "limit": 1000})["items"]
    assert len(recent) + len(stale) == len(everyone)
    assert all(c["daysSinceActivity"] is not None and c["daysSinceActivity"] <= 7 for c in recent)
    acme = api.tool("outlit_list_customers", {"search": "ACME"})["items"]
    assert [c["domain"] for c in acme] == ["acme.com"]
    owned = api.tool("outlit_list_customers", {"hasOwner": False, "limit": 1000})["items"]
    assert all(c["owner"] is None for c in owned)


def test_customer_ordering(api: Any) -> None:
    items = api.tool("outlit_list_customers", {"orderBy": "name", "orderDirection": "asc", "limit": 1000})[
        "items"
    ]
    names = [c["name"].lower() for c in items]
    assert names == sorted(names)
    by_mrr = api.tool("outlit_list_customers", {"orderBy": "mrr_cents", "limit": 1000})["items"]
    values = [c["currentMrr"] for c in by_mrr if c["currentMrr"] is not None]
    assert values == sorted(values, reverse=True)
    assert all(c["currentMrr"] is None for c in by_mrr[len(values) :])  # nulls last


def test_user_filters(api: Any) -> None:
    customer = api.sb.dataset()["customers"][2]["id"]
    users = api.tool("outlit_list_users", {"customerId": customer, "limit": 1000})["items"]
    assert users and all(u["customerId"] == customer for u in users)
    stage = users[0]["journeyStage"]
    staged = api.tool("outlit_list_users", {"journeyStage": stage, "limit": 1000})["items"]
    assert all(u["journeyStage"] == stage for u in staged)
    found = api.tool("outlit_list_users", {"search": users[0]["email"].upper()})["items"]
    assert users[0]["id"] in [u["id"] for u in found]


def test_a_window_longer_than_the_calendar_covers_everything(api: Any) -> None:
    """The contract's window pattern (ToolInput_outlit_list_users: `^\\d+(d|h|m)$`) has no upper bound, so a
    window reaching before year 1 is valid input: it covers all activity, never a 500."""
    everyone = api.all_pages("outlit_list_users", {}, "items")
    active = api.all_pages("outlit_list_users", {"hasActivityInLast": "783807700861170m"}, "items")
    idle = api.all_pages("outlit_list_users", {"noActivityInLast": "99999999999999999999d"}, "items")
    assert [u["id"] for u in active] == [u["id"] for u in everyone if u["lastActivityAt"]]
    assert [u["id"] for u in idle] == [u["id"] for u in everyone if not u["lastActivityAt"]]


def test_timeline_filters(api: Any) -> None:
    customer = api.sb.dataset()["customers"][0]["id"]
    everything = api.all_pages("outlit_get_timeline", {"customer": customer, "timeframe": "all"}, "events")
    product = api.all_pages(
        "outlit_get_timeline", {"customer": customer, "timeframe": "all", "channels": ["PRODUCT"]}, "events"
    )
    assert product and all(e["channel"] == "PRODUCT" for e in product)
    assert len(product) == sum(1 for e in everything if e["channel"] == "PRODUCT")
    typed = api.all_pages(
        "outlit_get_timeline",
        {"customer": customer, "timeframe": "all", "eventTypes": ["pageview"]},
        "events",
    )
    assert all(e["eventType"] == "pageview" for e in typed)
    middle = everything[len(everything) // 2]["occurredAt"]
    newer = api.all_pages(
        "outlit_get_timeline", {"customer": customer, "startDate": middle, "limit": 1000}, "events"
    )
    assert newer and all(_ts(e["occurredAt"]) >= _ts(middle) for e in newer)
    older = api.all_pages("outlit_get_timeline", {"customer": customer, "endDate": middle}, "events")
    assert len(newer) + len(older) == len(everything) + 1  # the boundary event is in both
    month = api.all_pages("outlit_get_timeline", {"customer": customer, "timeframe": "30d"}, "events")
    default = api.all_pages("outlit_get_timeline", {"customer": customer}, "events")
    assert [e["id"] for e in month] == [e["id"] for e in default]


def test_timeline_rejects_timeframe_with_dates(api: Any) -> None:
    customer = api.sb.dataset()["customers"][0]["id"]
    body = api.tool(
        "outlit_get_timeline",
        {"customer": customer, "timeframe": "7d", "startDate": "2026-01-01T00:00:00Z"},
        status=400,
    )
    assert body["details"][0]["path"] == ["timeframe"]


def test_fact_filters(api: Any) -> None:
    ds = api.sb.dataset()
    customer = ds["customers"][0]
    facts = api.tool("outlit_list_facts", {"customer": customer["domain"], "limit": 100})
    assert facts["customer"]["id"] == customer["id"]
    assert sorted(f["id"] for f in facts["facts"]) == sorted(f["id"] for f in ds["facts"][customer["id"]])
    active = api.tool("outlit_list_facts", {"customer": customer["id"], "status": ["ACTIVE"]})["facts"]
    assert active and all(f["status"] == "ACTIVE" for f in active)
    calls = api.tool("outlit_list_facts", {"customer": customer["id"], "sourceTypes": ["CALL", "CRM"]})[
        "facts"
    ]
    assert all(f["linkedSourceRef"]["sourceType"] in ("CALL", "OPPORTUNITY") for f in calls)
    # after/before bound the fact's occurrence time, as Outlit's CLI documents (`outlit facts list --after`)
    cut = sorted(f["occurredAt"] for f in facts["facts"] if f["occurredAt"])[len(facts["facts"]) // 2]
    later = api.tool("outlit_list_facts", {"customer": customer["id"], "after": cut, "limit": 100})["facts"]
    assert {f["id"] for f in later} == {f["id"] for f in facts["facts"] if (f["occurredAt"] or "") >= cut}


def test_sources_and_search_filter(api: Any) -> None:
    calls = api.all_pages("outlit_list_sources", {"sourceType": "CALL", "limit": 100}, "items")
    assert calls and all(s["sourceType"] == "CALL" for s in calls)
    with_transcript = api.all_pages("outlit_list_sources", {"hasTranscript": True, "limit": 100}, "items")
    assert all(s["record"]["hasTranscript"] for s in with_transcript)
    crm = api.all_pages("outlit_list_sources", {"sourceType": "CRM_OPPORTUNITY"}, "items")
    assert all(s["sourceType"] == "OPPORTUNITY" for s in crm)
    customer = api.sb.dataset()["customers"][0]
    found = api.tool(
        "outlit_search_customer_context", {"query": "pricing renewal", "customer": customer["id"]}
    )
    assert found["customer"]["id"] == customer["id"]
    for hit in found["results"]:
        text = hit["fact"]["assertion"] if hit["kind"] == "fact" else hit["matches"][0]["text"] + hit["title"]
        assert "pric" in text.lower() or "renew" in text.lower()
    nothing = api.tool("outlit_search_customer_context", {"query": "zzqx unrelated"})
    assert nothing["results"] == []
    assert len(api.tool("outlit_search_customer_context", {"query": "pricing", "topK": 2})["results"]) <= 2


# ------------------------------------------------------------------------------------------ lookups
def test_customer_lookup_by_id_domain_or_name(api: Any) -> None:
    customer = api.sb.dataset()["customers"][3]
    by_id = api.tool("outlit_get_customer", {"customer": customer["id"]})["customer"]
    by_domain = api.tool("outlit_get_customer", {"customer": customer["domain"].upper()})["customer"]
    by_name = api.tool("outlit_get_customer", {"customer": by_id["name"]})["customer"]
    assert by_id == by_domain == by_name
    full = api.tool(
        "outlit_get_customer", {"customer": customer["id"], "include": ["users", "recentTimeline"]}
    )
    assert {"users", "recentTimeline"} <= set(full) and "revenue" not in full


def test_unknown_records_are_404_with_the_field(api: Any) -> None:
    body = api.tool("outlit_get_customer", {"customer": "no-such-customer.example"}, status=404)
    assert body["details"][0]["path"] == ["customer"] and body["code"] == "NOT_FOUND"
    assert api.tool("outlit_get_fact", {"factId": "fact_nope"}, status=404)["details"][0]["path"] == [
        "factId"
    ]
    api.tool("outlit_get_source", {"sourceType": "CALL", "sourceId": "call_nope"}, status=404)
    api.tool("outlit_list_facts", {"customer": "nope"}, status=404)


def test_fact_and_source_lookups_match_the_lists(api: Any) -> None:
    ds = api.sb.dataset()
    customer = ds["customers"][0]["id"]
    fact = api.tool("outlit_list_facts", {"customer": customer})["facts"][0]
    assert api.tool("outlit_get_fact", {"factId": fact["id"]}) == fact
    ref = next(f["linkedSourceRef"] for f in api.tool("outlit_list_facts", {"customer": customer})["facts"]
               if f["linkedSourceRef"])  # fmt: skip
    source = api.tool("outlit_get_source", {"sourceType": ref["sourceType"], "sourceId": ref["sourceId"]})
    assert source["sourceId"] == ref["sourceId"] and source["customer"]["id"] == customer


# ------------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("tool", "args", "path", "fragment"),
    [
        ("outlit_list_customers", {"limit": 5000}, ["limit"], "<=1000"),
        ("outlit_list_customers", {"limit": 0}, ["limit"], ">=1"),
        ("outlit_list_customers", {"billingStatus": "RICH"}, ["billingStatus"], "PAYING"),
        ("outlit_list_customers", {"traitFilters": {"bad key!": 1}}, ["traitFilters", "bad key!"], "pattern"),
        ("outlit_get_customer", {}, ["customer"], "received undefined"),
        ("outlit_get_timeline", {"customer": "x", "startDate": "2026-01-01"}, ["startDate"], "ISO datetime"),
        ("outlit_list_facts", {"customer": "x", "limit": 101}, ["limit"], "<=100"),
        ("outlit_list_facts", {"customer": "x", "status": ["OPEN"]}, ["status", 0], "ACTIVE"),
        ("outlit_list_sources", {"color": "red"}, [], "Unrecognized key"),
        ("outlit_query", {"sql": "SELECT 1", "limit": 10001}, ["limit"], "<=10000"),
        ("outlit_search_customer_context", {"query": "a"}, ["query"], ">=2"),
        ("outlit_list_users", {"hasActivityInLast": "7 days"}, ["hasActivityInLast"], "pattern"),
    ],
)
def test_invalid_input_names_the_field(
    api: Any, tool: str, args: dict[str, Any], path: list[Any], fragment: str
) -> None:
    body = api.tool(tool, args, status=400)
    assert body["error"] == "Invalid tool input"
    assert any(d["path"] == path and fragment in d["message"] for d in body["details"]), body


def test_gateway_request_errors(api: Any) -> None:
    unknown = api.http.post("/api/tools/call", json={"tool": "outlit_nope"})
    assert unknown.status_code == 400 and "outlit_list_customers" in unknown.json()["error"]
    not_json = api.http.post(
        "/api/tools/call", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400 and not_json.json()["code"] == "INVALID_JSON"
    extra = api.http.post("/api/tools/call", json={"tool": "outlit_schema", "inputs": {}})
    assert extra.status_code == 400 and extra.json()["details"][0]["path"] == ["inputs"]


def test_input_null_is_not_an_object(api: Any) -> None:
    """openapi.json, ToolCallRequest: `input` is an object (default {}), so `null` is refused like any other
    non-object (tools.md, Error Responses: invalid tool inputs return 400); omitting it still means {}."""
    null = api.http.post("/api/tools/call", json={"tool": "outlit_schema", "input": None})
    assert null.status_code == 400, null.text
    assert null.json()["details"][0]["path"] == ["input"]
    assert api.http.post("/api/tools/call", json={"tool": "outlit_schema"}).status_code == 200


def test_auth_is_required_and_never_echoed(sandbox: Any) -> None:
    import httpx

    wrong = "ok_wrong_key_123"
    for path in ("/api/tools/call", "/api/validate-api-key"):
        response = httpx.post(
            sandbox.base_url + path,
            json={"tool": "outlit_schema"},
            headers={"Authorization": f"Bearer {wrong}"},
        )
        assert response.status_code == 401
        assert wrong not in response.text and sandbox.api_key not in response.text
    missing = httpx.get(sandbox.base_url + "/api/integrations")
    assert missing.status_code == 401 and missing.json() == {"error": "Invalid credentials"}
    ok = httpx.post(
        sandbox.base_url + "/api/validate-api-key", headers={"Authorization": f"Bearer {sandbox.api_key}"}
    )
    assert ok.json()["valid"] is True and ok.json()["organizationId"]
    assert sandbox.api_key not in repr(sandbox)


def test_send_notification_is_recorded(fresh_api: Any) -> None:
    out = fresh_api.tool(
        "outlit_send_notification", {"title": "Expansion", "payload": {"customer": "acme.com"}}
    )
    assert out["success"] is True and out["destinations"] == ["slack"]
    assert fresh_api.sb.stats()["notifications"] == 1
    fresh_api.tool("outlit_send_notification", {"message": "no title"}, status=400)  # title is required


def test_relative_windows_follow_the_sandbox_clock(fresh_api: Any) -> None:
    now = _ts(fresh_api.sb.stats()["now"])
    customer = fresh_api.sb.dataset()["customers"][0]["id"]
    week = fresh_api.all_pages("outlit_get_timeline", {"customer": customer, "timeframe": "7d"}, "events")
    assert all(_ts(e["occurredAt"]) >= now - timedelta(days=7) for e in week)


def test_slack_sources_page_their_replies(api: Any) -> None:
    slack = [s for s in api.sb.dataset()["sources"] if s["sourceType"] == "SLACK"]
    source = max(
        (api.tool("outlit_get_source", s) for s in slack), key=lambda src: src["record"]["replyCount"]
    )
    count = source["record"]["replyCount"]
    assert count >= 2
    ref = {"sourceType": "SLACK", "sourceId": source["sourceId"], "limit": 1}
    seen, cursor = [], None
    while True:
        page = api.tool("outlit_get_source", {**ref, **({"cursor": cursor} if cursor else {})})["record"]
        seen += [r["id"] for r in page["replies"]]
        cursor = page["repliesPagination"]["nextCursor"]
        if not page["repliesPagination"]["hasMore"]:
            break
    assert len(seen) == len(set(seen)) == count


def test_an_internal_error_still_answers_json(fresh_api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from outlit_sandbox import handlers as tools

    def boom(state: Any, args: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("simulated sandbox bug")

    monkeypatch.setitem(tools.HANDLERS, "outlit_schema", boom)
    body = fresh_api.tool("outlit_schema", status=500)
    assert body["error"] == "Internal server error" and "simulated" not in str(body)


def test_unknown_routes_and_methods_answer_json(api: Any) -> None:
    missing = api.http.get("/api/nope")
    assert missing.status_code == 404 and missing.json()["error"].startswith("No route")
    wrong = api.http.get("/api/tools/call")
    assert wrong.status_code == 405 and "POST" in wrong.headers["allow"] and wrong.json()["error"]


def test_activated_since_takes_an_offset_like_the_contract(api: Any) -> None:
    """activatedSince's contract pattern allows `Z` or `±HH:MM`; the other date-time inputs only `Z`."""
    customers = api.tool("outlit_list_customers", {"limit": 1000})["items"]
    pivot = sorted(c["activatedAt"] for c in customers if c["activatedAt"])[len(customers) // 3]
    same_instant = (_ts(pivot) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%f+01:00")
    an_hour_later = pivot[:-1] + "-01:00"

    def since(value: str) -> set[str]:
        items = api.tool("outlit_list_customers", {"activatedSince": value, "limit": 1000})["items"]
        return {c["id"] for c in items}

    assert since(same_instant) == since(pivot)
    assert since(an_hour_later) < since(pivot)  # the pivot customer itself drops out
    bad = api.tool("outlit_list_customers", {"activatedSince": pivot[:19] + "+0100"}, status=400)
    assert bad["details"][0]["path"] == ["activatedSince"]
    customer = customers[0]["id"]
    api.tool("outlit_get_timeline", {"customer": customer, "startDate": same_instant}, status=400)
