"""Reading Outlit's answers: status and error envelopes to exceptions, and the shape of each result checked.

No I/O here: an answer arrives as a :class:`Reply` (status, headers, decoded body) from whichever client
made the request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import httpx

from .exceptions import (
    OutlitAPIError,
    OutlitAuthError,
    OutlitConflictError,
    OutlitError,
    OutlitNotFoundError,
    OutlitPermissionError,
    OutlitPlanLimitError,
    OutlitRateLimitError,
    OutlitResponseError,
    OutlitServerError,
    OutlitTransportError,
    OutlitValidationError,
)
from .models import ApiKeyInfo, QueryResult
from .retry import parse_reset_at, server_wait

# Command-envelope error codes -> exception class, used when the HTTP status alone does not say.
_ENVELOPE_CODES: dict[str, type[OutlitAPIError]] = {
    "validation_failed": OutlitValidationError,
    "authorization_denied": OutlitPermissionError,
    "not_found": OutlitNotFoundError,
    "conflict": OutlitConflictError,
    "rate_limited": OutlitRateLimitError,
    "transient_failure": OutlitServerError,
}
_STATUS_CLASSES: dict[int, type[OutlitAPIError]] = {
    400: OutlitValidationError,
    401: OutlitAuthError,
    403: OutlitPermissionError,
    404: OutlitNotFoundError,
    409: OutlitConflictError,
    422: OutlitValidationError,
    429: OutlitRateLimitError,
}
_PLAN_CODES = ("api_limit_exceeded", "plan_", "billing")
# Statuses that are never retried, whatever the body's "retryable" says, and the command-envelope codes that
# carry the same meaning when the envelope comes with a 2xx status.
_NEVER_RETRY = frozenset({400, 401, 403, 404})
_NEVER_RETRY_CODES = frozenset({"validation_failed", "authorization_denied", "not_found"})
_REQUEST_ID_HEADERS = ("x-request-id", "x-correlation-id", "x-outlit-request-id")


@dataclass(frozen=True)
class Reply:
    """One HTTP answer, read whole (and decoded) by the client that sent the request."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    reason_phrase: str = ""

    def json(self) -> Any:
        if not self.content:
            return None
        try:
            return json.loads(self.content)
        except ValueError:
            return None


@dataclass
class Outcome:
    """A finished call: the parsed JSON body, the answer, and how many retries it took."""

    data: Any
    response: Reply
    retries: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def finish(
    label: str, reply: Reply, retries: int, *, ingest: bool, now: float, policy_statuses: frozenset[int]
) -> Outcome | OutlitError:
    """Turn an answer into an :class:`Outcome`, or the error to raise or retry."""
    status = reply.status_code
    body = reply.json()
    if ingest and status == 400 and isinstance(body, dict) and names_events(body):
        return Outcome(body, reply, retries)
    if 200 <= status < 300:
        if body is None and reply.content:
            return OutlitServerError(
                f"{label}: Outlit answered {status} with a body that is not JSON",
                status_code=status,
                retryable=True,
                ambiguous=True,
                request_id=request_id(reply, None),
            )
        if isinstance(body, dict) and body.get("ok") is False and isinstance(body.get("error"), dict):
            return error(label, reply, body, ingest=ingest, now=now, policy_statuses=policy_statuses)
        return Outcome(body, reply, retries)
    return error(label, reply, body, ingest=ingest, now=now, policy_statuses=policy_statuses)


