"""OutlitHook against the sandbox: test_connection, both clients, provider registration, no key leaks,
and on_kill stopping work between requests."""

from __future__ import annotations

import asyncio
import json
import logging
import threading

import pytest

from outlit_provider.hooks.outlit import OutlitHook
from outlit_provider.operators import OutlitConnectIntegrationOperator, OutlitToolOperator
from outlit_provider.operators.base import OutlitTaskStopped


def test_test_connection_reports_organization_and_grants(outlit_conn):
    ok, message = OutlitHook().test_connection()
    assert ok, message
    assert "organization" in message and "grants" in message


def test_test_connection_with_a_wrong_key_fails_without_echoing_it(sandbox, monkeypatch):
    wrong = "ok_definitely_wrong_key_42"
    monkeypatch.setenv(
        "AIRFLOW_CONN_OUTLIT_DEFAULT",
        json.dumps({"conn_type": "outlit", "password": wrong, "extra": {"base_url": sandbox.base_url}}),
    )
    ok, message = OutlitHook().test_connection()
    assert not ok and "rejected" in message and wrong not in message


def test_sync_and_async_clients_reach_the_sandbox(outlit_conn):
    hook = OutlitHook()
    with hook.get_client() as client:
        sync_org = client.validate_api_key().organization_id

    async def via_async() -> str:
        async with await OutlitHook().get_async_client() as client:
            return (await client.validate_api_key()).organization_id

    assert asyncio.run(via_async()) == sync_org
    assert hook.app_url("integrations") == f"{outlit_conn.base_url}/integrations"


def test_provider_is_registered_with_airflow():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "outlit-connector" in manager.providers
    info = manager.providers["outlit-connector"].data
    (conn_type,) = info["connection-types"]
    assert conn_type["connection-type"] == "outlit" and "public_key" in conn_type["conn-fields"]
    assert manager.field_behaviours["outlit"]["relabeling"] == {"password": "API key"}


def test_provider_info_matches_airflows_schema():
    from pathlib import Path

    import airflow
    import jsonschema

    from outlit_provider.get_provider_info import get_provider_info

    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)
    # The declarative connection-form keys are specified in the provider.yaml schema; check them there.
    yaml_schema = json.loads((Path(airflow.__file__).parent / "provider.yaml.schema.json").read_text())
    conn_schema = yaml_schema["properties"]["connection-types"]["items"]
    jsonschema.validate(get_provider_info()["connection-types"][0], conn_schema)
    for module in ("hooks", "operators", "sensors", "triggers"):
        for entry in get_provider_info()[module]:
            for name in entry["python-modules"]:
                __import__(name)


def test_provider_info_and_package_imports_leave_airflow_unimported():
    """``airflow providers list`` and the UI call get_provider_info without Airflow's task SDK loaded; the
    provider packages' ``__init__`` must not pull it in either (their classes load on first access, as the
    ``from outlit_provider.operators import ...`` at the top of this module shows)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from outlit_provider.get_provider_info import get_provider_info\n"
        "info = get_provider_info()\n"
        "assert info['connection-types'][0]['connection-type'] == 'outlit'\n"
        "import outlit_provider.hooks, outlit_provider.operators, outlit_provider.sensors\n"
        "import outlit_provider.triggers\n"
        "loaded = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'))\n"
        "assert not loaded, loaded[:5]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_api_key_never_reaches_logs_or_xcom(outlit_conn, context, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    OutlitToolOperator(task_id="t", tool="outlit_list_customers", paginate=True, max_items=3).execute(context)
    with pytest.raises(Exception) as failure:  # a failing call too: its error text must not carry the key
        OutlitToolOperator(
            task_id="f", tool="outlit_get_customer", tool_input={"customer": "no-such-customer.example"}
        ).execute(context)
    blob = caplog.text + json.dumps(context["ti"].pushed) + str(failure.value) + repr(failure.value)
    assert outlit_conn.api_key not in blob


def test_on_kill_stops_paging_between_requests(outlit_conn, context):
    op = OutlitToolOperator(task_id="t", tool="outlit_list_customers", paginate=True)
    op.on_kill()
    with pytest.raises(OutlitTaskStopped, match="the request was not sent"):
        op.execute(context)


def test_on_kill_ends_a_browser_connect_wait_at_once(fresh_conn, context):
    op = OutlitConnectIntegrationOperator(task_id="c", provider="attio", poll_interval=300, deferrable=False)
    threading.Timer(0.2, op.on_kill).start()
    with pytest.raises(OutlitTaskStopped, match="connect session"):
        op.execute(context)  # would otherwise wait 300 s before its second status check
