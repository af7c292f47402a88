"""Constants and helpers shared by the client tests (imported by name; see conftest.py)."""

from __future__ import annotations

BASE = "https://app.outlit.ai"
KEY = "ok_live_SUPERSECRETKEY_1234567890"
PUBLIC = "pk_test_123"
NOW = 1_800_000_000.0  # the frozen wall clock the retry policy sees


class Sleeps(list):
    """Records every wait the client asks for; never waits."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.append(seconds)


def envelope(data: object, command: str = "cmd") -> dict:
    return {
        "ok": True,
        "commandId": command,
        "commandVersion": 1,
        "correlationId": "corr",
        "result": {
            "operationId": command,
            "status": "completed",
            "resources": [],
            "data": data,
            "warnings": [],
        },
    }


def command_error(code: str, message: str, *, retryable: bool = False, correlation: str = "corr_1") -> dict:
    return {
        "ok": False,
        "commandId": "cmd",
        "commandVersion": 1,
        "error": {"code": code, "message": message, "correlationId": correlation, "retryable": retryable},
    }


def ev(i: int = 0, **extra: object) -> dict:
    """A valid custom ingest event, numbered ``i``; ``extra`` adds or overrides fields."""
    return {
        "type": "custom",
        "url": "server://x",
        "path": "/",
        "eventName": f"e{i}",
        "userId": f"u{i}",
        **extra,
    }
