"""The customer-intelligence tools of ``POST /api/tools/call`` over the in-memory dataset.

Each handler takes the already-validated input and returns the tool's output document. Records are
precomputed dicts; handlers filter, order and slice them and copy only the public keys.
"""

from __future__ import annotations

import json
import random
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import pagination
from .dataset import Dataset
from .errors import field_error, not_found
from .timeutil import iso, parse_iso, window
from .tool_inputs import SOURCE_TYPE_ALIASES

if TYPE_CHECKING:
    from .state import SandboxState

CUSTOMER_KEYS = (
    "id",
    "name",
    "domain",
    "billingStatus",
    "activatedAt",
    "firstSeenAt",
    "lastActivityAt",
    "contactCount",
    "currentMrr",
    "mrrCalculationStatus",
    "owner",
    "daysSinceActivity",
)
CUSTOMER_DETAIL_KEYS = (
    "id",
    "name",
    "domain",
    "billingStatus",
    "activatedAt",
    "firstSeenAt",
    "lastActivityAt",
    "owner",
)
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
def list_customers(state: SandboxState, args: dict[str, Any]) -> dict[str, Any]:
    ds = state.dataset
    now = ds.now
    items = ds.customers
    if "activatedSince" in args:
        since = parse_iso(args["activatedSince"])
        items = [c for c in items if c["activatedAt"] and parse_iso(c["activatedAt"]) >= since]
    if "billingStatus" in args:
        items = [c for c in items if c["billingStatus"] == args["billingStatus"]]
    if "hasActivityInLast" in args:
        cut = now - window(args["hasActivityInLast"])
        items = [c for c in items if c["_lastTs"] and c["_lastTs"] >= cut]
    if "noActivityInLast" in args:
        cut = now - window(args["noActivityInLast"])
        items = [c for c in items if not c["_lastTs"] or c["_lastTs"] < cut]
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
    items = _sorted(items, keyf, args.get("orderDirection", "desc") == "desc")
    chunk, has_more, nxt = pagination.page(items, args.get("cursor"), _limit(args), lambda c: c["id"])
    out = []
    for c in chunk:
        row = _pick(c, CUSTOMER_KEYS)
        row["daysSinceActivity"] = _days_since(c["_lastTs"], now)
        out.append(row)
    return {"items": out, "pagination": {"hasMore": has_more, "nextCursor": nxt, "total": len(items)}}


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
    if "hasActivityInLast" in args:
        cut = now - window(args["hasActivityInLast"])
        items = [u for u in items if u["_lastTs"] and u["_lastTs"] >= cut]
    if "noActivityInLast" in args:
        cut = now - window(args["noActivityInLast"])
        items = [u for u in items if not u["_lastTs"] or u["_lastTs"] < cut]
    if args.get("search"):
        term = args["search"].lower()
        items = [u for u in items if term in (u["email"] or "").lower() or term in (u["name"] or "").lower()]
    order = args.get("orderBy", "last_activity_at")
    keyf: Callable[[dict[str, Any]], Any] = {
        "last_activity_at": lambda u: u["_lastTs"],
        "first_seen_at": lambda u: u["_firstSeen"],
        "email": lambda u: u["email"],
    }[order]
    items = _sorted(items, keyf, args.get("orderDirection", "desc") == "desc")
    chunk, has_more, nxt = pagination.page(items, args.get("cursor"), _limit(args), lambda u: u["id"])
    out = []
    for u in chunk:
        row = _pick(u, USER_KEYS)
        row["daysSinceActivity"] = _days_since(u["_lastTs"], now)
        out.append(row)
    return {"items": out, "pagination": {"hasMore": has_more, "nextCursor": nxt, "total": len(items)}}


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
        # Bounds apply to the latest detection, so a fact whose status changed is found again.
        seen = parse_iso(_fact_time(f))
        if (after and seen < after) or (before and seen > before):
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


