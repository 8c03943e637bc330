"""bench_partitioned runs end to end at its smallest setting: real DAG runs, the result's fields, the rows checked."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from benchmarks.harness import REPO

SMALLEST = ["--files", "8", "--rows-per-file", "20", "--latency-ms", "1", "--rows", "2000", "--repeat", "1"]
CASE_FIELDS = {
    "case",
    "workload",
    "parallelism",
    "partitions",
    "source_rows",
    "single",
    "partitioned",
    "destination_rows",
    "single_tasks",
    "partitioned_tasks",
    "single_seconds",
    "partitioned_seconds",
    "single_rows_per_second",
    "partitioned_rows_per_second",
    "speedup",
}


@pytest.mark.airflow_cli
def test_smallest_setting_runs_both_cases_and_checks_the_rows() -> None:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=3).close()
    except OSError as error:
        pytest.fail(f"PostgreSQL is not reachable on 127.0.0.1:5432 ({error}); run scripts/services.sh", pytrace=False)
    process = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_partitioned.py"), *SMALLEST, "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert process.returncode == 0, f"stdout:\n{process.stdout[-4000:]}\nstderr:\n{process.stderr[-6000:]}"
    assert "| case | workload | parallelism |" in process.stdout  # the markdown table
    result = json.loads(process.stdout.strip().splitlines()[-1])
    assert len(result["load_average"]) == 3
    cases = {case["case"]: case for case in result["cases"]}
    assert set(cases) == {"latency", "parquet"}
    assert cases["latency"]["source_rows"] == 8 * 20
    assert cases["parquet"]["source_rows"] == 2000
    for case in cases.values():
        assert not CASE_FIELDS - set(case), f"missing fields: {CASE_FIELDS - set(case)}"
        # one single and one partitioned run, each destination counted equal to the source
        assert case["destination_rows"] == [case["source_rows"]] * 2
        assert len(case["single"]) == len(case["partitioned"]) == 1
        assert case["single_seconds"] > 0 and case["partitioned_seconds"] > 0
        assert case["speedup"] == pytest.approx(case["single_seconds"] / case["partitioned_seconds"])
        tasks = {task["task"] for task in case["partitioned_tasks"][0]}
        assert {"transfer.plan", "transfer.publish", "transfer.cleanup"} <= tasks
        assert any(task.startswith("transfer.parts[") for task in tasks)
        assert all(task["state"] == "success" for task in case["partitioned_tasks"][0])
    assert len([t for t in cases["latency"]["partitioned_tasks"][0] if t["task"].startswith("transfer.parts[")]) == 4
    assert len([t for t in cases["parquet"]["partitioned_tasks"][0] if t["task"].startswith("transfer.parts[")]) == 2
