"""``/_sandbox/advance`` on a big workspace, and new data for a share of the customers only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import sandbox_running
from tests.sandbox.conftest import Api


@pytest.fixture(scope="module")
def big_api() -> Iterator[Api]:
    # 5,000 customers as in the benchmark's scale curve: the build and every advance scanned all users once
    # per customer (about 25 s per pass here), so the handle's 30 s timeout ran out on the HTTP advance
    for sb in sandbox_running(
        seed=3, customers=5000, events_per_customer=2, facts_per_customer=1, frozen=True
    ):
        api = Api(sb)
        yield api
        api.close()


def _newest(api: Api, cid: str) -> tuple[str, str]:
    """The id of the customer's newest event and the customer's ``lastActivityAt``."""
    event = api.tool("outlit_get_timeline", {"customer": cid, "timeframe": "all", "limit": 1})["events"][0]
    return event["id"], api.tool("outlit_get_customer", {"customer": cid})["customer"]["lastActivityAt"]


def test_advance_of_five_thousand_customers_answers_and_moves_their_activity(big_api: Api) -> None:
    changes = big_api.sb.advance(
        hours=1, events_per_customer=1, facts_per_customer=0, late_events_per_customer=1
    )
    assert len(changes["events"]) == 5000
    assert all(len(ids) == 1 for ids in changes["events"].values())
    for cid in list(changes["events"])[::1000]:
        event_id, last_activity = _newest(big_api, cid)
        assert event_id == changes["events"][cid][0]
        assert last_activity > changes["now"][:10]  # moved to the new event (within the advanced hour)


def test_every_nth_customer_gets_new_data_and_the_others_keep_theirs(fresh_api: Api) -> None:
    ids = [c["id"] for c in fresh_api.sb.dataset()["customers"]]
    before = {cid: _newest(fresh_api, cid) for cid in ids}
    changes = fresh_api.sb.advance(hours=1, events_per_customer=2, facts_per_customer=1, every_nth_customer=4)
    touched = ids[::4]
    assert touched == ids[0:1] + ids[4:5]  # 6 customers: the first and the fifth
    assert {cid for cid, new in changes["events"].items() if new} == set(touched)
    assert {cid for cid, new in changes["facts"].items() if new} == set(touched)
    assert all(len(changes["events"][cid]) == 2 for cid in touched)
    for cid in ids:
        after = _newest(fresh_api, cid)
        if cid in touched:
            assert after[0] == changes["events"][cid][-1] != before[cid][0]
            assert after[1] > before[cid][1]
        else:
            assert after == before[cid]
