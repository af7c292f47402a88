"""Typed results of the client calls that have a fixed shape."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiKeyInfo", "QueryResult"]


@dataclass(frozen=True)
class ApiKeyInfo:
    """What ``validate_api_key()`` learned about the key (never the key itself)."""

    organization_id: str
    created_by_id: str | None = None
    #: scopes granted to the key, when Outlit reports them (later API revisions do)
    grants: list[str] = field(default_factory=list)
    organization_name: str | None = None
    key_name: str | None = None
    key_type: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_response(cls, data: dict[str, Any]) -> ApiKeyInfo:
        key = data.get("apiKey") if isinstance(data.get("apiKey"), dict) else {}
        auth = data.get("authorization") if isinstance(data.get("authorization"), dict) else {}
        org = data.get("organization") if isinstance(data.get("organization"), dict) else {}
        grants = auth.get("grants") or key.get("grants") or data.get("grants") or []
        # Keep the whole answer for callers, minus anything that looks like key material.
        raw = {k: v for k, v in data.items() if k not in ("apiKey",)}
        return cls(
            organization_id=str(data["organizationId"]),
            created_by_id=data.get("createdById"),
            grants=[str(g) for g in grants],
            organization_name=org.get("name"),
            key_name=key.get("name"),
            key_type=key.get("keyType"),
            raw=raw,
        )


@dataclass(frozen=True)
class QueryResult:
    """Rows of an ``outlit_query`` call plus Outlit's metadata about them."""

    rows: list[dict[str, Any]]
    truncated: bool
    rows_returned: int
    execution_time_ms: float | None

    @property
    def columns(self) -> list[str]:
        seen: dict[str, None] = {}
        for row in self.rows:
            for key in row:
                seen.setdefault(key, None)
        return list(seen)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    @classmethod
    def from_response(cls, data: dict[str, Any]) -> QueryResult:
        rows = data.get("data")
        if rows is None:
            rows = data.get("rows", [])
        meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else data
        return cls(
            rows=list(rows),
            truncated=bool(meta.get("truncated", False)),
            rows_returned=int(meta.get("rowsReturned", len(rows))),
            execution_time_ms=meta.get("executionTimeMs"),
        )
