"""Client methods written once, for both clients.

A public method of the client is a flow (see :mod:`.flow`): a generator that asks for requests and sleeps
and returns the result. Decorated with :class:`flow_method`, it becomes a blocking method on
``OutlitClient`` (the flow is run to its end) and a coroutine method on ``AsyncOutlitClient``. A
:class:`feed_method` is a flow that also hands out items (:class:`~.flow.Emit`) as it goes: an iterator on
``OutlitClient``, an async iterator on ``AsyncOutlitClient``.

The overloads of ``__get__`` give type checkers and IDEs each method's real parameters and, per client, its
real return type; each client runs a flow its own way (its ``_run`` and ``_feed``).
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from .flow import Feed, Flow

if TYPE_CHECKING:
    from typing import Self

    from .async_ import AsyncOutlitClient
    from .sync import OutlitClient

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R")


class ClientMethod(Generic[P, R]):
    """A method that builds a flow (or feed) from its arguments; the client it is read from runs it."""

    #: the client method that runs what the builder returns (``_run`` a flow, ``_feed`` a feed)
    runner = ""

    def __init__(self, build: Callable[Concatenate[Any, P], R]) -> None:
        #: the undecorated builder, for flows made of it: ``yield from ClientBase.query.build(self, sql)``
        self.build = build
        self._signature: inspect.Signature | None = None
        functools.update_wrapper(self, build)

    def _get(self, client: Any, owner: type[Any]) -> Any:
        if client is None:
            return self
        build = self.build.__get__(client, owner)
        run = getattr(client, self.runner)
        if inspect.iscoroutinefunction(run):

            async def call_async(*args: Any, **kwargs: Any) -> Any:
                return await run(build(*args, **kwargs))

            return self._named(call_async, build)

        def call(*args: Any, **kwargs: Any) -> Any:
            return run(build(*args, **kwargs))

        return self._named(call, build)

    def _named(self, call: Any, build: Any) -> Any:
        """``call`` with the method's name, docstring and signature (without ``self``, returning the
        result rather than the flow), computed once per method."""
        functools.update_wrapper(call, build)
        if self._signature is None:
            signature = inspect.signature(self.build)
            returns = signature.return_annotation
            if isinstance(returns, str) and (inner := re.fullmatch(r"(?:Flow|Feed)\[(.*)\]", returns)):
                returns = inner.group(1) if returns.startswith("Flow") else f"Iterator[{inner.group(1)}]"
            params = list(signature.parameters.values())[1:]
            self._signature = signature.replace(parameters=params, return_annotation=returns)
        call.__signature__ = self._signature
        return call

    def __call__(self, client: Any, *args: Any, **kwargs: Any) -> Any:
        """``OutlitClient.call_tool(client, ...)`` works as with a plain method."""
        return self._get(client, type(client))(*args, **kwargs)


class flow_method(ClientMethod[P, Flow[T]]):  # lower case: used as a decorator
    """Blocking on ``OutlitClient``, a coroutine on ``AsyncOutlitClient``."""

    runner = "_run"

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, client: OutlitClient, owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(self, client: AsyncOutlitClient, owner: type[Any]) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, client: Any, owner: type[Any]) -> Any:
        return self._get(client, owner)


class feed_method(ClientMethod[P, Feed[T]]):  # lower case: used as a decorator
    """An iterator on ``OutlitClient``, an async iterator on ``AsyncOutlitClient``."""

    runner = "_feed"

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, client: OutlitClient, owner: type[Any]) -> Callable[P, Iterator[T]]: ...
    @overload
    def __get__(self, client: AsyncOutlitClient, owner: type[Any]) -> Callable[P, AsyncIterator[T]]: ...
    def __get__(self, client: Any, owner: type[Any]) -> Any:
        return self._get(client, owner)
