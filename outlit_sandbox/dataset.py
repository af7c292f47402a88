"""The sandbox's deterministic customer-intelligence dataset.

Everything derives from ``random.Random(seed)`` and an anchor "now", so the same seed gives the same ids,
names and relative times on every run. Records are kept as plain dicts already shaped like the public
tool outputs (camelCase), so handlers only filter, slice and copy; a few internal keys start with ``_``
and are stripped before anything leaves the server.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .timeutil import Clock

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

    def users_by_customer(self) -> dict[str, list[dict[str, Any]]]:
        """Each customer's users, grouped in one pass (per-customer scans of ``users`` were quadratic)."""
        out: dict[str, list[dict[str, Any]]] = {c["id"]: [] for c in self.customers}
        for u in self.users:
            out.setdefault(u["customerId"], []).append(u)
        return out

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
