"""The bounded per-customer fan-out: ordering guarantees, failures and cancellation (no network)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Generator
from typing import Any

import pytest

from dlt_sources.outlit.concurrency import Done, Failed, Page, fan_out


def _pages(task: int) -> Generator[list[dict[str, Any]], None, None]:
    for page in range(task % 3 + 1):
        yield [{"task": task, "page": page}]


def _messages(stream: Any) -> Any:
    return (m for m in stream if m is not None)  # None: nothing arrived within the idle interval


def test_every_task_ends_with_one_done_after_all_its_pages() -> None:
    seen_done: set[int] = set()
    pages: dict[int, int] = {}
    for message in _messages(fan_out(range(20), _pages, max_workers=4)):
        task = message.task
        assert task not in seen_done, "a page arrived after its task finished"
        if isinstance(message, Page):
            assert message.rows
            pages[task] = pages.get(task, 0) + 1
        elif isinstance(message, Done):
            seen_done.add(task)
        else:
            pytest.fail(f"unexpected failure {message}")
    assert seen_done == set(range(20))
    assert pages == {t: t % 3 + 1 for t in range(20)}


def test_a_failing_task_is_reported_and_others_still_finish() -> None:
    def fetch(task: int) -> Generator[list[dict[str, Any]], None, None]:
        yield [{"task": task}]
        if task == 3:
            raise RuntimeError("customer 3 broke")

    messages = list(_messages(fan_out(range(6), fetch, max_workers=2)))
    failed = [m for m in messages if isinstance(m, Failed)]
    assert [m.task for m in failed] == [3]
    assert str(failed[0].error) == "customer 3 broke"
    assert {m.task for m in messages if isinstance(m, Done)} == {0, 1, 2, 4, 5}


def test_at_most_max_workers_fetches_run_at_once() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    def fetch(task: int) -> Generator[list[dict[str, Any]], None, None]:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            for i in range(5):
                yield [{"task": task, "i": i}]
        finally:
            with lock:
                running -= 1

    assert sum(isinstance(m, Done) for m in fan_out(range(30), fetch, max_workers=3)) == 30
    assert 1 <= peak <= 3


def test_closing_the_consumer_stops_the_workers() -> None:
    produced = 0
    lock = threading.Lock()

    def endless(task: int) -> Generator[list[dict[str, Any]], None, None]:
        nonlocal produced
        while True:
            with lock:
                produced += 1
            yield [{"task": task}]

    stream = _messages(fan_out(range(4), endless, max_workers=2))
    for _ in range(10):
        next(stream)
    stream.close()  # must return: workers notice the stop flag instead of blocking on the full queue
    with lock:
        after_close = produced
    # the bounded queue means workers got at most a few pages ahead of the consumer
    assert after_close <= 10 + 2 * 2 + 2


def test_a_slow_task_lets_the_consumer_go_with_none_and_stop_ends_it() -> None:
    release = threading.Event()

    def slow(task: int) -> Generator[list[dict[str, Any]], None, None]:
        release.wait(5)
        yield [{"task": task}]

    stop = threading.Event()
    stream = fan_out([1], slow, max_workers=1, stop=stop, idle=0.01)
    assert next(stream) is None, "the consumer is handed back control while the worker is busy"
    stop.set()
    assert list(stream) == [], "a stopped run ends its fan-outs without further messages"
    release.set()


def test_an_abandoned_fan_out_does_not_keep_the_process_alive(tmp_path: Any) -> None:
    # A consumer that raised is never closed by anyone (its frame lives on in the traceback); the workers
    # blocked on the full queue must not keep the interpreter from exiting.
    script = tmp_path / "abandon.py"
    script.write_text(
        "import itertools, time\n"
        "from dlt_sources.outlit.concurrency import fan_out\n"
        "def endless(task):\n"
        "    while True:\n"
        "        time.sleep(0.001)\n"
        "        yield [task]\n"
        "stream = fan_out(range(4), endless, max_workers=4)\n"
        "kept = [m for m in itertools.islice(stream, 3)]\n"
        "print('done', flush=True)\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"


def test_no_tasks_and_bad_worker_count() -> None:
    assert list(fan_out([], _pages, max_workers=2)) == []
    with pytest.raises(ValueError, match="max_workers must be at least 1"):
        list(fan_out([1], _pages, max_workers=0))
