"""Input limits applied while a request arrives: header bytes, body bytes and JSON nesting.

Outlit documents a 1 MB ingest body (api-overview.md "Request body size"); the sandbox caps every body
while it streams in (an oversized one is refused before it is read whole, whatever Content-Length says),
caps the request head, and refuses JSON nested deeper than any real payload, each with a 400: the status
the spec documents for an invalid request body (it lists no 413 or 431).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_BODY_BYTES = 1_000_000  # ingest (documented) and every other JSON body (the largest tool input fits)
MAX_HEAD_BYTES = 64 * 1024  # request line plus headers
MAX_JSON_DEPTH = 64


class BodyTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"Request body is over {MAX_BODY_BYTES:,} bytes (1 MB): send less")
        self.size = size


class BadJson(ValueError):
    pass


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, read chunk by chunk and abandoned as soon as it passes ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(int(declared))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(size)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """JSON with its nesting bounded; BadJson names the problem."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise BadJson(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError):
        raise BadJson("Invalid JSON body") from None
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise BadJson(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return value


class CappedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a request head over MAX_HEAD_BYTES as it streams in."""

    _in_head = True
    _head_bytes = 0

    def data_received(self, data: bytes) -> None:
        if self._in_head:  # count up to the blank line that ends the head (a body may share the chunk)
            end = data.find(b"\r\n\r\n")
            self._head_bytes += len(data) if end < 0 else end
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse_head()
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_begin(self) -> None:
        self._in_head, self._head_bytes = True, 0
        super().on_message_begin()

    def _refuse_head(self) -> None:
        body = json.dumps({"error": f"Request headers are over {MAX_HEAD_BYTES // 1024} KiB"}).encode()
        head = (
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head + body)
        self.transport.close()
