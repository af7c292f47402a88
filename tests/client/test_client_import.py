"""Importing the client must stay light: no Airflow, no dlt, no pandas."""

from __future__ import annotations

import json
import subprocess
import sys


def test_import_does_not_pull_airflow_dlt_or_pandas() -> None:
    code = (
        "import json, sys\n"
        "import outlit_core.client\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('airflow', 'dlt', 'pandas'))\n"
        "print(json.dumps(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_public_surface_is_exported() -> None:
    import outlit_core.client as client

    for name in client.__all__:
        assert hasattr(client, name), name
    for method in (
        "validate_api_key",
        "call_tool",
        "iter_pages",
        "iter_tool",
        "query",
        "query_df",
        "schema",
        "list_integrations",
        "integration_capabilities",
        "connect_integration",
        "connection_status",
        "disconnect_integration",
        "sync_status",
        "run_setup_step",
        "platform_action",
        "iter_event_batches",
        "send_batch",
        "send_prepared",
        "send_events",
    ):
        assert callable(getattr(client.OutlitClient, method)), method
        assert callable(getattr(client.AsyncOutlitClient, method)), method
