"""Fixtures for the client tests: a retry policy whose sleeps are recorded instead of slept."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import respx
from outlit_client_testlib import BASE, KEY, NOW, PUBLIC, Sleeps

from outlit_core.client import AsyncOutlitClient, OutlitClient, RetryPolicy

__all__ = ["BASE", "KEY", "NOW", "PUBLIC"]


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def policy(sleeps: Sleeps) -> RetryPolicy:
    # random() == 1.0 makes full jitter hit its ceiling, so backoff values are exact.
    return RetryPolicy(sleep=sleeps, async_sleep=sleeps.async_sleep, random=lambda: 1.0, clock=lambda: NOW)


@pytest.fixture
def make_client(policy: RetryPolicy) -> Iterator[Callable[..., OutlitClient]]:
    made: list[OutlitClient] = []

    def make(**kwargs: Any) -> OutlitClient:
        kwargs.setdefault("retry", policy)
        client = OutlitClient(
            kwargs.pop("api_key", KEY), public_key=kwargs.pop("public_key", PUBLIC), **kwargs
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def make_async_client(policy: RetryPolicy) -> Callable[..., AsyncOutlitClient]:
    def make(**kwargs: Any) -> AsyncOutlitClient:
        kwargs.setdefault("retry", policy)
        return AsyncOutlitClient(
            kwargs.pop("api_key", KEY), public_key=kwargs.pop("public_key", PUBLIC), **kwargs
        )

    return make


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


class _AsyncAsSync:
    """Runs each method of an :class:`AsyncOutlitClient` to completion, so a test written against the
    blocking client checks the async one too (a fresh client and event loop per call)."""

    def __init__(self, build: Callable[[], AsyncOutlitClient]) -> None:
        self._build = build
        self._probe = build()  # for plain attributes (config, limiters)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._probe, name)
        if not callable(value) or not asyncio.iscoroutinefunction(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            async def run() -> Any:
                async with self._build() as client:
                    return await getattr(client, name)(*args, **kwargs)

            return asyncio.run(run())

        return call


@pytest.fixture(params=["sync", "async"])
def make_any_client(request: pytest.FixtureRequest, make_client, make_async_client) -> Callable[..., Any]:
    """``make_client`` for the blocking client and, in a second run, for the async one."""
    if request.param == "sync":
        return make_client
    return lambda **kwargs: _AsyncAsSync(lambda: make_async_client(**kwargs))
