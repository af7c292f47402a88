"""iter_pages / iter_tool follow pagination.nextCursor to the end, with the largest page size allowed."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import respx

from outlit_core.client import OutlitAPIError


def paged(items_key: str, pages: list[list[int]]):
    """A tool endpoint serving ``pages`` by cursor, recording every input it got."""
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        payload = json.loads(request.content)["input"]
        seen.append(payload)
        index = int(payload.get("cursor", "c0")[1:])
        more = index + 1 < len(pages)
        return httpx.Response(
            200,
            json={
                items_key: [{"id": i} for i in pages[index]],
                "pagination": {"hasMore": more, "nextCursor": f"c{index + 1}" if more else None},
            },
        )

    return handler, seen


def test_iter_tool_walks_every_page_with_max_page_size(api: respx.MockRouter, make_client) -> None:
    handler, seen = paged("items", [[1, 2], [3, 4], [5]])
    api.post("/api/tools/call").mock(side_effect=handler)
    items = list(make_client().iter_tool("outlit_list_customers", {"billingStatus": "PAYING"}))
    assert [i["id"] for i in items] == [1, 2, 3, 4, 5]
    assert [p.get("cursor") for p in seen] == [None, "c1", "c2"]
    assert all(p["limit"] == 1000 and p["billingStatus"] == "PAYING" for p in seen)


@pytest.mark.parametrize(
    ("tool", "key", "page_size", "extra"),
    [
        ("outlit_get_timeline", "events", 1000, {"customer": "acme.com"}),
        ("outlit_list_facts", "facts", 100, {"customer": "acme.com"}),
        ("outlit_list_sources", "items", 100, {}),
        ("outlit_list_users", "items", 1000, {}),
        ("outlit_list_workspace_users", "items", 1000, {}),
    ],
)
def test_each_list_tool_uses_its_items_key_and_page_size(
    api, make_client, tool, key, page_size, extra
) -> None:
    handler, seen = paged(key, [[1], [2]])
    api.post("/api/tools/call").mock(side_effect=handler)
    assert [i["id"] for i in make_client().iter_tool(tool, extra)] == [1, 2]
    assert seen[0]["limit"] == page_size


def test_callers_limit_is_the_page_size(api: respx.MockRouter, make_client) -> None:
    handler, seen = paged("items", [[1], [2]])
    api.post("/api/tools/call").mock(side_effect=handler)
    list(make_client().iter_tool("outlit_list_customers", {"limit": 7}))
    assert [p["limit"] for p in seen] == [7, 7]


def test_max_items_stops_early_without_fetching_more(api: respx.MockRouter, make_client) -> None:
    handler, seen = paged("items", [[1, 2, 3], [4, 5, 6], [7]])
    api.post("/api/tools/call").mock(side_effect=handler)
    assert [i["id"] for i in make_client().iter_tool("outlit_list_customers", max_items=4)] == [1, 2, 3, 4]
    assert len(seen) == 2
    assert list(make_client().iter_tool("outlit_list_customers", max_items=0)) == []


def test_iter_pages_yields_raw_pages(api: respx.MockRouter, make_client) -> None:
    handler, _ = paged("items", [[1], [2], [3]])
    api.post("/api/tools/call").mock(side_effect=handler)
    pages = list(make_client().iter_pages("outlit_list_customers"))
    assert len(pages) == 3 and pages[-1]["pagination"]["hasMore"] is False


def test_stops_when_has_more_is_false_even_with_a_cursor(api: respx.MockRouter, make_client) -> None:
    route = api.post("/api/tools/call").respond(
        200, json={"items": [{"id": 1}], "pagination": {"hasMore": False, "nextCursor": "zombie"}}
    )
    assert len(list(make_client().iter_tool("outlit_list_customers"))) == 1
    assert route.call_count == 1


def test_a_repeated_cursor_is_an_error_not_an_endless_loop(api: respx.MockRouter, make_client) -> None:
    api.post("/api/tools/call").respond(
        200, json={"items": [{"id": 1}], "pagination": {"hasMore": True, "nextCursor": "same"}}
    )
    with pytest.raises(OutlitAPIError, match="same pagination cursor"):
        list(make_client().iter_tool("outlit_list_customers"))


def test_non_paginated_tools_yield_one_page(api: respx.MockRouter, make_client) -> None:
    route = api.post("/api/tools/call").respond(200, json={"results": [{"kind": "fact"}, {"kind": "source"}]})
    results = list(make_client().iter_tool("outlit_search_customer_context", {"query": "renewal risk"}))
    assert len(results) == 2 and route.call_count == 1
    assert json.loads(route.calls.last.request.content)["input"]["topK"] == 50
    api.post("/api/tools/call").respond(200, json={"customer": {"id": "c1"}})
    assert list(make_client().iter_tool("outlit_get_customer", {"customer": "acme.com"})) == [
        {"customer": {"id": "c1"}}
    ]


def test_missing_items_key_is_reported(api: respx.MockRouter, make_client) -> None:
    api.post("/api/tools/call").respond(200, json={"rows": []})
    with pytest.raises(OutlitAPIError, match="'items'"):
        list(make_client().iter_tool("outlit_list_customers"))


def test_retry_in_the_middle_of_pagination_resumes_the_same_cursor(
    api: respx.MockRouter, make_client
) -> None:
    handler, seen = paged("items", [[1], [2], [3]])
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 2:
            return httpx.Response(503)
        return handler(request)

    api.post("/api/tools/call").mock(side_effect=flaky)
    assert [i["id"] for i in make_client().iter_tool("outlit_list_customers")] == [1, 2, 3]
    assert [p.get("cursor") for p in seen] == [None, "c1", "c2"]


def test_async_iter_tool(api: respx.MockRouter, make_async_client) -> None:
    handler, seen = paged("facts", [[1, 2], [3]])
    api.post("/api/tools/call").mock(side_effect=handler)

    async def run() -> list[int]:
        async with make_async_client() as client:
            first = [i["id"] async for i in client.iter_tool("outlit_list_facts", {"customer": "a"})]
            limited = [
                i["id"] async for i in client.iter_tool("outlit_list_facts", {"customer": "a"}, max_items=1)
            ]
            return first + limited

    assert asyncio.run(run()) == [1, 2, 3, 1]
    assert seen[0]["limit"] == 100
