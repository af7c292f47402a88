"""Typed results of the client calls that have a fixed shape."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiKeyInfo", "QueryResult"]


def _object(value: Any) -> dict[str, Any]:
    """A JSON object from an answer, or an empty one when the field is missing or of another type."""
    return value if isinstance(value, dict) else {}


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
        key, auth, org = (_object(data.get(name)) for name in ("apiKey", "authorization", "organization"))
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
        metadata = data.get("metadata")
        meta: dict[str, Any] = metadata if isinstance(metadata, dict) else data
        return cls(
            rows=list(rows),
            truncated=bool(meta.get("truncated", False)),
            rows_returned=int(meta.get("rowsReturned", len(rows))),
            execution_time_ms=meta.get("executionTimeMs"),
        )
