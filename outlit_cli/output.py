"""What every ``outlit-etl`` command prints: results, errors and progress, in one shape.

* Success: a human-readable view on stdout, or with ``--json`` exactly one JSON object on stdout.
* Failure: ``error: ...`` and ``hint: ...`` on stderr, or with ``--json`` one JSON object on stdout holding
  ``error`` (the message), ``code`` (a stable word: ``usage``, ``invalid_input``, ``configuration``,
  ``auth``, ``permission``, ``not_found``, ``rate_limited``, ``network``, ``server_error``, ``run_failed``,
  ``rejected_rows``), ``hint`` (what to do next) and ``exit_code``.
* Exit codes: 0 done, 1 the run failed (Outlit, the network or the warehouse said no), 2 bad input
  (a flag, a setting, a mapping: fix the command and run it again).
* Progress goes to stderr, and only when stderr is a terminal, so pipes and logs stay clean.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class CliError(Exception):
    """A refusal or failure the CLI itself detects, with its exit code, error code and hint."""

    def __init__(
        self, message: str, *, hint: str = "", code: str = "invalid_input", exit_code: int = EXIT_BAD_INPUT
    ) -> None:
        super().__init__(message)
        self.message, self.hint, self.code, self.exit_code = message, hint, code, exit_code


def wants_json(args: argparse.Namespace | None) -> bool:
    return bool(getattr(args, "json", False))


def emit(args: argparse.Namespace, payload: dict[str, Any], render: Callable[[], None]) -> None:
    """Print ``payload`` as one JSON object with ``--json``, else call ``render`` for the human view."""
    if wants_json(args):
        print(json.dumps(payload, default=str))
    else:
        render()


# (exception class name, code, exit code, hint), most specific first; names keep the client lazily imported.
_CLASSIFIED: tuple[tuple[str, str, int, str], ...] = (
    (
        "OutlitConfigurationError",
        "configuration",
        EXIT_BAD_INPUT,
        "set OUTLIT_API_KEY (ok_...) and, for events, OUTLIT_PUBLIC_KEY (pk_...); flags override them",
    ),
    ("OutlitUnsafeQueryError", "invalid_input", EXIT_BAD_INPUT, "send one read-only SELECT or WITH query"),
    ("OutlitUnknownToolError", "invalid_input", EXIT_BAD_INPUT, "list the tools with outlit-etl tool --help"),
    ("OutlitValidationError", "invalid_input", EXIT_BAD_INPUT, "fix the field named in the error"),
    (
        "OutlitAuthError",
        "auth",
        EXIT_RUN_FAILED,
        "check that OUTLIT_API_KEY holds a current API key (ok_...) of this workspace",
    ),
    ("OutlitPermissionError", "permission", EXIT_RUN_FAILED, "use an API key whose grants allow this call"),
    ("OutlitNotFoundError", "not_found", EXIT_RUN_FAILED, "check the id or name you passed"),
    (
        "OutlitRateLimitError",
        "rate_limited",
        EXIT_RUN_FAILED,
        "run again later, or pace requests lower (extract --requests-per-second) and raise --max-retries",
    ),
    ("OutlitPlanLimitError", "rate_limited", EXIT_RUN_FAILED, "wait for the plan limit to reset"),
    (
        "OutlitTransportError",
        "network",
        EXIT_RUN_FAILED,
        "check --base-url and the network; raise --timeout or --max-retries for a slow link",
    ),
    ("OutlitServerError", "server_error", EXIT_RUN_FAILED, "Outlit had a problem: run again later"),
    ("MappingError", "invalid_input", EXIT_BAD_INPUT, "fix the mapping file field named in the error"),
    ("UnsupportedDialectError", "invalid_input", EXIT_BAD_INPUT, ""),
    ("OutlitInputError", "invalid_input", EXIT_BAD_INPUT, ""),
    ("FileNotFoundError", "invalid_input", EXIT_BAD_INPUT, "check the path"),
    ("ValueError", "invalid_input", EXIT_BAD_INPUT, ""),
    ("TypeError", "invalid_input", EXIT_BAD_INPUT, ""),
)


def classify(exc: BaseException) -> CliError:
    """The exit code, error code and hint for an exception raised while running a command.

    Wrapped errors are looked through (dlt's ``PipelineStepFailed`` holds the source's error, a
    ``ReverseLoadError`` its cause), so a mapping error is bad input and a timeout a failed run wherever
    it was raised. The message is the outermost Outlit error's (it says which run stopped), else the cause's.
    """
    if isinstance(exc, CliError):
        return exc
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = getattr(current, "exception", None) or current.__cause__
    outlit = [e for e in chain if any(c.__name__ == "OutlitError" for c in type(e).__mro__)]
    for link in chain:
        names = {cls.__name__ for cls in type(link).__mro__}
        for name, code, exit_code, hint in _CLASSIFIED:
            if name in names:
                message = str(outlit[0] if outlit else link)
                return CliError(message, hint=hint, code=code, exit_code=exit_code)
    return CliError(
        str(outlit[0]) if outlit else f"{type(chain[-1]).__name__}: {chain[-1]}",
        hint="run again with -v for details",
        code="run_failed",
        exit_code=EXIT_RUN_FAILED,
    )


def report_error(
    args: argparse.Namespace | None, error: CliError, extra: dict[str, Any] | None = None
) -> int:
    """Print ``error`` in the command's output shape and return its exit code."""
    if wants_json(args):
        payload = dict(extra or {})
        payload.update(error=error.message, code=error.code, hint=error.hint, exit_code=error.exit_code)
        print(json.dumps(payload, default=str))
    else:
        print(f"error: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"hint: {error.hint}", file=sys.stderr)
    return error.exit_code


@contextmanager
def progress(args: argparse.Namespace, label: str) -> Iterator[Callable[[str], None]]:
    """A spinner with ``label`` on stderr while the block runs, if stderr is a terminal; yields an
    ``update(text)`` to change the label. Never touches stdout, so ``--json`` output stays parseable."""
    if not sys.stderr.isatty():
        yield lambda _text: None
        return
    from rich.console import Console

    with Console(stderr=True).status(label) as status:
        yield lambda text: status.update(text)
