"""Ingest events checked and packed before sending: per-event checks, uuids, timestamps, and batches within
100 events / 1 MB."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from outlit_client_testlib import ev

from outlit_core.client import MAX_BATCH_BYTES, OutlitEventError, iter_event_batches
from outlit_core.client.events import prepare_event

# --- per-event checks ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "path", "hint"),
    [
        ({"type": "pagevew", "url": "u", "path": "/"}, ["type"], "pageview"),
        ({"type": "pageview", "path": "/"}, ["url"], "url"),
        ({"type": "custom", "url": "u", "path": "/", "userId": "u"}, ["eventName"], "eventName"),
        ({"type": "custom", "url": "u", "path": "/", "eventName": "x"}, ["email"], "identity"),
        ({"type": "identify", "url": "u", "path": "/", "traits": {}}, ["email"], "email or userId"),
        ({"type": "billing", "url": "u", "path": "/", "status": "paid"}, ["customerId"], "stripeCustomerId"),
        (
            {"type": "billing", "url": "u", "path": "/", "status": "gone", "customerId": "c"},
            ["status"],
            "churned",
        ),
        ({"type": "stage", "url": "u", "path": "/", "stage": "won"}, ["stage"], "activated"),
        ({"type": "calendar", "url": "u", "path": "/", "provider": "zoom"}, ["provider"], "calendly"),
        (
            {
                "type": "engagement",
                "url": "u",
                "path": "/",
                "activeTimeMs": -1,
                "totalTimeMs": 1,
                "sessionId": str(uuid.uuid4()),
            },
            ["activeTimeMs"],
            ">= 0",
        ),
        (
            {
                "type": "engagement",
                "url": "u",
                "path": "/",
                "activeTimeMs": 1,
                "totalTimeMs": 1,
                "sessionId": "s1",
            },
            ["sessionId"],
            "UUID",
        ),
        ({"type": "pageview", "url": "u", "path": "/", "uuid": "not-a-uuid"}, ["uuid"], "UUID"),
        (
            {"type": "pageview", "url": "u", "path": "/", "timestamp": "yesterday"},
            ["timestamp"],
            "milliseconds",
        ),
        ({"type": "pageview", "url": "u", "path": "/", "properties": [1]}, ["properties"], "object"),
        ({"type": "pageview", "url": "u", "path": "/", "title": {1, 2}}, [], "JSON"),
        ("not an event", [], "dict"),
    ],
)
def test_invalid_events_are_named(event, path, hint) -> None:
    rejection = prepare_event(event, 3)
    assert rejection.__class__.__name__ == "EventRejection", rejection
    assert rejection.index == 3 and rejection.path == path and rejection.client_side
    assert hint in rejection.message


def test_every_event_type_passes_with_its_required_fields() -> None:
    session = str(uuid.uuid4())
    events = [
        {"type": "pageview", "url": "u", "path": "/"},
        ev(),
        {"type": "form", "url": "u", "path": "/", "formId": "f"},
        {"type": "identify", "url": "u", "path": "/", "email": "a@b.co"},
        {
            "type": "engagement",
            "url": "u",
            "path": "/",
            "activeTimeMs": 1,
            "totalTimeMs": 2,
            "sessionId": session,
        },
        {"type": "calendar", "url": "u", "path": "/", "provider": "cal.com"},
        {"type": "stage", "url": "u", "path": "/", "stage": "activated"},
        {"type": "billing", "url": "u", "path": "/", "status": "paid", "customerId": "c1"},
    ]
    prepared = [prepare_event(e, i) for i, e in enumerate(events)]
    assert all(p.__class__.__name__ == "PreparedEvent" for p in prepared), prepared


def test_uuid_is_kept_or_generated_and_input_not_mutated() -> None:
    given = str(uuid.uuid4())
    original = ev(uuid=given.upper())
    kept = prepare_event(original)
    assert kept.uuid == given and original["uuid"] == given.upper()
    fresh = prepare_event(ev())
    assert uuid.UUID(fresh.uuid).version == 4
    assert prepare_event(ev(uuid=uuid.UUID(given))).uuid == given


def test_batch_identity_satisfies_server_custom_events() -> None:
    bare = {"type": "custom", "url": "u", "path": "/", "eventName": "x"}
    assert prepare_event(bare, batch_identity=True).__class__.__name__ == "PreparedEvent"
    assert prepare_event(bare, source="client").__class__.__name__ == "PreparedEvent"


def test_datetime_timestamps_become_epoch_millis() -> None:
    prepared = prepare_event(ev(timestamp=datetime(2026, 1, 1, tzinfo=UTC)))
    assert prepared.event["timestamp"] == 1767225600000


# --- batching --------------------------------------------------------------------------------------------


def test_batches_hold_at_most_100_events() -> None:
    sizes = [len(b) for b in iter_event_batches(ev(i) for i in range(250))]
    assert sizes == [100, 100, 50]


def test_batches_stay_under_one_megabyte_of_body() -> None:
    big = "x" * 30_000
    batches = list(iter_event_batches(ev(i, properties={"blob": big}) for i in range(100)))
    assert len(batches) > 1
    for batch in batches:
        body = json.dumps({"source": "server", "events": batch}, separators=(",", ":")).encode()
        assert len(body) <= MAX_BATCH_BYTES
    assert sum(len(b) for b in batches) == 100


def test_batch_boundary_is_exact() -> None:
    one = len(
        json.dumps(prepare_event(ev(0, uuid=str(uuid.UUID(int=0)))).event, separators=(",", ":")).encode()
    )
    overhead = len(b'{"source":"server","events":[]}')
    limit = overhead + 3 * one + 2  # exactly three events and their two commas
    events = [ev(0, uuid=str(uuid.UUID(int=0))) for _ in range(7)]
    assert [len(b) for b in iter_event_batches(events, max_bytes=limit)] == [3, 3, 1]


def test_iter_event_batches_raises_on_invalid_event() -> None:
    with pytest.raises(OutlitEventError, match=r"events\.1\.type"):
        list(iter_event_batches([ev(0), {"type": "nope", "url": "u", "path": "/"}]))


def test_iter_event_batches_is_lazy() -> None:
    consumed = []

    def source():
        for i in range(1000):
            consumed.append(i)
            yield ev(i)

    first = next(iter(iter_event_batches(source())))
    assert len(first) == 100 and len(consumed) <= 101
