"""The one definition of done/waiting/failed shared by the sync sensor and its trigger."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from outlit_core.parsing import parse_name_list, parse_timestamp
from outlit_provider.hooks.integration_status import evaluate_connect_status, evaluate_sync_status

BOUND = datetime(2026, 4, 10, 18, 0, tzinfo=UTC)


def resp(*syncs, status="connected"):
    return {
        "provider": "stripe",
        "name": "Stripe",
        "category": "billing",
        "status": status,
        "syncs": list(syncs),
    }


def sync(model, status="SUCCESS", last="2026-04-10T18:22:11.000Z", error=None):
    return {"model": model, "status": status, "lastSyncedAt": last, "errorMessage": error}


def check(response, **kw):
    return evaluate_sync_status(response, provider="stripe", **kw)


def test_all_models_fresh_is_success():
    result = check(resp(sync("StripeCustomer"), sync("StripeInvoice")), synced_after=BOUND)
    assert result.state == "success" and result.done
    assert [s["model"] for s in result.details["syncs"]] == ["StripeCustomer", "StripeInvoice"]


def test_boundary_is_inclusive():
    assert check(resp(sync("A", last="2026-04-10T18:00:00Z")), synced_after=BOUND).state == "success"


def test_stale_success_waits_and_says_why():
    result = check(resp(sync("A", last="2026-04-09T00:00:00Z")), synced_after=BOUND)
    assert result.state == "waiting" and "before 2026-04-10T18:00:00" in result.message


def test_pending_waits_and_no_syncs_waits():
    assert check(resp(sync("A", status="PENDING")), synced_after=BOUND).state == "waiting"
    assert check(resp(), synced_after=BOUND).state == "waiting"


def test_failed_model_fails_with_remote_error_text():
    result = check(resp(sync("A"), sync("B", status="FAILED", error="token revoked")), synced_after=BOUND)
    assert result.state == "failed" and "B: token revoked" in result.message


def test_failure_of_an_unselected_model_is_ignored():
    response = resp(sync("A"), sync("B", status="FAILED", error="x"))
    assert check(response, models=["A"], synced_after=BOUND).state == "success"


def test_not_connected_fails_at_once():
    result = check(resp(status="not_connected"))
    assert result.state == "failed" and "not connected" in result.message


def test_unknown_model_fails_naming_the_known_ones():
    result = check(resp(sync("StripeCustomer")), models=["StripeCustomr"])
    assert result.state == "failed" and "StripeCustomer" in result.message


def test_no_bound_accepts_any_success():
    assert check(resp(sync("A", last=None))).state == "success"


@pytest.mark.parametrize(
    ("status", "state"),
    [("pending", "waiting"), ("connected", "success"), ("failed", "failed"), ("expired", "failed")],
)
def test_connect_session_states(status, state):
    result = evaluate_connect_status(
        {"status": status, "provider": "slack", "error": "denied"}, session_id="s1"
    )
    assert result.state == state
    if state == "failed":
        assert status in result.message


def test_provider_parsers_are_the_core_ones():
    """Issue 13 item 3: the status check, sensor and trigger share the core's timestamp and name parsers."""
    from outlit_provider.hooks import integration_status
    from outlit_provider.sensors import integrations as sensors
    from outlit_provider.triggers import integrations as triggers

    for module in (integration_status, sensors, triggers):
        assert getattr(module, "parse_timestamp", parse_timestamp) is parse_timestamp, module.__name__
    assert sensors.parse_name_list is parse_name_list
    assert not hasattr(sensors, "model_names")


@pytest.mark.spec
def test_every_documented_connect_status_has_a_verdict():
    import json
    from pathlib import Path

    from tests.conftest import spec_path

    spec = json.loads(Path(spec_path("OUTLIT_OPENAPI_SPEC")).read_text())
    schema = spec["components"]["schemas"]["IntegrationConnectionStatusResponse"]
    for status in schema["properties"]["status"]["enum"]:
        result = evaluate_connect_status({"status": status, "provider": "slack"}, session_id="s")
        assert "unknown status" not in result.message, status


@pytest.mark.spec
def test_documented_sync_response_example_is_judged_success():
    import json
    from pathlib import Path

    from tests.conftest import spec_path

    spec = json.loads(Path(spec_path("OUTLIT_OPENAPI_SPEC")).read_text())
    schema = spec["components"]["schemas"]["IntegrationSync"]
    assert {"SUCCESS", "FAILED", "PENDING"} <= set(schema["properties"]["status"]["examples"])
    assert set(schema["required"]) == {"model", "status"}  # lastSyncedAt may be absent: handled as waiting
    result = check(resp({"model": "StripeCustomer", "status": "SUCCESS"}), synced_after=BOUND)
    assert result.state == "waiting" and "no lastSyncedAt" in result.message
