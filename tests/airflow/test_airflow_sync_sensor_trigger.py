"""The sync sensor (poke, reschedule, deferrable) and both triggers, end to end against the sandbox."""

from __future__ import annotations

import asyncio
import importlib
import json
import time

import pytest
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowRescheduleException,
    AirflowSensorTimeout,
    TaskDeferred,
)

from outlit_provider.operators import OutlitConnectIntegrationOperator
from outlit_provider.sensors import OutlitIntegrationSyncSensor
from outlit_provider.triggers import OutlitConnectSessionTrigger, OutlitIntegrationSyncTrigger

LONG_AGO = "2000-01-01T00:00:00Z"


def run_trigger(trigger) -> list:
    """Drive a trigger the way the triggerer does, collecting every event it yields."""

    async def collect():
        return [event async for event in trigger.run()]

    return asyncio.run(collect())


def roundtrip(trigger):
    classpath, kwargs = trigger.serialize()
    json.dumps(kwargs)  # kwargs must be plain JSON to survive the metadata DB
    module, _, name = classpath.rpartition(".")
    clone = getattr(importlib.import_module(module), name)(**kwargs)
    assert clone.serialize() == (classpath, kwargs)
    return clone


def connect_direct(provider: str = "granola") -> None:
    from outlit_provider.hooks.outlit import OutlitHook

    with OutlitHook().get_client() as client:
        client.connect_integration(provider, {"apiKey": "gr_test_key_123"})


# -- sensor, poke and reschedule -----------------------------------------------------------------------


def test_sensor_succeeds_on_fresh_success(outlit_conn, context):
    sensor = OutlitIntegrationSyncSensor(
        task_id="s", provider="stripe", models=["StripeCustomer"], synced_after=LONG_AGO
    )
    result = sensor.execute(context)
    assert result["syncs"][0]["status"] == "SUCCESS"
    assert context["ti"].pushed["outlit_integrations_url"].endswith("/integrations")


def test_sensor_waits_for_syncs_newer_than_bound(outlit_conn, context):
    sensor = OutlitIntegrationSyncSensor(task_id="s", provider="stripe", synced_after="2999-01-01T00:00:00Z")
    assert sensor.poke(context).is_done is False


def test_sensor_fails_at_once_with_remote_error(outlit_conn, context):
    sensor = OutlitIntegrationSyncSensor(task_id="s", provider="hubspot", synced_after=LONG_AGO, timeout=3600)
    with pytest.raises(AirflowException, match="token expired"):
        sensor.execute(context)


def test_sensor_fails_when_not_connected(outlit_conn, context):
    sensor = OutlitIntegrationSyncSensor(task_id="s", provider="attio", synced_after=LONG_AGO)
    with pytest.raises(AirflowException, match="not connected"):
        sensor.execute(context)


def test_sensor_reschedule_mode_frees_the_slot_then_succeeds(fresh_conn, context):
    connect_direct()
    sensor = OutlitIntegrationSyncSensor(
        task_id="s", provider="granola", synced_after=LONG_AGO, mode="reschedule", poke_interval=30
    )
    with pytest.raises(AirflowRescheduleException):
        sensor.execute(context)  # first poll: PENDING
    assert sensor.execute(context)["syncs"][0]["status"] == "SUCCESS"


def test_sensor_default_bound_is_data_interval_end(outlit_conn, context):
    from datetime import UTC, datetime

    context["data_interval_end"] = datetime(2999, 1, 1, tzinfo=UTC)
    sensor = OutlitIntegrationSyncSensor(task_id="s", provider="stripe")
    assert sensor.poke(context).is_done is False
    context["data_interval_end"] = datetime(2000, 1, 1, tzinfo=UTC)
    assert sensor.poke(context).is_done is True


def test_sensor_without_any_bound_says_what_to_pass(outlit_conn, context):
    with pytest.raises(ValueError, match="synced_after"):
        OutlitIntegrationSyncSensor(task_id="s", provider="stripe").poke(context)


