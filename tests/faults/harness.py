"""Kill a real load process with SIGKILL in the middle of its write, then look at what it left.

The load runs in a fresh Python interpreter (the same one the tests run under), inheriting
the test's environment, so the Airflow connections the test defined (`AIRFLOW_CONN_*`)
are the ones it uses. Its source is `killable_chunks`: it yields a few chunks, writes a
marker file and then blocks, so the parent kills the process while the destination
connector holds a partly written load (an open transaction, a half-sent COPY, a staging
table, a pending multipart upload, a temporary file). No exception handler, `finally` or
`atexit` of ours runs: that is the point.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa

#: Started at the top of every load script; `killable_chunks` is available to it.
_PRELUDE = """
import sys
sys.path.insert(0, {root!r})
from tests.faults.harness import killable_chunks, sample_batch
"""
_ROOT = str(Path(__file__).resolve().parents[2])


def sample_batch(start: int, rows: int) -> pa.RecordBatch:
    """Rows `start .. start+rows-1`: an int key, a decimal, text and a timestamp with a zone."""
    import datetime as dt
    import decimal

    ids = list(range(start, start + rows))
    return pa.RecordBatch.from_pydict(
        {
            "id": pa.array(ids, pa.int64()),
            "amount": pa.array([decimal.Decimal(i % 10_000) / 100 for i in ids], pa.decimal128(12, 2)),
            "note": pa.array([f'row {i}, "quoted"\tand\nnewline' for i in ids], pa.string()),
            "at": pa.array(
                [dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=i) for i in ids],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )


def killable_chunks(total_rows: int, chunk_rows: int, marker: str | None, block_after: int) -> Iterator[pa.RecordBatch]:
    """`total_rows` rows in chunks; after `block_after` chunks, touch `marker` and block forever.

    With `marker=None` the stream runs to the end (the clean run a killed one is compared to).
    """
    for number, start in enumerate(range(0, total_rows, chunk_rows)):
        if marker is not None and number == block_after:
            Path(marker).write_text(str(os.getpid()))
            while True:  # the parent kills us here, with our writer mid-load
                time.sleep(3600)
        yield sample_batch(start, min(chunk_rows, total_rows - start))


def _script(body: str) -> str:
    return _PRELUDE.format(root=_ROOT) + textwrap.dedent(body)


def run_and_kill(body: str, marker: Path, *, settle: float = 0.3, timeout: float = 120.0) -> None:
    """Run `body` (Python source) until it writes `marker`, wait `settle` seconds, then SIGKILL it.

    `settle` lets the destination's background sender push what it holds onto the wire, so the
    kill lands in the middle of the write rather than before it. Fails when the process exits
    by itself or never reaches the marker.
    """
    marker.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-c", _script(body)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ)
    )
    deadline = time.monotonic() + timeout
    try:
        while not marker.exists():
            if process.poll() is not None:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                raise AssertionError(f"the load exited ({process.returncode}) before the kill point:\n{output}")
            if time.monotonic() > deadline:
                raise AssertionError("the load did not reach the kill point in time")
            time.sleep(0.02)
        time.sleep(settle)
        assert process.poll() is None, "the load exited before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


def run_to_end(body: str, *, timeout: float = 300.0) -> str:
    """Run `body` in a fresh interpreter to the end; returns its output, fails on a non-zero exit."""
    completed = subprocess.run(
        [sys.executable, "-c", _script(body)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
    )
    assert completed.returncode == 0, f"the load failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}"
    return completed.stdout


def chunks_then_block(total_rows: int, chunk_rows: int, marker: str) -> Iterator[pa.RecordBatch]:
    """Every chunk of `killable_chunks`, then touch `marker` and block forever.

    The kill lands after the last chunk was handed over, before the source ends: every part is
    written, and the load has not yet learnt that nothing more comes (so it has published nothing).
    """
    yield from killable_chunks(total_rows, chunk_rows, None, block_after=0)
    Path(marker).write_text(str(os.getpid()))
    while True:
        time.sleep(3600)


def run_and_kill_when_ready(
    body: str, source_marker: Path, ready: Callable[[], bool], *, timeout: float = 120.0
) -> None:
    """`run_and_kill`, holding the kill back until `body` wrote `source_marker` and `ready()` holds.

    `body`'s source writes `source_marker` (`killable_chunks` does before it blocks); `ready`
    asks the destination whether it has reached the state the kill should hit (say, every row
    received), so the kill point is a state of the server rather than a guess of time.
    """
    import threading

    source_marker.unlink(missing_ok=True)
    marker = source_marker.with_name(source_marker.name + ".ready")
    stop = threading.Event()
    failures: list[BaseException] = []

    def release() -> None:
        try:
            while not stop.is_set():
                if source_marker.exists() and ready():
                    marker.write_text("ready")
                    return
                time.sleep(0.05)
        except BaseException as error:  # reported by the caller's thread below
            failures.append(error)

    watcher = threading.Thread(target=release, name="kill-when-ready", daemon=True)
    watcher.start()
    try:
        run_and_kill(body, marker, settle=0.0, timeout=timeout)
    finally:
        stop.set()
        watcher.join()
        if failures:
            raise AssertionError(f"checking whether the load was ready to be killed failed: {failures[0]}")
