"""Overlap building work with sending it: one sender thread behind a bounded queue.

SQL loaders use it so the server ingests one chunk while this process extracts and encodes
the next; at most `depth` built items wait in between, so memory stays bounded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from queue import Queue
from typing import TypeVar

T = TypeVar("T")


def send_in_background(
    send: Callable[[T], None], items: Iterable[T], *, depth: int = 2, name: str = "etl-sender"
) -> None:
    """Call `send` for each item on a worker thread while the next item is being built.

    An error on either side stops both and is raised here, in the caller's thread.
    """
    queue: Queue[tuple[T] | None] = Queue(maxsize=depth)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            while (item := queue.get()) is not None:
                send(item[0])
        except BaseException as error:
            failures.append(error)
            while queue.get() is not None:  # keep draining so the producer never blocks
                pass

    thread = threading.Thread(target=worker, name=name, daemon=True)
    thread.start()
    try:
        for item in items:
            if failures:
                break
            queue.put((item,))
    finally:
        queue.put(None)
        thread.join()
    if failures:
        raise failures[0]
