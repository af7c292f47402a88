"""What the `outlit-etl` tests share: running the CLI in-process and pointing it at a sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from outlit_cli import main as cli


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``outlit-etl <argv>`` as typed: its exit code, stdout and stderr."""
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def use_sandbox(monkeypatch: pytest.MonkeyPatch, sandbox: Any, *, public_key: bool = True) -> Any:
    """Point the CLI's environment variables (OUTLIT_API_KEY, _BASE_URL, _PUBLIC_KEY) at ``sandbox``."""
    monkeypatch.setenv("OUTLIT_API_KEY", sandbox.api_key)
    monkeypatch.setenv("OUTLIT_BASE_URL", sandbox.base_url)
    if public_key:
        monkeypatch.setenv("OUTLIT_PUBLIC_KEY", sandbox.public_key)
    return sandbox
