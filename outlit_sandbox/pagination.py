"""Opaque cursors that survive inserts between pages.

A cursor names the last item served (and its offset as a fallback). The next page starts right after that
item wherever it now sits, so records appended while a client pages (``advance``, ingest) neither repeat
nor get skipped among the already-ordered ones.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any

from .errors import field_error


def encode(last_id: str, offset: int) -> str:
    raw = json.dumps({"a": last_id, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[str, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        last_id, offset = data["a"], data["o"]
        if not isinstance(last_id, str) or not isinstance(offset, int) or offset < 0:
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise field_error(
            ["cursor"], "Invalid cursor: pass nextCursor from the previous page unchanged"
        ) from None
    return last_id, offset


def page(
    items: Sequence[Any],
    cursor: str | None,
    limit: int,
    id_of: Callable[[Any], str],
) -> tuple[list[Any], bool, str | None]:
    """Slice one page; returns (items, hasMore, nextCursor)."""
    start = 0
    if cursor:
        last_id, offset = decode(cursor)
        start = offset
        for i, item in enumerate(items):
            if id_of(item) == last_id:
                start = i + 1
                break
    chunk = list(items[start : start + limit])
    has_more = start + len(chunk) < len(items)
    next_cursor = encode(id_of(chunk[-1]), start + len(chunk)) if has_more and chunk else None
    return chunk, has_more and next_cursor is not None, next_cursor
