"""Bounded fan-out of page fetches on worker threads that never keep the process (or dlt) waiting.

Every request of the source runs on these workers; the generators dlt drives only wait on a queue, and
never for longer than ``idle`` seconds at a time (they yield ``None`` in between, which dlt skips). That is
what lets a failed run end promptly:

* dlt closes the other resources' generators when one fails, and gives its threads 2 seconds to finish;
  a generator blocked inside a request (or a retry back-off) cannot be closed and dlt then reports
  ``ValueError: generator already executing`` instead of the real error;
* closing (or abandoning) the consumer sets the stop flag, and the workers are daemon threads that
  check it before every page and every queued message, so none of them keeps the interpreter alive.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# How long a worker waits on a full queue before checking the stop flag again.
_PUT_POLL_SECONDS = 0.1
# How long the consumer waits for a page before handing control back to dlt (well under dlt's 2 s).
IDLE_SECONDS = 0.25


@dataclass
class Page(Generic[T]):
    task: T
    rows: Any  # one page: an Arrow table or a list of rows


@dataclass
class Done(Generic[T]):
    task: T


@dataclass
class Failed(Generic[T]):
    task: T
    error: BaseException = field(repr=False)


class Stopped(Exception):
    """Raised inside a worker when the run was stopped; never reaches the consumer."""


Message = Page[T] | Done[T] | Failed[T]


def fan_out(
    tasks: Iterable[T],
    fetch: Callable[[T], Iterator[Any]],
    *,
    max_workers: int,
    stop: threading.Event | None = None,
    idle: float = IDLE_SECONDS,
) -> Generator[Message[T] | None, None, None]:  # a generator: callers close() it
    """Run ``fetch(task)`` for every task on at most ``max_workers`` threads; yield pages as they arrive.

    Each task ends with exactly one ``Done`` or ``Failed``, after all of its pages, so the caller can keep
    per-task state only for the tasks that completed. At most about ``2 * max_workers`` pages are queued.
    ``None`` is yielded whenever nothing arrived for ``idle`` seconds. ``stop`` (shared by every fan-out
    of a run) ends the workers and makes this generator return without further messages; closing the
    generator sets it too.
    """
    if max_workers < 1:
        raise ValueError(
            f"max_workers must be at least 1, got {max_workers}; set it to 1 for sequential fetching"
        )
    pending: queue.SimpleQueue[T] = queue.SimpleQueue()
    count = 0
    for task in tasks:
        pending.put(task)
        count += 1
    if not count:
        return
    inbox: queue.Queue[Message[T]] = queue.Queue(maxsize=2 * max_workers)
    own_stop = threading.Event()

    def stopped() -> bool:
        return own_stop.is_set() or (stop is not None and stop.is_set())

    def put(message: Message[T]) -> None:
        while not stopped():
            try:
                inbox.put(message, timeout=_PUT_POLL_SECONDS)
                return
            except queue.Full:
                continue
        raise Stopped

    def work() -> None:
        while not stopped():
            try:
                task = pending.get_nowait()
            except queue.Empty:
                return
            pages: Iterator[Any] | None = None
            try:
                pages = fetch(task)
                for rows in pages:
                    if stopped():
                        raise Stopped
                    put(Page(task, rows))
                put(Done(task))
            except Stopped:
                return
            except BaseException as error:  # handed to the consumer, which decides
                if stopped():
                    return  # the run is ending anyway: a request cut short by it is no news
                try:
                    put(Failed(task, error))
                except Stopped:
                    return
            finally:
                close = getattr(pages, "close", None)
                if close is not None:
                    close()  # ends the client's page iterator in this thread, where it ran

    for n in range(min(max_workers, count)):
        threading.Thread(target=work, name=f"outlit-{n}", daemon=True).start()
    remaining = count
    try:
        while remaining:
            if stop is not None and stop.is_set():
                return
            try:
                message = inbox.get(timeout=idle)
            except queue.Empty:
                yield None
                continue
            if isinstance(message, Done | Failed):
                remaining -= 1
            yield message
    finally:
        own_stop.set()
