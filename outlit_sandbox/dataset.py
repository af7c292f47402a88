"""The sandbox's deterministic customer-intelligence dataset.

Everything derives from ``random.Random(seed)`` and an anchor "now", so the same seed gives the same ids,
names and relative times on every run. Records are kept as plain dicts already shaped like the public
tool outputs (camelCase), so handlers only filter, slice and copy; a few internal keys start with ``_``
and are stripped before anything leaves the server.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .timeutil import Clock, iso

BILLING_STATUSES = ("NONE", "TRIALING", "PAYING", "PAST_DUE", "CHURNED")
JOURNEY_STAGES = ("DISCOVERED", "SIGNED_UP", "ACTIVATED", "ENGAGED", "INACTIVE")
FACT_STATUSES = ("ACTIVE", "ACKNOWLEDGED", "RESOLVED", "SNOOZED", "CANDIDATE")
CHANNELS = (
    "PRODUCT",
    "COMMUNICATION",
    "MEETING",
    "CRM",
    "BILLING",
    "SUPPORT",
    "IDENTITY",
    "DOCUMENT",
    "SYSTEM",
)
SOURCE_TYPES = ("EMAIL", "CALL", "CALENDAR_EVENT", "SUPPORT_TICKET", "OPPORTUNITY", "SLACK")
FACT_TYPES = (
    "CUSTOM",
    "COMPANY_CHANGE",
    "FUNDING_REVENUE",
    "TECHNOLOGY",
    "STRATEGY",
    "COMPETITIVE",
    "SENTIMENT",
    "CHAMPION_RISK",
    "EXPANSION",
    "CHURN_RISK",
    "TIMELINE",
    "BUDGET",
    "DECISION_MAKER",
    "REQUIREMENTS",
    "PRODUCT_USAGE",
    "CONTACT_INFO",
    "CONTACT_PREFERENCE",
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_NAME_HEADS = _words(
    "Acme Globex Initech Umbrella Hooli Vandelay Stark Wayne Tyrell Cyberdyne Soylent Wonka Aperture "
    "Massive Nimbus Orbit Pied Quantum Rocket Summit Tangent Vertex Zenith Beacon Cobalt Delta Ember "
    "Falcon Granite Harbor"
)
_NAME_TAILS = ("", "Labs", "Systems", "Analytics", "Cloud", "Works", "Dynamics", "Health", "Logistics", "AI")
_TLDS = (".com", ".io", ".co", ".dev", ".ai")
_FIRST = _words(
    "Ada Ben Cleo Dev Eli Fay Gus Hana Ivo Jade Kai Lena Milo Nora Omar Pia Quinn Rosa Sami Tess Uma "
    "Vik Wren Yara Zed"
)
_LAST = _words(
    "Adler Brook Chen Diaz Evans Fischer Garcia Hughes Ito Jensen Khan Lopez Moreau Novak Okafor "
    "Patel Rossi Silva Tanaka Ueda Varga Weber"
)
_TITLES = ("Head of Ops", "VP Engineering", "Data Lead", "CTO", "Product Manager", "Analyst", "Founder")
_INDUSTRIES = ("SaaS", "Fintech", "Healthcare", "Retail", "Logistics", "Media", "Education")
_REGIONS = ("NA", "EMEA", "APAC", "LATAM")
_PLANS = ("starter", "growth", "scale", "enterprise")
_TOPICS = (
    ("pricing", "raised concerns about pricing ahead of the renewal"),
    ("renewal", "asked for an early renewal quote with a multi-year discount"),
    ("onboarding", "reported that onboarding of new teammates is slow"),
    ("integration", "needs a Salesforce integration before expanding seats"),
    ("security", "requested a SOC 2 report and SSO enforcement"),
    ("budget", "confirmed budget for next quarter is approved"),
    ("champion", "mentioned their champion is moving to a new role"),
    ("competitor", "is evaluating a competitor on reporting features"),
    ("usage", "saw weekly active usage drop after the last release"),
    ("expansion", "wants to roll the product out to two more departments"),
    ("latency", "complained about dashboard latency during peak hours"),
    ("export", "asked for scheduled CSV exports to their warehouse"),
)

# (channel, eventType, eventName, title, sourceType)
EVENT_KINDS: tuple[tuple[str, str, str, str, str | None], ...] = (
    ("PRODUCT", "pageview", "page_viewed", "Viewed {page}", None),
    ("PRODUCT", "pageview", "page_viewed", "Viewed {page}", None),
    ("PRODUCT", "custom", "report_exported", "Exported a report", None),
    ("PRODUCT", "custom", "feature_used", "Used {feature}", None),
    ("PRODUCT", "engagement", "session_engaged", "Active session on {page}", None),
    ("COMMUNICATION", "email", "email_received", "Email: {topic}", "EMAIL"),
    ("COMMUNICATION", "email", "email_sent", "Re: {topic}", "EMAIL"),
    ("COMMUNICATION", "slack", "slack_message", "Slack thread about {topic}", "SLACK"),
    ("MEETING", "call", "call_completed", "Call about {topic}", "CALL"),
    ("MEETING", "calendar", "meeting_scheduled", "Meeting: {topic} review", "CALENDAR_EVENT"),
    ("CRM", "opportunity", "opportunity_stage_changed", "Opportunity moved to {stage}", "OPPORTUNITY"),
    ("BILLING", "billing", "invoice_paid", "Invoice paid", None),
    ("BILLING", "billing", "subscription_updated", "Subscription updated to {plan}", None),
    ("SUPPORT", "support_ticket", "ticket_opened", "Ticket: {topic}", "SUPPORT_TICKET"),
    ("SUPPORT", "support_ticket", "ticket_resolved", "Ticket resolved: {topic}", "SUPPORT_TICKET"),
    ("IDENTITY", "identify", "user_identified", "User identified", None),
    ("DOCUMENT", "document", "document_viewed", "Viewed proposal document", None),
    ("SYSTEM", "stage", "stage_changed", "Journey stage changed to {jstage}", None),
)
_PAGES = ("/dashboard", "/reports", "/settings", "/billing", "/integrations", "/pricing", "/onboarding")
_FEATURES = ("reports", "alerts", "segments", "exports", "dashboards", "api keys")
_OPP_STAGES = ("qualification", "proposal", "negotiation", "closed won")
_TITLE_WORDS = (
    ("page", _PAGES),
    ("feature", _FEATURES),
    ("stage", _OPP_STAGES),
    ("jstage", tuple(s.lower() for s in JOURNEY_STAGES)),
)
_PROVIDERS = {
    "EMAIL": "gmail",
    "CALL": "fireflies",
    "CALENDAR_EVENT": "google-calendar",
    "SUPPORT_TICKET": "pylon",
    "OPPORTUNITY": "hubspot",
    "SLACK": "slack",
}
_SOURCE_PREFIX = {
    "EMAIL": "email",
    "CALL": "call",
    "CALENDAR_EVENT": "cal",
    "SUPPORT_TICKET": "ticket",
    "OPPORTUNITY": "opp",
    "SLACK": "slack",
}
_NEXT_STATUS = {
    "ACTIVE": "ACKNOWLEDGED",
    "ACKNOWLEDGED": "RESOLVED",
    "RESOLVED": "ACTIVE",
    "SNOOZED": "ACTIVE",
    "CANDIDATE": "ACTIVE",
}
WORKSPACE_DOMAIN = "sandbox-vendor.example"
LATE_EVENT_WINDOW = timedelta(days=2)  # how far back advance(late_events_per_customer=...) reaches


def _trunc(dt: datetime) -> datetime:
    """Millisecond precision, so the ISO strings the API serves compare exactly like the stored times."""
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)


def _hex(rng: random.Random, bits: int = 48) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


@dataclass
class Dataset:
    """All records plus the indexes the handlers need."""

    seed: int
    clock: Clock
    customers: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    workspace_users: list[dict[str, Any]] = field(default_factory=list)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # customer id -> oldest first
    facts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # customer id -> oldest first
    sources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    revenue: list[dict[str, Any]] = field(default_factory=list)
    customer_by_key: dict[str, dict[str, Any]] = field(default_factory=dict)
    fact_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    advances: int = 0
    version: int = 0  # bumped on every change so derived views (SQL tables) know to refresh

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def find_customer(self, key: str) -> dict[str, Any] | None:
        """A customer by id, domain or (case-insensitive) name."""
        return self.customer_by_key.get(key) or self.customer_by_key.get(key.strip().lower())

    def index(self) -> None:
        self.customer_by_key = {}
        for c in self.customers:
            self.customer_by_key[c["id"]] = c
            self.customer_by_key[c["domain"].lower()] = c
            self.customer_by_key.setdefault(c["name"].lower(), c)
        self.fact_by_id = {f["id"]: f for facts in self.facts.values() for f in facts}


class Generator:
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
        for c in ds.customers:
            self._refresh_activity(ds, c)
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

    def _refresh_activity(self, ds: Dataset, customer: dict[str, Any]) -> None:
        events = ds.events.get(customer["id"], [])
        last = events[-1]["_ts"] if events else None
        customer["lastActivityAt"] = iso(last) if last else None
        customer["_lastTs"] = last
        last_by_user: dict[str, datetime] = {}
        for e in events:
            if e["_userId"]:
                last_by_user[e["_userId"]] = e["_ts"]
        for u in ds.users:
            if u["customerId"] == customer["id"]:
                ts = last_by_user.get(u["id"])
                u["lastActivityAt"] = iso(ts) if ts else None
                u["_lastTs"] = ts

    # -------------------------------------------------------------------------------------- advance
    def advance(
        self,
        ds: Dataset,
        *,
        hours: float = 1.0,
        events_per_customer: int = 5,
        facts_per_customer: int = 1,
        status_changes: int = 3,
        late_events_per_customer: int = 0,
        silent_status_changes: int = 0,
    ) -> dict[str, Any]:
        """Move the clock forward and append/alter data after everything that exists; return the changes.

        The two opt-in options model what real pipelines see and a naive incremental load misses: events
        that arrive late (``occurredAt`` before the customer's latest event) and fact status changes that
        do not move any timestamp.
        """
        if hours <= 0:
            raise ValueError("hours must be > 0: advance moves the sandbox clock forward")
        counts = {
            "events_per_customer": events_per_customer,
            "facts_per_customer": facts_per_customer,
            "status_changes": status_changes,
            "late_events_per_customer": late_events_per_customer,
            "silent_status_changes": silent_status_changes,
        }
        for name, value in counts.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
        ds.advances += 1
        rng = random.Random(f"{self.seed}:advance:{ds.advances}")
        old_now = ds.now
        new_now = ds.clock.advance(timedelta(hours=hours))
        self.now = new_now
        # taken before anything is appended: late events must land before what a previous load already saw
        latest_before = {cid: evs[-1]["_ts"] for cid, evs in ds.events.items() if evs}
        latest = max(latest_before.values(), default=old_now)
        start = max(latest, old_now)
        new_events: dict[str, list[str]] = {}
        new_facts: dict[str, list[str]] = {}
        for customer in ds.customers:
            users = [u for u in ds.users if u["customerId"] == customer["id"]]
            stamps = sorted(
                start + (new_now - start) * rng.uniform(0.001, 1.0) for _ in range(events_per_customer)
            )
            added = [self._event(rng, ds, customer, users, ts) for ts in stamps]
            ds.events.setdefault(customer["id"], []).extend(added)
            new_events[customer["id"]] = [e["id"] for e in added]
            facts = ds.facts.setdefault(customer["id"], [])
            fresh = []
            for k in range(facts_per_customer):
                detected = start + (new_now - start) * rng.uniform(0.001, 1.0)
                fresh.append(self._fact(rng, ds, customer, len(facts) + k, 0, detected=detected))
            for f in fresh:
                f["status"] = "ACTIVE" if rng.random() < 0.7 else "CANDIDATE"
            facts.extend(fresh)
            new_facts[customer["id"]] = [f["id"] for f in fresh]
            self._refresh_activity(ds, customer)
        changed = self._change_statuses(ds, rng, status_changes, old_now, new_now, exclude=new_facts)
        # separate random streams, so asking for late events or silent changes leaves the ids and times
        # of everything above exactly as they are without them
        late = self._late_events(ds, late_events_per_customer, latest_before, new_now)
        touched = {cid: list(ids) for cid, ids in new_facts.items()}
        touched["_status_changes"] = [c["id"] for c in changed]
        silent = self._silent_statuses(ds, silent_status_changes, touched)
        ds.version += 1
        ds.index()
        return {
            "now": iso(new_now),
            "events": new_events,
            "facts": new_facts,
            "status_changes": changed,
            "late_events": late,
            "silent_status_changes": silent,
        }

    def _late_events(
        self, ds: Dataset, per_customer: int, latest_before: dict[str, datetime], new_now: datetime
    ) -> dict[str, list[str]]:
        """Events that arrive now but happened up to 2 days ago, before the customer's latest event.

        Each lies in ``[new clock - 2 days, customer's latest event before this advance)``, so neither the
        customer's ``lastActivityAt`` nor any cursor on the newest ``occurredAt`` moves for it; a customer
        with no event in the last 2 days gets none (a "late" event there would be its newest).
        """
        rng = random.Random(f"{self.seed}:advance:{ds.advances}:late")
        out: dict[str, list[str]] = {}
        for customer in ds.customers:
            cid = customer["id"]
            out[cid] = []
            newest = latest_before.get(cid)
            floor = new_now - LATE_EVENT_WINDOW
            if per_customer == 0 or newest is None or newest <= floor:
                continue
            users = [u for u in ds.users if u["customerId"] == cid]
            events = ds.events[cid]
            for _ in range(per_customer):
                # _event truncates to the millisecond: stay a full millisecond below the newest event
                ts = floor + (newest - floor - timedelta(milliseconds=1)) * rng.random()
                if ts < floor:
                    continue  # the window is narrower than a millisecond
                event = self._event(rng, ds, customer, users, ts)
                # the list stays oldest first (timelines are served newest first from it)
                at = bisect.bisect_right([e["_ts"] for e in events], event["_ts"])
                events.insert(at, event)
                out[cid].append(event["id"])
            self._refresh_activity(ds, customer)
        return out

    def _silent_statuses(
        self, ds: Dataset, count: int, exclude: dict[str, list[str]]
    ) -> list[dict[str, Any]]:
        """Status changes that leave ``lastDetectedAt``, ``validUntil`` and every other timestamp alone.

        Only a full re-read (or a comparison of statuses) can notice them; picked from every existing fact
        not new or already changed in this advance.
        """
        rng = random.Random(f"{self.seed}:advance:{ds.advances}:silent")
        skip = {fid for ids in exclude.values() for fid in ids}
        candidates = sorted(
            (f for facts in ds.facts.values() for f in facts if f["id"] not in skip), key=lambda f: f["id"]
        )
        out = []
        for f in rng.sample(candidates, k=min(count, len(candidates))):
            before = f["status"]
            f["status"] = _NEXT_STATUS[before]
            out.append({"id": f["id"], "customerId": f["_customerId"], "from": before, "to": f["status"]})
        return out

    def _change_statuses(
        self,
        ds: Dataset,
        rng: random.Random,
        count: int,
        old_now: datetime,
        new_now: datetime,
        exclude: dict[str, list[str]],
    ) -> list[dict[str, Any]]:
        skip = {fid for ids in exclude.values() for fid in ids}
        candidates = [
            f
            for facts in ds.facts.values()
            for f in facts
            if f["id"] not in skip and f["_detected"] >= new_now - timedelta(days=7)
        ]
        candidates.sort(key=lambda f: f["id"])
        picked = rng.sample(candidates, k=min(count, len(candidates)))
        out = []
        for f in picked:
            before = f["status"]
            f["status"] = _NEXT_STATUS[before]
            f["lastDetectedAt"] = iso(new_now)
            f["validUntil"] = iso(new_now + timedelta(days=30)) if f["status"] == "RESOLVED" else None
            out.append({"id": f["id"], "customerId": f["_customerId"], "from": before, "to": f["status"]})
        return out
