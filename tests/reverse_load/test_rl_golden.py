"""Row -> event output pinned byte for byte: ledgers written by earlier versions must keep matching.

The mapper is tuned for speed; a content hash that changed for the same row would make every row look
changed after an upgrade and send it again under a new uuid (stored twice by Outlit). So the hashes, the
uuids, the JSON sent and the refusals (reason and field) of a spread of rows are pinned here as digests
taken from the implementation before the tuning.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from typing import Any

import pytest

from outlit_core.client import EventRejection, prepare_event
from outlit_core.reverse_load.mapping import load_mapping
from outlit_core.reverse_load.rows import RowMapper, RowRejected, event_uuid

UTC = dt.UTC
PLUS2 = dt.timezone(dt.timedelta(hours=2))

MAPPINGS: dict[str, dict[str, Any]] = {
    "identify": {
        "event_type": "identify",
        "key": ["id"],
        "timestamp": "ts",
        "email": "email",
        "user_id": "uid",
        "customer_id": "cid",
        "traits": ["a", "b", "c"],
        "customer_traits": {"tier": "a"},
    },
    "custom": {
        "event_type": "custom",
        "key": ["id", "cid"],
        "event_name_column": "a",
        "email": "email",
        "customer_id": "cid",
        "fields": {"fingerprint": "uid", "referrer": {"value": "https://x.test/é"}},
        "properties": ["b", "c"],
        "url": "server://golden",
        "path": "/p",
    },
    "engagement": {
        "event_type": "engagement",
        "key": ["id"],
        "timestamp": "ts",
        "customer_id": "cid",
        "fields": {"activeTimeMs": "a", "totalTimeMs": "b", "sessionId": "c"},
    },
    "calendar": {
        "event_type": "calendar",
        "key": ["id"],
        "customer_id": "cid",
        "fields": {
            "provider": {"value": "calendly"},
            "startTime": "ts",
            "endTime": "ts",
            "isRecurring": "b",
            "inviteeEmail": "email",
            "inviteeName": "uid",
            "duration": "a",
        },
    },
    "form": {
        "event_type": "form",
        "key": ["id"],
        "timestamp": "ts",
        "customer_id": "cid",
        "fields": {"formId": "uid"},
        "form_fields": ["a", "b", "c"],
    },
}

VALUES: list[Any] = [
    None,
    "",
    "  ",
    "plain",
    "é ü 中文 🎉",
    'quote " back \\ nl \n tab \t ctl \x01',
    0,
    1,
    -7,
    2**53 + 1,
    10**20,
    True,
    False,
    1.5,
    2.0,
    -0.0,
    1e16,
    1.5e-7,
    123456.789,
    float("nan"),
    float("inf"),
    decimal.Decimal("99.50"),
    decimal.Decimal("42"),
    decimal.Decimal("1E+3"),
    dt.datetime(2026, 1, 2, 3, 4, 5),
    dt.datetime(2026, 1, 2, 3, 4, 5, 123456),
    dt.datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=PLUS2),
    dt.date(2026, 2, 3),
    dt.time(4, 5, 6),
    dt.timedelta(seconds=90, microseconds=5),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "12345678123456781234567812345678",
    "2026-01-02T03:04:05+00:00",
    1767323045,
    1767323045123,
    {"nested": [1, "x", None, {"k": 2.5}]},
    [1, 2],
    b"\x00",
    "owner@example.com",
    " padded@example.com ",
    "not-an-email",
]


def _rows() -> list[dict[str, Any]]:
    """A fixed, varied set of rows: each value in each column, with the other columns filled plausibly."""
    base = {
        "id": "r",
        "ts": dt.datetime(2026, 1, 2, 3, 4, 5),
        "email": "owner@example.com",
        "uid": "u1",
        "cid": "acc_1",
        "a": 5,
        "b": 1,
        "c": "12345678-1234-5678-1234-567812345678",
    }
    rows = []
    for column in base:
        for i, value in enumerate(VALUES):
            rows.append({**base, "id": f"{column}-{i}", column: value})
    return rows


def _outcomes(name: str) -> str:
    """One digest over every row's outcome: the event's hash, uuid and wire bytes, or its refusal."""
    mapper = RowMapper(load_mapping({**MAPPINGS[name], "name": name}))
    digest = hashlib.sha256()
    for row in _rows():
        try:
            mapped = mapper.map(row)
        except RowRejected as exc:
            digest.update(f"rejected|{exc.reason}|{exc.field}\n".encode())
            continue
        # the JSON sent is the one encoded for the hash, with the uuid put in (as the loader sends it)
        encoded = mapped.stamp(event_uuid(name, mapped.key, mapped.content_hash, "prev"))
        checked = prepare_event(mapped.event, encoded=encoded)
        if isinstance(checked, EventRejection):
            digest.update(f"refused|{checked.message}|{checked.path}\n".encode())
            continue
        # the key order on the wire is free; the content is not
        sent = json.dumps(json.loads(checked.encoded), sort_keys=True, ensure_ascii=False)
        digest.update(f"{mapped.key}|{mapped.content_hash}|{checked.uuid}|{sent}\n".encode())
    return digest.hexdigest()


GOLDEN = {
    "calendar": "ac9c4113ba90ce8cb2fca81aa087e742a76a631950a1c023b33682759964df3b",
    "custom": "deef6161c78d02888d20ea711a6bb856c1d1a9413584e62e1fbb825bfa569c17",
    "engagement": "8913c0faf17d2df804bc7aa7b0045cc97b9290fd55175f5fb5dd339f03756b28",
    "form": "5bc735f6109ce2aa3f5d61faec459a20778e7572a8e7899235a2615d010ac4d5",
    "identify": "fb801106fabcfbbe3519157080956daf251a2b9225214dc4b2d47585abf830ee",
}


@pytest.mark.parametrize("name", sorted(MAPPINGS))
def test_events_hashes_and_refusals_are_unchanged(name: str) -> None:
    assert _outcomes(name) == GOLDEN[name]


def test_a_given_encoding_is_not_sent_once_the_check_has_changed_the_event() -> None:
    """``prepare_event(encoded=)`` sends the caller's bytes only for the event exactly as given."""
    upper = "12345678-1234-5678-1234-56781234567A"
    event = {"type": "identify", "url": "server://x", "path": "/", "email": "a@example.com", "uuid": upper}
    stale = b'{"stale":true}'
    checked = prepare_event(event, encoded=stale)
    assert not isinstance(checked, EventRejection)
    assert json.loads(checked.encoded)["uuid"] == upper.lower()  # normalised, so encoded again
    assert prepare_event({**event, "uuid": upper.lower()}, encoded=stale).encoded == stale  # type: ignore[union-attr]


