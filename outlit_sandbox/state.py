"""Configuration and the whole mutable state of one sandbox instance."""

from __future__ import annotations

import random
import secrets
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from .dataset import Dataset
from .generator import Generator
from .ingest import IngestStore, RateLimiter
from .integrations import Integrations
from .platform import Platform
from .sql import SqlEngine, activity_row
from .timeutil import Clock, iso

FAULT_KINDS = ("500", "502", "503", "429", "drop", "slow")
ORG_ID = "org_sandbox"


@dataclass
class SandboxConfig:
    seed: int = 42
    customers: int = 50
    events_per_customer: int = 200
    facts_per_customer: int = 20
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    slow_seconds: float = 0.5  # how long a "slow answer" fault stalls
    retry_after: int = 1  # Retry-After seconds on injected 429/503
    ingest_rps: float = 100.0
    api_key: str = field(default="", repr=False)  # never in reprs or logs
    public_key: str = ""
    plan_api_calls: int | None = None  # None: unlimited tool calls
    plan_limit_status: int = 429  # the spec allows 402 or 429 for an exhausted allowance
    connection_limit: int = 8
    query_timeout: float = 20.0  # seconds before an outlit_query statement is interrupted
    now: datetime | None = None  # the clock's anchor; default: the start time
    frozen: bool = False  # True: the clock stays at its anchor (plus advances) instead of following wall time

    def __post_init__(self) -> None:
        if not self.api_key:
            self.api_key = f"ok_sandbox_{secrets.token_hex(16)}"
        if not self.public_key:
            self.public_key = f"pk_sandbox_{secrets.token_hex(8)}"
        if self.now is None:
            now = datetime.now(tz=UTC)
            self.now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        self.check()

    def check(self) -> None:
        problems = []
        for name in ("customers", "events_per_customer", "facts_per_customer"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0")
        if not 0.0 <= self.fault_rate <= 1.0:
            problems.append("fault_rate must be between 0 and 1")
        unknown = set(self.fault_kinds) - set(FAULT_KINDS)
        if unknown or not self.fault_kinds:
            problems.append(f"fault_kinds must be a non-empty subset of {', '.join(FAULT_KINDS)}")
        if self.ingest_rps <= 0:
            problems.append("ingest_rps must be > 0")
        if self.plan_api_calls is not None and self.plan_api_calls < 0:
            problems.append("plan_api_calls must be >= 0 (or None for unlimited)")
        if self.plan_limit_status not in (402, 429):
            problems.append("plan_limit_status must be 402 or 429")
        if not self.public_key.startswith("pk_"):
            problems.append("public_key must start with 'pk_'")
        if not 0 < self.query_timeout <= 300:
            problems.append("query_timeout must be > 0 and <= 300 seconds")
        if self.slow_seconds < 0 or self.retry_after < 0:
            problems.append("slow_seconds and retry_after must be >= 0")
        if problems:
            raise ValueError("invalid sandbox configuration: " + "; ".join(problems))

    def public(self) -> dict[str, Any]:
        """Settings safe to show (no keys)."""
        out = asdict(self)
        out.pop("api_key")
        out["fault_kinds"] = list(self.fault_kinds)
        out["now"] = iso(self.now) if self.now else None
        return out


RUNTIME_SETTINGS = (
    "fault_rate",
    "fault_kinds",
    "slow_seconds",
    "retry_after",
    "ingest_rps",
    "plan_api_calls",
    "plan_limit_status",
    "connection_limit",
    "query_timeout",
)


@dataclass
class SandboxState:
    config: SandboxConfig
    base_url: str = ""
    dataset: Dataset = field(init=False)
    generator: Generator = field(init=False)
    ingest: IngestStore = field(init=False)
    limiter: RateLimiter = field(init=False)
    integrations: Integrations = field(init=False)
    platform: Platform = field(init=False)
    sql: SqlEngine = field(init=False)
    routes: Counter[str] = field(init=False)
    tools: Counter[str] = field(init=False)
    faults: Counter[str] = field(init=False)
    plan_calls_used: int = 0
    notifications: list[dict[str, Any]] = field(init=False)
    _fault_rng: random.Random = field(init=False)
    _sources_cache: tuple[int, list[dict[str, Any]]] = field(init=False)

    def __post_init__(self) -> None:
        self._started = time.monotonic()  # a reset keeps the wall time that passed since start
        self.reset()

    def reset(self) -> None:
        """Back to the seeded state (keys, base URL and runtime settings are kept)."""
        cfg = self.config
        assert cfg.now is not None
        if getattr(self, "sql", None) is not None:
            self.sql.close()
        clock = Clock(cfg.now, frozen=cfg.frozen, started=self._started)
        self.generator = Generator(cfg.seed, clock)
        self.dataset = self.generator.build(cfg.customers, cfg.events_per_customer, cfg.facts_per_customer)
        self.ingest = IngestStore()
        self.limiter = RateLimiter(cfg.ingest_rps)
        self.integrations = Integrations(org_id=ORG_ID, connection_limit=cfg.connection_limit)
        self.integrations.seed(self.generator.now)
        self.platform = Platform(seed=cfg.seed, now=self.generator.now)
        self.sql = SqlEngine()
        self.routes = Counter()
        self.tools = Counter()
        self.faults = Counter()
        self.plan_calls_used = 0
        self.notifications = []
        self._fault_rng = random.Random(f"{cfg.seed}:faults")
        self._sources_cache = (-1, [])

    # ------------------------------------------------------------------------------------------ runtime
    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        unknown = set(changes) - set(RUNTIME_SETTINGS)
        if unknown:
            raise ValueError(
                f"unknown setting(s) {sorted(unknown)}; changeable: {', '.join(RUNTIME_SETTINGS)}"
            )
        candidate = SandboxConfig(**{**asdict(self.config), **changes})
        for name in RUNTIME_SETTINGS:
            setattr(self.config, name, getattr(candidate, name))
        self.config.fault_kinds = tuple(self.config.fault_kinds)
        self.limiter.rps = self.config.ingest_rps
        self.integrations.connection_limit = self.config.connection_limit
        if "plan_api_calls" in changes:
            self.plan_calls_used = 0
        return self.config.public()

    def next_fault(self) -> str | None:
        """Deterministic per seed: the n-th faultable request always gets the same verdict."""
        roll = self._fault_rng.random()
        kind = self._fault_rng.choice(self.config.fault_kinds)
        if roll < self.config.fault_rate:
            self.faults[kind] += 1
            return kind
        return None

    def plan_allows_call(self) -> bool:
        limit = self.config.plan_api_calls
        if limit is None:
            return True
        if self.plan_calls_used >= limit:
            return False
        self.plan_calls_used += 1
        return True

    # ------------------------------------------------------------------------------------------ data
    def sources_newest_first(self) -> list[dict[str, Any]]:
        version = self.dataset.version
        if self._sources_cache[0] != version:
            ordered = sorted(
                self.dataset.sources.values(), key=lambda s: (s["_ts"], s["sourceId"]), reverse=True
            )
            self._sources_cache = (version, ordered)
        return self._sources_cache[1]

    def advance(self, **kwargs: Any) -> dict[str, Any]:
        changes = self.generator.advance(self.dataset, **kwargs)
        rows: list[tuple[Any, ...]] = []
        for cid, events in self.dataset.events.items():
            # late events sit inside the list, not at its end: pick the new rows by id
            added = set(changes["events"].get(cid, ())) | set(changes["late_events"].get(cid, ()))
            if added:
                rows.extend(activity_row(e, cid) for e in events if e["id"] in added)
        self.sql.enqueue_activity(rows)
        return changes

    def stats(self) -> dict[str, Any]:
        return {
            "requests": dict(self.routes),
            "requests_total": sum(self.routes.values()),
            "tools": dict(self.tools),
            "faults": dict(self.faults),
            "faults_total": sum(self.faults.values()),
            "ingest": self.ingest.counts(),
            "plan": {"api_calls_used": self.plan_calls_used, "api_calls_limit": self.config.plan_api_calls},
            "notifications": len(self.notifications),
            "now": iso(self.dataset.now),
            "config": self.config.public(),
        }

    def dataset_summary(self) -> dict[str, Any]:
        ds = self.dataset
        return {
            "now": iso(ds.now),
            "seed": ds.seed,
            "customers": [{"id": c["id"], "domain": c["domain"]} for c in ds.customers],
            "users": [u["id"] for u in ds.users],
            "workspace_users": [w["id"] for w in ds.workspace_users],
            "timeline": {cid: [e["id"] for e in events] for cid, events in ds.events.items()},
            "facts": {
                cid: [{"id": f["id"], "status": f["status"]} for f in facts]
                for cid, facts in ds.facts.items()
            },
            "sources": [{"sourceType": t, "sourceId": i} for (t, i) in ds.sources],
            "integrations": [
                {"id": i["id"], "status": i["status"], "syncStatus": i["syncStatus"]}
                for i in self.integrations.list(False, ds.now)["items"]
            ],
            "agents": [a["id"] for a in self.platform.agents.values()],
            "automations": [a["id"] for a in self.platform.automations.values()],
            "signals": [s["id"] for s in self.platform.signals.values()],
            "destinations": [d["id"] for d in self.platform.destinations.values()],
        }

    def ingested(self, limit: int | None = None) -> dict[str, Any]:
        events = self.ingest.events if limit is None else self.ingest.events[-limit:]
        return {"events": events, "counts": self.ingest.counts()}