# -- models: a list, or what a template renders to ---------------------------------------------------------

BOTH = ["StripeCustomer", "StripeSubscription"]


@pytest.mark.parametrize(
    "rendered",
    [
        "StripeCustomer, StripeSubscription",
        '["StripeCustomer", "StripeSubscription"]',
        "['StripeCustomer', 'StripeSubscription']",  # a list rendered without render_template_as_native_obj
    ],
)
def test_sensor_models_rendered_to_a_string_are_names_not_characters(outlit_conn, context, rendered):
    sensor = OutlitIntegrationSyncSensor(task_id="s", provider="stripe", models=BOTH, synced_after=LONG_AGO)
    sensor.models = rendered  # what rendering a template field or resolving an XComArg does
    result = sensor.execute(context)
    assert sorted(s["model"] for s in result["syncs"]) == BOTH


def test_sensor_templated_models_are_rendered_then_checked_and_reach_the_trigger(outlit_conn, context):
    sensor = OutlitIntegrationSyncSensor(
        task_id="s",
        provider="stripe",
        models="{{ params.models }}",  # left alone at parse time
        synced_after="2999-01-01T00:00:00Z",
        deferrable=True,
    )
    sensor.render_template_fields({**context, "params": {"models": BOTH}})
    assert isinstance(sensor.models, str)  # Jinja rendered the list to its repr
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context)
    assert roundtrip(deferred.value.trigger).models == BOTH


def test_sensor_literal_models_are_checked_at_parse_time():
    sensor = OutlitIntegrationSyncSensor(task_id="s", provider="stripe", models="StripeCustomer")
    assert sensor.models == ["StripeCustomer"]
    with pytest.raises(ValueError, match="s: models must be a list of names"):
        OutlitIntegrationSyncSensor(task_id="s", provider="stripe", models=["StripeCustomer", 3])


@pytest.mark.parametrize(
    ("rendered", "message"),
    [(42, "got int 42"), ('["StripeCustomer", ', "looks like a list"), ("[1, 2]", "got list")],
)
def test_sensor_models_that_render_to_nonsense_fail_naming_the_field(outlit_conn, context, rendered, message):
    sensor = OutlitIntegrationSyncSensor(task_id="s", provider="stripe", synced_after=LONG_AGO)
    sensor.models = rendered
    with pytest.raises(ValueError, match=f"s: models.*{message}"):
        sensor.execute(context)


# -- triggers ----------------------------------------------------------------------------------------------


def test_trigger_serialize_round_trip():
    trigger = OutlitIntegrationSyncTrigger(
        provider="stripe", models=["StripeCustomer"], synced_after=LONG_AGO, poll_interval=5, end_time=1e10
    )
    clone = roundtrip(trigger)
    assert (clone.provider, clone.models, clone.end_time) == ("stripe", ["StripeCustomer"], 1e10)
    roundtrip(OutlitConnectSessionTrigger(session_id="s1", provider="slack", end_time=1e10))


def test_trigger_yields_one_success_event(outlit_conn):
    events = run_trigger(
        OutlitIntegrationSyncTrigger(provider="stripe", synced_after=LONG_AGO, end_time=1e10)
    )
    assert len(events) == 1 and events[0].payload["status"] == "success"
    assert events[0].payload["provider"] == "stripe"


def test_trigger_polls_pending_until_success(fresh_conn):
    connect_direct()
    trigger = OutlitIntegrationSyncTrigger(
        provider="granola", synced_after=LONG_AGO, poll_interval=0.01, end_time=time.time() + 30
    )
    events = run_trigger(trigger)
    assert [e.payload["status"] for e in events] == ["success"]


def test_trigger_failed_event_carries_remote_error(outlit_conn):
    events = run_trigger(
        OutlitIntegrationSyncTrigger(provider="hubspot", synced_after=LONG_AGO, end_time=1e10)
    )
    assert len(events) == 1 and events[0].payload["status"] == "failed"
    assert "token expired" in events[0].payload["message"]


