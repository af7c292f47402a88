"""What ``OutlitClient`` and ``AsyncOutlitClient`` share: construction from one :class:`ClientConfig` (or the
keyword settings that build it), ``from_env``, and every API method, written once as a flow (see
:mod:`.methods`). The two clients differ only in how they run a flow: blocking or awaiting."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar, Unpack

import httpx
from pydantic import SecretStr

from . import calls, responses
from .config import ClientConfig
from .delivery import Delivery, Intake, StopSignal, as_prepared, check_one_request, one_batch
from .events import BatchResult, DeliveryReport, PreparedEvent, iter_event_batches
from .events import envelope as build_envelope
from .exceptions import OutlitError
from .flow import Core, Emit, Feed, Flow, Pager
from .methods import feed_method, flow_method
from .models import ApiKeyInfo, QueryResult
from .ratelimit import TokenBucket
from .tools import get_tool

if TYPE_CHECKING:
    import pandas

C = TypeVar("C", bound="ClientBase[Any]")
F = TypeVar("F", bound=Callable[..., Any])
TransportT = TypeVar("TransportT", httpx.BaseTransport, httpx.AsyncBaseTransport)

# Constructor arguments that belong to the client object, not to its ClientConfig.
CLIENT_ONLY = ("transport", "ingest_limiter", "platform_limiter")


class Envelope(TypedDict, total=False):
    """The batch fields every ingest method takes as keywords, sent around its events."""

    #: ``"client"``, ``"server"`` (when left out) or ``"integration"``
    source: str
    user_identity: Mapping[str, Any] | None
    customer_identity: Mapping[str, Any] | None


class DeliveryOptions(Envelope, total=False):
    """The keywords of ``deliver``: the :class:`Envelope` and how the delivery runs."""

    #: a ``threading.Event`` / ``asyncio.Event`` or a callable returning True; checked between batches
    stop: StopSignal
    #: called with each settled batch's report
    on_batch: Callable[[DeliveryReport], None] | None
    #: keep the ``delivered`` outcomes in the report (True when left out); False keeps memory flat
    keep_delivered: bool


#: the value of each keyword above when a call leaves it out
KEYWORD_DEFAULTS: dict[str, Any] = {
    "source": "server",
    "user_identity": None,
    "customer_identity": None,
    "stop": None,
    "on_batch": None,
    "keep_delivered": True,
}


def spelled_out(fields: type) -> Callable[[F], F]:
    """Show the keywords of a method's ``**kwargs: Unpack[fields]`` in its runtime signature (``help()``,
    ``inspect``, the docs test) as if written out, with their defaults, before its own keyword-only ones."""

    def decorate(method: F) -> F:
        signature = inspect.signature(method)
        params = list(signature.parameters.values())
        named = [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=KEYWORD_DEFAULTS[name],
                annotation=getattr(kind, "__forward_arg__", kind),
            )
            for name, kind in fields.__annotations__.items()
        ]
        kinds = inspect.Parameter
        head = [p for p in params if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)]
        own = [p for p in params if p.kind is kinds.KEYWORD_ONLY]
        method.__signature__ = signature.replace(parameters=[*head, *named, *own])  # type: ignore[attr-defined]
        return method

    return decorate


def open_envelope(fields: Envelope, method: str) -> dict[str, Any]:
    """The checked batch fields of an ingest call; a keyword that is not one of them is a TypeError."""
    unknown = sorted(set(fields) - set(DeliveryOptions.__annotations__))
    if unknown:
        raise TypeError(f"{method}() got unexpected keyword argument(s): {', '.join(unknown)}")
    return build_envelope(
        fields.get("source", KEYWORD_DEFAULTS["source"]),
        fields.get("user_identity"),
        fields.get("customer_identity"),
    )


@contextlib.contextmanager
def partial_ingest_result(intake: Intake) -> Iterator[None]:
    """On a failure part way, turn the exception's ``partial_result`` into the ``IngestResult`` so far."""
    try:
        yield
    except OutlitError as exc:
        exc.partial_result = intake.result(exc.partial_result)
        raise


