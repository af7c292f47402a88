"""The exceptions the Outlit client raises.

Every exception carries ``status_code``, ``code``, ``request_id``, ``retryable`` and ``details`` so that a
caller (an Airflow task, a dlt resource) can decide what to do without parsing messages. Messages are built
from server responses that the client scrubs of its own credentials first, so none of them ever holds the
API key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict, Unpack

__all__ = [
    "OutlitAPIError",
    "OutlitArgumentError",
    "OutlitAuthError",
    "OutlitConfigurationError",
    "OutlitConflictError",
    "OutlitError",
    "OutlitEventError",
    "OutlitInputError",
    "OutlitNotFoundError",
    "OutlitPermissionError",
    "OutlitPlanLimitError",
    "OutlitRateLimitError",
    "OutlitResponseError",
    "OutlitServerError",
    "OutlitToolInputError",
    "OutlitTransportError",
    "OutlitUnknownToolError",
    "OutlitUnsafeQueryError",
    "OutlitValidationError",
]


class ErrorFields(TypedDict, total=False):
    """What an :class:`OutlitError` may carry besides its message, each given by keyword."""

    status_code: int | None
    code: str | None
    request_id: str | None
    retryable: bool
    details: Any
    #: seconds the server asked us to wait before trying again (Retry-After, X-RateLimit-Reset, resetAt)
    retry_after: float | None
    #: True when the request may have taken effect although it failed (timeout after sending, 5xx):
    #: writes are then not retried unless the caller opted in
    ambiguous: bool


class OutlitError(Exception):
    """Base class of everything the Outlit client raises."""

    def __init__(self, message: str, **fields: Unpack[ErrorFields]) -> None:
        unknown = sorted(set(fields) - set(ErrorFields.__annotations__))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}() got unexpected keyword argument(s): {', '.join(unknown)}"
            )
        super().__init__(message)
        self.message = message
        self.status_code = fields.get("status_code")
        self.code = fields.get("code")
        self.request_id = fields.get("request_id")
        self.retryable = fields.get("retryable", False)
        self.details = fields.get("details")
        self.retry_after = fields.get("retry_after")
        self.ambiguous = fields.get("ambiguous", False)
        #: the URL contacted (public key masked), when a request was made
        self.url: str | None = None
        #: set by ``send_events`` (an ``IngestResult``) and ``send_prepared`` (a ``DeliveryReport``) when they
        #: fail part way: what Outlit had already confirmed before this error, so a caller can record it
        self.partial_result: Any = None
        #: requests made for the call that raised this, retries included (set when it gives up)
        self.attempts = 1

    def __str__(self) -> str:
        extras = []
        if self.status_code is not None:
            extras.append(f"HTTP {self.status_code}")
        if self.code:
            extras.append(f"code={self.code}")
        if self.request_id:
            extras.append(f"request_id={self.request_id}")
        return f"{self.message} ({', '.join(extras)})" if extras else self.message

    def extend(self, text: str) -> None:
        """Add ``text`` to the message (e.g. how many attempts were made before giving up)."""
        self.message = f"{self.message}{text}"
        self.args = (self.message,)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status_code={self.status_code!r}, code={self.code!r}, "
            f"request_id={self.request_id!r}, retryable={self.retryable!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the keyword-only state when an exception crosses a process boundary (Airflow, dlt workers).
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[OutlitError], message: str, state: dict[str, Any]) -> OutlitError:
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    exc.__dict__.update(state)
    return exc


class OutlitInputError(OutlitError, ValueError):
    """An input refused before anything was sent: a bad setting, tool input, SQL, event, mapping or row.

    Also a ``ValueError``, so callers that validate their own input catch it the usual way. ``details`` is a
    list of ``{"path": [...], "message": str}`` when the refusal names fields.
    """


class OutlitConfigurationError(OutlitInputError):
    """The client was set up wrongly (missing key, insecure URL, bad limits); nothing was sent."""


class OutlitToolInputError(OutlitInputError):
    """A tool name or tool input the client refused before sending; ``details`` names the fields."""


class OutlitUnknownToolError(OutlitToolInputError):
    """The tool name is not one of the public Outlit tools; ``suggestions`` holds the nearest names."""

    def __init__(
        self, message: str, *, suggestions: list[str] | None = None, **fields: Unpack[ErrorFields]
    ) -> None:
        super().__init__(message, **fields)
        self.suggestions = suggestions or []


class OutlitUnsafeQueryError(OutlitInputError):
    """The SQL for ``outlit_query`` is not one read-only SELECT over the analytics views; it was not sent."""


class OutlitEventError(OutlitInputError):
    """An ingest event or batch setting the client refused before sending (``details`` names the field)."""


class OutlitArgumentError(OutlitInputError):
    """Another argument of a client method is wrong (provider, platform action, session id, ...)."""


class OutlitTransportError(OutlitError):
    """The request did not get an HTTP response: connection refused or reset, timeout, TLS failure.

    ``ambiguous`` is true when the request may have reached Outlit before the failure (read timeout,
    connection dropped mid-response): a write may then have taken effect.
    """

    def __init__(self, message: str, **fields: Unpack[ErrorFields]) -> None:
        fields.setdefault("retryable", True)
        fields.setdefault("ambiguous", True)
        super().__init__(message, **fields)


class OutlitAPIError(OutlitError):
    """Outlit answered with an error status or an error envelope."""


class OutlitAuthError(OutlitAPIError):
    """401: the API key is missing, invalid or disabled."""


class OutlitPermissionError(OutlitAPIError):
    """403: the key lacks a scope, the public key is invalid, or the domain is not allowed."""


class OutlitNotFoundError(OutlitAPIError):
    """404: the resource does not exist for this organization."""


class OutlitConflictError(OutlitAPIError):
    """409: the change conflicts with the current platform state."""


class OutlitValidationError(OutlitAPIError):
    """400/422 from Outlit: it refused the request. ``details`` is a list of ``{"path": [...], "message":
    str}``, one per problem. (Refusals made by the client before sending are :class:`OutlitInputError`.)
    """


class OutlitResponseError(OutlitAPIError):
    """Outlit answered with something the client cannot use: a body of the wrong shape
    (``code="unexpected_response"``), larger than ``max_response_bytes`` (``"response_too_large"``), or
    pagination that does not end (``"pagination_loop"``, ``"pagination_limit"``)."""


class OutlitRateLimitError(OutlitAPIError):
    """429 without a plan code: too many requests; ``retry_after`` says how long to wait."""


class OutlitPlanLimitError(OutlitAPIError):
    """402/429 (or 403 for connections) with a plan ``code``: an allowance of the plan is exhausted.

    ``reset_at`` (UTC) says when the allowance renews, when Outlit reports it.
    """

    def __init__(
        self,
        message: str,
        *,
        plan: str | None = None,
        feature: str | None = None,
        reset_at: datetime | None = None,
        limit: int | None = None,
        current: int | None = None,
        **fields: Unpack[ErrorFields],
    ) -> None:
        super().__init__(message, **fields)
        self.plan = plan
        self.feature = feature
        self.reset_at = reset_at
        self.limit = limit
        self.current = current

    def __str__(self) -> str:
        text = super().__str__()
        if self.reset_at is not None:
            text += f"; the allowance resets at {self.reset_at.isoformat()}"
        return text


class OutlitServerError(OutlitAPIError):
    """5xx: Outlit failed to handle the request."""