def test_trigger_times_out_with_last_status(outlit_conn):
    trigger = OutlitIntegrationSyncTrigger(
        provider="stripe", synced_after="2999-01-01T00:00:00Z", poll_interval=0.01, end_time=time.time()
    )
    events = run_trigger(trigger)
    assert len(events) == 1 and events[0].payload["status"] == "timeout"
    assert "Last status" in events[0].payload["message"] and "2999" in events[0].payload["message"]


def test_trigger_bad_key_is_one_error_event_without_the_key(sandbox, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_OUTLIT_DEFAULT",
        json.dumps(
            {"conn_type": "outlit", "password": "ok_wrong_key_987", "extra": {"base_url": sandbox.base_url}}
        ),
    )
    events = run_trigger(OutlitIntegrationSyncTrigger(provider="stripe", end_time=1e10))
    assert len(events) == 1 and events[0].payload["status"] == "error"
    assert "ok_wrong_key_987" not in json.dumps(events[0].payload)


def test_trigger_survives_transient_faults(fresh_conn):
    # 5xx, 429 and dropped connections; Retry-After 0 keeps the client's honouring of it instant.
    fresh_conn.configure(fault_rate=0.5, fault_kinds=["500", "503", "429", "drop"], retry_after=0)
    trigger = OutlitIntegrationSyncTrigger(
        provider="stripe", synced_after=LONG_AGO, poll_interval=0.01, end_time=time.time() + 60
    )
    events = run_trigger(trigger)
    assert [e.payload["status"] for e in events] == ["success"]
    assert fresh_conn.stats()["faults_total"] > 0


# -- deferral, end to end ----------------------------------------------------------------------------------


def test_deferrable_sensor_defers_then_completes(fresh_conn, context):
    connect_direct()
    sensor = OutlitIntegrationSyncSensor(
        task_id="s",
        provider="granola",
        synced_after=LONG_AGO,
        deferrable=True,
        poke_interval=0.01,
        timeout=60,
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context)  # the worker's first check sees PENDING
    assert deferred.value.method_name == "execute_complete"
    trigger = roundtrip(deferred.value.trigger)  # as stored in and reloaded from the metadata DB
    (event,) = run_trigger(trigger)
    result = sensor.execute_complete(context, event.payload)
    assert result["syncs"][0]["status"] == "SUCCESS"


def test_execute_complete_rejects_bad_events():
    sensor = OutlitIntegrationSyncSensor(task_id="s", provider="stripe", deferrable=True)
    with pytest.raises(AirflowException, match="malformed"):
        sensor.execute_complete({}, {"nope": 1})
    with pytest.raises(AirflowException, match="token expired"):
        sensor.execute_complete({}, {"status": "failed", "message": "HubspotDeal: token expired"})
    with pytest.raises(AirflowSensorTimeout, match="Last status"):
        sensor.execute_complete({}, {"status": "timeout", "message": "Last status: PENDING"})


def test_deferrable_browser_connect_end_to_end(fresh_conn, context):
    op = OutlitConnectIntegrationOperator(task_id="c", provider="attio", deferrable=True, poll_interval=0.01)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context)
    session_id = context["ti"].pushed["session_id"]  # pushed before waiting
    trigger = roundtrip(deferred.value.trigger)
    assert trigger.session_id == session_id
    (event,) = run_trigger(trigger)
    assert op.execute_complete(context, event.payload)["connected"] is True


def test_deferral_default_follows_airflow_config(monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "True")
    import outlit_provider.sensors.integrations as module

    importlib.reload(module)
    try:
        assert module.OutlitIntegrationSyncSensor(task_id="s", provider="stripe").deferrable is True
    finally:
        monkeypatch.delenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE")
        importlib.reload(module)
