"""The only I/O of the client: sending one request and reading its answer whole, within a time and a size.

* Time: each attempt must finish by an instant (``Send.until``). The client's own transport caps every
  socket read, write and connect at the time left (a contextvar read by a wrapping network backend), so a
  server trickling one byte at a time cannot stretch an attempt; with a transport given by the caller the
  cap is checked between body chunks.
* Size: the body is inflated here, in bounded steps (``gzip``/``deflate`` only, which is all the client
  asks for), and refused once it passes ``max_response_bytes``: a small compressed body cannot balloon.
"""

from __future__ import annotations

import time
import zlib
from contextvars import ContextVar
from typing import Any, TypeVar

import httpcore
import httpx

from .exceptions import OutlitResponseError
from .responses import Reply

__all__ = ["async_transport", "read_async", "read_sync", "sync_transport"]

_UNTIL: ContextVar[float | None] = ContextVar("outlit_attempt_until", default=None)
TransportT = TypeVar("TransportT", httpx.HTTPTransport, httpx.AsyncHTTPTransport)


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    until = _UNTIL.get()
    if until is None:
        return timeout
    left = until - time.monotonic()
    if left <= 0:
        raise error("the attempt ran out of time")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> Any:
        return _Stream(
            self._inner.start_tls(ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout))
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    # Only the timeout is ours to change; the rest (local_address, socket_options) passes through as given.
    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, *rest: Any, **options: Any
    ) -> httpcore.NetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, timeout, *rest, **options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        return _Stream(
            self._inner.connect_unix_socket(path, _left(timeout, httpcore.ConnectTimeout), socket_options)
        )

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> Any:
        inner = await self._inner.start_tls(
            ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)
        )
        return _AsyncStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _AsyncBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, *rest: Any, **options: Any
    ) -> httpcore.AsyncNetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        return _AsyncStream(await self._inner.connect_tcp(host, port, timeout, *rest, **options))

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        inner = await self._inner.connect_unix_socket(
            path, _left(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _AsyncStream(inner)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _with_backend(transport: TransportT, pool: type[Any], backend: Any) -> TransportT:
    # httpx has no public way to pass a network backend; its pool attribute has been `_pool` since 0.18.
    if hasattr(transport, "_pool"):
        transport._pool = pool(ssl_context=httpx.create_ssl_context(), network_backend=backend)
    return transport


def sync_transport() -> httpx.HTTPTransport:
    """httpx's default transport whose connections obey the attempt deadline."""
    return _with_backend(httpx.HTTPTransport(), httpcore.ConnectionPool, _Backend())


def async_transport() -> httpx.AsyncHTTPTransport:
    """:func:`sync_transport` for the async client."""
    return _with_backend(httpx.AsyncHTTPTransport(), httpcore.AsyncConnectionPool, _AsyncBackend())


class _Body:
    """Inflates and collects a body chunk by chunk, never holding more than ``cap`` decoded bytes."""

    def __init__(self, response: httpx.Response, cap: int, until: float | None) -> None:
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if response.is_stream_consumed:  # a transport handed over a response already read (and decoded)
            encoding = "identity"
        if encoding not in ("identity", "", "gzip", "deflate", "x-gzip"):
            raise OutlitResponseError(
                f"unexpected answer from Outlit: content-encoding {encoding!r} was not asked for",
                code="unexpected_response",
            )
        wbits = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
        self._wbits = wbits.get(encoding, zlib.MAX_WBITS)
        self._inflate = zlib.decompressobj(self._wbits) if encoding in wbits else None
        self._parts: list[bytes] = []
        self._size = 0
        self._cap = cap
        self._until = until
        self._request = response.request

    def feed(self, chunk: bytes) -> None:
        if self._until is not None and time.monotonic() > self._until:
            raise httpx.ReadTimeout("the attempt ran out of time", request=self._request)
        if self._inflate is None:
            self._keep(chunk)
            return
        data = chunk
        while data:
            try:
                out = self._inflate.decompress(data, self._cap - self._size + 1)
            except zlib.error as exc:
                raise OutlitResponseError(
                    f"unexpected answer from Outlit: bad compressed body ({exc})", code="unexpected_response"
                ) from None
            self._keep(out)
            data = self._inflate.unconsumed_tail
            if self._inflate.eof and self._inflate.unused_data:  # another gzip member follows
                data = self._inflate.unused_data
                self._inflate = zlib.decompressobj(self._wbits)
            elif not out:
                break

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._cap:
            raise OutlitResponseError(
                f"the answer is larger than max_response_bytes ({self._cap:,} bytes decoded); refused",
                code="response_too_large",
            )
        if data:
            self._parts.append(data)

    def reply(self, response: httpx.Response) -> Reply:
        return Reply(response.status_code, response.headers, b"".join(self._parts), response.reason_phrase)


def read_sync(http: httpx.Client, request: httpx.Request, until: float | None, cap: int) -> Reply | Exception:
    """Send ``request`` and read its answer, or return the exception that stopped it."""
    token = _UNTIL.set(until)
    try:
        response = http.send(request, stream=True)
        try:
            body = _Body(response, cap, until)
            for chunk in [response.content] if response.is_stream_consumed else response.iter_raw():
                body.feed(chunk)
            return body.reply(response)
        finally:
            response.close()
    except (httpx.TransportError, OutlitResponseError) as exc:
        return exc
    finally:
        _UNTIL.reset(token)


async def read_async(
    http: httpx.AsyncClient, request: httpx.Request, until: float | None, cap: int
) -> Reply | Exception:
    token = _UNTIL.set(until)
    try:
        response = await http.send(request, stream=True)
        try:
            body = _Body(response, cap, until)
            if response.is_stream_consumed:
                body.feed(response.content)
            else:
                async for chunk in response.aiter_raw():
                    body.feed(chunk)
            return body.reply(response)
        finally:
            await response.aclose()
    except (httpx.TransportError, OutlitResponseError) as exc:
        return exc
    finally:
        _UNTIL.reset(token)
