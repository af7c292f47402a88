"""Timeline events of many customers at once, from the analytics ``activity`` view (``bulk_timeline``).

An incremental run needs only the events each changed customer got since its cursor. The timeline tool
takes one customer per request, so a run after activity everywhere costs one request per customer. The
``activity`` view holds the same events for the whole workspace: one ``outlit_query`` per keyset page of
up to 10,000 rows asks for every changed customer at once, each from its own cursor minus the look-back
(rounded down to the UTC day, so that customers share one ``IN`` list per day).
The view's rows are mapped to the timeline tool's records, so the table holds the same rows either way.
Whole histories (a first run, a customer seen for the first time) still come from the timeline tool: in
parallel per customer they are faster than sequential keyset pages (see docs/dlt.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from outlit_core.client import OutlitClient
from outlit_core.client.exceptions import OutlitValidationError

from .cursors import Fetch
from .helpers import Rows, SharedClient
from .query import Pager, sql_literal
from .settings import QUERY_ROW_CAP
from .timestamps import format_timestamp, parse_timestamp

# The view's columns that make up a timeline record; a workspace whose view lacks one gets a clear error.
VIEW_COLUMNS = (
    "event_id",
    "customer_id",
    "event_type",
    "event_name",
    "event_channel",
    "title",
    "occurred_at",
    "contact_email",
    "source_type",
    "source_id",
    "properties",
)
# `outlit_query` takes at most 10,000 characters; the pager wraps the body in about 300 more.
SQL_BUDGET = 9_000
# what one day's `(occurred_at >= '...' AND customer_id IN ()) OR ` costs on top of its ids
_CONDITION = 80


@dataclass(frozen=True)
class ActivityChunk:
    """The customers one keyset query asks for: each with its own window (``Fetch.start``)."""

    members: tuple[Fetch, ...]

    @property
    def customer_id(self) -> str:  # what failure messages name
        return f"{len(self.members)} customers via the activity view"


def _day(plan: Fetch) -> str | None:
    """The plan's lower bound rounded down to its UTC day, so that customers share a condition.

    Customers' cursors are their latest events, spread over hours and days; per day, a few hundred fit one
    query. At most a day more is read for a customer than its own window holds (about the default
    look-back again); the merge on ``id`` absorbs it.
    """
    if plan.start is None:
        return None
    start = parse_timestamp(plan.start, field="cursor")
    return format_timestamp(start.replace(hour=0, minute=0, second=0, microsecond=0))


def chunk_plans(plans: Sequence[Fetch], budget: int = SQL_BUDGET) -> list[ActivityChunk]:
    """The plans grouped into as few queries as fit ``budget`` characters of conditions each."""
    chunks: list[ActivityChunk] = []
    members: list[Fetch] = []
    days: set[str | None] = set()
    size = 0
    for plan in sorted(plans, key=lambda p: (_day(p) or "", p.customer_id)):
        day = _day(plan)
        # an id in an IN list, plus the day's own condition the first time the chunk needs it
        length = len(sql_literal(plan.customer_id)) + 2 + (0 if day in days else _CONDITION)
        if members and size + length > budget:
            chunks.append(ActivityChunk(tuple(members)))
            members, days, size = [], set(), 0
            length = len(sql_literal(plan.customer_id)) + 2 + _CONDITION
        members.append(plan)
        days.add(day)
        size += length
    if members:
        chunks.append(ActivityChunk(tuple(members)))
    return chunks


def chunk_sql(chunk: ActivityChunk) -> str:
    """``(occurred_at >= <day> AND customer_id IN (...)) OR ...``: one condition per distinct day."""
    by_day: dict[str | None, list[str]] = {}
    for plan in chunk.members:
        by_day.setdefault(_day(plan), []).append(sql_literal(plan.customer_id))
    terms = []
    for day, ids in by_day.items():
        condition = f"customer_id IN ({', '.join(ids)})"
        if day is not None:
            condition = f"occurred_at >= {sql_literal(day)} AND {condition}"
        terms.append(f"({condition})")
    return f"SELECT {', '.join(VIEW_COLUMNS)} FROM activity WHERE {' OR '.join(terms)}"


def timeline_record(row: dict[str, Any]) -> dict[str, Any]:
    """A view row as the timeline tool returns the event (shaped: ``customer_id`` added).

    The view keeps the event's ``summary`` inside ``properties`` beside its metadata; the tool has both
    as separate fields.
    """
    raw = row.get("properties")
    properties = json.loads(raw) if isinstance(raw, str) and raw else dict(raw or {})
    summary = properties.pop("summary", None) if isinstance(properties, dict) else None
    return {
        "id": row["event_id"],
        "eventType": row["event_type"],
        "eventName": row["event_name"],
        "channel": row["event_channel"],
        "title": row["title"],
        "summary": summary,
        "occurredAt": row["occurred_at"],
        "contact": row["contact_email"],
        "sourceType": row["source_type"],
        "sourceId": row["source_id"],
        "metadata": properties,
        "customer_id": row["customer_id"],
    }


def activity_pages(shared: SharedClient, outlit: OutlitClient, chunk: ActivityChunk) -> Iterator[Rows]:
    """Every timeline record of the chunk's customers in their windows, one list per keyset page."""
    pages = Pager(chunk_sql(chunk), ["event_id"], None, QUERY_ROW_CAP).pages(outlit, None, None)
    while True:
        try:
            rows = shared.call(lambda: next(pages))
        except StopIteration:
            return
        except OutlitValidationError as error:
            error.message = (
                f"{error.message} (bulk_timeline reads the columns {', '.join(VIEW_COLUMNS)} of the "
                "activity view; set bulk_timeline=False to read the timeline tool instead)"
            )
            error.args = (error.message,)
            raise
        yield [timeline_record(row) for row in rows]
