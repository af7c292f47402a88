"""The source's settings checked and bound into one :class:`~.resources.Run` (client, window, options).

Every bad setting fails here, before any request, with a message naming the setting and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from outlit_core.client import OutlitClient
from outlit_core.client.config import ClientConfig
from outlit_core.parsing import parse_name_list

from .credentials import resolve_outlit_settings
from .cursors import Window
from .helpers import SharedClient
from .resources import Run
from .timestamps import format_timestamp, parse_timestamp, to_timedelta


def make_run(
    *,
    api_key: str | None,
    base_url: str | None,
    customers: str | Sequence[str] | None,
    start_date: str | date | datetime | None,
    end_date: str | date | datetime | None,
    lookback_hours: float,
    facts_full_refresh_hours: float,
    max_workers: int,
    requests_per_second: float | None,
    skip_unchanged_customers: bool,
    timeline_recheck_hours: float,
    bulk_timeline: bool,
    facts_on_activity: bool,
    timeout: float,
    max_retries: int | None,
    allow_insecure_http: bool,
    client: Any,
    arrow: bool | None,
) -> Run:
    lookback = to_timedelta(lookback_hours, field="lookback_hours")
    facts_full_refresh = to_timedelta(facts_full_refresh_hours, field="facts_full_refresh_hours")
    timeline_recheck = to_timedelta(timeline_recheck_hours, field="timeline_recheck_hours")
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise ValueError(f"max_workers must be a whole number >= 1 (1 = sequential), got {max_workers!r}")
    if requests_per_second is not None and (
        isinstance(requests_per_second, bool)
        or not isinstance(requests_per_second, int | float)
        or requests_per_second <= 0
    ):
        raise ValueError(
            "requests_per_second must be a positive number (or omitted for no pacing), "
            f"got {requests_per_second!r}"
        )
    wanted = _customer_filter(customers)
    start = format_timestamp(parse_timestamp(start_date, field="start_date")) if start_date else None
    end = format_timestamp(parse_timestamp(end_date, field="end_date")) if end_date else None
    if start and end and start > end:
        raise ValueError(f"start_date ({start}) is after end_date ({end}); swap them or drop end_date")
    window = Window(start, end, lookback)

    if client is not None:
        if not isinstance(client, OutlitClient):
            raise ValueError(f"client must be an OutlitClient, got {type(client).__name__}")
        if requests_per_second is not None and client.config.platform_rps != requests_per_second:
            raise ValueError(
                "requests_per_second paces the client the source builds; a client passed in keeps its own "
                f"rate: build it with OutlitClient(..., platform_rps={requests_per_second!r}) instead"
            )
        shared = SharedClient(client=client, max_in_flight=max_workers)
    else:
        # one lookup order for the source, reverse_load(pipeline) and outlit_ingest (credentials.py)
        found = resolve_outlit_settings(api_key=api_key, base_url=base_url, require=("api_key",))
        key = found["api_key"].strip()
        settings: dict[str, Any] = {
            "base_url": found.get("base_url"),
            "timeout": timeout,
            "max_retries": max_retries,
            "allow_insecure_http": allow_insecure_http,
            # one client serves every resource and worker, so its platform limiter paces the whole run
            "platform_rps": requests_per_second,
        }
        ClientConfig.create(key, **settings)  # every client setting is checked now, not on the first request

        def build() -> OutlitClient:
            return OutlitClient(key, **settings)

        shared = SharedClient(build, max_in_flight=max_workers)

    if arrow is not None and not isinstance(arrow, bool):
        raise ValueError(f"arrow must be True, False or omitted (decided by the destination), got {arrow!r}")
    return Run(
        shared=shared,
        window=window,
        wanted=wanted,
        max_workers=max_workers,
        skip_unchanged_customers=skip_unchanged_customers,
        timeline_recheck=timeline_recheck,
        facts_full_refresh=facts_full_refresh,
        bulk_timeline=_flag(bulk_timeline, "bulk_timeline"),
        facts_on_activity=_flag(facts_on_activity, "facts_on_activity"),
        arrow=arrow,
    )


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def _customer_filter(customers: Sequence[str] | str | None) -> frozenset[str] | None:
    if customers is None:
        return None
    # a list, a JSON list from an environment variable, or "acme.com, globex.com": the one parser
    values = parse_name_list(
        list(customers) if isinstance(customers, set | frozenset) else customers, field="customers"
    )
    if not values:
        raise ValueError(
            "customers must name at least one customer id or domain (e.g. ['acme.com']); omit it for all"
        )
    return frozenset(values)
