"""Turn an Airflow ``outlit`` connection into client settings, with a clear error for every bad field.

Kept free of Airflow imports (it only reads attributes of the connection object) so the rules can be
tested without a metadata database, and so the UI metadata in ``get_provider_info`` and the hook's
``get_ui_field_behaviour`` come from one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from outlit_core.client.exceptions import OutlitConfigurationError, OutlitInputError
from outlit_core.client.urls import base_url_for_host, check_base_url

KNOWN_EXTRAS = ("public_key", "base_url", "timeout", "max_retries", "allow_insecure_http")

# Declarative UI metadata (Airflow >= 3.2 reads it from provider info without importing the hook).
CONN_FIELDS: dict[str, dict[str, Any]] = {
    "public_key": {
        "label": "Public key",
        "description": "Ingest public key (pk_...), needed only to send events. Not secret.",
        "schema": {"type": ["string", "null"]},
    },
    "base_url": {
        "label": "Base URL",
        "description": "Outlit API base URL; leave empty for https://app.outlit.ai.",
        "schema": {"type": ["string", "null"], "format": "url"},
    },
    "timeout": {
        "label": "Timeout (seconds)",
        "description": "Per-request timeout in seconds.",
        "schema": {"type": ["number", "null"], "minimum": 0, "default": 30},
    },
    "max_retries": {
        "label": "Max retries",
        "description": "Retries on 429, 5xx and transport errors (Retry-After is honoured).",
        "schema": {"type": ["integer", "null"], "minimum": 0},
    },
    "allow_insecure_http": {
        "label": "Allow plain http",
        "description": "Permit an http:// base URL that is not loopback (e.g. a proxy on a private network).",
        "schema": {"type": ["boolean", "null"], "default": False},
    },
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden_fields": ["schema", "port", "login", "host", "extra"],
    "relabeling": {"password": "API key"},
    "placeholders": {
        "password": "ok_...",
        "public_key": "pk_...",
        "base_url": "https://app.outlit.ai",
        "timeout": "30",
        "max_retries": "5",
    },
}


class OutlitConnectionError(OutlitInputError):
    """An ``outlit`` connection is incomplete or malformed. The message names the field and the fix."""


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything the client needs; ``api_key`` is excluded from repr so it never reaches a log."""

    api_key: str = field(repr=False)
    public_key: str | None = None
    base_url: str | None = None
    timeout: float | None = None
    max_retries: int | None = None
    allow_insecure_http: bool = False

    def client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "api_key": self.api_key,
            "public_key": self.public_key,
            "base_url": self.base_url,
            "allow_insecure_http": self.allow_insecure_http,
        }
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        if self.max_retries is not None:
            kwargs["max_retries"] = self.max_retries
        return kwargs

    def source_kwargs(self) -> dict[str, Any]:
        """The connection arguments of the dlt source: ``outlit_source(**settings.source_kwargs(), ...)``.

        Only what is set: the source keeps its own defaults (base URL, timeout) for the rest.
        """
        kwargs = self.client_kwargs()
        del kwargs["public_key"]  # the source reads only; the public key is for ingest
        return {name: value for name, value in kwargs.items() if value is not None}


def _extra_value(extras: dict[str, Any], name: str) -> Any:
    # Connections saved by older UIs prefix custom fields with ``extra__<conn_type>__``.
    value = extras.get(name)
    if value in (None, ""):
        value = extras.get(f"extra__outlit__{name}")
    return None if value == "" else value


def settings_from_connection(conn: Any, extras: dict[str, Any]) -> ConnectionSettings:
    """Validate the connection's fields; ``extras`` is its parsed extra JSON (already secret-masked)."""
    conn_id = getattr(conn, "conn_id", None) or "outlit_default"
    api_key = (getattr(conn, "password", None) or "").strip()
    if not api_key:
        raise OutlitConnectionError(
            f"Airflow connection {conn_id!r} has no API key. Put the Outlit API key (ok_...) in the "
            f"connection's Password field, e.g. AIRFLOW_CONN_{conn_id.upper()}='outlit://:ok_...@' or "
            '\'{"conn_type": "outlit", "password": "ok_..."}\'.'
        )
    unknown = sorted(
        k for k in extras if k not in KNOWN_EXTRAS and k.removeprefix("extra__outlit__") not in KNOWN_EXTRAS
    )
    if unknown:
        raise OutlitConnectionError(
            f"Airflow connection {conn_id!r} has unknown extra field(s) {unknown}; "
            f"the outlit connection understands {list(KNOWN_EXTRAS)}. Remove or rename them."
        )

    base_url = _extra_value(extras, "base_url")
    where = "extra 'base_url'" if base_url is not None else "host"
    insecure = _bool(conn_id, "allow_insecure_http", _extra_value(extras, "allow_insecure_http"))
    host = (getattr(conn, "host", None) or "").strip()
    if base_url is None and host:
        base_url = base_url_for_host(host, getattr(conn, "port", None), insecure=insecure)
    if base_url is not None:
        try:  # the form only: the plain-http rule is applied by the client with allow_insecure_http
            base_url = check_base_url(str(base_url), allow_insecure_http=True)
        except OutlitConfigurationError as exc:
            raise OutlitConnectionError(
                f"Airflow connection {conn_id!r}: {where}={base_url!r}: {exc}; use e.g. "
                "'https://app.outlit.ai' or leave it empty."
            ) from None

    return ConnectionSettings(
        api_key=api_key,
        public_key=_str_or_none(_extra_value(extras, "public_key")),
        base_url=base_url,
        timeout=_positive_float(conn_id, "timeout", _extra_value(extras, "timeout")),
        max_retries=_non_negative_int(conn_id, "max_retries", _extra_value(extras, "max_retries")),
        allow_insecure_http=insecure,
    )


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value).strip() or None


def _positive_float(conn_id: str, name: str, value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if isinstance(value, bool) or not number > 0:
        raise OutlitConnectionError(
            f"Airflow connection {conn_id!r}: extra {name!r}={value!r} must be a positive number of seconds."
        )
    return number


def _non_negative_int(conn_id: str, name: str, value: Any) -> int | None:
    if value is None:
        return None
    try:
        number = int(str(value))
    except ValueError:
        number = -1
    if isinstance(value, bool) or number < 0:
        raise OutlitConnectionError(
            f"Airflow connection {conn_id!r}: extra {name!r}={value!r} must be a whole number >= 0."
        )
    return number


def _bool(conn_id: str, name: str, value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise OutlitConnectionError(
        f"Airflow connection {conn_id!r}: extra {name!r}={value!r} must be true or false."
    )
