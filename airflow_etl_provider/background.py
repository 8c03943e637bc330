"""Overlap producing work with consuming it: one worker thread behind a bounded queue.

- `send_in_background`: SQL loaders send one chunk to the server while this process
  extracts and encodes the next.
- `ReadAhead`: the operator reads the source's next chunks while the destination writes the
  current one, so the two connectors' network waits and C-level work (which release the GIL)
  run side by side.

Both bound what is alive, not only what is queued: a slot is taken before the next item is
built and given back once the item is done with (sent, or taken by the consumer), so an item
blocked on its way into a full queue never adds one more chunk to the process's memory.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from queue import Empty, Queue
from types import TracebackType
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: How often a blocked worker checks whether the consumer has gone away.
_POLL_SECONDS = 0.1

#: The end of the items.
_END: Any = object()


def send_in_background(
    send: Callable[[T], None], items: Iterable[T], *, depth: int = 2, name: str = "etl-sender"
) -> None:
    """Call `send` for each item on a worker thread while the next item is being built.

    At most `depth` items are alive beyond the one being sent: the next item is only built
    once fewer than `depth` wait (so with depth 1, one item is sent while the next is built).
    An error on either side stops both and is raised here, in the caller's thread.
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}.")
    queue: Queue[tuple[T] | None] = Queue()
    slots = threading.Semaphore(depth + 1)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            while (item := queue.get()) is not None:
                send(item[0])
                del item  # the payload is freed now, not when the next one arrives
                slots.release()
        except BaseException as error:
            failures.append(error)
            slots.release()
            while queue.get() is not None:  # keep draining so the producer never blocks
                slots.release()

    thread = threading.Thread(target=worker, name=name, daemon=True)
    thread.start()
    iterator = iter(items)
    try:
        while True:
            while not slots.acquire(timeout=_POLL_SECONDS):
                if failures:
                    break
            if failures:
                break
            item = next(iterator, _END)
            if item is _END:
                break
            queue.put((item,))  # type: ignore[arg-type]
            del item
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


class ReadAhead(Generic[T]):
    """Iterate `items` on a worker thread, at most `depth` items ahead of the consumer.

    At most `depth` items are read and not yet taken by the consumer (the worker reads the
    next one only when fewer wait), besides the one the consumer holds. Use it as a context
    manager: leaving the block (normally or on an error) stops the worker and waits for it,
    so the source is never read after its connection is closed. An error raised by `items`
    is raised in the consumer's thread, at the position it occurred. The worker closes
    `items` itself (a generator's `finally` runs on the thread that ran it).
    """

    def __init__(
        self, items: Iterable[T], *, depth: int = 2, name: str = "etl-reader", stop_timeout: float = 10.0
    ) -> None:
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}.")
        self._stop_timeout = stop_timeout
        self._queue: Queue[object] = Queue()
        self._slots = threading.Semaphore(depth)
        self._stopped = threading.Event()
        self._finished = False
        self._thread = threading.Thread(target=self._pull, args=(iter(items),), name=name, daemon=True)
        self._thread.start()

    def _slot(self) -> bool:
        """Wait until fewer than `depth` items wait for the consumer; False when it stopped."""
        while not self._stopped.is_set():
            if self._slots.acquire(timeout=_POLL_SECONDS):
                return True
        return False

    def _pull(self, iterator: Iterator[T]) -> None:
        with closed_after(iterator):
            try:
                while self._slot():
                    item = next(iterator, _END)
                    if item is _END:
                        self._queue.put(_END)
                        return
                    self._queue.put((item,))
                    del item  # the consumer's reference is the only one
            except BaseException as error:
                self._queue.put(_Failed(error))

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
        self._slots.release()
        return entry[0]  # type: ignore[index]

    def close(self) -> None:
        """Stop the worker and wait (up to `stop_timeout`) until it has finished the item in hand.

        A source blocked for longer (a slow query, a task timeout) is not waited for: the worker
        is a daemon thread, stops at its next item, and ends with the process at the latest.
        The items read and not taken are dropped.
        """
        self._stopped.set()
        self._finished = True
        self._thread.join(self._stop_timeout)
        with contextlib.suppress(Empty):
            while True:
                self._queue.get_nowait()

    def __enter__(self) -> ReadAhead[T]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
