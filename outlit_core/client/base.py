"""What ``OutlitClient`` and ``AsyncOutlitClient`` share besides the request flow: construction from one
:class:`ClientConfig` (or the keyword settings that build it), ``from_env`` and the calls that do no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

from pydantic import SecretStr

from .config import ClientConfig
from .events import MAX_BATCH_BYTES, MAX_BATCH_EVENTS, iter_event_batches
from .flow import Core
from .models import QueryResult
from .ratelimit import TokenBucket

C = TypeVar("C", bound="ClientBase")

# Constructor arguments that belong to the client object, not to its ClientConfig.
CLIENT_ONLY = ("transport", "ingest_limiter", "platform_limiter")


class ClientBase:
    """Shared construction; subclasses add the I/O (blocking or awaiting) over the same :class:`Core`."""

    def _setup(
        self,
        api_key: str | SecretStr | None,
        config: ClientConfig | None,
        ingest_limiter: TokenBucket | None,
        platform_limiter: TokenBucket | None,
        settings: dict[str, Any],
    ) -> None:
        if config is not None and (settings or api_key is not None):
            raise TypeError("pass either config=ClientConfig(...) or the individual settings, not both")
        #: everything the client was set up with (credentials, URL, timeouts, deadline, retry policy)
        self.config = config or ClientConfig.create(api_key, **settings)
        self._core = Core(self.config, ingest_limiter, platform_limiter)
        #: the token bucket every ingest request draws from; pass it to other clients to share the budget
        self.ingest_limiter = self._core.ingest_limiter
        #: the bucket every platform request (tools, integrations, actions) draws from: paced to
        #: ``platform_rps`` if set, and always closed to all threads/tasks while a 429's wait lasts
        self.platform_limiter = self._core.platform_limiter

    @classmethod
    def from_env(cls: type[C], **overrides: Any) -> C:
        """Build a client from OUTLIT_API_KEY, OUTLIT_PUBLIC_KEY, OUTLIT_BASE_URL, OUTLIT_TIMEOUT,
        OUTLIT_MAX_RETRIES, OUTLIT_DEADLINE and OUTLIT_PLATFORM_RPS (keyword arguments win)."""
        client_only = {k: overrides.pop(k) for k in CLIENT_ONLY if k in overrides}
        return cls(config=ClientConfig.from_env(**overrides), **client_only)  # type: ignore[call-arg]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"

    def iter_event_batches(
        self,
        events: Iterable[Mapping[str, Any]],
        *,
        source: str = "server",
        user_identity: Mapping[str, Any] | None = None,
        customer_identity: Mapping[str, Any] | None = None,
        max_events: int = MAX_BATCH_EVENTS,
        max_bytes: int = MAX_BATCH_BYTES,
    ) -> Iterator[list[dict[str, Any]]]:
        """Checked events (each with a ``uuid``) in lists that each fit one ingest request."""
        return iter_event_batches(
            events,
            source=source,
            user_identity=user_identity,
            customer_identity=customer_identity,
            max_events=max_events,
            max_bytes=max_bytes,
        )


def to_dataframe(result: QueryResult) -> Any:
    try:
        import pandas
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ImportError("query_df() needs pandas: pip install 'outlit-connector[pandas]'") from exc
    return pandas.DataFrame.from_records(result.rows, columns=result.columns or None)
