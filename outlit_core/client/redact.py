"""Keeping the API key out of everything the client shows: messages, exception fields, logs.

The key lives only in the config's ``SecretStr``; it is opened where it is needed (the Authorization header,
and here, to find echoes of it) and never stored anywhere else.
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from .exceptions import OutlitError

__all__ = ["REDACTED", "Redactor"]

REDACTED = "[REDACTED]"


class Redactor:
    """Removes one secret from strings, nested JSON values and exceptions."""

    def __init__(self, secret: SecretStr | None) -> None:
        self._secret = secret

    def __repr__(self) -> str:
        return "Redactor(<secret>)"

    def value(self, value: Any) -> Any:
        """``value`` with every occurrence of the secret replaced, in strings, lists, tuples and dicts."""
        secret = self._secret.get_secret_value() if self._secret is not None else ""
        return _scrub(value, secret) if secret else value

    def exception(self, exc: OutlitError) -> OutlitError:
        """Scrub every field of ``exc`` that is shown or pickled (message, code, request id, details...)."""
        secret = self._secret.get_secret_value() if self._secret is not None else ""
        if secret:
            for name, field_value in list(vars(exc).items()):
                vars(exc)[name] = _scrub(field_value, secret)
            exc.args = tuple(_scrub(a, secret) for a in exc.args)
        return exc


def _scrub(value: Any, secret: str) -> Any:
    if isinstance(value, str):
        return value.replace(secret, REDACTED) if secret in value else value
    if isinstance(value, list):
        return [_scrub(v, secret) for v in value]
    if isinstance(value, tuple):
        return tuple(_scrub(v, secret) for v in value)
    if isinstance(value, dict):
        return {_scrub(k, secret): _scrub(v, secret) for k, v in value.items()}
    return value
