"""Error raised by handlers and turned into the gateway's JSON error body by the app."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer: HTTP status plus the body fields (``error``, optional ``code``/``details``)."""

    def __init__(
        self,
        status: int,
        error: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        retryable: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.code = code
        self.details = details
        self.retryable = retryable
        self.extra = extra or {}

    def body(self, request_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.error}
        if self.code:
            body["code"] = self.code
        if self.details is not None:
            body["details"] = self.details
        body["message"] = self.error
        body["retryable"] = self.retryable
        body["requestId"] = request_id
        body.update(self.extra)
        return body


def invalid_input(details: list[dict[str, Any]]) -> ApiError:
    return ApiError(400, "Invalid tool input", code="INVALID_TOOL_INPUT", details=details)


def field_error(path: list[Any], message: str) -> ApiError:
    return invalid_input([{"path": path, "message": message}])


def not_found(what: str, key: str, field: str | list[Any]) -> ApiError:
    path = field if isinstance(field, list) else [field]
    return ApiError(
        404,
        f"{what} not found: {key!r}",
        code="NOT_FOUND",
        details=[{"path": path, "message": f"No {what.lower()} matches {key!r}"}],
    )


def refuse_unknown_keys(
    body: dict[str, Any], allowed: set[str], hint: str, code: str = "INVALID_REQUEST"
) -> None:
    """A 400 naming every key of ``body`` the route does not take, with ``hint`` saying what it takes."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(
            400,
            f"Unrecognized key(s) {', '.join(unknown)}: {hint}",
            code=code,
            details=[{"path": [k], "message": "Unrecognized key"} for k in unknown],
        )