# ------------------------------------------------------------------------------------------ sources
def get_source(state: SandboxState, args: dict[str, Any]) -> dict[str, Any]:
    stype = _source_type(args["sourceType"])
    source = state.dataset.sources.get((stype, args["sourceId"]))
    if source is None:
        raise not_found("Source", f"{stype}/{args['sourceId']}", "sourceId")
    out = _pick(source, SOURCE_KEYS)
    if stype == "SLACK":
        # Slack threads page their replies; other source types ignore limit/cursor, as documented.
        replies = _slack_replies(source)
        chunk, has_more, nxt = pagination.page(replies, args.get("cursor"), _limit(args), lambda r: r["id"])
        out["record"] = {
            **source["record"],
            "replies": chunk,
            "repliesPagination": {"hasMore": has_more, "nextCursor": nxt},
        }
    return out


def _slack_replies(source: dict[str, Any]) -> list[dict[str, Any]]:
    """The thread's replies, derived from the source id alone so they never shift other generated data."""
    rng = random.Random(source["sourceId"])
    people = [p for p in source["participants"] if p["email"]] or [{"email": None, "name": "Someone"}]
    start = source["_ts"]
    replies = []
    for i in range(source["record"].get("replyCount", 0)):
        author = rng.choice(people)
        replies.append(
            {
                "id": f"{source['sourceId']}_r{i + 1}",
                "author": author["name"],
                "authorEmail": author["email"],
                "text": rng.choice(
                    (
                        "Thanks, looking into it.",
                        "Can we get an update?",
                        "Done on our side.",
                        "Following up with the team.",
                        "That works for us.",
                    )
                ),
                "postedAt": iso(start + timedelta(minutes=7 * (i + 1))),
            }
        )
    return replies


def list_sources(state: SandboxState, args: dict[str, Any]) -> dict[str, Any]:
    ds = state.dataset
    items = state.sources_newest_first()
    if "sourceType" in args:
        stype = _source_type(args["sourceType"])
        items = [s for s in items if s["sourceType"] == stype]
    if "customer" in args:
        customer = _customer_or_404(ds, args["customer"])
        items = [s for s in items if s["customer"]["id"] == customer["id"]]
    after, before = _bounds(args)
    if after:
        items = [s for s in items if s["_ts"] >= after]
    if before:
        items = [s for s in items if s["_ts"] <= before]
    if "participant" in args:
        term = args["participant"].lower()
        items = [
            s
            for s in items
            if any(
                term in (p["email"] or "").lower() or term in (p["name"] or "").lower()
                for p in s["participants"]
            )
        ]
    if "provider" in args:
        items = [s for s in items if s["provider"] == args["provider"].lower()]
    if "hasTranscript" in args:
        items = [
            s
            for s in items
            if s["sourceType"] == "CALL" and bool(s["record"].get("hasTranscript")) is args["hasTranscript"]
        ]
    chunk, has_more, nxt = pagination.page(
        items, args.get("cursor"), _limit(args), lambda s: f"{s['sourceType']}/{s['sourceId']}"
    )
    return {
        "items": [_pick(s, SOURCE_KEYS) for s in chunk],
        "pagination": {"hasMore": has_more, "nextCursor": nxt},
    }


# ------------------------------------------------------------------------------------------ search
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "about",
        "what",
        "that",
        "this",
        "from",
        "came",
        "have",
        "has",
        "are",
        "was",
        "were",
        "did",
        "does",
        "any",
    ]
)


def _terms(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in _STOP}


def _stem(word: str) -> str:
    return word[:5]


