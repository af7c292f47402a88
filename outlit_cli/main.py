"""``outlit-etl``: the command-line entry point.

Each subcommand lives in its own module exposing ``register(subparsers)``, which adds its parser and sets
``handler`` (a function taking the parsed args and returning an exit code, or raising: errors are reported
here, in one shape, see :mod:`outlit_cli.output`). Add a command by appending its module to
``COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from outlit_cli.output import EXIT_BAD_INPUT, CliError, classify, report_error

COMMAND_MODULES: list[str] = [
    "outlit_cli.commands.api",
    "outlit_cli.commands.extract",
    "outlit_cli.commands.reverse_load",
    "outlit_cli.commands.ledger",
]


class _UsageError(Exception):
    def __init__(self, message: str, prog: str) -> None:
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """Raises usage errors instead of exiting, so that ``--json`` can report them like any other error."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message, self.prog)


def build_parser() -> argparse.ArgumentParser:
    from outlit_core import __version__

    parser = _Parser(
        prog="outlit-etl",
        description="Move data between your warehouse and Outlit. Exit codes: 0 done, 1 the run failed, "
        "2 bad input. Every command takes --json (one JSON object on stdout, errors included).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress and retries to stderr")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        error = CliError(str(exc), hint=f"see {exc.prog} --help", code="usage", exit_code=EXIT_BAD_INPUT)
        if "--json" not in argv:
            print(f"usage error: {exc.prog}: {exc}", file=sys.stderr)
            print(f"hint: {error.hint}", file=sys.stderr)
            return EXIT_BAD_INPUT
        return report_error(argparse.Namespace(json=True), error)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.handler(args))
    except BrokenPipeError:
        # The reader went away (`outlit-etl tool ... --all | head`): stop quietly, like other Unix tools.
        # Point stdout at devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.verbose:
            logging.getLogger("outlit_cli").exception("%s failed", args.command)
        return report_error(args, classify(exc))


if __name__ == "__main__":
    raise SystemExit(main())
