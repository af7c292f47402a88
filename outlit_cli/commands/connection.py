"""The flags every subcommand shares (``--json``, ``-v``, the Outlit connection) and the client they build."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from outlit_cli.output import EXIT_BAD_INPUT, EXIT_OK, EXIT_RUN_FAILED, CliError

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_OK",
    "EXIT_RUN_FAILED",
    "add_command",
    "add_common_args",
    "add_connection_args",
    "client_from_args",
    "client_options",
]

ENV_TIMEOUT = "OUTLIT_TIMEOUT"
ENV_MAX_RETRIES = "OUTLIT_MAX_RETRIES"


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """``--json`` and ``-v``, accepted after the command as well as before it (``SUPPRESS`` keeps a value
    given before the command from being reset by the subcommand's default)."""
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print one JSON object on stdout (errors too: error, code, hint)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log progress and retries"
    )


def add_command(
    subparsers: Any,
    name: str,
    handler: Callable[[argparse.Namespace], int],
    *,
    connection: bool = True,
    public_key: bool = False,
    **parser_options: Any,
) -> argparse.ArgumentParser:
    """The parser of one subcommand that runs ``handler``, with ``--json``/``-v`` and (unless
    ``connection=False``) the Outlit connection flags on it; the caller adds the command's own arguments."""
    parser: argparse.ArgumentParser = subparsers.add_parser(name, **parser_options)
    parser.set_defaults(handler=handler)
    if connection:
        add_connection_args(parser, public_key=public_key)
    else:
        add_common_args(parser)
    return parser


def add_warehouse_arg(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--from``: the warehouse a reverse-load command reads (reverse-load, sync-status, sync-reset)."""
    parser.add_argument("--from", dest="source", required=True, metavar="URL_OR_FILE", help=help_text)


def add_connection_args(parser: argparse.ArgumentParser, *, public_key: bool = False) -> None:
    add_common_args(parser)
    group = parser.add_argument_group("Outlit connection (default: OUTLIT_* environment variables)")
    if public_key:
        group.add_argument("--public-key", help="workspace public key pk_... (default: $OUTLIT_PUBLIC_KEY)")
    group.add_argument("--base-url", help="API base URL (default: $OUTLIT_BASE_URL or https://app.outlit.ai)")
    group.add_argument(
        "--api-key",
        help="API key ok_... (default: $OUTLIT_API_KEY; prefer the variable, flags show up in process lists)",
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        help=f"seconds to wait for each response (default: ${ENV_TIMEOUT} or 30)",
    )
    group.add_argument(
        "--max-retries",
        metavar="N",
        help=f"retries after a 429, 5xx or network error, 0 for none (default: ${ENV_MAX_RETRIES} or the "
        "client's 5); -v logs each retry with its reason and wait",
    )


def _number(raw: str | None, *, flag: str, env: str, kind: type) -> Any:
    if raw is None or not str(raw).strip():
        return None
    where = f"{flag} {raw!r}" if flag else f"{env}={raw!r}"
    try:
        value = kind(str(raw).strip())
    except ValueError:
        example = "30" if kind is float else "3"
        raise CliError(
            f"{where} is not a {'number' if kind is float else 'whole number'}",
            hint=f"pass e.g. {flag or env}{' ' if flag else '='}{example}",
        ) from None
    if (kind is float and value <= 0) or (kind is int and value < 0):
        bound = "greater than 0" if kind is float else "0 or more"
        raise CliError(f"{where} must be {bound}", hint=f"pass e.g. {flag or env}{' ' if flag else '='}30")
    return value


def client_options(args: argparse.Namespace) -> dict[str, Any]:
    """``timeout`` and ``max_retries`` from the flags, else OUTLIT_TIMEOUT / OUTLIT_MAX_RETRIES; only
    those set. A bad value is refused here (exit 2) naming the flag or variable it came from."""
    options: dict[str, Any] = {}
    for name, flag, env, kind in (
        ("timeout", "--timeout", ENV_TIMEOUT, float),
        ("max_retries", "--max-retries", ENV_MAX_RETRIES, int),
    ):
        given = getattr(args, name, None)
        value = (
            _number(given, flag=flag, env=env, kind=kind)
            if given is not None
            else _number(os.environ.get(env), flag="", env=env, kind=kind)
        )
        if value is not None:
            options[name] = value
    return options


def client_from_args(args: argparse.Namespace, **settings: Any) -> Any:
    """An :class:`OutlitClient` from the environment, with any connection flags given taking precedence."""
    from outlit_core.client import OutlitClient

    names = ("public_key", "base_url", "api_key")
    overrides = {name: getattr(args, name) for name in names if getattr(args, name, None)}
    return OutlitClient.from_env(**{**settings, **overrides, **client_options(args)})
