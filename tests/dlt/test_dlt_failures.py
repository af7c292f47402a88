"""A failed extract ends: every failure path stops every worker, the process exits, the error is one line.

Each case runs in a subprocess with a bound, because the failure being guarded against is a process that
raises and then never exits (worker threads left blocked), which no in-process assertion can observe.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

BOUND_SECONDS = 90  # generous on a loaded machine; a hang is forever


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def _bounded(command: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The command in a child process of its own, cut off after BOUND_SECONDS (a hang fails the test)."""
    env = dict(os.environ)
    env.update(
        PROVIDERS__ENABLE_AIRFLOW_SECRETS="false",
        DLT_DATA_DIR=str(tmp_path / "dlt_data"),
        RUNTIME__LOG_LEVEL="CRITICAL",
        OUTLIT_MAX_RETRIES="1",
    )
    return subprocess.run(
        command, capture_output=True, text=True, timeout=BOUND_SECONDS, env=env, cwd=tmp_path
    )


def test_extract_cli_against_a_closed_port_exits_with_one_line_naming_the_host(tmp_path: Path) -> None:
    port = _closed_port()
    result = _bounded(
        [
            sys.executable,
            "-m",
            "outlit_cli.main",
            "extract",
            "--base-url",
            f"http://127.0.0.1:{port}",
            "--api-key",
            "ok_closed_port_test",
            "--duckdb-file",
            str(tmp_path / "out.duckdb"),
            "--pipelines-dir",
            str(tmp_path / "pipelines"),
        ],
        tmp_path,
    )
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert f"127.0.0.1:{port}" in errors[0] and "refused" in errors[0].lower(), errors[0]
    assert "generator already executing" not in result.stderr
    assert "Traceback" not in result.stderr


def test_pipeline_run_that_fails_mid_fan_out_raises_the_real_error_and_exits(
    sandbox: Any, tmp_path: Path
) -> None:
    # The timeline tool fails for good after the first few customers, while the other workers are busy:
    # the run must raise that error (not dlt's "generator already executing") and the process must exit.
    script = tmp_path / "failing_run.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import json, sys, threading
            import dlt, httpx
            from dlt_sources.outlit import outlit_source
            from outlit_core.client import OutlitClient, RetryPolicy

            class FailTimelines(httpx.BaseTransport):
                def __init__(self):
                    self.inner, self.calls = httpx.HTTPTransport(), 0
                def handle_request(self, request):
                    if request.url.path == "/api/tools/call":
                        if json.loads(request.content)["tool"] == "outlit_get_timeline":
                            self.calls += 1
                            if self.calls > 3:
                                return httpx.Response(500, json={{"error": "timeline store down"}})
                    return self.inner.handle_request(request)

            client = OutlitClient({sandbox.api_key!r}, base_url={sandbox.base_url!r},
                                  retry=RetryPolicy(max_retries=1, sleep=lambda _: None),
                                  transport=FailTimelines())
            warehouse = dlt.destinations.duckdb({str(tmp_path / "f.duckdb")!r})
            pipeline = dlt.pipeline("failing", destination=warehouse,
                                    pipelines_dir={str(tmp_path / "pipelines")!r})
            try:
                pipeline.run(outlit_source(client=client, max_workers=4))
            except Exception as exc:
                print("raised:", str(exc).splitlines()[-1])
            alive = [t.name for t in threading.enumerate() if t.name.startswith("outlit")]
            print("outlit threads still running:", alive)
            """
        )
    )
    result = _bounded([sys.executable, str(script)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "raised:" in result.stdout and "timeline store down" in result.stdout, result.stdout
    assert "generator already executing" not in result.stdout + result.stderr
