"""Measure one data movement in a fresh process: rows/s and the process's peak RSS.

Each measurement runs in its own subprocess so its peak RSS belongs to that movement alone. The
peak is the process's VmHWM: getrusage's ru_maxrss survives fork + exec on Linux, so a child
started by a big parent would report at least the parent's size. Usage from a benchmark script:

    result = measure("csv -> sqlite", "benchmarks.embedded:csv_to_sqlite", rows=1_000_000, workdir=...)
    print_table([result, ...])

What is timed, for ours and for the operators we compare with alike:
- `preload` modules are imported before the clock starts: what a DAG file imports when it is
  parsed (the operator's module). What the operator imports while it runs is timed.
- A movement that checks its result afterwards (counting rows in the destination) calls
  `movement_done()` first, so the check is not timed.
- `start_rss_mb` is the resident size when the clock starts (interpreter, Airflow, preloaded
  modules); peak RSS minus it is the memory the movement itself added.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Measurement:
    name: str
    rows: int
    seconds: float
    peak_rss_mb: float
    start_rss_mb: float

    @property
    def added_rss_mb(self) -> float:
        return self.peak_rss_mb - self.start_rss_mb

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def measure(
    name: str,
    target: str,
    *,
    rows: int,
    env: dict[str, str] | None = None,
    preload: tuple[str, ...] = (),
    **kwargs: Any,
) -> Measurement:
    """Run `target` ("module:function") in a fresh interpreter; it returns the rows it moved."""
    payload = json.dumps({"target": target, "kwargs": kwargs, "preload": list(preload)})
    process = subprocess.run(
        [sys.executable, "-m", "benchmarks.harness", payload],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if process.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{process.stderr[-4000:]}")
    result = json.loads(process.stdout.strip().splitlines()[-1])
    if result["rows"] != rows:
        raise RuntimeError(f"{name} moved {result['rows']} rows, expected {rows}")
    return Measurement(
        name, result["rows"], result["seconds"], result["peak_rss_kb"] / 1024, result["start_rss_kb"] / 1024
    )


def print_table(measurements: list[Measurement], baseline: dict[str, str] | None = None) -> None:
    """Print rows/s and peak RSS; `baseline` maps a name to the name it is compared with."""
    by_name = {m.name: m for m in measurements}
    print(
        f"{'direction':<44} {'rows':>10} {'seconds':>8} {'rows/s':>11} {'peak RSS MB':>12} {'added MB':>9} {'vs':>36}"
    )
    for m in measurements:
        ratio = ""
        if baseline and m.name in baseline and baseline[m.name] in by_name:
            other = by_name[baseline[m.name]]
            speed, rss = m.rows_per_second / other.rows_per_second, m.peak_rss_mb / other.peak_rss_mb
            ratio = f"{speed:.2f}x speed, {rss:.2f}x RSS"
            if other.added_rss_mb >= 1:  # a baseline run in another program (psql) adds nothing here
                ratio += f", {m.added_rss_mb / other.added_rss_mb:.2f}x added"
        rate = f"{m.rows_per_second:>11,.0f}"
        print(
            f"{m.name:<44} {m.rows:>10,} {m.seconds:>8.2f} {rate} {m.peak_rss_mb:>12.1f} {m.added_rss_mb:>9.1f} "
            f"{ratio:>36}"
        )


def start_moto() -> tuple[subprocess.Popen, str]:
    """moto's S3 server in its own process on a free loopback port: the process and its endpoint URL.

    Its own process, so its CPU and memory are not the benchmark's, and a parent that only starts
    it stays small (children inherit the parent's peak RSS in ru_maxrss).
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    binary = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(binary), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("moto_server did not start")


_clock_stopped_at: float | None = None


def movement_done() -> None:
    """Stop the clock: what the timed function does after this (checking its result) is not timed."""
    global _clock_stopped_at
    _clock_stopped_at = time.perf_counter()


def _status_kb(field: str) -> int:
    """A memory figure of this process from /proc/self/status (VmRSS now, VmHWM the peak)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _child(payload: str) -> None:
    spec = json.loads(payload)
    for module in spec["preload"]:
        importlib.import_module(module)
    module_name, function_name = spec["target"].split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    start_rss = _status_kb("VmRSS")
    started = time.perf_counter()
    rows = function(**spec["kwargs"])
    seconds = (_clock_stopped_at or time.perf_counter()) - started
    peak = _status_kb("VmHWM")
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_kb": peak, "start_rss_kb": start_rss}))


if __name__ == "__main__":
    # Run as `benchmarks.harness`, the module movements import `movement_done` from.
    from benchmarks import harness

    harness._child(sys.argv[1])
