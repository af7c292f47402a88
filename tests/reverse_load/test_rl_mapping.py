"""Mapping validation and row -> event conversion: every bad input names the field and the fix."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json

import pytest

from outlit_core.client.events import prepare_event
from outlit_core.reverse_load.mapping import EVENT_TYPES, MappingError, load_mapping
from outlit_core.reverse_load.rows import MAX_EVENT_BYTES, RowMapper, RowRejected, event_uuid

BILLING = {
    "name": "billing",
    "event_type": "billing",
    "key": ["account_id"],
    "timestamp": "updated_at",
    "customer_id": "account_id",
    "fields": {"status": "billing_status"},
    "properties": ["plan", "mrr"],
}
ROW = {
    "account_id": "acc_1",
    "updated_at": dt.datetime(2026, 1, 2, 3, 4, 5),
    "billing_status": "paid",
    "plan": "pro",
    "mrr": decimal.Decimal("99.50"),
    "unused": object(),
}


def test_billing_row_becomes_a_valid_event() -> None:
    mapped = RowMapper(load_mapping(BILLING)).map(ROW)
    assert mapped.event == {
        "type": "billing",
        "url": "server://outlit-etl",
        "path": "/",
        "timestamp": 1767323045000,
        "customerId": "acc_1",
        "status": "paid",
        "properties": {"plan": "pro", "mrr": 99.5},
    }
    assert mapped.key == '["acc_1"]'
    # the client's own per-type check agrees
    assert not hasattr(prepare_event({**mapped.event}), "message")


def test_hash_ignores_unmapped_columns_and_tracks_mapped_ones() -> None:
    mapper = RowMapper(load_mapping(BILLING))
    base = mapper.map(ROW).content_hash
    assert mapper.map({**ROW, "unused": "changed"}).content_hash == base
    assert mapper.map({**ROW, "plan": "team"}).content_hash != base


def test_uuid_is_deterministic_and_depends_on_history() -> None:
    first = event_uuid("s", '["a"]', "h1")
    assert first == event_uuid("s", '["a"]', "h1")
    assert first != event_uuid("s", '["a"]', "h2")
    assert first != event_uuid("s", '["a"]', "h1", previous_uuid="x")  # a row changing back is a new event
    assert first != event_uuid("other", '["a"]', "h1")


def test_uuids_and_hashes_match_what_earlier_versions_wrote_to_ledgers() -> None:
    """Both are computed by hand for speed; a ledger written before must still match them."""
    import uuid

    from outlit_core.reverse_load.rows import EVENT_UUID_NAMESPACE, content_hash

    for args in (("s", '["a"]', "h1", ""), ("sync é", '["k",1]', "ab" * 32, "prev")):
        assert event_uuid(*args) == str(uuid.uuid5(EVENT_UUID_NAMESPACE, "\x1f".join(args)))
    assert event_uuid("s", '["a"]', "h1") == "da4b4c0b-87cc-5c8d-976f-980309db5a63"
    event = {"type": "identify", "traits": {"b": 1.5, "a": "é", "n": None}, "uuid": "x", "timestamp": 1}
    expected = json.dumps(
        {k: v for k, v in event.items() if k != "uuid"},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    assert content_hash(event) == hashlib.sha256(expected.encode()).hexdigest()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"event_type": "engagement", "fields": {}}, "'engagement' events require 'activeTimeMs'"),
        ({"fields": {}}, "'billing' events require 'status' but the mapping gives it no source"),
        (
            {"fields": {"status": {"value": "late"}}},
            "fields.status: 'late' is not one of trialing, paid, churned",
        ),
        ({"fields": {"status": "s", "title": "t"}}, "fields.title is not a field of 'billing' events"),
        ({"customer_id": None}, "'billing' events need an identity: map at least one of customer_id"),
        ({"email": "email"}, "email does not apply to 'billing' events"),
        ({"key": []}, "key"),
        ({"traits": ["x"]}, "traits does not apply to 'billing' events"),
        ({"event_name": "x"}, "event_name only applies to 'custom' events"),
        ({"event_type": "nope"}, "event_type"),
        ({"extra": 1}, "extra"),
        ({"path": "pricing"}, "path must start with '/'"),
    ],
)
def test_bad_mappings_name_the_field(change: dict, expected: str) -> None:
    with pytest.raises(MappingError, match="mapping is invalid") as info:
        load_mapping({**BILLING, **change})
    assert expected in str(info.value)


def test_custom_needs_event_name() -> None:
    with pytest.raises(MappingError, match="event_name: <name> or event_name_column"):
        load_mapping({"event_type": "custom", "key": ["id"], "email": "email"})


def test_missing_columns_are_named_with_their_mapping_field() -> None:
    mapping = load_mapping(BILLING)
    with pytest.raises(MappingError) as info:
        mapping.check_columns(["account_id", "updated_at", "plan"])
    message = str(info.value)
    assert "column 'billing_status' (mapping field fields.status)" in message
    assert "column 'mrr' (mapping field properties.mrr)" in message
    assert "Available columns: account_id, updated_at, plan" in message


def test_upper_case_source_columns_are_found() -> None:
    mapping = load_mapping(BILLING)
    resolved = mapping.resolve_columns(["ACCOUNT_ID", "UPDATED_AT", "BILLING_STATUS", "PLAN", "MRR", "OTHER"])
    assert resolved == ["account_id", "updated_at", "billing_status", "plan", "mrr", "OTHER"]
    mapping.check_columns(resolved)


def test_sql_source_needs_a_sync_name() -> None:
    mapping = load_mapping({k: v for k, v in BILLING.items() if k != "name"})
    assert mapping.sync_name("billing_table") == "billing_table:billing"
    with pytest.raises(MappingError, match="'name' is required"):
        mapping.sync_name(None)


def test_yaml_and_json_files(tmp_path) -> None:
    yml = tmp_path / "m.yaml"
    yml.write_text(
        "event_type: custom\nkey: [id]\nevent_name: invoice_paid\nemail: email\nproperties: {amount: amt}\n"
    )
    assert load_mapping(yml).object_columns("properties") == {"amount": "amt"}
    js = tmp_path / "m.json"
    js.write_text(json.dumps(BILLING))
    assert load_mapping(js).event_type == "billing"
    bad = tmp_path / "bad.yaml"
    bad.write_text("event_type: [unclosed")
    with pytest.raises(MappingError, match="could not be parsed"):
        load_mapping(bad)
    with pytest.raises(MappingError, match="does not exist"):
        load_mapping(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("row_change", "reason", "field"),
    [
        ({"account_id": None}, "key column 'account_id' is null", "key.account_id"),
        ({"billing_status": None}, "required field 'status' is null", "status"),
        ({"billing_status": "late"}, "not one of trialing, paid, churned", "status"),
        ({"mrr": float("nan")}, "not a finite number", "properties.mrr"),
        ({"mrr": b"\x00"}, "unsupported type bytes", "properties.mrr"),
        ({"updated_at": "yesterday"}, "not an ISO 8601 timestamp", "timestamp"),
        ({"plan": "x" * (MAX_EVENT_BYTES + 10)}, "over the 1 MB request limit", None),
    ],
)
def test_bad_rows_are_rejected_with_field(row_change: dict, reason: str, field: str | None) -> None:
    mapper = RowMapper(load_mapping(BILLING))
    with pytest.raises(RowRejected) as info:
        mapper.map({**ROW, **row_change})
    assert reason in info.value.reason
    assert info.value.field == field


def test_identity_missing_in_row() -> None:
    mapping = load_mapping(
        {"event_type": "custom", "key": ["id"], "event_name": "x", "email": "email", "user_id": "uid"}
    )
    with pytest.raises(RowRejected, match="missing identity"):
        RowMapper(mapping).map({"id": 1, "email": None, "uid": ""})
    with pytest.raises(RowRejected, match="is not an email address"):
        RowMapper(mapping).map({"id": 1, "email": "not-an-email", "uid": None})
    event = RowMapper(mapping).map({"id": 1, "email": None, "uid": 42.0}).event
    assert event["userId"] == "42"


def test_every_event_type_can_be_mapped() -> None:
    specific = {
        "custom": {"event_name": "e"},
        "engagement": {"fields": {"activeTimeMs": "n", "totalTimeMs": "n", "sessionId": "sid"}},
        "calendar": {"fields": {"provider": {"value": "calendly"}, "startTime": "at"}},
        "stage": {"fields": {"stage": {"value": "activated"}}},
        "billing": {"fields": {"status": {"value": "trialing"}}, "customer_id": "cid"},
    }
    row = {"id": 1, "email": "a@b.co", "cid": "c1", "n": 5, "sid": "4f0e6d1c-2b7a-4e3f-9c1d-0a8b7e6f5d4c"}
    row["at"] = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for event_type in EVENT_TYPES:
        spec = {"event_type": event_type, "key": ["id"], "customer_id": "cid", **specific.get(event_type, {})}
        if event_type in ("custom", "identify", "stage"):
            spec["email"] = "email"
        event = RowMapper(load_mapping(spec)).map(row).event
        checked = prepare_event(event)
        assert hasattr(checked, "event"), (event_type, checked)
