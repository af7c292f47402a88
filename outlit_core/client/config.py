"""Client settings: credentials, base URL, timeouts and retry policy, from arguments or the environment."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from .exceptions import OutlitConfigurationError
from .ratelimit import TokenBucket
from .retry import RetryPolicy
from .urls import DEFAULT_BASE_URL, check_base_url, mask_httpx_logs

__all__ = ["DEFAULT_BASE_URL", "ClientConfig", "user_agent"]

ENV_API_KEY = "OUTLIT_API_KEY"
ENV_PUBLIC_KEY = "OUTLIT_PUBLIC_KEY"
ENV_BASE_URL = "OUTLIT_BASE_URL"
ENV_PLATFORM_RPS = "OUTLIT_PLATFORM_RPS"
ENV_TIMEOUT = "OUTLIT_TIMEOUT"
ENV_MAX_RETRIES = "OUTLIT_MAX_RETRIES"
ENV_DEADLINE = "OUTLIT_DEADLINE"
# One call (its attempts, retries and waits together) ends within this many seconds by default.
DEFAULT_DEADLINE = 120.0
# A decoded answer larger than this is refused (a compressed body may inflate a thousandfold).
DEFAULT_MAX_RESPONSE_BYTES = 50_000_000
# iter_pages stops with an error after this many pages (10 million items at 1000 a page).
DEFAULT_MAX_PAGES = 10_000

_PUBLIC_KEY_RE = re.compile(r"^pk_[A-Za-z0-9_\-]+$")


def check_key_shapes(api_key: str | None, public_key: str | None) -> None:
    """Refuse a key given in the other key's place, before anything is sent: a public key (``pk_...``,
    for the ingest API) as the API key, or a secret API key (``ok_...``) as the public key. Never echoes
    the value."""
    if isinstance(api_key, str) and api_key.startswith("pk_"):
        raise OutlitConfigurationError(
            "api_key starts with 'pk_', so it is a public key (it goes in public_key / OUTLIT_PUBLIC_KEY, "
            "for sending events); the API key starts with 'ok_' (OUTLIT_API_KEY)"
        )
    if isinstance(public_key, str) and public_key.startswith("ok_"):
        raise OutlitConfigurationError(
            "public_key starts with 'ok_', so it is the secret API key (it goes in api_key / "
            "OUTLIT_API_KEY); the public key starts with 'pk_' (OUTLIT_PUBLIC_KEY)"
        )


def user_agent() -> str:
    from outlit_core import __version__

    return f"outlit-connector/{__version__} httpx/{httpx.__version__}"


@dataclass(frozen=True, repr=False)
class ClientConfig:
    """Everything an Outlit client needs; build it with :meth:`create` or :meth:`from_env`."""

    api_key: SecretStr | None
    public_key: str | None
    base_url: str
    timeout: httpx.Timeout
    retry: RetryPolicy
    ingest_rps: float
    allow_insecure_http: bool = False
    #: pace platform requests (tools, integrations, actions) client-wide to this rate; None = by 429s only
    platform_rps: float | None = None
    user_agent: str = field(default_factory=user_agent)
    #: seconds one call may take in all (attempts, retries and waits); None = no bound
    deadline: float | None = DEFAULT_DEADLINE
    #: the largest decoded answer accepted, in bytes
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    #: the most pages ``iter_pages`` / ``iter_tool`` follow before raising
    max_pages: int = DEFAULT_MAX_PAGES

    @property
    def attempt_timeout(self) -> float | None:
        """Seconds one attempt may take from connecting to the last byte of the answer."""
        return self.timeout.read

    def ingest_bucket(self, monotonic: Callable[[], float] = time.monotonic) -> TokenBucket:
        """A new bucket for the ingest route, at ``ingest_rps``."""
        # burst=1 spaces requests evenly; a bank of tokens would let a fresh client send a whole second's
        # worth at once. Outlit counts requests in fixed one-second windows, so pacing at exactly the
        # limit lets one late request (a busy interpreter, the network) make a window's 101st, a 429 that
        # costs a whole second: one request a second less leaves room for it.
        rate = self.ingest_rps - 1 if self.ingest_rps >= 2 else self.ingest_rps
        return TokenBucket(rate, burst=1.0, wall_clock=self.retry.clock, monotonic=monotonic)

    def platform_bucket(self) -> TokenBucket:
        """A new bucket for every other route: paced to ``platform_rps`` if set, and always closed to all
        threads/tasks while a 429's wait lasts."""
        return TokenBucket(
            self.platform_rps, burst=1.0, wall_clock=self.retry.clock, max_block=self.retry.max_wait
        )

    @classmethod
    def create(
        cls,
        api_key: str | SecretStr | None = None,
        *,
        public_key: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = 30.0,
        retry: RetryPolicy | None = None,
        max_retries: int | None = None,
        allow_insecure_http: bool = False,
        ingest_rps: float = 100.0,
        platform_rps: float | None = None,
        deadline: float | None = DEFAULT_DEADLINE,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> ClientConfig:
        key = api_key if isinstance(api_key, SecretStr) or api_key is None else SecretStr(api_key)
        if key is not None:
            raw = key.get_secret_value()
            if not isinstance(raw, str) or not raw.strip():
                raise OutlitConfigurationError(
                    "api_key is empty: pass the Outlit API key (ok_...) or set OUTLIT_API_KEY"
                )
            if raw != raw.strip() or any(c in raw for c in "\r\n"):
                raise OutlitConfigurationError(
                    "api_key has surrounding whitespace or a line break: copy the key without them"
                )
        check_key_shapes(key.get_secret_value() if key is not None else None, public_key)
        if public_key is not None and not _PUBLIC_KEY_RE.match(public_key):
            # Never echo the value: the usual mistake is pasting the secret API key (ok_...) here.
            start = public_key[:3] if isinstance(public_key, str) else type(public_key).__name__
            raise OutlitConfigurationError(
                f"public_key (starting {start!r}) is not an Outlit public key: it must be 'pk_' followed by "
                "letters, digits, '_' or '-' (Settings -> Website Tracking in Outlit); the secret API key "
                "(ok_...) goes in api_key"
            )
        url = check_base_url(base_url, allow_insecure_http=allow_insecure_http)
        if isinstance(timeout, httpx.Timeout):
            http_timeout = timeout
        else:
            if timeout is not None and timeout <= 0:
                raise OutlitConfigurationError(
                    f"timeout must be a positive number of seconds, got {timeout!r}"
                )
            http_timeout = httpx.Timeout(timeout, connect=min(10.0, timeout) if timeout else None)
        policy = retry or RetryPolicy()
        if max_retries is not None:
            if max_retries < 0:
                raise OutlitConfigurationError(f"max_retries must be >= 0, got {max_retries}")
            policy = policy.replace(max_retries=max_retries)
        if not ingest_rps or ingest_rps <= 0:
            raise OutlitConfigurationError(f"ingest_rps must be a positive number, got {ingest_rps!r}")
        if platform_rps is not None and (
            isinstance(platform_rps, bool) or not isinstance(platform_rps, int | float) or platform_rps <= 0
        ):
            raise OutlitConfigurationError(
                f"platform_rps must be a positive number (or None for no pacing), got {platform_rps!r}"
            )
        for name, value in (("deadline", deadline), ("max_response_bytes", max_response_bytes)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
            ):
                raise OutlitConfigurationError(f"{name} must be a positive number, got {value!r}")
        if isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1:
            raise OutlitConfigurationError(f"max_pages must be a whole number >= 1, got {max_pages!r}")
        mask_httpx_logs()
        return cls(
            api_key=key,
            public_key=public_key,
            base_url=url,
            timeout=http_timeout,
            retry=policy,
            ingest_rps=float(ingest_rps),
            allow_insecure_http=allow_insecure_http,
            platform_rps=float(platform_rps) if platform_rps is not None else None,
            deadline=float(deadline) if deadline is not None else None,
            max_response_bytes=int(max_response_bytes),
            max_pages=max_pages,
        )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> ClientConfig:
        """Read OUTLIT_API_KEY, OUTLIT_PUBLIC_KEY, OUTLIT_BASE_URL, OUTLIT_PLATFORM_RPS, OUTLIT_TIMEOUT,
        OUTLIT_MAX_RETRIES and OUTLIT_DEADLINE; keyword arguments win over them."""
        env = os.environ if environ is None else environ
        overrides.setdefault("api_key", env.get(ENV_API_KEY) or None)
        overrides.setdefault("public_key", env.get(ENV_PUBLIC_KEY) or None)
        overrides.setdefault("base_url", env.get(ENV_BASE_URL) or None)
        numbers = (
            ("platform_rps", ENV_PLATFORM_RPS, float, "requests per second, e.g. 10"),
            ("timeout", ENV_TIMEOUT, float, "seconds per attempt, e.g. 30"),
            ("max_retries", ENV_MAX_RETRIES, int, "a whole number of retries, e.g. 5"),
            ("deadline", ENV_DEADLINE, float, "seconds per call, e.g. 120"),
        )
        for name, variable, kind, hint in numbers:
            raw = env.get(variable, "").strip()
            if name in overrides or not raw:
                continue
            try:
                overrides[name] = kind(raw)
            except ValueError:
                raise OutlitConfigurationError(f"{variable}={raw!r} is not a number: set {hint}") from None
        return cls.create(**overrides)

    def require_api_key(self) -> str:
        if self.api_key is None:
            raise OutlitConfigurationError(
                "no Outlit API key: pass api_key='ok_...' or set OUTLIT_API_KEY "
                "(only the ingest routes work with just a public key)"
            )
        return self.api_key.get_secret_value()

    def require_public_key(self) -> str:
        if self.public_key is None:
            raise OutlitConfigurationError(
                "no Outlit public key: sending events needs public_key='pk_...' or OUTLIT_PUBLIC_KEY"
            )
        return self.public_key

    def __repr__(self) -> str:
        key = "set" if self.api_key is not None else "missing"
        return (
            f"ClientConfig(base_url={self.base_url!r}, api_key=<{key}>, public_key={self.public_key!r}, "
            f"retry={self.retry!r})"
        )
