"""Overlap producing work with consuming it: one worker thread behind a bounded queue.

- `send_in_background`: SQL loaders send one chunk to the server while this process
  extracts and encodes the next.
- `ReadAhead`: the operator reads the source's next chunks while the destination writes the
  current one, so the two connectors' network waits and C-level work (which release the GIL)
  run side by side.

At most `depth` items wait in between, so memory stays bounded by the chunk size.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from queue import Empty, Full, Queue
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")

#: How often a blocked worker checks whether the consumer has gone away.
_POLL_SECONDS = 0.1


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


@contextlib.contextmanager
def closed_after(items: Iterator[T]) -> Iterator[Iterator[T]]:
    """`items`, closed when the block is left: a generator's `finally` runs then, on this thread."""
    try:
        yield items
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_END = object()


class ReadAhead(Generic[T]):
    """Iterate `items` on a worker thread, at most `depth` items ahead of the consumer.

    Use it as a context manager: leaving the block (normally or on an error) stops the worker
    and waits for it, so the source is never read after its connection is closed. An error
    raised by `items` is raised in the consumer's thread, at the position it occurred. The
    worker closes `items` itself (a generator's `finally` runs on the thread that ran it).
    """

    def __init__(
        self, items: Iterable[T], *, depth: int = 2, name: str = "etl-reader", stop_timeout: float = 10.0
    ) -> None:
        self._stop_timeout = stop_timeout
        self._queue: Queue[object] = Queue(maxsize=depth)
        self._stopped = threading.Event()
        self._finished = False
        self._thread = threading.Thread(target=self._pull, args=(iter(items),), name=name, daemon=True)
        self._thread.start()

    def _offer(self, item: object) -> bool:
        """Put `item` on the queue unless the consumer stopped; False when it did."""
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return True
            except Full:
                continue
        return False

    def _pull(self, iterator: Iterator[T]) -> None:
        with closed_after(iterator):
            try:
                for item in iterator:
                    if not self._offer((item,)):
                        return
                self._offer(_END)
            except BaseException as error:
                self._offer(_Failed(error))

    def __iter__(self) -> ReadAhead[T]:
        return self

    def __next__(self) -> T:
        if self._finished:
            raise StopIteration
        entry = self._queue.get()
        if entry is _END:
            self._finished = True
            raise StopIteration
        if isinstance(entry, _Failed):
            self._finished = True
            raise entry.error
        return entry[0]  # type: ignore[index]

    def close(self) -> None:
        """Stop the worker and wait (up to `stop_timeout`) until it has finished the item in hand.

        A source blocked for longer (a slow query, a task timeout) is not waited for: the worker
        is a daemon thread, stops at its next item, and ends with the process at the latest.
        """
        self._stopped.set()
        self._finished = True
        deadline = time.monotonic() + self._stop_timeout
        while self._thread.is_alive() and time.monotonic() < deadline:
            with contextlib.suppress(Empty):
                self._queue.get(timeout=_POLL_SECONDS)

    def __enter__(self) -> ReadAhead[T]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