class ClientBase(Generic[TransportT]):
    """Shared construction and API; subclasses add the I/O (blocking or awaiting) over the same
    :class:`Core`.

    Build a client from keyword settings (``api_key``, ``public_key``, ``base_url``, ``timeout``,
    ``deadline``, ``max_retries``, ``retry``, ``allow_insecure_http``, ``ingest_rps``, ``platform_rps``,
    ``max_response_bytes``, ``max_pages``; see :meth:`ClientConfig.create`) or from one
    ``config=ClientConfig(...)``. ``transport`` replaces httpx's (tests); pass the ``ingest_limiter`` /
    ``platform_limiter`` of another client to share its rate budget.
    """

    _http: httpx.Client | httpx.AsyncClient

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        *,
        config: ClientConfig | None = None,
        transport: TransportT | None = None,
        ingest_limiter: TokenBucket | None = None,
        platform_limiter: TokenBucket | None = None,
        **settings: Any,
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
        self._http = self._open(transport, self._core.client_kwargs())

    def _open(
        self, transport: TransportT | None, settings: dict[str, Any]
    ) -> httpx.Client | httpx.AsyncClient:
        """The httpx client (blocking or async) this client sends with."""
        raise NotImplementedError

    @classmethod
    def from_env(cls: type[C], **overrides: Any) -> C:
        """Build a client from OUTLIT_API_KEY, OUTLIT_PUBLIC_KEY, OUTLIT_BASE_URL, OUTLIT_TIMEOUT,
        OUTLIT_MAX_RETRIES, OUTLIT_DEADLINE and OUTLIT_PLATFORM_RPS (keyword arguments win)."""
        client_only = {k: overrides.pop(k) for k in CLIENT_ONLY if k in overrides}
        return cls(config=ClientConfig.from_env(**overrides), **client_only)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"

    #: Checked events (each with a ``uuid``) in lists that each fit one ingest request.
    iter_event_batches = staticmethod(iter_event_batches)

    # --- flows the methods below are made of ------------------------------------------------------------

    def _fetch(self, call: calls.Call) -> Flow[Any]:
        outcome = yield from self._core.request(self._http, call)
        return outcome.data

    def _object(self, call: calls.Call) -> Flow[dict[str, Any]]:
        return responses.json_object(call.label, (yield from self._fetch(call)))

    def _pager(self, name: str, input: Mapping[str, Any] | None, max_pages: int | None) -> Pager:
        spec = get_tool(name)
        return Pager(spec, calls.first_page_input(spec, input), max_pages or self.config.max_pages)

    def _deliver(
        self, events: Iterable[PreparedEvent | Mapping[str, Any]], options: DeliveryOptions
    ) -> Delivery:
        env = open_envelope(options, "deliver")
        return Delivery(
            self._core,
            events,
            env,
            stop=options.get("stop"),
            on_batch=options.get("on_batch"),
            keep_delivered=options.get("keep_delivered", KEYWORD_DEFAULTS["keep_delivered"]),
        )

    def _one_request(
        self, events: Iterable[PreparedEvent | Mapping[str, Any]], fields: Envelope
    ) -> list[PreparedEvent]:
        """``send_prepared``'s events, refused unless they fit one request (100 events, 1 MB)."""
        prepared = as_prepared(events)
        check_one_request(open_envelope(fields, "send_prepared"), prepared, "send_prepared")
        return prepared

    # --- platform ---------------------------------------------------------------------------------------

    @flow_method
    def validate_api_key(self) -> Flow[ApiKeyInfo]:
        """Check the API key; returns the organization it belongs to and its grants."""
        call = calls.validate_key()
        return responses.api_key_info(call.label, (yield from self._fetch(call)))

    # --- tools ------------------------------------------------------------------------------------------

    @flow_method
    def call_tool(
        self,
        name: str,
        input: Mapping[str, Any] | None = None,
        *,
        retry_writes: bool = False,
        validate: bool = True,
    ) -> Flow[dict[str, Any]]:
        """Call one public tool and return its JSON result.

        The input is checked against the tool's contract first (``validate=False`` skips that, e.g. for a
        field newer than this package; the read-only SQL guard of ``outlit_query`` always runs). Writes are
        not retried after an ambiguous failure unless ``retry_writes=True``.
        """
        spec, call = calls.tool(name, input, retry_writes=retry_writes, validate=validate)
        return responses.tool_page(call.label, (yield from self._fetch(call)), spec.items_key, spec.paginated)

    @feed_method
    def iter_pages(
        self, name: str, input: Mapping[str, Any] | None = None, *, max_pages: int | None = None
    ) -> Feed[dict[str, Any]]:
        """Every response page of a tool, following ``pagination.nextCursor`` to the end.

        Uses the largest page size the tool allows unless ``input`` sets one. A repeated cursor, or more
        than ``max_pages`` pages (the config's, 10,000 by default), raises :class:`OutlitResponseError`.
        """
        pager = self._pager(name, input, max_pages)
        while (payload := pager.next_input()) is not None:
            page = yield from ClientBase.call_tool.build(self, name, payload)
            pager.take(page)
            yield Emit([page])

    @feed_method
    def iter_tool(
        self,
        name: str,
        input: Mapping[str, Any] | None = None,
        *,
        max_items: int | None = None,
        max_pages: int | None = None,
    ) -> Feed[dict[str, Any]]:
        """The items of a list tool (``items``, ``events``, ``facts``, ``results``...) across all pages;
        at most ``max_items`` of them (no page is fetched beyond the one that reaches it)."""
        pager = self._pager(name, input, max_pages)
        items_key = pager.spec.items_key
        left = max_items
        while (left is None or left > 0) and (payload := pager.next_input()) is not None:
            page = yield from ClientBase.call_tool.build(self, name, payload)
            pager.take(page)
            items = page[items_key] if items_key else [page]
            yield Emit(items if left is None else items[:left])
            left = None if left is None else left - len(items)

    @flow_method
    def query(self, sql: str, limit: int | None = None) -> Flow[QueryResult]:
        """Run a read-only SQL query (ClickHouse) over Outlit's analytics views; refused client-side unless
        it is one SELECT over the views with allowed functions."""
        payload = {"sql": sql} if limit is None else {"sql": sql, "limit": limit}
        page = yield from ClientBase.call_tool.build(self, "outlit_query", payload)
        return responses.query_result("tool outlit_query", page)

    @flow_method
    def query_df(self, sql: str, limit: int | None = None) -> Flow[pandas.DataFrame]:
        """:meth:`query` as a pandas DataFrame (needs the ``pandas`` extra)."""
        return to_dataframe((yield from ClientBase.query.build(self, sql, limit)))

    @flow_method
    def schema(self, table: str | None = None) -> Flow[dict[str, Any]]:
        """Describe the analytics views, or one of them."""
        payload = {"table": table} if table is not None else {}
        return (yield from ClientBase.call_tool.build(self, "outlit_schema", payload))

    # --- integrations -----------------------------------------------------------------------------------

    @flow_method
    def list_integrations(self, connected_only: bool = False) -> Flow[list[dict[str, Any]]]:
        call = calls.list_integrations(connected_only)
        return responses.object_list(call.label, (yield from self._fetch(call)), "items")

    @flow_method
    def integration_capabilities(self, provider: str | None = None) -> Flow[dict[str, Any]]:
        return (yield from self._object(calls.capabilities(provider)))

    @flow_method
    def connect_integration(
        self, provider: str, config: Mapping[str, Any] | None = None, *, retry_writes: bool = False
    ) -> Flow[dict[str, Any]]:
        """Connect with credentials (``config``), or open a browser session (no config)."""
        return (yield from self._object(calls.connect(provider, config, retry_writes)))

    @flow_method
    def connection_status(self, session_id: str) -> Flow[dict[str, Any]]:
        return (yield from self._object(calls.connection_status(session_id)))

    @flow_method
    def disconnect_integration(self, provider: str, *, retry_writes: bool = False) -> Flow[dict[str, Any]]:
        return (yield from self._object(calls.disconnect(provider, retry_writes)))

    @flow_method
    def sync_status(self, provider: str) -> Flow[dict[str, Any]]:
        return (yield from self._object(calls.sync_status(provider)))

    @flow_method
    def run_setup_step(
        self, provider: str, step: str, config: Mapping[str, Any] | None = None, *, retry_writes: bool = False
    ) -> Flow[dict[str, Any]]:
        return (yield from self._object(calls.setup_step(provider, step, config, retry_writes)))

    @flow_method
    def platform_action(
        self,
        resource: str,
        action: str,
        resource_id: str | None = None,
        body: Mapping[str, Any] | None = None,
        *,
        retry_writes: bool = False,
    ) -> Flow[Any]:
        """Run a platform action (e.g. ``("agents", "enable", id)``) and return ``result.data``."""
        call = calls.platform(resource, action, resource_id, body, retry_writes)
        return responses.platform_data(call.label, (yield from self._fetch(call)))

    # --- ingest (deliver and its callers are each client's own: threads or tasks for ``concurrency``) ---

    @flow_method
    @spelled_out(Envelope)
    def send_batch(self, events: list[Mapping[str, Any]], **envelope: Unpack[Envelope]) -> Flow[BatchResult]:
        """Send up to 100 events (1 MB) in ONE request, retried on 429/5xx/timeouts, with no resend round.

        Events Outlit (or the pre-send check) refuses come back in ``rejected``; after a 400 nothing was
        stored and ``resend`` lists the indexes to send again.
        """
        return (yield from one_batch(self._core, self._http, events, open_envelope(envelope, "send_batch")))

    def _intake(self, events: Iterable[Mapping[str, Any]], fields: Envelope) -> Intake:
        return Intake(
            events, open_envelope(fields, "send_events"), fields.get("source", KEYWORD_DEFAULTS["source"])
        )


def to_dataframe(result: QueryResult) -> Any:
    try:
        import pandas
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ImportError("query_df() needs pandas: pip install 'outlit-connector[pandas]'") from exc
    return pandas.DataFrame.from_records(result.rows, columns=result.columns or None)
