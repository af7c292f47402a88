"""The one home of the base-URL rules (default, http(s) only, loopback, no credentials) and of URL masking.

The client, the dlt source and the Airflow connection all validate ``base_url`` here, so the rule that plain
``http://`` is only for loopback hosts (a local sandbox) holds everywhere the same way.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from .exceptions import OutlitConfigurationError

__all__ = ["DEFAULT_BASE_URL", "base_url_for_host", "check_base_url", "is_loopback_host", "mask_url"]

DEFAULT_BASE_URL = "https://app.outlit.ai"

# The ingest route carries the workspace public key in its path: /api/i/v1/<pk_...>/events.
_PUBLIC_KEY_IN_PATH = re.compile(r"(/api/i/v1/)(pk_)[^/?#\s\"']+")


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, ``*.localhost`` and loopback IP literals (``127.0.0.1``, ``[::1]``)."""
    host = host.strip().strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str | None, *, allow_insecure_http: bool = False, name: str = "base_url") -> str:
    """``url`` without a trailing slash (the default when empty), or :class:`OutlitConfigurationError`."""
    text = (url or DEFAULT_BASE_URL).strip().rstrip("/") if isinstance(url, str | None) else None
    if text is None:
        raise OutlitConfigurationError(f"{name} must be a string URL such as {DEFAULT_BASE_URL!r}")
    parts = urlsplit(text)
    try:
        host = parts.hostname
    except ValueError:
        host = None
    if parts.scheme not in ("http", "https") or not host:
        raise OutlitConfigurationError(
            f"{name} must be an http(s) URL such as {DEFAULT_BASE_URL!r}; {text!r} is not an http(s) URL"
        )
    if parts.username or parts.password:
        raise OutlitConfigurationError(f"{name} must not embed credentials: pass api_key instead")
    if parts.scheme == "http" and not is_loopback_host(host) and not allow_insecure_http:
        raise OutlitConfigurationError(
            f"{name} {text!r} uses plain http:// to a non-loopback host, which would send the API key "
            "unencrypted: use https://, or pass allow_insecure_http=True if you really mean it"
        )
    return text


def base_url_for_host(host: str, port: int | None = None, *, insecure: bool = False) -> str:
    """The base URL a connection's host (and port) stand for; a scheme written in ``host`` is kept.

    A bare host gets ``https://``, or ``http://`` for a loopback host (a local sandbox) and when the caller
    asked for plain http (``insecure``): silently upgrading it would point the client at a port that speaks
    no TLS.
    """
    host = host.strip()
    if "://" in host:  # JSON connections may carry a whole URL in host: honour its scheme
        parts = urlsplit(host)
        if port and parts.port is None:
            return f"{parts.scheme}://{parts.netloc}:{port}{parts.path}"
        return host
    bare = host.strip("[]")
    scheme = "http" if insecure or is_loopback_host(bare) else "https"
    netloc = f"[{bare}]" if ":" in bare else bare  # an IPv6 literal needs brackets in a URL
    return f"{scheme}://{netloc}" + (f":{port}" if port else "")


def mask_url(url: Any) -> str:
    """``url`` as text with the ingest public key masked (``/api/i/v1/pk_***/events``)."""
    return _PUBLIC_KEY_IN_PATH.sub(r"\1\2***", str(url))


class _MaskPublicKey(logging.Filter):
    """Masks the public key in the request URL of httpx's INFO lines (``HTTP Request: POST <url> ...``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(mask_url(a) if "/api/i/v1/" in str(a) else a for a in record.args)
        elif isinstance(record.msg, str) and "/api/i/v1/" in record.msg:
            record.msg = mask_url(record.msg)
        return True


_FILTER = _MaskPublicKey()


def mask_httpx_logs() -> None:
    """Install the masking filter on httpx's logger (idempotent)."""
    logger = logging.getLogger("httpx")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