def error(
    label: str, reply: Reply, body: Any, *, ingest: bool, now: float, policy_statuses: frozenset[int]
) -> OutlitError:
    status = reply.status_code
    info = _error_fields(body)
    message = info["message"] or reply.reason_phrase or "request failed"
    code = info["code"] if isinstance(info["code"], str) else None
    req_id = request_id(reply, info["request_id"])
    if _is_plan_error(status, code, body):
        reset_at = parse_reset_at(body.get("resetAt"))
        server_retryable = info["retryable"]
        return OutlitPlanLimitError(
            f"{label}: {message}",
            status_code=status,
            code=code,
            request_id=req_id,
            retryable=(status == 429 if server_retryable is None else server_retryable)
            and not _never_retry(status, code),
            details=info["details"],
            plan=_text_or_none(body.get("plan")),
            feature=_text_or_none(body.get("feature")),
            reset_at=reset_at,
            limit=_int_or_none(body.get("limit")),
            current=_int_or_none(body.get("currentConnections")),
            retry_after=server_wait(reply.headers, now, reset_at),
        )
    cls = _STATUS_CLASSES.get(status)
    if cls is None and status >= 500:
        cls = OutlitServerError
    if cls is None or (status < 300 and code in _ENVELOPE_CODES):
        cls = _ENVELOPE_CODES.get(code or "", OutlitAPIError)
    retryable = info["retryable"]
    if _never_retry(status, code):
        # The same request would get the same answer: a body saying "retryable" does not change that.
        retryable = False
    elif retryable is None:
        retryable = status in policy_statuses or cls in (OutlitServerError, OutlitRateLimitError)
    # A 500/502/504 may come after the server acted; only an explicit "retryable" from Outlit clears that
    # doubt. A 503 means the request was not handled (RFC 9110), so even a write may be sent again.
    ambiguous = status >= 500 and status != 503 and info["retryable"] is not True
    hint = ""
    if status == 401:
        hint = " (check the Outlit API key, e.g. OUTLIT_API_KEY)"
    elif status == 403 and ingest:
        hint = " (check the public key and the domains allowed in Outlit's tracking settings)"
    return cls(
        f"{label}: {message}{hint}",
        status_code=status,
        code=code,
        request_id=req_id,
        retryable=bool(retryable),
        details=info["details"],
        retry_after=server_wait(reply.headers, now),
        ambiguous=ambiguous,
    )


def transport_error(
    label: str, url: str, exc: BaseException, attempt_timeout: float | None
) -> OutlitTransportError:
    """One line naming the URL contacted and the cause."""
    # Failures before the request left the machine cannot have changed anything on Outlit's side.
    unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    retryable = not isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError | httpx.ProxyError)
    detail = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        cause = f"could not connect ({type(exc).__name__}: {detail})"
    elif isinstance(exc, httpx.TimeoutException):
        within = f" within {attempt_timeout:g} s" if attempt_timeout else ""
        cause = f"no complete answer{within} ({type(exc).__name__})"
    else:
        cause = f"{type(exc).__name__}: {detail}"
    failure = OutlitTransportError(
        f"{label}: {cause} from {url}", retryable=retryable, ambiguous=not unsent, code=type(exc).__name__
    )
    failure.url = url
    return failure


def request_id(reply: Reply, from_body: Any) -> str | None:
    for header in _REQUEST_ID_HEADERS:
        if reply.headers.get(header):
            return reply.headers[header]
    return _text_or_none(from_body)


def unexpected(label: str, what: str) -> OutlitResponseError:
    return OutlitResponseError(f"{label}: unexpected answer from Outlit: {what}", code="unexpected_response")


# --- result shapes ----------------------------------------------------------------------------------------