def search_customer_context(state: SandboxState, args: dict[str, Any]) -> dict[str, Any]:
    ds = state.dataset
    customer = None
    if args.get("customer"):
        customer = _customer_or_404(ds, args["customer"])
    query = args["query"].strip()
    if len(query) < 2:
        raise field_error(["query"], "Query must be at least 2 non-whitespace characters")
    wanted = {_stem(t) for t in _terms(query)}
    after, before = _bounds(args)
    stypes = {_source_type(s) for s in args.get("sourceTypes") or ()}
    top_k = int(args.get("topK", 20))
    scored: list[tuple[float, str, dict[str, Any]]] = []

    def score(record: dict[str, Any], text: str) -> int:
        stems = record.get("_stems")
        if stems is None:  # computed once per record; records never change their text
            stems = record["_stems"] = frozenset(_stem(t) for t in _terms(text))
        return len(wanted & stems)

    fact_lists = [ds.facts.get(customer["id"], [])] if customer else list(ds.facts.values())
    for facts in fact_lists:
        for f in facts:
            if stypes and not (f["linkedSourceRef"] and f["linkedSourceRef"]["sourceType"] in stypes):
                continue
            when = parse_iso(f["occurredAt"] or f["detectedAt"])
            if (after and when < after) or (before and when > before):
                continue
            hits = score(f, f"{f['assertion']} {f['reasoning'] or ''} {f['factType']}")
            if hits:
                scored.append((hits / max(1, len(wanted)), f["id"], {"kind": "fact", "item": f}))
    for s in state.sources_newest_first():
        if customer and s["customer"]["id"] != customer["id"]:
            continue
        if stypes and s["sourceType"] not in stypes:
            continue
        if (after and s["_ts"] < after) or (before and s["_ts"] > before):
            continue
        hits = score(s, f"{s['title']} {s['summary'] or ''}")
        if hits:
            scored.append(
                (
                    hits / max(1, len(wanted)) * 0.95,
                    f"{s['sourceType']}/{s['sourceId']}",
                    {"kind": "source", "item": s},
                )
            )
    scored.sort(key=lambda t: (-t[0], t[1]))
    results = []
    for value, _, hit in scored[:top_k]:
        item = hit["item"]
        if hit["kind"] == "fact":
            match = {"text": item["assertion"]}
            if item["occurredAt"]:
                match["occurredAt"] = item["occurredAt"]
            results.append(
                {
                    "kind": "fact",
                    "score": round(value, 4),
                    "matchCount": 1,
                    "matches": [match],
                    "fact": _pick(item, FACT_KEYS),
                }
            )
        else:
            text = item["summary"] or item["title"]
            results.append(
                {
                    "kind": "source",
                    "score": round(value, 4),
                    "sourceType": item["sourceType"],
                    "sourceId": item["sourceId"],
                    "occurredAt": item["occurredAt"],
                    "title": item["title"],
                    "permalink": item["permalink"],
                    "matchCount": 1,
                    "matches": [{"text": text, "occurredAt": item["occurredAt"]}],
                }
            )
    return {"customer": _ref(customer) if customer else None, "results": results}


# ------------------------------------------------------------------------------------------ sql + misc
def query(state: SandboxState, args: dict[str, Any]) -> dict[str, Any]:
    state.sql.sync(state.dataset, state.ingest.activity_rows)
    return state.sql.run(
        args["sql"], int(args.get("limit", 1000)), state.dataset.now, state.config.query_timeout
    )


def schema(state: SandboxState, args: dict[str, Any]) -> dict[str, Any]:
    from .sql import describe

    return describe(args.get("table"))


def send_notification(state: SandboxState, args: dict[str, Any]) -> dict[str, Any]:
    if "payload" not in args and "message" not in args and "markdown" not in args:
        raise field_error(["payload"], "Provide a payload, message or markdown body to send")
    if "payload" in args and len(json.dumps(args["payload"], ensure_ascii=False)) > 100_000:
        raise field_error(["payload"], "Payload serialized size must be 100,000 characters or fewer")
    destinations = ["slack"]  # the organization's default notifier when destinationIds is omitted
    if "destinationIds" in args:
        known = {i for i, d in state.platform.destinations.items() if d["archivedAt"] is None}
        for i, did in enumerate(args["destinationIds"]):
            if did not in known:
                raise field_error(["destinationIds", i], f"No notification destination with id {did!r}")
        destinations = list(args["destinationIds"])
    notification_id = f"ntf_{secrets.token_hex(8)}"
    state.notifications.append({"id": notification_id, "sentAt": iso(state.dataset.now), **args})
    return {"success": True, "notificationId": notification_id, "destinations": destinations}


HANDLERS: dict[str, Callable[[SandboxState, dict[str, Any]], dict[str, Any]]] = {
    "outlit_list_customers": list_customers,
    "outlit_list_users": list_users,
    "outlit_list_workspace_users": list_workspace_users,
    "outlit_get_customer": get_customer,
    "outlit_get_timeline": get_timeline,
    "outlit_list_facts": list_facts,
    "outlit_get_fact": get_fact,
    "outlit_get_source": get_source,
    "outlit_list_sources": list_sources,
    "outlit_search_customer_context": search_customer_context,
    "outlit_query": query,
    "outlit_schema": schema,
    "outlit_send_notification": send_notification,
}
