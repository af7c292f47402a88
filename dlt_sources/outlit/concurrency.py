"""Bounded fan-out of per-customer fetches that streams pages back to the (single-threaded) dlt extractor."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# How long a worker waits on a full queue before checking whether the consumer has gone away.
_PUT_POLL_SECONDS = 0.2


@dataclass
class Page(Generic[T]):
    task: T
    rows: list[dict[str, Any]]


@dataclass
class Done(Generic[T]):
    task: T
    result: Any = None


@dataclass
class Failed(Generic[T]):
    task: T
    error: BaseException = field(repr=False)


class _Cancelled(Exception):
    pass


def fan_out(
    tasks: Iterable[T],
    fetch: Callable[[T], Generator[list[dict[str, Any]], None, Any]],
    *,
    max_workers: int,
) -> Iterator[Page[T] | Done[T] | Failed[T]]:
    """Run ``fetch(task)`` for every task on at most ``max_workers`` threads; yield pages as they arrive.

    Each task ends with exactly one ``Done`` (carrying the generator's return value) or ``Failed``
    message, after all of its pages, so the caller can commit per-task state only for tasks that
    completed. The queue is bounded, so at most about ``2 * max_workers`` pages are held in memory
    however fast the API answers.
    Closing the returned generator stops the workers at their next page.
    """
    if max_workers < 1:
        raise ValueError(
            f"max_workers must be at least 1, got {max_workers}; set it to 1 for sequential fetching"
        )
    task_list = list(tasks)
    if not task_list:
        return
    inbox: queue.Queue[Page[T] | Done[T] | Failed[T]] = queue.Queue(maxsize=2 * max_workers)
    stop = threading.Event()

    def put(message: Page[T] | Done[T] | Failed[T]) -> None:
        while True:
            if stop.is_set():
                raise _Cancelled
            try:
                inbox.put(message, timeout=_PUT_POLL_SECONDS)
                return
            except queue.Full:
                continue

    def work(task: T) -> None:
        if stop.is_set():
            return
        try:
            pages = fetch(task)
            while True:
                try:
                    rows = next(pages)
                except StopIteration as end:
                    put(Done(task, end.value))
                    return
                if rows:
                    put(Page(task, rows))
        except _Cancelled:
            return
        except BaseException as error:  # handed to the consumer thread, which decides
            try:
                put(Failed(task, error))
            except _Cancelled:
                return

    executor = ThreadPoolExecutor(max_workers=min(max_workers, len(task_list)), thread_name_prefix="outlit")
    try:
        for task in task_list:
            executor.submit(work, task)
        remaining = len(task_list)
        while remaining:
            message = inbox.get()
            if isinstance(message, Done | Failed):
                remaining -= 1
            yield message
    finally:
        stop.set()
        executor.shutdown(wait=True, cancel_futures=True)
