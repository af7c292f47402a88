"""Builds the seeded dataset: everything derives from ``random.Random(seed)`` and the clock's start, so the
same seed gives the same ids, names and relative times on every run."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from .advance import Advancing
from .dataset import (
    BILLING_STATUSES,
    FACT_STATUSES,
    FACT_TYPES,
    JOURNEY_STAGES,
    WORKSPACE_DOMAIN,
    Dataset,
    _hex,
    _trunc,
)
from .timeutil import Clock, iso
from .vocabulary import (
    _FIRST,
    _INDUSTRIES,
    _LAST,
    _NAME_HEADS,
    _NAME_TAILS,
    _OPP_STAGES,
    _PAGES,
    _PLANS,
    _PROVIDERS,
    _REGIONS,
    _SOURCE_PREFIX,
    _TITLE_WORDS,
    _TITLES,
    _TLDS,
    _TOPICS,
    EVENT_KINDS,
)


class Generator(Advancing):
    """Builds a Dataset and appends to it (``advance``) with its own deterministic random streams."""

    def __init__(self, seed: int, clock: Clock) -> None:
        self.seed = seed
        self.clock = clock
        self.now = clock.now()  # what the seeded data is generated relative to

    def build(self, customers: int, events_per_customer: int, facts_per_customer: int) -> Dataset:
        rng = random.Random(self.seed)
        ds = Dataset(seed=self.seed, clock=self.clock)
        ds.workspace_users = self._workspace_users(rng, max(4, min(12, customers // 6 + 3)))
        names = self._company_names(rng, customers)
        for i in range(customers):
            customer = self._customer(rng, i, names[i], ds.workspace_users)
            ds.customers.append(customer)
            users = self._users(rng, customer)
            ds.users.extend(users)
            customer["contactCount"] = len(users)
            span_start = datetime.fromisoformat(customer["_firstSeen"])
            span_end = datetime.fromisoformat(customer["_lastActive"])
            stamps = sorted(
                span_start + (span_end - span_start) * rng.random() for _ in range(events_per_customer)
            )
            if stamps:
                stamps[-1] = span_end
            events = [self._event(rng, ds, customer, users, ts) for ts in stamps]
            ds.events[customer["id"]] = events
            ds.facts[customer["id"]] = [
                self._fact(rng, ds, customer, k, facts_per_customer) for k in range(facts_per_customer)
            ]
            ds.revenue.extend(self._revenue(rng, customer))
        users_of = ds.users_by_customer()
        for c in ds.customers:
            self._refresh_activity(ds, c, users_of[c["id"]])
        for w in ds.workspace_users:
            w["ownedCustomerCount"] = sum(1 for c in ds.customers if c["_ownerId"] == w["id"])
        ds.index()
        return ds

    # ----------------------------------------------------------------------------------------- pieces
    def _company_names(self, rng: random.Random, n: int) -> list[str]:
        combos = [f"{h} {t}".strip() for t in _NAME_TAILS for h in _NAME_HEADS]
        first, rest = combos[0], combos[1:]
        rng.shuffle(rest)
        names = [first, *rest]  # "Acme" with acme.com first, as in the public docs' examples
        while len(names) < n:
            names.append(f"{rng.choice(_NAME_HEADS)} {len(names)}")
        return names[:n]

    def _workspace_users(self, rng: random.Random, n: int) -> list[dict[str, Any]]:
        out = []
        managers: list[str] = []
        for i in range(n):
            first, last = _FIRST[(i * 7) % len(_FIRST)], _LAST[(i * 5) % len(_LAST)]
            email = f"{first.lower()}.{last.lower()}@{WORKSPACE_DOMAIN}"
            role = "manager" if i < max(1, n // 4) else rng.choice(("csm", "account_executive", "admin"))
            if role == "manager":
                managers.append(email)
            out.append(
                {
                    "id": f"wsu_{_hex(rng)}",
                    "email": email,
                    "name": f"{first} {last}",
                    "title": {"manager": "CS Manager", "csm": "Customer Success Manager"}.get(
                        role, "Account Exec"
                    )
                    if role != "admin"
                    else None,
                    "role": role,
                    "managerEmail": None if role == "manager" else rng.choice(managers),
                    "territory": rng.choice(_REGIONS) if role != "admin" else None,
                    "linkedinUrl": f"https://www.linkedin.com/in/{first.lower()}-{last.lower()}"
                    if rng.random() < 0.6
                    else None,
                    "ownedCustomerCount": 0,
                }
            )
        return out

    def _customer(
        self, rng: random.Random, i: int, name: str, owners: list[dict[str, Any]]
    ) -> dict[str, Any]:
        status = BILLING_STATUSES[i % len(BILLING_STATUSES)] if i < 10 else rng.choice(BILLING_STATUSES * 2)
        if status in ("PAYING", "PAST_DUE"):
            mrr = rng.choice((4900, 9900, 25000, 49900, 120000, 350000))
        elif status == "TRIALING":
            mrr = 0
        else:
            mrr = None
        recency_days = {"CHURNED": rng.uniform(35, 150), "NONE": rng.uniform(0.1, 100)}.get(
            status, rng.uniform(0.05, 20)
        )
        last_active = _trunc(self.now - timedelta(days=recency_days))
        first_seen = _trunc(last_active - timedelta(days=rng.uniform(60, 400)))
        activated = _trunc(first_seen + timedelta(days=rng.uniform(1, 30))) if status != "NONE" else None
        owner = rng.choice(owners) if rng.random() < 0.75 else None
        domain = name.lower().replace(" ", "") + (".com" if i == 0 else rng.choice(_TLDS))
        plan = rng.choice(_PLANS)
        return {
            "id": f"cus_{_hex(rng)}",
            "name": name,
            "domain": domain,
            "billingStatus": status,
            "activatedAt": iso(activated) if activated else None,
            "firstSeenAt": iso(first_seen),
            "lastActivityAt": None,
            "contactCount": 0,
            "currentMrr": mrr,
            "mrrCalculationStatus": "calculated" if mrr is not None else "unavailable",
            "owner": {"id": owner["id"], "email": owner["email"], "name": owner["name"]} if owner else None,
            "daysSinceActivity": None,
            "_ownerId": owner["id"] if owner else None,
            "_firstSeen": first_seen.isoformat(),
            "_lastActive": last_active.isoformat(),
            "_plan": plan,
            "_traits": {
                "plan": plan,
                "industry": rng.choice(_INDUSTRIES),
                "region": rng.choice(_REGIONS),
                "seats": rng.choice((5, 10, 25, 50, 100, 250)),
                "strategic": rng.random() < 0.3,
            },
            "_lifetimeRevenue": (mrr or 0) * rng.randint(1, 24),
            "_activeSubscriptions": 1 if status in ("PAYING", "PAST_DUE", "TRIALING") else 0,
        }

    def _users(self, rng: random.Random, customer: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        taken: set[str] = set()
        for _ in range(rng.randint(2, 6)):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            local = f"{first.lower()}.{last.lower()}"
            while local in taken:
                local += str(rng.randint(0, 9))
            taken.add(local)
            email = f"{local}@{customer['domain']}"
            stage = "DISCOVERED" if customer["billingStatus"] == "NONE" else rng.choice(JOURNEY_STAGES[1:])
            out.append(
                {
                    "id": f"usr_{_hex(rng)}",
                    "email": email,
                    "name": f"{first} {last}",
                    "customerId": customer["id"],
                    "customerName": customer["name"],
                    "customerDomain": customer["domain"],
                    "journeyStage": stage,
                    "lastActivityAt": None,
                    "daysSinceActivity": None,
                    "_firstSeen": customer["firstSeenAt"],
                    "_traits": {
                        "title": rng.choice(_TITLES),
                        "role": rng.choice(("admin", "member", "viewer")),
                    },
                }
            )
        return out

    def _event(
        self,
        rng: random.Random,
        ds: Dataset,
        customer: dict[str, Any],
        users: list[dict[str, Any]],
        ts: datetime,
    ) -> dict[str, Any]:
        ts = _trunc(ts)
        channel, etype, ename, title_t, stype = rng.choice(EVENT_KINDS)
        topic_key, topic_text = rng.choice(_TOPICS)
        user = rng.choice(users) if users else None
        # draw only the words this title uses (random draws dominate generation time)
        words: dict[str, str] = {"topic": topic_key, "plan": customer["_plan"]}
        for key, options in _TITLE_WORDS:
            if "{" + key + "}" in title_t:
                words[key] = rng.choice(options)
        title = title_t.format(**words)
        summary = f"{customer['name']} {topic_text}." if stype else None
        event_id = f"evt_{_hex(rng, 64)}"
        metadata: dict[str, Any] = {}
        if channel == "PRODUCT":
            metadata = {"path": rng.choice(_PAGES), "durationMs": rng.randint(1000, 600000)}
        elif channel == "BILLING":
            metadata = {"amountCents": customer["currentMrr"] or 0, "currency": "USD"}
        source_id = None
        if stype:
            source_id = f"{_SOURCE_PREFIX[stype]}_{_hex(rng)}"
            ds.sources[(stype, source_id)] = self._source(
                rng, customer, users, stype, source_id, ts, title, summary
            )
        event: dict[str, Any] = {
            "id": event_id,
            "eventType": etype,
            "eventName": ename,
            "channel": channel,
            "title": title,
            "summary": summary,
            "occurredAt": iso(ts),
            "contact": user["email"] if user and channel != "BILLING" else None,
            "sourceType": stype,
            "sourceId": source_id,
            "metadata": metadata,
            "_ts": ts,
            "_customerId": customer["id"],
            "_userId": user["id"] if user and channel != "BILLING" else None,
            "_topic": topic_key,
        }
        if stype and source_id:
            event["sourceRef"] = {"sourceType": stype, "sourceId": source_id}
        return event

    def _source(
        self,
        rng: random.Random,
        customer: dict[str, Any],
        users: list[dict[str, Any]],
        stype: str,
        source_id: str,
        ts: datetime,
        title: str,
        summary: str | None,
    ) -> dict[str, Any]:
        externals = rng.sample(users, k=min(len(users), rng.randint(1, 2))) if users else []
        participants = [
            {
                "email": u["email"],
                "name": u["name"],
                "role": "participant",
                "affiliation": "external",
                "resolvedUserId": u["id"],
            }
            for u in externals
        ]
        owner = customer["owner"]
        if owner:
            participants.append(
                {
                    "email": owner["email"],
                    "name": owner["name"],
                    "role": "organizer",
                    "affiliation": "internal",
                    "resolvedUserId": None,
                }
            )
        record: dict[str, Any] = {"subject": title}
        if stype == "CALL":
            has_transcript = rng.random() < 0.7
            record.update(
                {
                    "durationSeconds": rng.randint(600, 3600),
                    "hasTranscript": has_transcript,
                    "transcript": f"{summary} We agreed to follow up next week." if has_transcript else None,
                }
            )
        elif stype == "OPPORTUNITY":
            record.update(
                {"stage": rng.choice(_OPP_STAGES), "amountCents": rng.choice((1200000, 3600000, 9900000))}
            )
        elif stype == "SUPPORT_TICKET":
            record.update(
                {"priority": rng.choice(("low", "normal", "high")), "state": rng.choice(("open", "closed"))}
            )
        elif stype == "SLACK":
            record.update(
                {"channel": f"#ext-{customer['domain'].split('.')[0]}", "replyCount": rng.randint(0, 12)}
            )
        elif stype == "EMAIL":
            record.update({"threadLength": rng.randint(1, 8)})
        return {
            "sourceType": stype,
            "sourceId": source_id,
            "occurredAt": iso(ts),
            "title": title,
            "summary": summary,
            "permalink": f"https://sandbox.outlit.local/sources/{source_id}",
            "provider": _PROVIDERS[stype],
            "customer": {"id": customer["id"], "name": customer["name"], "domain": customer["domain"]},
            "participants": participants,
            "record": record,
            "_ts": ts,
        }

    def _fact(
        self,
        rng: random.Random,
        ds: Dataset,
        customer: dict[str, Any],
        k: int,
        per_customer: int,
        detected: datetime | None = None,
    ) -> dict[str, Any]:
        events_with_source = [e for e in ds.events.get(customer["id"], []) if e["sourceId"]]
        linked = rng.choice(events_with_source) if events_with_source else None
        ftype = (
            FACT_TYPES[(k * 3 + len(customer["id"])) % len(FACT_TYPES)] if k < 5 else rng.choice(FACT_TYPES)
        )
        status = FACT_STATUSES[k % len(FACT_STATUSES)]
        topic_key, topic_text = (
            next(t for t in _TOPICS if t[0] == linked["_topic"]) if linked else rng.choice(_TOPICS)
        )
        if detected is None:
            # the last two of every customer are recent, so "advance" always has fresh facts to change
            recent = k >= per_customer - 2
            age = timedelta(days=rng.uniform(0.1, 6.5) if recent else rng.uniform(7.5, 170))
            detected = self.now - age
        detected = _trunc(detected)
        occurred = linked["_ts"] if linked else _trunc(detected - timedelta(hours=rng.uniform(1, 72)))
        occurred = min(occurred, detected)
        quote = f'"{customer["name"]} {topic_text}."'
        fact: dict[str, Any] = {
            "id": f"fact_{_hex(rng, 64)}",
            "assertion": f"{customer['name']} {topic_text}.",
            "reasoning": f"Stated in a {linked['sourceType'].lower().replace('_', ' ')}." if linked else None,
            "factType": ftype,
            "factCategory": "CUSTOM" if ftype == "CUSTOM" else "MEMORY",
            "status": status,
            "confidence": round(rng.uniform(0.55, 0.99), 2),
            "priority": rng.choice(("high", "medium", "low", None)),
            "occurredAt": iso(occurred),
            "detectedAt": iso(detected),
            "validFrom": iso(detected),
            "validUntil": iso(detected + timedelta(days=30)) if status == "RESOLVED" else None,
            "linkedSourceRef": {
                "sourceType": linked["sourceType"],
                "sourceId": linked["sourceId"],
                "occurredAt": linked["occurredAt"],
                "permalink": f"https://sandbox.outlit.local/sources/{linked['sourceId']}",
            }
            if linked
            else None,
            "sourceMetadata": {
                "sourceType": linked["sourceType"],
                "sourceId": linked["sourceId"],
                "sourceOccurredAt": linked["occurredAt"],
                "sourceQuote": quote,
                "permalink": f"https://sandbox.outlit.local/sources/{linked['sourceId']}",
            }
            if linked
            else None,
            "evidenceCount": 1 if linked else 0,
            "metricName": "weekly_active_users" if ftype == "PRODUCT_USAGE" else None,
            "metricValue": float(rng.randint(3, 40)) if ftype == "PRODUCT_USAGE" else None,
            "metricPreviousValue": None,
            "metricDelta": None,
            "metricUnit": "users" if ftype == "PRODUCT_USAGE" else None,
            "periodStart": None,
            "periodEnd": None,
            "changePointDate": None,
            "occurrenceCount": rng.randint(1, 4),
            "lastDetectedAt": iso(detected),
            "severity": rng.choice(("high", "medium", "low"))
            if ftype in ("CHURN_RISK", "CHAMPION_RISK")
            else None,
            "_customerId": customer["id"],
            "_detected": detected,
            "_topic": topic_key,
        }
        if fact["metricValue"] is not None:
            prev = float(rng.randint(3, 40))
            fact.update({"metricPreviousValue": prev, "metricDelta": fact["metricValue"] - prev})
        fact["_evidence"] = (
            [
                {
                    "id": f"evd_{_hex(rng)}",
                    "sourceType": linked["sourceType"],
                    "sourceId": linked["sourceId"],
                    "excerpt": quote,
                    "metadata": {"occurredAt": linked["occurredAt"]},
                }
            ]
            if linked
            else []
        )
        return fact

    def _revenue(self, rng: random.Random, customer: dict[str, Any]) -> list[dict[str, Any]]:
        rows = []
        mrr = customer["currentMrr"] or 0
        month = self.now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        for back in range(12):
            y, m = month.year, month.month - back
            while m <= 0:
                y, m = y - 1, m + 12
            rows.append(
                {
                    "customer_id": customer["id"],
                    "snapshot_date": f"{y:04d}-{m:02d}-01",
                    "mrr_cents": int(mrr),
                    "currency": "USD",
                    "billing_status": customer["billingStatus"],
                }
            )
            mrr = max(0, mrr * rng.uniform(0.85, 1.05))
        return rows

    def _refresh_activity(self, ds: Dataset, customer: dict[str, Any], users: list[dict[str, Any]]) -> None:
        """Set the customer's and its ``users``' ``lastActivityAt`` from the customer's events."""
        events = ds.events.get(customer["id"], [])
        last = events[-1]["_ts"] if events else None
        customer["lastActivityAt"] = iso(last) if last else None
        customer["_lastTs"] = last
        last_by_user: dict[str, datetime] = {}
        for e in events:
            if e["_userId"]:
                last_by_user[e["_userId"]] = e["_ts"]
        for u in users:
            ts = last_by_user.get(u["id"])
            u["lastActivityAt"] = iso(ts) if ts else None
            u["_lastTs"] = ts