def test_the_fast_encoder_writes_the_bytes_json_writes() -> None:
    """Content hashes are taken of ``canonical_bytes``, which uses orjson where it agrees with json."""
    import random

    from outlit_core.reverse_load.rows import canonical_bytes, canonical_json

    rnd = random.Random(7)

    def scalar() -> Any:
        pick = rnd.randrange(6)
        if pick == 0:  # floats over every magnitude, with and without an exponent in Python's repr
            return rnd.choice([-1, 1]) * rnd.random() * 10 ** rnd.randint(-12, 22)
        if pick == 1:
            return rnd.choice([0, 1, -1, 2**53 + 1, 2**63 - 1, -(2**63), 2**64, 10**30, rnd.getrandbits(40)])
        if pick == 2:  # any code point but surrogates, control characters and quotes included
            points = [
                rnd.choice([rnd.randrange(0x80), rnd.randrange(0x800), rnd.randrange(0xE000, 0x110000)])
            ]
            return "".join(chr(p) for p in points * rnd.randint(1, 3))
        return [None, True, False, 0.0, -0.0, 1e-4, 1e16, 9999999999999998.0][rnd.randrange(8)]

    for _ in range(20_000):
        event = {chr(rnd.randrange(0x20, 0x3000)): scalar() for _ in range(rnd.randint(1, 6))}
        event["properties"] = {chr(rnd.randrange(0x20, 0x250)): scalar() for _ in range(rnd.randint(0, 4))}
        assert canonical_bytes(event) == canonical_json(event).encode(), event
