"""The customer-intelligence tools of ``POST /api/tools/call`` over the in-memory dataset.

Each handler takes the already-validated input and returns the tool's output document. Records are
precomputed dicts; handlers filter, order and slice them and copy only the public keys.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import pagination
from .dataset import Dataset
from .errors import field_error, not_found
from .timeutil import iso, parse_iso, window, window_start
from .tool_inputs import SOURCE_TYPE_ALIASES

if TYPE_CHECKING:
    from .state import SandboxState

_CUSTOMER_HEAD = ("id", "name", "domain", "billingStatus", "activatedAt", "firstSeenAt", "lastActivityAt")
CUSTOMER_KEYS = (
    *_CUSTOMER_HEAD,
    "contactCount",
    "currentMrr",
    "mrrCalculationStatus",
    "owner",
    "daysSinceActivity",
)
CUSTOMER_DETAIL_KEYS = (*_CUSTOMER_HEAD, "owner")
USER_KEYS = (
    "id",
    "email",
    "name",
    "customerId",
    "customerName",
    "customerDomain",
    "journeyStage",
    "lastActivityAt",
    "daysSinceActivity",
)
WORKSPACE_USER_KEYS = (
    "id",
    "email",
    "name",
    "title",
    "role",
    "managerEmail",
    "territory",
    "linkedinUrl",
    "ownedCustomerCount",
)
EVENT_KEYS = (
    "id",
    "eventType",
    "eventName",
    "channel",
    "title",
    "summary",
    "occurredAt",
    "contact",
    "sourceType",
    "sourceId",
    "sourceRef",
    "metadata",
)
FACT_KEYS = (
    "id",
    "assertion",
    "reasoning",
    "factType",
    "factCategory",
    "status",
    "confidence",
    "priority",
    "occurredAt",
    "detectedAt",
    "validFrom",
    "validUntil",
    "linkedSourceRef",
    "sourceMetadata",
    "evidenceCount",
    "metricName",
    "metricValue",
    "metricPreviousValue",
    "metricDelta",
    "metricUnit",
    "periodStart",
    "periodEnd",
    "changePointDate",
    "occurrenceCount",
    "lastDetectedAt",
    "severity",
)
SOURCE_KEYS = (
    "sourceType",
    "sourceId",
    "occurredAt",
    "title",
    "summary",
    "permalink",
    "provider",
    "customer",
    "participants",
    "record",
)


def _pick(record: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: record[k] for k in keys if k in record}


def _days_since(ts: datetime | None, now: datetime) -> int | None:
    if ts is None:
        return None
    return max(0, (now - ts).days)


def _limit(args: dict[str, Any], default: int = 50) -> int:
    return int(args.get("limit", default))


def _sorted(
    items: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any], descending: bool
) -> list[dict[str, Any]]:
    """Order by key (nulls last in either direction), ties broken by id for stable pages."""
    present = [i for i in items if key(i) is not None]
    missing = [i for i in items if key(i) is None]
    present.sort(key=lambda i: i["id"])
    present.sort(key=key, reverse=descending)
    missing.sort(key=lambda i: i["id"])
    return present + missing


def _traits_match(traits: dict[str, Any], wanted: dict[str, Any]) -> bool:
    for k, v in wanted.items():
        have = traits.get(k)
        if isinstance(v, bool) or isinstance(have, bool):
            if have is not v:
                return False
        elif have != v:
            return False
    return True


def _customer_or_404(ds: Dataset, key: str, field: str = "customer") -> dict[str, Any]:
    customer = ds.find_customer(key)
    if customer is None:
        raise not_found("Customer", key, field)
    return customer


def _ref(customer: dict[str, Any]) -> dict[str, Any]:
    return {"id": customer["id"], "name": customer["name"], "domain": customer["domain"]}


def _source_type(value: str) -> str:
    return SOURCE_TYPE_ALIASES.get(value, value)


# ------------------------------------------------------------------------------------------ list tools
def _by_activity(items: list[dict[str, Any]], args: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    """``hasActivityInLast`` / ``noActivityInLast`` over customers or users (their ``_lastTs``)."""
    if "hasActivityInLast" in args:
        cut = window_start(now, args["hasActivityInLast"])
        items = [r for r in items if r["_lastTs"] and r["_lastTs"] >= cut]
    if "noActivityInLast" in args:
        cut = window_start(now, args["noActivityInLast"])
        items = [r for r in items if not r["_lastTs"] or r["_lastTs"] < cut]
    return items


def _activity_page(
    items: list[dict[str, Any]],
    args: dict[str, Any],
    keyf: Callable[[dict[str, Any]], Any],
    keys: tuple[str, ...],
    now: datetime,
) -> dict[str, Any]:
    """One page of customers or users in the asked order, each with its ``daysSinceActivity``."""
    items = _sorted(items, keyf, args.get("orderDirection", "desc") == "desc")
    chunk, has_more, nxt = pagination.page(items, args.get("cursor"), _limit(args), lambda r: r["id"])
    out = [{**_pick(r, keys), "daysSinceActivity": _days_since(r["_lastTs"], now)} for r in chunk]
    return {"items": out, "pagination": {"hasMore": has_more, "nextCursor": nxt, "total": len(items)}}


def list_customers(state: SandboxState, args: dict[str, Any]) -> dict[str, Any]:
    ds = state.dataset
    now = ds.now
    items = ds.customers
    if "activatedSince" in args:
        since = parse_iso(args["activatedSince"])
        items = [c for c in items if c["activatedAt"] and parse_iso(c["activatedAt"]) >= since]
    if "billingStatus" in args:
        items = [c for c in items if c["billingStatus"] == args["billingStatus"]]
    items = _by_activity(items, args, now)
    if "mrrAbove" in args:
        items = [c for c in items if c["currentMrr"] is not None and c["currentMrr"] >= args["mrrAbove"]]
    if "mrrBelow" in args:
        items = [c for c in items if c["currentMrr"] is not None and c["currentMrr"] <= args["mrrBelow"]]
    if args.get("traitFilters"):
        items = [c for c in items if _traits_match(c["_traits"], args["traitFilters"])]
    if args.get("search"):
        term = args["search"].lower()
        items = [c for c in items if term in c["name"].lower() or term in c["domain"].lower()]
    if "ownerId" in args:
        items = [c for c in items if c["_ownerId"] == args["ownerId"]]
    if "ownerEmail" in args:
        email = args["ownerEmail"].lower()
        items = [c for c in items if c["owner"] and c["owner"]["email"].lower() == email]
    if "hasOwner" in args:
        items = [c for c in items if (c["owner"] is not None) is args["hasOwner"]]
    order = args.get("orderBy", "last_activity_at")
    keyf: Callable[[dict[str, Any]], Any] = {
        "last_activity_at": lambda c: c["_lastTs"],
        "first_seen_at": lambda c: c["firstSeenAt"],
        "name": lambda c: c["name"].lower(),
        "mrr_cents": lambda c: c["currentMrr"],
    }[order]
    return _activity_page(items, args, keyf, CUSTOMER_KEYS, now)


def list_users(state: SandboxState, args: dict[str, Any]) -> dict[str, Any]:
    ds = state.dataset
    now = ds.now
    items = ds.users
    if "journeyStage" in args:
        items = [u for u in items if u["journeyStage"] == args["journeyStage"]]
    if "customerId" in args:
        items = [u for u in items if u["customerId"] == args["customerId"]]
    if args.get("traitFilters"):
        items = [u for u in items if _traits_match(u["_traits"], args["traitFilters"])]
    items = _by_activity(items, args, now)
    if args.get("search"):
        term = args["search"].lower()
        items = [u for u in items if term in (u["email"] or "").lower() or term in (u["name"] or "").lower()]
    order = args.get("orderBy", "last_activity_at")
    keyf: Callable[[dict[str, Any]], Any] = {
        "last_activity_at": lambda u: u["_lastTs"],
        "first_seen_at": lambda u: u["_firstSeen"],
        "email": lambda u: u["email"],
    }[order]
    return _activity_page(items, args, keyf, USER_KEYS, now)


def list_workspace_users(state: SandboxState, args: dict[str, Any]) -> dict[str, Any]:
    items = state.dataset.workspace_users
    if args.get("search"):
        term = args["search"].lower()
        items = [
            w
            for w in items
            if any(term in (w[k] or "").lower() for k in ("name", "email", "title", "role", "territory"))
        ]
    if "role" in args:
        items = [w for w in items if (w["role"] or "").lower() == args["role"].lower()]
    if "managerEmail" in args:
        items = [w for w in items if (w["managerEmail"] or "").lower() == args["managerEmail"].lower()]
    if "hasOwnedCustomers" in args:
        items = [w for w in items if (w["ownedCustomerCount"] > 0) is args["hasOwnedCustomers"]]
    order = args.get("orderBy", "owned_customer_count")
    keyf: Callable[[dict[str, Any]], Any] = {
        "name": lambda w: w["name"].lower(),
        "email": lambda w: w["email"],
        "owned_customer_count": lambda w: w["ownedCustomerCount"],
    }[order]
    items = _sorted(items, keyf, args.get("orderDirection", "desc") == "desc")
    chunk, has_more, nxt = pagination.page(items, args.get("cursor"), _limit(args), lambda w: w["id"])
    return {
        "items": [_pick(w, WORKSPACE_USER_KEYS) for w in chunk],
        "pagination": {"hasMore": has_more, "nextCursor": nxt, "total": len(items)},
    }


# ------------------------------------------------------------------------------------------ customer
def get_customer(state: SandboxState, args: dict[str, Any]) -> dict[str, Any]:
    ds = state.dataset
    customer = _customer_or_404(ds, args["customer"])
    include = set(args.get("include", ()))
    since = ds.now - window(args.get("timeframe", "30d"))
    out: dict[str, Any] = {"customer": _pick(customer, CUSTOMER_DETAIL_KEYS)}
    events = ds.events.get(customer["id"], [])
    if "users" in include:
        out["users"] = [
            {k: u[k] for k in ("id", "email", "name", "journeyStage", "lastActivityAt")}
            for u in ds.users
            if u["customerId"] == customer["id"]
        ]
    if "revenue" in include:
        out["revenue"] = {
            "currentMrr": customer["currentMrr"],
            "mrrCalculationStatus": customer["mrrCalculationStatus"],
            "lifetimeRevenue": customer["_lifetimeRevenue"],
            "activeSubscriptions": customer["_activeSubscriptions"],
        }
    recent = [e for e in events if e["_ts"] >= since]
    if "recentTimeline" in include:
        out["recentTimeline"] = [
            {
                "type": e["eventType"],
                "title": e["title"],
                "contact": e["contact"],
                "occurredAt": e["occurredAt"],
            }
            for e in reversed(recent[-20:])
        ]
    if "behaviorMetrics" in include:
        emails = [e for e in events if e["sourceType"] == "EMAIL"]
        meetings = [e for e in events if e["channel"] == "MEETING"]
        out["behaviorMetrics"] = {
            "activityCount": len(recent),
            "activeUsers": len({e["_userId"] for e in recent if e["_userId"]}),
            "lastEmailAt": emails[-1]["occurredAt"] if emails else None,
            "lastMeetingAt": meetings[-1]["occurredAt"] if meetings else None,
        }
    if "enrichment" in include:
        out["enrichment"] = _enrichment(customer, ds.now)
    return out


def _enrichment(customer: dict[str, Any], now: datetime) -> dict[str, Any]:
    traits = customer["_traits"]
    return {
        "status": "FRESH",
        "provider": "sandbox",
        "providerEntityId": f"ent_{customer['id'][4:]}",
        "summary": {
            "name": customer["name"],
            "domain": customer["domain"],
            "websiteUrl": f"https://{customer['domain']}",
            "description": f"{customer['name']} is a {traits['industry']} company.",
            "logoUrl": None,
            "linkedinUrl": None,
            "yearFounded": 2010 + len(customer["name"]) % 12,
            "companyType": "private",
            "employeeCountRange": "51-200",
            "headcount": traits["seats"] * 3,
            "industry": traits["industry"],
            "categories": [traits["industry"]],
            "markets": [traits["region"]],
            "headquarters": None,
            "fundingSummary": None,
            "hiringSummary": None,
            "followerSummary": None,
        },
        "match": {"domain": customer["domain"]},
        "lastSuccessfulRefreshAt": iso(now - timedelta(days=3)),
        "lastAttemptAt": iso(now - timedelta(days=3)),
        "expiresAt": iso(now + timedelta(days=27)),
        "error": None,
    }


def get_timeline(state: SandboxState, args: dict[str, Any]) -> dict[str, Any]:
    ds = state.dataset
    customer = _customer_or_404(ds, args["customer"])
    if "timeframe" in args and ("startDate" in args or "endDate" in args):
        raise field_error(
            ["timeframe"], "timeframe cannot be used with startDate/endDate; pass one or the other"
        )
    start = parse_iso(args["startDate"]) if "startDate" in args else None
    end = parse_iso(args["endDate"]) if "endDate" in args else None
    if start and end and start > end:
        raise field_error(["startDate"], "startDate must be before or equal to endDate")
    if start is None and end is None:
        frame = args.get("timeframe", "30d")
        start = None if frame == "all" else ds.now - window(frame)
    channels = set(args.get("channels") or ())
    types = set(args.get("eventTypes") or ())
    events = [
        e
        for e in reversed(ds.events.get(customer["id"], []))
        if (start is None or e["_ts"] >= start)
        and (end is None or e["_ts"] <= end)
        and (not channels or e["channel"] in channels)
        and (not types or e["eventType"] in types or e["eventName"] in types)
    ]
    chunk, has_more, nxt = pagination.page(events, args.get("cursor"), _limit(args), lambda e: e["id"])
    return {
        "events": [_pick(e, EVENT_KEYS) for e in chunk],
        "pagination": {"hasMore": has_more, "nextCursor": nxt},
    }


# ------------------------------------------------------------------------------------------ facts
def _fact_time(fact: dict[str, Any]) -> str:
    return fact["lastDetectedAt"] or fact["detectedAt"]


def _bounds(args: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    after = parse_iso(args["after"]) if "after" in args else None
    before = parse_iso(args["before"]) if "before" in args else None
    if after and before and after > before:
        raise field_error(["after"], "after must be before or equal to before")
    return after, before


def list_facts(state: SandboxState, args: dict[str, Any]) -> dict[str, Any]:
    ds = state.dataset
    customer = _customer_or_404(ds, args["customer"])
    after, before = _bounds(args)
    statuses = set(args.get("status") or ())
    stypes = {_source_type(s) for s in args.get("sourceTypes") or ()}
    ftypes = set(args.get("factTypes") or ())
    cats = set(args.get("factCategories") or ())
    facts = []
    for f in ds.facts.get(customer["id"], []):
        if statuses and f["status"] not in statuses:
            continue
        if stypes and not (f["linkedSourceRef"] and f["linkedSourceRef"]["sourceType"] in stypes):
            continue
        if ftypes and f["factType"] not in ftypes:
            continue
        if cats and f["factCategory"] not in cats:
            continue
        # Outlit's CLI documents after/before as the fact's occurrence time (`facts list --after`: "facts
        # occurring after"); a fact with no occurrence time matches no bound.
        if after or before:
            occurred = parse_iso(f["occurredAt"]) if f.get("occurredAt") else None
            if occurred is None or (after and occurred < after) or (before and occurred > before):
                continue
        facts.append(f)
    facts.sort(key=lambda f: (_fact_time(f), f["id"]), reverse=True)
    chunk, has_more, nxt = pagination.page(facts, args.get("cursor"), _limit(args), lambda f: f["id"])
    return {
        "customer": _ref(customer),
        "facts": [_pick(f, FACT_KEYS) for f in chunk],
        "pagination": {"hasMore": has_more, "nextCursor": nxt},
    }


def get_fact(state: SandboxState, args: dict[str, Any]) -> dict[str, Any]:
    fact = state.dataset.fact_by_id.get(args["factId"])
    if fact is None:
        raise not_found("Fact", args["factId"], "factId")
    out = _pick(fact, FACT_KEYS)
    if "evidence" in (args.get("include") or ()):
        out["evidence"] = [dict(e) for e in fact["_evidence"]]
    return out
