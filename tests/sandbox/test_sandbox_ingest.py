"""Ingest API: validation paths, uuid de-duplication, size limits, the rate limit and CORS."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def _custom(**extra: Any) -> dict[str, Any]:
    return {
        "type": "custom",
        "eventName": "report_exported",
        "customerId": "acct_1",
        "uuid": str(uuid.uuid4()),
        "url": "server://acct_1",
        "path": "/",
        **extra,
    }


def test_repeated_uuids_are_acknowledged_but_stored_once(fresh_api: Any) -> None:
    events = [_custom(), _custom()]
    first = fresh_api.ingest({"source": "server", "events": events})
    again = fresh_api.ingest({"source": "server", "events": [*events, _custom()]})
    assert first.status_code == again.status_code == 200
    assert again.json() == {"success": True, "processed": 3}
    stored = fresh_api.sb.ingested()
    assert [e["uuid"] for e in stored["events"]] == [
        events[0]["uuid"],
        events[1]["uuid"],
        stored["events"][2]["uuid"],
    ]
    assert stored["counts"]["accepted"] == 3 and stored["counts"]["duplicates"] == 2
    assert fresh_api.sb.stats()["ingest"]["duplicates"] == 2


def test_a_bad_event_rejects_the_whole_request(fresh_api: Any) -> None:
    good = _custom()
    response = fresh_api.ingest(
        {
            "source": "server",
            "events": [
                good,
                {"type": "teleport", "url": "x:y", "path": "/"},
                {"type": "engagement", "activeTimeMs": -1, "totalTimeMs": 5},
                {"type": "billing", "status": "paid"},
                {
                    "type": "custom",
                    "eventName": "x",
                    "uuid": "not-a-uuid",
                    "customerId": "a",
                    "url": "server://a",
                },
            ],
        }
    )
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    paths = [tuple(e["path"]) for e in body["errors"]]
    assert ("events", 1, "type") in paths
    assert ("events", 2, "activeTimeMs") in paths and ("events", 2, "sessionId") in paths
    assert ("events", 3, "customerId") in paths
    assert ("events", 4, "uuid") in paths and ("events", 4, "path") in paths
    assert not any(p[:2] == ("events", 0) for p in paths)
    assert fresh_api.sb.ingested()["events"] == []  # nothing stored, not even the good event
    assert fresh_api.sb.stats()["ingest"]["rejected"] == 5
    # the same good event alone goes through afterwards
    assert fresh_api.ingest({"source": "server", "events": [good]}).status_code == 200


def test_every_event_type_is_accepted(fresh_api: Any) -> None:
    session = str(uuid.uuid4())
    base = {"url": "https://example.com/p", "path": "/p", "timestamp": 1764300000000}
    events = [
        {"type": "pageview", "title": "Pricing", **base},
        {"type": "custom", "eventName": "clicked", "email": "a@b.co", **base},
        {"type": "form", "formId": "contact", "formFields": {"email": "a@b.co"}, **base},
        {"type": "identify", "email": "a@b.co", "customerId": "acct_9", "traits": {"plan": "pro"}, **base},
        {"type": "engagement", "activeTimeMs": 10, "totalTimeMs": 20, "sessionId": session, **base},
        {"type": "calendar", "provider": "cal.com", "startTime": "2026-03-15T10:00:00Z", **base},
        {"type": "stage", "stage": "activated", **base},
        {"type": "billing", "status": "paid", "customerId": "acct_9", **base},
    ]
    response = fresh_api.ingest({"visitorId": str(uuid.uuid4()), "source": "client", "events": events})
    assert response.status_code == 200, response.text
    assert [e["type"] for e in fresh_api.sb.ingested()["events"]] == [e["type"] for e in events]


def test_request_level_limits(fresh_api: Any) -> None:
    too_many = fresh_api.ingest({"source": "server", "events": [_custom() for _ in range(101)]})
    assert too_many.status_code == 400 and any(e["path"] == ["events"] for e in too_many.json()["errors"])
    empty = fresh_api.ingest({"source": "server", "events": []})
    assert empty.status_code == 400
    huge = fresh_api.ingest(
        {"source": "server", "events": [_custom(properties={"blob": "x" * 20_000}) for _ in range(60)]}
    )
    assert huge.status_code == 400 and "1 MB" in huge.json()["message"]
    client_without_visitor = fresh_api.ingest({"events": [_custom()]})
    assert client_without_visitor.json()["errors"][0]["path"] == ["visitorId"]
    unknown_field = fresh_api.ingest({"source": "server", "events": [_custom()], "extra": 1})
    assert unknown_field.status_code == 400
    assert fresh_api.sb.ingested()["events"] == []


def test_wrong_public_key_is_403(fresh_api: Any) -> None:
    response = fresh_api.ingest({"source": "server", "events": [_custom()]}, key="pk_someone_else")
    assert response.status_code == 403 and response.json()["success"] is False
    assert "X-RateLimit-Limit" in response.headers


def test_rate_limit_answers_429_with_headers() -> None:
    import outlit_sandbox

    with outlit_sandbox.running(
        seed=3, customers=2, events_per_customer=2, facts_per_customer=1, ingest_rps=3
    ) as sb:
        url = f"{sb.base_url}/api/i/v1/{sb.public_key}/events"
        with httpx.Client(trust_env=False) as http:
            statuses = []
            for _ in range(20):  # well over 3 requests inside one second
                response = http.post(url, json={"source": "server", "events": [_custom()]})
                statuses.append(response.status_code)
                assert response.headers["X-RateLimit-Limit"] == "3"
                assert int(response.headers["X-RateLimit-Remaining"]) >= 0
                assert int(response.headers["X-RateLimit-Reset"]) > 1_700_000_000
                if response.status_code == 429:
                    assert response.headers["Retry-After"] and response.json()["success"] is False
        assert statuses.count(429) >= 14
        counts = sb.ingested()["counts"]
        assert counts["rate_limited"] == statuses.count(429)
        assert counts["accepted"] == statuses.count(200)


def test_cors_preflight_and_origin_echo(fresh_api: Any) -> None:
    url = f"{fresh_api.sb.base_url}/api/i/v1/{fresh_api.sb.public_key}/events"
    pre = httpx.options(
        url,
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
        trust_env=False,
    )
    assert pre.status_code == 204
    assert pre.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in pre.headers["Access-Control-Allow-Headers"]
    post = fresh_api.ingest(
        {"source": "server", "events": [_custom()]}, headers={"Origin": "https://shop.example"}
    )
    assert post.headers["Access-Control-Allow-Origin"] == "https://shop.example"


def test_ingested_events_show_up_in_the_activity_view(fresh_api: Any) -> None:
    customer = fresh_api.sb.dataset()["customers"][0]
    event = _custom(customerId=customer["domain"], properties={"plan": "pro"}, timestamp=1764300000000)
    assert fresh_api.ingest({"source": "server", "events": [event]}).status_code == 200
    rows = fresh_api.tool(
        "outlit_query", {"sql": f"SELECT * FROM activity WHERE event_id = '{event['uuid']}'"}
    )["data"]
    assert len(rows) == 1
    row = rows[0]
    assert row["customer_id"] == customer["id"]  # a known domain resolves to the customer
    assert row["event_name"] == "report_exported" and row["origin"] == "ingest"
    assert row["occurred_at"] == "2025-11-28T03:20:00.000Z"
    # a repeat of the same uuid does not add a second row
    fresh_api.ingest({"source": "server", "events": [event]})
    again = fresh_api.tool(
        "outlit_query", {"sql": f"SELECT count(*) AS n FROM activity WHERE event_id = '{event['uuid']}'"}
    )
    assert again["data"] == [{"n": 1}]