def json_object(label: str, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise unexpected(label, f"expected a JSON object, got {_kind(data)}")
    return data


def object_list(label: str, data: Any, key: str) -> list[dict[str, Any]]:
    items = json_object(label, data).get(key)
    # map() keeps the per-item check in C: a 1000-item page costs microseconds, not a Python loop
    if not isinstance(items, list) or not all(map(isinstance, items, repeat(dict))):
        raise unexpected(label, f"{key!r} must be a list of objects, got {_kind(items)}")
    return items


def api_key_info(label: str, data: Any) -> ApiKeyInfo:
    if not isinstance(data, dict) or data.get("valid") is False or "organizationId" not in data:
        raise OutlitAuthError(
            "the API key was not accepted: Outlit did not confirm it as valid", status_code=200
        )
    if not isinstance(data["organizationId"], str) or not data["organizationId"]:
        raise unexpected(label, "organizationId is not a string")
    return ApiKeyInfo.from_response(data)


def query_result(label: str, data: Any) -> QueryResult:
    rows = object_list(label, data, "data")
    meta = data.get("metadata", {})
    if not isinstance(meta, dict):
        raise unexpected(label, f"'metadata' must be an object, got {_kind(meta)}")
    return QueryResult.from_response({**data, "data": rows, "metadata": meta})


def tool_page(label: str, data: Any, items_key: str | None, paginated: bool) -> dict[str, Any]:
    """A tool result: an object; a list tool's items a list of objects, its pagination an object."""
    page = json_object(label, data)
    if items_key is not None:
        object_list(label, page, items_key)
    if paginated and "pagination" in page and not isinstance(page["pagination"], dict | None):
        raise unexpected(label, f"'pagination' must be an object, got {_kind(page['pagination'])}")
    return page


def platform_data(label: str, data: Any) -> Any:
    if not isinstance(data, dict) or data.get("ok") is not True or not isinstance(data.get("result"), dict):
        raise unexpected(label, "not a command envelope with ok=true and a result")
    return data["result"].get("data")


# --- helpers ----------------------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def is_position(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def names_event(error: Any) -> bool:
    """True for ``{"path": ["events", i, ...]}`` and for ``{"index": i}`` (i >= 0; -1 is the request)."""
    if not isinstance(error, dict):
        return False
    path = error.get("path")
    if isinstance(path, list) and len(path) >= 2 and path[0] == "events" and is_position(path[1]):
        return True
    return is_position(error.get("index"))


def event_position(error: dict[str, Any]) -> tuple[int, list[str | int]]:
    """The event's position in the batch and the field within it (empty when only ``index`` is given)."""
    path = error.get("path")
    if isinstance(path, list) and len(path) >= 2 and path[0] == "events" and is_position(path[1]):
        return path[1], list(path[2:])
    return error["index"], []


def names_events(body: dict[str, Any]) -> bool:
    errors = body.get("errors")
    if not isinstance(errors, list) or not errors:
        return False
    return all(names_event(e) for e in errors)


def _error_fields(body: Any) -> dict[str, Any]:
    """Message, code, request id, retryable and details from any of Outlit's error shapes."""
    out: dict[str, Any] = {
        "message": None,
        "code": None,
        "request_id": None,
        "retryable": None,
        "details": None,
    }
    if not isinstance(body, dict):
        if isinstance(body, str):
            out["message"] = body[:500]
        return out
    error = body.get("error")
    if isinstance(error, dict):  # command envelope
        out["message"] = error.get("message")
        out["code"] = error.get("code")
        out["request_id"] = error.get("correlationId") or body.get("correlationId")
        out["retryable"] = error.get("retryable") if isinstance(error.get("retryable"), bool) else None
        out["details"] = error.get("details")
    else:
        out["message"] = error if isinstance(error, str) else body.get("message")
        out["code"] = body.get("code") if isinstance(body.get("code"), str) else None
        out["request_id"] = body.get("requestId") or body.get("correlationId")
        if isinstance(body.get("retryable"), bool):
            out["retryable"] = body["retryable"]
        details = body.get("details")
        if details is None and isinstance(body.get("errors"), list):
            details = body["errors"]
        out["details"] = details
    if not isinstance(out["message"], str):
        out["message"] = None
    details = out["details"]
    if isinstance(details, list) and details and out["message"] in ("Invalid tool input", None):
        parts = []
        for d in details[:5]:
            if isinstance(d, dict):
                where = ".".join(str(p) for p in d.get("path") or []) or "input"
                parts.append(f"{where}: {d.get('message')}")
        if parts:
            out["message"] = f"{out['message'] or 'invalid request'}: " + "; ".join(parts)
    return out


def _never_retry(status: int, code: str | None) -> bool:
    return status in _NEVER_RETRY or (status < 300 and code in _NEVER_RETRY_CODES)


def _is_plan_error(status: int, code: str | None, body: Any) -> bool:
    if not code or not isinstance(body, dict):
        return False
    if status == 402:
        return True
    if status not in (403, 429):
        return False
    return any(marker in code for marker in _PLAN_CODES) or "plan" in body or "resetAt" in body
