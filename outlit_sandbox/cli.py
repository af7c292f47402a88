"""``outlit-sandbox serve``: run the sandbox until stopped, after printing one JSON line with its address."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime

from .server import API_KEY_ENV, build
from .state import FAULT_KINDS, SandboxConfig
from .timeutil import parse_iso


def _now(value: str) -> datetime:
    try:
        return parse_iso(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--now must be an ISO-8601 timestamp, got {value!r}") from None


def _kinds(value: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in value.split(",") if k.strip())
    unknown = set(kinds) - set(FAULT_KINDS)
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"--fault-kinds takes a comma list of {','.join(FAULT_KINDS)}")
    return kinds


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="outlit-sandbox", description="A local emulator of the Outlit public API."
    )
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the API; prints {base_url, api_key, public_key} as one JSON line")
    s.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    s.add_argument("--seed", type=int, default=42, help="dataset seed; same seed, same ids")
    s.add_argument("--customers", type=int, default=50)
    s.add_argument("--events-per-customer", type=int, default=200)
    s.add_argument("--facts-per-customer", type=int, default=20)
    s.add_argument("--fault-rate", type=float, default=0.0, help="share of /api requests that fail (0..1)")
    s.add_argument(
        "--fault-kinds", type=_kinds, default=FAULT_KINDS, help="comma list of " + ",".join(FAULT_KINDS)
    )
    s.add_argument("--slow-seconds", type=float, default=0.5, help="stall of a 'slow' fault")
    s.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds on injected 429/503")
    s.add_argument(
        "--ingest-rps", type=float, default=100.0, help="ingest requests per second per public key"
    )
    s.add_argument(
        "--api-key", default=None, help=f"API key to accept (default: ${API_KEY_ENV} or a random one)"
    )
    s.add_argument("--public-key", default=None, help="ingest public key, starts with pk_ (default: random)")
    s.add_argument("--plan-api-calls", type=int, default=None, help="tool-call allowance (default unlimited)")
    s.add_argument("--plan-limit-status", type=int, choices=(402, 429), default=429)
    s.add_argument("--connection-limit", type=int, default=8, help="plan integration connection limit")
    s.add_argument("--now", type=_now, default=None, help="where the clock starts (default: the start time)")
    s.add_argument(
        "--frozen", action="store_true", help="keep the clock at --now (moved only by /_sandbox/advance)"
    )
    s.add_argument(
        "--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug")
    )
    s.add_argument("--access-log", action="store_true", help="log every request to stderr")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = SandboxConfig(
            seed=args.seed,
            customers=args.customers,
            events_per_customer=args.events_per_customer,
            facts_per_customer=args.facts_per_customer,
            fault_rate=args.fault_rate,
            fault_kinds=args.fault_kinds,
            slow_seconds=args.slow_seconds,
            retry_after=args.retry_after,
            ingest_rps=args.ingest_rps,
            api_key=args.api_key or os.environ.get(API_KEY_ENV, ""),
            public_key=args.public_key or "",
            plan_api_calls=args.plan_api_calls,
            plan_limit_status=args.plan_limit_status,
            connection_limit=args.connection_limit,
            now=args.now,
            frozen=args.frozen,
        )
        # uvloop ("auto") for a standalone server; in-process mode keeps the default loop policy
        server, sock, state = build(
            config, args.host, args.port, log_level=args.log_level, access_log=args.access_log, loop="auto"
        )
    except (ValueError, OSError) as err:
        print(f"outlit-sandbox: {err}", file=sys.stderr)
        return 2
    print(
        json.dumps({"base_url": state.base_url, "api_key": config.api_key, "public_key": config.public_key}),
        flush=True,
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        state.sql.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
