"""Everything the sync and async clients share: building requests, reading responses, mapping errors,
deciding on retries and logging. The two clients only differ in how they do I/O and wait.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from .config import ClientConfig
from .events import BatchResult, EventRejection, PreparedEvent, encode_body
from .exceptions import (
    OutlitAPIError,
    OutlitAuthError,
    OutlitConflictError,
    OutlitError,
    OutlitNotFoundError,
    OutlitPermissionError,
    OutlitPlanLimitError,
    OutlitRateLimitError,
    OutlitServerError,
    OutlitTransportError,
    OutlitValidationError,
)
from .models import ApiKeyInfo, QueryResult
from .platform import resolve_platform_route
from .retry import parse_reset_at, server_wait
from .tools import ToolSpec, validate_tool_input

log = logging.getLogger("outlit_core.client")

PROVIDERS = (
    "hubspot",
    "attio",
    "slack",
    "fireflies",
    "granola",
    "google-calendar",
    "google-mail",
    "posthog",
    "stripe",
    "supabase",
    "clerk",
    "pylon",
)

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
# Statuses that are never retried, whatever the body's "retryable" says (issue 2), and the command-envelope
# codes that carry the same meaning when the envelope comes with a 2xx status.
_NEVER_RETRY = frozenset({400, 401, 403, 404})
_NEVER_RETRY_CODES = frozenset({"validation_failed", "authorization_denied", "not_found"})


@dataclass(frozen=True)
class Call:
    """One logical API call; retried attempts reuse it."""

    method: str
    path: str
    #: what logs and errors call it: "tool outlit_list_customers", "GET /api/agents"
    label: str
    params: Mapping[str, Any] | None = None
    json_body: Any = None
    content: bytes | None = None
    auth: bool = True
    #: safe to repeat even when an earlier attempt may have taken effect
    idempotent: bool = True
    #: an ingest call: rate limited, and a 400 naming events is a result rather than an error
    ingest: bool = False
    retry_writes: bool = False


@dataclass
class Outcome:
    """A finished call: the parsed JSON body, the response, and how many retries it took."""

    data: Any
    response: httpx.Response
    retries: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Core:
    """Shared, I/O-free logic bound to one :class:`ClientConfig`."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.policy = config.retry
        self._secret = config.api_key.get_secret_value() if config.api_key is not None else None

    # --- transport ----------------------------------------------------------------------------------

    def client_kwargs(self) -> dict[str, Any]:
        return {
            "base_url": self.config.base_url,
            "timeout": self.config.timeout,
            "headers": {"User-Agent": self.config.user_agent, "Accept": "application/json"},
            "follow_redirects": False,
        }

    def build(self, http: httpx.Client | httpx.AsyncClient, call: Call) -> httpx.Request:
        headers: dict[str, str] = {}
        if call.auth:
            headers["Authorization"] = f"Bearer {self.config.require_api_key()}"
        content = call.content
        if content is None and call.json_body is not None:
            content = json.dumps(call.json_body, separators=(",", ":"), ensure_ascii=False).encode()
        if content is not None:
            headers["Content-Type"] = "application/json"
        params = {k: v for k, v in (call.params or {}).items() if v is not None}
        return http.build_request(call.method, call.path, params=params, content=content, headers=headers)

    # --- scrubbing ----------------------------------------------------------------------------------

    def scrub(self, value: Any) -> Any:
        """Remove the API key from anything that came back from the server before we show it."""
        if not self._secret:
            return value
        if isinstance(value, str):
            return value.replace(self._secret, "[REDACTED]")
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        return value

    # --- responses ----------------------------------------------------------------------------------

    def log_response(self, call: Call, response: httpx.Response, started: float, retries: int) -> None:
        self._log_attempt(call, response.status_code, started, retries)

    def log_transport_error(
        self, call: Call, error: OutlitTransportError, started: float, retries: int
    ) -> None:
        # Failed attempts get the same line as answered ones: a slow timeout is what one looks for at DEBUG.
        self._log_attempt(call, error.code or "transport error", started, retries)

    def _log_attempt(self, call: Call, outcome: object, started: float, retries: int) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s -> %s in %.1f ms (attempt %d)",
                call.label,
                outcome,
                (time.perf_counter() - started) * 1000.0,
                retries + 1,
            )

    def finish(self, call: Call, response: httpx.Response, retries: int) -> Outcome | OutlitError:
        """Turn a response into an :class:`Outcome`, or the error to raise or retry."""
        status = response.status_code
        body = _json_or_none(response)
        if call.ingest and status == 400 and isinstance(body, dict) and _names_events(body):
            return Outcome(body, response, retries)
        if 200 <= status < 300:
            if body is None and response.content:
                return OutlitServerError(
                    f"{call.label}: Outlit answered {status} with a body that is not JSON",
                    status_code=status,
                    retryable=True,
                    ambiguous=True,
                    request_id=_request_id(response, None),
                )
            if isinstance(body, dict) and body.get("ok") is False and isinstance(body.get("error"), dict):
                return self.error(call, response, body)
            return Outcome(body, response, retries)
        return self.error(call, response, body)

    def error(self, call: Call, response: httpx.Response, body: Any) -> OutlitError:
        status = response.status_code
        info = _error_fields(body)
        message = self.scrub(info["message"]) or response.reason_phrase or "request failed"
        code = info["code"]
        request_id = _request_id(response, info["request_id"])
        details = self.scrub(info["details"])
        now = self.policy.clock()
        if _is_plan_error(status, code, body):
            reset_at = parse_reset_at(body.get("resetAt"))
            server_retryable = info["retryable"]
            exc: OutlitError = OutlitPlanLimitError(
                f"{call.label}: {message}",
                status_code=status,
                code=code,
                request_id=request_id,
                retryable=(status == 429 if server_retryable is None else server_retryable)
                and not _never_retry(status, code),
                details=details,
                plan=body.get("plan"),
                feature=body.get("feature"),
                reset_at=reset_at,
                limit=body.get("limit"),
                current=body.get("currentConnections"),
                retry_after=server_wait(response.headers, now, reset_at),
            )
            return exc
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
            retryable = status in self.policy.statuses or cls in (OutlitServerError, OutlitRateLimitError)
        # A 500/502/504 may come after the server acted; only an explicit "retryable" from Outlit clears that
        # doubt. A 503 means the request was not handled (RFC 9110), so even a write may be sent again.
        ambiguous = status >= 500 and status != 503 and info["retryable"] is not True
        hint = ""
        if status == 401:
            hint = " (check the Outlit API key, e.g. OUTLIT_API_KEY)"
        elif status == 403 and call.ingest:
            hint = " (check the public key and the domains allowed in Outlit's tracking settings)"
        return cls(
            f"{call.label}: {message}{hint}",
            status_code=status,
            code=code,
            request_id=request_id,
            retryable=bool(retryable),
            details=details,
            retry_after=server_wait(response.headers, now),
            ambiguous=ambiguous,
        )

    def transport_error(self, call: Call, exc: httpx.TransportError) -> OutlitTransportError:
        # Failures before the request left the machine cannot have changed anything on Outlit's side.
        unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        retryable = not isinstance(
            exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError | httpx.ProxyError
        )
        text = self.scrub(str(exc)) or type(exc).__name__
        return OutlitTransportError(
            f"{call.label}: {type(exc).__name__}: {text}",
            retryable=retryable,
            ambiguous=not unsent,
            code=type(exc).__name__,
        )

    # --- retries ------------------------------------------------------------------------------------

    def retry_delay(self, call: Call, error: OutlitError, retries: int) -> float | None:
        """Seconds to wait before the next attempt, or None to give up and raise ``error``."""
        policy = self.policy
        if retries >= policy.max_retries or not error.retryable:
            return None
        if error.ambiguous and not (call.idempotent or call.retry_writes or policy.retry_writes):
            return None
        if error.retry_after is not None:
            # Sitting out a long window (a monthly allowance, a long Retry-After) would just hang a worker.
            return error.retry_after if error.retry_after <= policy.max_wait else None
        if isinstance(error, OutlitPlanLimitError):
            return None  # no reset time: backing off blindly would only burn more of the allowance
        return policy.backoff(retries)

    def cooldown(self, error: OutlitError) -> float | None:
        """Seconds every request sharing this call's limiter must hold back after ``error``, or None.

        A 429 (or 503) with a wait, or a plan limit that resets soon, speaks for the client's whole budget,
        not for this one request: other threads and tasks firing meanwhile would only collect 429s of their
        own. A wait beyond ``max_wait`` (a monthly allowance) is raised instead, so it blocks nobody.
        """
        wait = error.retry_after
        if not wait or wait > self.policy.max_wait:
            return None
        if error.status_code in (429, 503) or isinstance(error, OutlitPlanLimitError):
            return wait
        return None

    def log_retry(self, call: Call, error: OutlitError, delay: float, retries: int) -> None:
        log.info(
            "%s failed (%s); retry %d/%d in %.2f s",
            call.label,
            f"HTTP {error.status_code}" if error.status_code else error.code,
            retries + 1,
            self.policy.max_retries,
            delay,
        )

    # --- calls --------------------------------------------------------------------------------------

    def validate_key_call(self) -> Call:
        return Call("POST", "/api/validate-api-key", "POST /api/validate-api-key")

    def api_key_info(self, data: Any) -> ApiKeyInfo:
        if not isinstance(data, dict) or data.get("valid") is False or "organizationId" not in data:
            raise OutlitAuthError(
                "the API key was not accepted: Outlit did not confirm it as valid", status_code=200
            )
        return ApiKeyInfo.from_response(data)

    def tool_call(
        self, name: str, tool_input: Any, *, retry_writes: bool = False, validate: bool = True
    ) -> tuple[ToolSpec, Call]:
        if validate:
            spec, payload = validate_tool_input(name, tool_input)
        else:
            from .tools import get_tool

            spec, payload = get_tool(name), dict(tool_input or {})
        call = Call(
            "POST",
            "/api/tools/call",
            f"tool {name}",
            json_body={"tool": name, "input": payload},
            idempotent=spec.read_only,
            retry_writes=retry_writes,
        )
        return spec, call

    def first_page_input(self, spec: ToolSpec, tool_input: Any) -> dict[str, Any]:
        _, payload = validate_tool_input(spec.name, tool_input)
        if spec.page_size_field and spec.page_size_field not in payload and spec.max_page_size:
            payload[spec.page_size_field] = spec.max_page_size
        return payload

    def next_cursor(self, spec: ToolSpec, page: Any, seen: set[str]) -> str | None:
        if not spec.paginated or not isinstance(page, dict):
            return None
        pagination = page.get("pagination") or {}
        cursor = pagination.get("nextCursor")
        if not cursor or pagination.get("hasMore") is False:
            return None
        if cursor in seen:
            raise OutlitAPIError(
                f"tool {spec.name}: Outlit returned the same pagination cursor twice; "
                "stopping to avoid a loop",
                code="pagination_loop",
            )
        seen.add(cursor)
        return str(cursor)

    def page_items(self, spec: ToolSpec, page: Any) -> list[Any]:
        if spec.items_key is None:
            return [page]
        if not isinstance(page, dict) or not isinstance(page.get(spec.items_key), list):
            raise OutlitAPIError(
                f"tool {spec.name}: the response has no {spec.items_key!r} list", code="unexpected_response"
            )
        return page[spec.items_key]

    def query_input(self, sql: str, limit: int | None) -> dict[str, Any]:
        # sqlglot takes ~0.3 s to import; load it only when SQL is checked, not on every DAG parse.
        from .sql_guard import check_read_only_sql

        check_read_only_sql(sql)
        payload: dict[str, Any] = {"sql": sql}
        if limit is not None:
            payload["limit"] = limit
        return payload

    def query_result(self, data: Any) -> QueryResult:
        if not isinstance(data, dict):
            raise OutlitAPIError("tool outlit_query: unexpected response shape", code="unexpected_response")
        return QueryResult.from_response(data)

    # integrations

    def check_provider(self, provider: Any, field_name: str = "provider") -> str:
        if not isinstance(provider, str) or not provider.strip():
            raise OutlitValidationError(
                f"{field_name} must be a provider id such as 'stripe'",
                details=[{"path": [field_name], "message": "missing"}],
            )
        if provider not in PROVIDERS:
            import difflib

            alias = {"gmail": "google-mail"}.get(provider)
            close = [alias] if alias else difflib.get_close_matches(provider, PROVIDERS, n=2)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise OutlitValidationError(
                f"unknown integration provider {provider!r}.{hint} Providers: {', '.join(PROVIDERS)}",
                details=[{"path": [field_name], "message": f"unknown provider {provider!r}"}],
            )
        return provider

    def list_integrations_call(self, connected_only: bool) -> Call:
        params = {"connectedOnly": "true"} if connected_only else None
        return Call("GET", "/api/integrations", "GET /api/integrations", params=params)

    def capabilities_call(self, provider: str | None) -> Call:
        if provider is not None and (not isinstance(provider, str) or not provider.strip()):
            raise OutlitValidationError(
                "provider must be a provider id or CLI alias, or None for all providers",
                details=[{"path": ["provider"], "message": "empty"}],
            )
        return Call(
            "GET",
            "/api/integrations/capabilities",
            "GET /api/integrations/capabilities",
            params={"provider": provider},
        )

    def connect_call(self, provider: str, config: Mapping[str, Any] | None, retry_writes: bool) -> Call:
        body: dict[str, Any] = {"provider": self.check_provider(provider)}
        if config is not None:
            if not isinstance(config, Mapping) or not config:
                raise OutlitValidationError(
                    "config must be a non-empty mapping of credential fields (or None for a browser session)",
                    details=[{"path": ["config"], "message": "not a non-empty object"}],
                )
            body["config"] = dict(config)
        return Call(
            "POST",
            "/api/integrations/connect",
            "POST /api/integrations/connect",
            json_body=body,
            idempotent=False,
            retry_writes=retry_writes,
        )

    def connection_status_call(self, session_id: str) -> Call:
        if not isinstance(session_id, str) or not session_id.strip():
            raise OutlitValidationError(
                "session_id must be the sessionId returned by connect_integration()",
                details=[{"path": ["sessionId"], "message": "missing"}],
            )
        return Call(
            "GET",
            "/api/integrations/connect/status",
            "GET /api/integrations/connect/status",
            params={"sessionId": session_id},
        )

    def disconnect_call(self, provider: str, retry_writes: bool) -> Call:
        return Call(
            "POST",
            "/api/integrations/disconnect",
            "POST /api/integrations/disconnect",
            json_body={"provider": self.check_provider(provider)},
            idempotent=False,
            retry_writes=retry_writes,
        )

    def sync_status_call(self, provider: str) -> Call:
        return Call(
            "GET",
            "/api/integrations/sync-status",
            "GET /api/integrations/sync-status",
            params={"provider": self.check_provider(provider)},
        )

    def setup_step_call(
        self, provider: str, step: str, config: Mapping[str, Any] | None, retry_writes: bool
    ) -> Call:
        if not isinstance(step, str) or not step.strip():
            raise OutlitValidationError(
                "step must be a follow-up step token such as 'mappings' or 'webhooks'",
                details=[{"path": ["step"], "message": "missing"}],
            )
        body: dict[str, Any] = {"provider": self.check_provider(provider), "step": step}
        if config is not None:
            if not isinstance(config, Mapping):
                raise OutlitValidationError(
                    "config must be a mapping", details=[{"path": ["config"], "message": "not an object"}]
                )
            body["config"] = dict(config)
        return Call(
            "POST",
            "/api/integrations/setup-step",
            "POST /api/integrations/setup-step",
            json_body=body,
            idempotent=False,
            retry_writes=retry_writes,
        )

    # platform actions

    def platform_call(
        self, resource: str, action: str, resource_id: str | None, body: Any, retry_writes: bool
    ) -> Call:
        route = resolve_platform_route(resource, action, resource_id, body)
        path = route.url_path(resource_id)
        return Call(
            route.method,
            path,
            f"{route.method} {route.path} ({resource}/{action})",
            json_body=body if route.body else None,
            idempotent=route.read_only,
            retry_writes=retry_writes,
        )

    def platform_data(self, call: Call, data: Any) -> Any:
        if (
            not isinstance(data, dict)
            or data.get("ok") is not True
            or not isinstance(data.get("result"), dict)
        ):
            raise OutlitAPIError(
                f"{call.label}: the response is not a command envelope with ok=true and a result",
                code="unexpected_response",
            )
        return data["result"].get("data")

    # ingest

    def ingest_call(self, env: Mapping[str, Any], batch: list[PreparedEvent]) -> Call:
        public_key = self.config.require_public_key()
        return Call(
            "POST",
            f"/api/i/v1/{public_key}/events",
            f"POST ingest ({len(batch)} events)",
            content=encode_body(env, batch),
            auth=False,
            idempotent=True,  # Outlit deduplicates by event uuid, so a resend cannot double-count
            ingest=True,
        )

    def batch_result(self, outcome: Outcome, batch: list[PreparedEvent]) -> BatchResult:
        body = outcome.data if isinstance(outcome.data, dict) else {}
        status = outcome.response.status_code
        result = BatchResult(retries=outcome.retries, status_code=status)
        errors = body.get("errors") or []
        if status == 400:
            # The whole request was refused: nothing stored. Name the bad events; the rest must be resent.
            # Outlit names events two ways: ``path: ["events", i, field...]`` or ``index: i``.
            bad: dict[int, EventRejection] = {}
            for err in errors:
                position, where = _event_position(err)
                if 0 <= position < len(batch) and position not in bad:
                    item = batch[position]
                    bad[position] = EventRejection(
                        index=item.index,
                        uuid=item.uuid,
                        path=where,
                        message=self.scrub(str(err.get("message", "rejected"))),
                    )
            if not bad:
                raise OutlitValidationError(
                    "ingest: Outlit refused the batch naming events that are not in it",
                    status_code=status,
                    details=self.scrub(errors),
                    request_id=_request_id(outcome.response, None),
                )
            result.rejected = list(bad.values())
            result.resend = [item.index for pos, item in enumerate(batch) if pos not in bad]
            return result
        whole = [e for e in errors if not isinstance(e.get("index"), int) or not 0 <= e["index"] < len(batch)]
        if whole:
            raise OutlitValidationError(
                "ingest: Outlit refused the batch: "
                + self.scrub(str(whole[0].get("message", "unknown error"))),
                status_code=status,
                details=self.scrub(errors),
                request_id=_request_id(outcome.response, None),
            )
        seen: set[int] = set()
        for err in errors:
            position = err["index"]
            if position in seen:
                continue
            seen.add(position)
            item = batch[position]
            result.rejected.append(
                EventRejection(
                    index=item.index,
                    uuid=item.uuid,
                    path=[],
                    message=self.scrub(str(err.get("message", "rejected"))),
                )
            )
        processed = body.get("processed")
        result.accepted = (
            processed
            if isinstance(processed, int) and not isinstance(processed, bool)
            else len(batch) - len(seen)
        )
        return result


