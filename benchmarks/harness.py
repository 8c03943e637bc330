"""Measure one data movement in a fresh process: rows/s and the process's peak RSS.

Each measurement runs in its own subprocess so peak RSS (getrusage ru_maxrss) belongs to that
movement alone. Usage from a benchmark script:

    result = measure("csv -> sqlite", "benchmarks.embedded:csv_to_sqlite", rows=1_000_000, workdir=...)
    print_table([result, ...])
"""

from __future__ import annotations

import importlib
import json
import os
import resource
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

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def measure(
    name: str, target: str, *, rows: int, env: dict[str, str] | None = None, **kwargs: Any
) -> Measurement:
    """Run `target` ("module:function") in a fresh interpreter; it returns the rows it moved."""
    payload = json.dumps({"target": target, "kwargs": kwargs})
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
    return Measurement(name, result["rows"], result["seconds"], result["peak_rss_kb"] / 1024)


def print_table(measurements: list[Measurement], baseline: dict[str, str] | None = None) -> None:
    """Print rows/s and peak RSS; `baseline` maps a name to the name it is compared with."""
    by_name = {m.name: m for m in measurements}
    print(f"{'direction':<44} {'rows':>10} {'seconds':>8} {'rows/s':>11} {'peak RSS MB':>12} {'vs':>22}")
    for m in measurements:
        ratio = ""
        if baseline and m.name in baseline and baseline[m.name] in by_name:
            other = by_name[baseline[m.name]]
            ratio = f"{m.rows_per_second / other.rows_per_second:.2f}x {other.name[:14]}"
        rate = f"{m.rows_per_second:>11,.0f}"
        print(f"{m.name:<44} {m.rows:>10,} {m.seconds:>8.2f} {rate} {m.peak_rss_mb:>12.1f} {ratio:>22}")


def _child(payload: str) -> None:
    spec = json.loads(payload)
    module_name, function_name = spec["target"].split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    started = time.perf_counter()
    rows = function(**spec["kwargs"])
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_kb": peak}))


if __name__ == "__main__":
    _child(sys.argv[1])
