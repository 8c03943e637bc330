"""The worker threads that overlap producing and consuming chunks: the SQL loaders' sender and
the operator's read-ahead."""

from __future__ import annotations

import gc
import threading
import time
import weakref

import pytest

from airflow_etl_provider.background import ReadAhead, send_in_background


def test_sends_every_item_in_order_on_another_thread() -> None:
    sent: list[tuple[int, str]] = []
    send_in_background(lambda item: sent.append((item, threading.current_thread().name)), range(5), name="sender")
    assert [item for item, _ in sent] == [0, 1, 2, 3, 4]
    assert {name for _, name in sent} == {"sender"}


def test_building_waits_when_depth_items_are_queued() -> None:
    built: list[int] = []

    def items():
        for i in range(4):
            built.append(i)
            yield i

    def slow_send(item: int) -> None:
        time.sleep(0.2)
        if item == 0:
            # While item 0 is sent, at most `depth` more items are built: none waits in hand for
            # room in the queue, so no payload beyond depth + 1 is ever in memory.
            assert built == [0, 1]

    send_in_background(slow_send, items(), depth=1)
    assert built == [0, 1, 2, 3]


def test_an_item_is_released_once_sent() -> None:
    class Payload:
        pass

    alive: weakref.WeakSet[Payload] = weakref.WeakSet()

    def items():
        for _ in range(6):
            payload = Payload()
            alive.add(payload)
            yield payload
            del payload

    def send(payload: Payload) -> None:
        time.sleep(0.05)
        gc.collect()
        # this one and at most `depth` (1) built after it: the ones sent before are gone
        assert len(alive) <= 2

    send_in_background(send, items(), depth=1)


def test_depth_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        send_in_background(print, [], depth=0)
    with pytest.raises(ValueError, match="at least 1"):
        ReadAhead([], depth=0)


def test_a_send_failure_stops_building_and_is_raised() -> None:
    built: list[int] = []

    def items():
        for i in range(100):
            built.append(i)
            yield i

    def failing(item: int) -> None:
        if item == 1:
            raise ValueError("server refused chunk 2")

    with pytest.raises(ValueError, match="chunk 2"):
        send_in_background(failing, items(), depth=1)
    assert len(built) < 100


def test_a_build_failure_is_raised_after_the_sender_stops() -> None:
    def items():
        yield 1
        raise RuntimeError("source broke")

    sent: list[int] = []
    with pytest.raises(RuntimeError, match="source broke"):
        send_in_background(sent.append, items())
    assert sent == [1]


# -- ReadAhead: the operator's source runs ahead of the destination ---------------------------


def test_read_ahead_yields_every_item_in_order_from_another_thread() -> None:
    def items():
        for i in range(5):
            yield i, threading.current_thread().name

    with ReadAhead(items(), name="reader") as read:
        got = list(read)
    assert [i for i, _ in got] == [0, 1, 2, 3, 4]
    assert {name for _, name in got} == {"reader"}


def test_read_ahead_runs_at_most_depth_items_ahead() -> None:
    built: list[int] = []

    def items():
        for i in range(10):
            built.append(i)
            yield i

    with ReadAhead(items(), depth=2) as read:
        assert next(read) == 0
        time.sleep(0.3)  # plenty of time for the worker to run ahead as far as it may
        # 0 taken, 1 and 2 read ahead; 3 is not read before the consumer takes 1, so no chunk
        # waits in the worker's hand for room in the queue
        assert built == [0, 1, 2]
        assert next(read) == 1
        time.sleep(0.3)
        assert built == [0, 1, 2, 3]
        assert list(read) == list(range(2, 10))


def test_read_ahead_raises_a_source_error_where_it_happened() -> None:
    def items():
        yield 1
        yield 2
        raise RuntimeError("source broke after 2 chunks")

    got: list[int] = []
    with pytest.raises(RuntimeError, match="after 2 chunks"), ReadAhead(items()) as read:
        for item in read:
            got.append(item)
    assert got == [1, 2]


def test_leaving_early_stops_the_worker_and_closes_the_source_on_its_thread() -> None:
    events: list[str] = []

    def items():
        try:
            yield from range(1_000_000)
        finally:
            events.append(f"closed on {threading.current_thread().name}")

    with pytest.raises(ValueError), ReadAhead(items(), name="reader") as read:
        for item in read:
            if item == 3:
                raise ValueError("destination refused chunk 4")
    assert events == ["closed on reader"]
    assert not any(t.name == "reader" for t in threading.enumerate())


def test_leaving_does_not_wait_forever_for_a_blocked_source() -> None:
    release = threading.Event()

    def items():
        yield 1
        release.wait(30)  # a slow query: nothing comes for a long time
        yield 2

    started = time.monotonic()
    with pytest.raises(ValueError), ReadAhead(items(), stop_timeout=0.5) as read:
        next(read)
        raise ValueError("task timed out")
    assert time.monotonic() - started < 5
    release.set()
