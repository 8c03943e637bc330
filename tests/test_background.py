"""The sender thread used by the SQL loaders to overlap building and sending chunks."""

from __future__ import annotations

import threading
import time

import pytest

from airflow_etl_provider.background import send_in_background


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
            # While item 0 is sent, at most `depth` more items (plus the one blocked in put) are built.
            assert len(built) <= 3

    send_in_background(slow_send, items(), depth=1)
    assert built == [0, 1, 2, 3]


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
