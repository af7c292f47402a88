"""Ingest API: validation paths, uuid de-duplication, size limits, the rate limit and CORS."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
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


def test_emails_are_taken_as_outlits_own_sdk_finds_them(fresh_api: Any) -> None:
    """openapi.json types `email` as `format: email`, and @outlit/browser identifies visitors by any value
    matching its own rule (outlit-sdk packages/core/src/utils.ts, isValidEmail:
    `/^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$/`), so such an address is accepted; one without `@` is not an email."""
    unusual = {"type": "identify", "email": "jo`e+vip@acme.co", "url": "https://acme.com/", "path": "/"}
    accepted = fresh_api.ingest({"visitorId": str(uuid.uuid4()), "events": [unusual]})
    assert accepted.status_code == 200 and accepted.json()["success"] is True, accepted.text
    plain = {**unusual, "email": "jane.acme.co"}
    refused = fresh_api.ingest({"visitorId": str(uuid.uuid4()), "events": [plain]})
    assert refused.status_code == 400 and refused.json()["errors"][0]["path"] == ["events", 0, "email"]


def test_an_event_the_schema_allows_but_outlit_cannot_process_is_refused_alone(fresh_api: Any) -> None:
    """ingest.md, Success Response: `errors` is the "Array of processing errors (only present if some events
    failed)" beside `processed`; openapi.json's 200 (IngestEventsSuccess) is `success: true` with room for
    it. So an event that passes openapi.json's IngestEventsRequest but cannot be processed (a billing event
    whose ids are empty, an identify naming nobody, an event without the url/path ingest.md requires, an
    empty eventName) is
    refused by itself; the rest of the batch is stored. Schema breaks still refuse the whole request (400,
    test_a_bad_event_rejects_the_whole_request)."""
    good = _custom()
    where = {"url": "server://acct_1", "path": "/"}
    response = fresh_api.ingest(
        {
            "source": "server",
            "events": [
                {"type": "billing", "status": "paid", "customerId": "", "stripeCustomerId": "", **where},
                good,
                {"type": "identify", "traits": {"plan": "pro"}, **where},
                {"type": "custom", "eventName": "x", "email": "a@b.co"},
                {"type": "custom", "eventName": "", "email": "a@b.co", **where},
            ],
        }
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["processed"] == 1
    assert [(e["index"], e["path"]) for e in body["errors"]] == [
        (0, ["events", 0, "customerId"]),
        (2, ["events", 2, "email"]),
        (3, ["events", 3, "url"]),
        (3, ["events", 3, "path"]),
        (4, ["events", 4, "eventName"]),
    ]
    assert all(e["message"] for e in body["errors"])
    assert [e["uuid"] for e in fresh_api.sb.ingested()["events"]] == [good["uuid"]]
    counts = fresh_api.sb.stats()["ingest"]
    assert counts["rejected"] == 4 and counts["rejected_requests"] == 0


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


@contextlib.contextmanager
def _rate_limited_sandbox(ingest_rps: float) -> Iterator[tuple[Any, httpx.Client, str]]:
    """A small sandbox of its own (its rate limit is what the test is about), a client, the ingest URL."""
    import outlit_sandbox

    with (
        outlit_sandbox.running(
            seed=3, customers=2, events_per_customer=2, facts_per_customer=1, ingest_rps=ingest_rps
        ) as sb,
        httpx.Client(trust_env=False) as http,
    ):
        yield sb, http, f"{sb.base_url}/api/i/v1/%s/events"


def test_rate_limit_answers_429_with_headers() -> None:
    with _rate_limited_sandbox(3) as (sb, http, url):
        statuses = []
        for _ in range(20):  # well over 3 requests inside one second
            response = http.post(url % sb.public_key, json={"source": "server", "events": [_custom()]})
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


def test_injected_faults_on_ingest_carry_the_rate_limit_headers(fresh_api: Any) -> None:
    sb = fresh_api.sb
    for kind in ("429", "500", "502", "503"):
        sb.configure(fault_rate=1.0, fault_kinds=[kind], retry_after=0)
        response = fresh_api.ingest({"source": "server", "events": [_custom()]})
        assert response.status_code == int(kind)
        limit = response.headers["X-RateLimit-Limit"]
        assert limit == "100" and int(response.headers["X-RateLimit-Reset"]) > 1_700_000_000
        # an injected 429 reports an exhausted window; other faults count nothing against it
        assert response.headers["X-RateLimit-Remaining"] == ("0" if kind == "429" else limit)
    sb.configure(fault_rate=0.0)
    assert (
        fresh_api.ingest({"source": "server", "events": [_custom()]}).headers["X-RateLimit-Remaining"] == "99"
    )


def test_wrong_keys_are_refused_before_the_limit_and_never_tracked() -> None:
    with _rate_limited_sandbox(1) as (sb, http, api_url):
        wrong = [http.post(api_url % f"pk_guess_{i % 2}", json={"events": []}) for i in range(6)]
        assert [r.status_code for r in wrong] == [403] * 6  # never a 429 for a key that is not valid
        assert all(r.headers["X-RateLimit-Remaining"] == "1" for r in wrong)
        good = http.post(api_url % sb.public_key, json={"source": "server", "events": [_custom()]})
        assert good.status_code == 200  # wrong keys took nothing from the real key's window


def test_limiter_keeps_whole_second_windows_for_integer_rates() -> None:
    from outlit_sandbox.ingest import RateLimiter

    limiter = RateLimiter(3)
    verdicts = [limiter.hit("pk_a", now=1000.1 + i * 0.1) for i in range(4)]
    assert [ok for ok, _ in verdicts] == [True, True, True, False]
    _, last = verdicts[-1]
    assert last == {
        "X-RateLimit-Limit": "3",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "1001",
        "Retry-After": "1",
    }
    assert limiter.hit("pk_a", now=1001.0) == (
        True,
        {"X-RateLimit-Limit": "3", "X-RateLimit-Remaining": "2", "X-RateLimit-Reset": "1002"},
    )


def _admitted(limiter: Any, start: float, seconds: float, step: float = 0.01) -> int:
    ticks = round(seconds / step)
    return sum(limiter.hit("pk_a", now=start + i * step)[0] for i in range(ticks))


def test_limiter_honours_fractional_rates() -> None:
    from outlit_sandbox.ingest import RateLimiter

    slow = RateLimiter(0.5)
    ok, headers = slow.hit("pk_a", now=1000.0)
    assert ok and headers["X-RateLimit-Limit"] == "1" and headers["X-RateLimit-Reset"] == "1002"
    refused, headers = slow.hit("pk_a", now=1001.5)
    assert not refused and headers["Retry-After"] == "1" and headers["X-RateLimit-Reset"] == "1002"
    assert slow.hit("pk_a", now=1002.0)[0]
    assert _admitted(RateLimiter(0.5), 2000.0, 60) == 30  # not 60, as int(0.5) -> 1/s gave
    assert _admitted(RateLimiter(2.7), 3000.0, 100) in (270, 271)  # not 200, as int(2.7) -> 2/s gave
    assert _admitted(RateLimiter(100), 4000.0, 3, step=0.001) == 300


def test_limiter_forgets_ended_windows_and_peeks_without_tracking() -> None:
    from outlit_sandbox.ingest import RateLimiter

    limiter = RateLimiter(5)
    for i in range(1000):
        limiter.hit(f"pk_{i}", now=1000.5)
    assert limiter.tracked_keys() == 1000
    limiter.hit("pk_1", now=1001.2)  # the next window: every ended one is dropped
    assert limiter.tracked_keys() == 1
    assert limiter.peek("pk_unknown", now=1001.3)["X-RateLimit-Remaining"] == "5"
    assert limiter.peek("pk_1", now=1001.3)["X-RateLimit-Remaining"] == "4"
    assert limiter.tracked_keys() == 1
    limiter.rps = 0.25  # a rate change starts fresh windows
    assert limiter.hit("pk_1", now=1001.4)[1]["X-RateLimit-Limit"] == "1"
    assert limiter.tracked_keys() == 1