# --- helpers -----------------------------------------------------------------------------------------


def _json_or_none(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _request_id(response: httpx.Response, from_body: str | None) -> str | None:
    for header in ("x-request-id", "x-correlation-id", "x-outlit-request-id"):
        if response.headers.get(header):
            return response.headers[header]
    return from_body


def _is_position(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _names_event(error: Any) -> bool:
    """True for ``{"path": ["events", i, ...]}`` and for ``{"index": i}`` (i >= 0; -1 is the request)."""
    if not isinstance(error, dict):
        return False
    path = error.get("path")
    if isinstance(path, list) and len(path) >= 2 and path[0] == "events" and _is_position(path[1]):
        return True
    return _is_position(error.get("index"))


def _event_position(error: dict[str, Any]) -> tuple[int, list[str | int]]:
    """The event's position in the batch and the field within it (empty when only ``index`` is given)."""
    path = error.get("path")
    if isinstance(path, list) and len(path) >= 2 and path[0] == "events" and _is_position(path[1]):
        return path[1], list(path[2:])
    return error["index"], []


def _names_events(body: dict[str, Any]) -> bool:
    errors = body.get("errors")
    if not isinstance(errors, list) or not errors:
        return False
    return all(_names_event(e) for e in errors)


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
        return out
    out["message"] = error if isinstance(error, str) else body.get("message")
    out["code"] = body.get("code") if isinstance(body.get("code"), str) else None
    out["request_id"] = body.get("requestId") or body.get("correlationId")
    if isinstance(body.get("retryable"), bool):
        out["retryable"] = body["retryable"]
    details = body.get("details")
    if details is None and isinstance(body.get("errors"), list):
        details = body["errors"]
    out["details"] = details
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
