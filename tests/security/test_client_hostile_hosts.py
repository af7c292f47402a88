"""Hosts that never answer or refuse the connection (issue 11 item 9, client half).

The error names the URL contacted and the cause on one line, and `outlit-etl check` against a host that
accepts and never answers ends within the call's deadline instead of retrying silently for minutes.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from outlit_core.client import OutlitClient, OutlitTransportError, RetryPolicy

KEY = "ok_test_hostile_hosts_0123456789"


@pytest.fixture
def silent_host() -> Iterator[int]:
    """A port that accepts connections, reads the request and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    server.close()
    for conn in held:
        conn.close()
    thread.join(timeout=5)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_silent_host_fails_with_one_line_naming_it(silent_host: int) -> None:
    policy = RetryPolicy(sleep=lambda s: None, random=lambda: 0.0, max_retries=2)
    url = f"http://127.0.0.1:{silent_host}"
    client = OutlitClient(KEY, base_url=url, timeout=0.3, retry=policy)
    with client, pytest.raises(OutlitTransportError) as info:
        client.validate_api_key()
    text = str(info.value)
    assert "\n" not in text
    assert f"{url}/api/validate-api-key" in text
    assert "no complete answer within 0.3 s" in text and "3 attempts" in text


def test_a_closed_port_fails_with_one_line_naming_it(closed_port: int) -> None:
    policy = RetryPolicy(sleep=lambda s: None, random=lambda: 0.0, max_retries=1)
    url = f"http://127.0.0.1:{closed_port}"
    client = OutlitClient(KEY, base_url=url, retry=policy)
    with client, pytest.raises(OutlitTransportError) as info:
        client.call_tool("outlit_schema")
    text = str(info.value)
    assert "\n" not in text and f"127.0.0.1:{closed_port}" in text
    assert "could not connect" in text and "refused" in text.lower()
    assert not info.value.ambiguous  # nothing left the machine


def test_cli_check_against_a_silent_host_ends_with_one_line(silent_host: int) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "OUTLIT_API_KEY": KEY,
        "OUTLIT_BASE_URL": f"http://127.0.0.1:{silent_host}",
        "OUTLIT_TIMEOUT": "0.3",
        "OUTLIT_DEADLINE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "outlit_cli.main", "-v", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"127.0.0.1:{silent_host}" in errors[0] and "deadline" in errors[0]
    # with -v each retry was logged at INFO with its reason and wait
    assert "retry 1/" in done.stderr and " in " in done.stderr
    assert KEY not in done.stderr + done.stdout
