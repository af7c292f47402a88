"""Hostile requests against the sandbox's HTTP boundary (issue 11 item 12): bodies capped while they
stream in, a capped request head, deep JSON refused with a 400, never a 500 or an unbounded read."""

from __future__ import annotations

import json
import select
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

MB = 1_000_000


def _connect(sb: Any) -> socket.socket:
    parts = urlsplit(sb.base_url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    return sock


def _status(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


def _read_reply(sock: socket.socket) -> bytes:
    """One whole response: its head, then as many body bytes as Content-Length says."""
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data and (more := sock.recv(65536)):
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    while len(body) < length and (more := sock.recv(65536)):
        body += more
    return head + b"\r\n\r\n" + body


def _stream_chunked(sb: Any, path: str, headers: str, total: int) -> tuple[bytes, int]:
    """Send up to ``total`` bytes as a chunked body; stop when the server answers. (reply, bytes sent)"""
    sock = _connect(sb)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{headers}"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    chunk = b" " * 65536
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    try:
        sock.sendall(b"10\r\n" + b'{"events": [1, ' + b" \r\n")
        while sent < total:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(frame)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                break
            sent += len(chunk)
        reply = _read_reply(sock)
    finally:
        sock.close()
    return reply, sent


@pytest.mark.parametrize("route", ["ingest", "tools"])
def test_an_endless_chunked_body_is_refused_after_1_mb(fresh_sandbox: Any, route: str) -> None:
    """A 400 MB chunked body is answered 400 after about 1 MB was read, not read whole first."""
    if route == "ingest":
        path, headers = f"/api/i/v1/{fresh_sandbox.public_key}/events", ""
    else:
        path, headers = "/api/tools/call", f"Authorization: Bearer {fresh_sandbox.api_key}\r\n"
    reply, sent = _stream_chunked(fresh_sandbox, path, headers, 400 * MB)
    assert _status(reply) == 400, reply[:300]
    assert b"1 MB" in reply
    assert sent < 40 * MB  # the server stopped reading: what was sent is what socket buffers hold


def test_a_declared_oversized_body_is_refused_before_it_is_sent(fresh_sandbox: Any) -> None:
    sock = _connect(fresh_sandbox)
    try:
        sock.sendall(
            f"POST /api/i/v1/{fresh_sandbox.public_key}/events HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/json\r\nContent-Length: {400 * MB}\r\n\r\n".encode()
        )
        reply = _read_reply(sock)
    finally:
        sock.close()
    assert _status(reply) == 400 and b"1 MB" in reply


def test_an_oversized_request_head_is_refused(fresh_sandbox: Any) -> None:
    """A 1 MiB header gets a JSON 400 once the head passes 64 KiB; the server keeps serving."""
    sock = _connect(fresh_sandbox)
    sock.settimeout(10)
    try:
        sock.sendall(b"GET /_sandbox/health HTTP/1.1\r\nHost: x\r\nX-Big: ")
        sent = 0
        try:
            while sent < 1024 * 1024:
                sock.sendall(b"a" * 16384)
                sent += 16384
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = _read_reply(sock)
    finally:
        sock.close()
    assert _status(reply) == 400
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["error"].startswith("Request headers are over")
    assert httpx.get(fresh_sandbox.base_url + "/_sandbox/health", trust_env=False).status_code == 200


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_deeply_nested_json_is_a_400_not_a_500(fresh_sandbox: Any) -> None:
    """2,000-deep JSON on every kind of route: a 400 in the route's own error shape."""
    sb = fresh_sandbox
    auth = {"Authorization": f"Bearer {sb.api_key}", "Content-Type": "application/json"}
    deep_tool = (
        '{"tool": "outlit_send_notification", "input": {"title": "t", "payload": ' + _deep(2000) + "}}"
    )
    with httpx.Client(base_url=sb.base_url, trust_env=False, timeout=10) as h:
        ingest = h.post(f"/api/i/v1/{sb.public_key}/events", content='{"events": ' + _deep(2000) + "}")
        assert ingest.status_code == 400 and ingest.json()["success"] is False
        tool = h.post("/api/tools/call", content=deep_tool, headers=auth)
        assert tool.status_code == 400 and "nested deeper" in tool.json()["error"]
        agent = h.post("/api/agents", content=_deep(2000), headers=auth)
        assert agent.status_code == 400 and agent.json()["ok"] is False
        # nesting a real payload needs stays accepted
        fine = '{"tool": "outlit_send_notification", "input": {"title": "t", "payload": ' + _deep(30) + "}}"
        assert h.post("/api/tools/call", content=fine, headers=auth).status_code == 200


def test_a_non_string_event_type_is_a_400(fresh_sandbox: Any) -> None:
    """Found by schemathesis (fuzzing phase): an object as an event's `type` crashed the validator."""
    body = {"source": "server", "events": [{"type": {}, "url": "server://x", "path": "/"}]}
    response = httpx.post(fresh_sandbox.ingest_url, json=body, trust_env=False)
    assert response.status_code == 400 and response.json()["errors"][0]["path"] == ["events", 0, "type"]
