"""Source and context tools: outlit_get_source, outlit_list_sources, outlit_search_customer_context."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from . import pagination
from .errors import field_error, not_found
from .timeutil import iso, parse_iso
from .tools import FACT_KEYS, SOURCE_KEYS, _bounds, _customer_or_404, _limit, _pick, _ref, _source_type

if TYPE_CHECKING:
    from .state import SandboxState


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
