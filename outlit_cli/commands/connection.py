"""The Outlit connection flags every subcommand shares, and the client built from them."""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def add_connection_args(parser: argparse.ArgumentParser, *, public_key: bool = False) -> None:
    group = parser.add_argument_group("Outlit connection (default: OUTLIT_* environment variables)")
    if public_key:
        group.add_argument("--public-key", help="workspace public key pk_... (default: $OUTLIT_PUBLIC_KEY)")
    group.add_argument("--base-url", help="API base URL (default: $OUTLIT_BASE_URL or https://app.outlit.ai)")
    group.add_argument(
        "--api-key",
        help="API key ok_... (default: $OUTLIT_API_KEY; prefer the variable, flags show up in process lists)",
    )


def client_from_args(args: argparse.Namespace, **settings: Any) -> Any:
    """An :class:`OutlitClient` from the environment, with any connection flags given taking precedence."""
    from outlit_core.client import OutlitClient

    names = ("public_key", "base_url", "api_key")
    overrides = {name: getattr(args, name) for name in names if getattr(args, name, None)}
    return OutlitClient.from_env(**settings, **overrides)


def fail(exc: BaseException, code: int = EXIT_BAD_INPUT) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return code
