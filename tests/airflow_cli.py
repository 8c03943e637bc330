"""Run Airflow's own CLI in a subprocess against a throw-away AIRFLOW_HOME (shared by DAG tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


class AirflowCli:
    """An Airflow installation in `home` using the repository's dags/ and plugins/ folders."""

    def __init__(self, home: Path, connections: dict[str, dict[str, Any]], env: dict[str, str] | None = None):
        self.home = home
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__CORE__PARALLELISM": "4",
            **{f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(spec) for conn_id, spec in connections.items()},
            **(env or {}),
        }
        self.run("db", "migrate")

    def run(self, *args: str, check: bool = True, timeout: int = 300) -> subprocess.CompletedProcess[str]:
        process = subprocess.run(
            [AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=timeout, cwd=self.home
        )
        if check and process.returncode != 0:
            raise AssertionError(
                f"airflow {' '.join(args)} exited {process.returncode}\n--- stdout ---\n{process.stdout[-6000:]}"
                f"\n--- stderr ---\n{process.stderr[-6000:]}"
            )
        return process

    def tasks_test(self, dag_id: str, task_id: str, date: str = "2026-01-01") -> subprocess.CompletedProcess[str]:
        return self.run("tasks", "test", dag_id, task_id, date)



def logged_summary(output: str) -> dict[str, Any]:
    """The XCom summary ExtractLoadOperator logs (`tasks test` drops its temporary run's XCom)."""
    marker = "Summary (XCom return value): "
    lines = [line for line in output.splitlines() if marker in line]
    assert lines, "the task log has no ExtractLoadOperator summary"
    text = lines[-1].split(marker, 1)[1]
    summary, _ = json.JSONDecoder().raw_decode(text)
    return summary
