"""The two clients are one API written once (``ClientBase``): same methods, same parameters, same types."""

from __future__ import annotations

import asyncio
import inspect

import pytest
import respx

from outlit_core.client import OutlitClient

# How many batches may be in flight: on both clients' deliver, only on the async client's send_events.
CONCURRENCY = {"concurrency"}

PUBLIC_METHODS = sorted(
    name
    for name in dir(OutlitClient)
    if not name.startswith("_")
    and name not in {"close", "from_env"}
    and callable(getattr(OutlitClient, name))
)


@pytest.mark.parametrize("name", PUBLIC_METHODS)
def test_both_clients_show_the_same_real_parameters(name: str, make_client, make_async_client) -> None:
    sync = inspect.signature(getattr(make_client(), name))
    aio = inspect.signature(getattr(make_async_client(), name))
    assert "args" not in sync.parameters, f"{name} hides its parameters behind *args"
    assert [p for p in aio.parameters if p not in CONCURRENCY] == [
        p for p in sync.parameters if p not in CONCURRENCY
    ]


@pytest.mark.parametrize("name", PUBLIC_METHODS)
def test_async_methods_are_awaitable_or_async_iterators(name: str, make_async_client) -> None:
    method = getattr(make_async_client(), name)
    if name.startswith("iter_") and name != "iter_event_batches":
        assert inspect.isasyncgen(method("outlit_list_customers"))
    elif name != "iter_event_batches":
        assert inspect.iscoroutinefunction(method), name


def test_the_class_attribute_is_callable_with_the_client_first(api: respx.MockRouter, make_client) -> None:
    api.post("/api/tools/call").respond(200, json={"views": []})
    client = make_client()
    assert OutlitClient.schema(client) == client.schema()
    assert OutlitClient.call_tool.__doc__ and "contract" in OutlitClient.call_tool.__doc__


@pytest.mark.parametrize("method", ["send_events", "send_prepared", "send_batch", "deliver"])
def test_a_misspelt_ingest_keyword_is_refused_before_sending(
    method: str, api: respx.MockRouter, make_any_client
) -> None:
    sent = api.post("/api/i/v1/pk_test_123/events").respond(200, json={"success": True, "processed": 0})
    with pytest.raises(TypeError, match=r"sorce"):
        getattr(make_any_client(), method)([], sorce="server")
    assert not sent.called


def test_async_deliver_still_checks_concurrency(make_async_client) -> None:
    from outlit_core.client import OutlitArgumentError

    async def run() -> None:
        async with make_async_client() as client:
            await client.deliver([], concurrency=0)

    with pytest.raises(OutlitArgumentError, match="concurrency"):
        asyncio.run(run())
