"""``outlit-etl``: the command-line entry point.

Each subcommand lives in its own module exposing ``register(subparsers)``, which adds its parser and sets
``handler`` (a function taking the parsed args and returning an exit code). Add a command by appending its
module to ``COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

COMMAND_MODULES: list[str] = [
    "outlit_cli.commands.api",
    "outlit_cli.commands.extract",
    "outlit_cli.commands.reverse_load",
]


def build_parser() -> argparse.ArgumentParser:
    from outlit_core import __version__

    parser = argparse.ArgumentParser(
        prog="outlit-etl",
        description="Move data between your warehouse and Outlit.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    raise SystemExit(main())
