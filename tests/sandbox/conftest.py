"""Helpers for the sandbox tests: a small HTTP caller bound to a running sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest


class Api:
    """Raw HTTP access to a sandbox (the real client is tested elsewhere; these tests pin the wire format)."""

    def __init__(self, sb: Any) -> None:
        self.sb = sb
        self.http = httpx.Client(
            base_url=sb.base_url,
            headers={"Authorization": f"Bearer {sb.api_key}"},
            timeout=10,
            trust_env=False,
        )

    def tool(self, name: str, args: dict[str, Any] | None = None, *, status: int = 200) -> dict[str, Any]:
        response = self.http.post("/api/tools/call", json={"tool": name, "input": args or {}})
        assert response.status_code == status, response.text
        return response.json()

    def all_pages(self, name: str, args: dict[str, Any], key: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        for _ in range(10_000):
            page = self.tool(name, {**args, **({"cursor": cursor} if cursor else {})})
            items.extend(page[key])
            if not page["pagination"]["hasMore"]:
                assert page["pagination"]["nextCursor"] is None
                return items
            cursor = page["pagination"]["nextCursor"]
            assert isinstance(cursor, str) and cursor
        raise AssertionError("pagination never ended")

    def ingest(self, body: Any, *, key: str | None = None, **kwargs: Any) -> httpx.Response:
        url = f"/api/i/v1/{key or self.sb.public_key}/events"
        return httpx.post(self.sb.base_url + url, json=body, trust_env=False, **kwargs)

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def api(sandbox: Any) -> Iterator[Api]:
    client = Api(sandbox)
    yield client
    client.close()


@pytest.fixture
def fresh_api(fresh_sandbox: Any) -> Iterator[Api]:
    client = Api(fresh_sandbox)
    yield client
    client.close()
