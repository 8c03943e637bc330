"""Run Airflow's own CLI in a subprocess against a throw-away AIRFLOW_HOME (shared by DAG tests)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

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

    @contextmanager
    def api_server(self, timeout: float = 120, port: int | None = None) -> Iterator[str]:
        """`airflow api-server` on `port` (default: a free loopback port), all users admins; yields its base URL."""
        port = port or _free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {**self.env, "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True"}
        with self._background("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(port)], env) as alive:
            deadline = time.monotonic() + timeout
            while True:
                alive()
                try:
                    if requests.get(f"{base_url}/api/v2/monitor/health", timeout=2).ok:
                        break
                except requests.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError("api-server did not become healthy in time")
                time.sleep(1)
            yield base_url

    @contextmanager
    def scheduler(self, parallelism: int = 2) -> Iterator[str]:
        """A real deployment: api-server, scheduler (LocalExecutor, `parallelism` slots) and
        dag-processor; yields the api-server's base URL, which the task processes report to."""
        port = _free_port()
        env = {
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        }
        self.env.update(env)
        with (
            self._background("scheduler", ["scheduler"], self.env),
            self._background("dag-processor", ["dag-processor"], self.env),
            self.api_server(port=port) as base_url,
        ):
            yield base_url

    @contextmanager
    def _background(self, name: str, args: list[str], env: dict[str, str]) -> Iterator[Any]:
        """`airflow <args>` in its own process group, logged to `<home>/<name>.log`, stopped on exit.
        Yields a check that raises (with the log's end) once the process has exited."""
        log_path = self.home / f"{name}.log"
        log = log_path.open("w")
        process = subprocess.Popen(
            [AIRFLOW, *args], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.home, start_new_session=True
        )

        def alive() -> None:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited {process.returncode}: {log_path.read_text()[-4000:]}")

        try:
            yield alive
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
            log.close()

    def trigger(self, base_url: str, dag_id: str, timeout: float = 600) -> dict[str, Any]:
        """Unpause and trigger `dag_id` through the REST API, wait for the run to end; the run's
        task instances (task_id, map_index, state, try_number) in its `task_instances`."""
        api = f"{base_url}/api/v2/dags/{dag_id}"
        deadline = time.monotonic() + timeout
        while requests.patch(api, json={"is_paused": False}, timeout=10).status_code == 404:
            if time.monotonic() > deadline:
                raise AssertionError(f"the dag-processor never parsed {dag_id}")
            time.sleep(1)
        run = requests.post(f"{api}/dagRuns", json={"logical_date": None}, timeout=10)
        run.raise_for_status()
        run_id = run.json()["dag_run_id"]
        while True:
            state = requests.get(f"{api}/dagRuns/{run_id}", timeout=10).json()["state"]
            if state in ("success", "failed"):
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} of {dag_id} still {state} after {timeout} s")
            time.sleep(2)
        instances = requests.get(f"{api}/dagRuns/{run_id}/taskInstances", params={"limit": 100}, timeout=10).json()
        return {"run_id": run_id, "state": state, "task_instances": instances["task_instances"]}

    def tasks_test(self, dag_id: str, task_id: str, date: str = "2026-01-01") -> subprocess.CompletedProcess[str]:
        return self.run("tasks", "test", dag_id, task_id, date)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def logged_summary(output: str) -> dict[str, Any]:
    """The XCom summary ExtractLoadOperator logs (`tasks test` drops its temporary run's XCom)."""
    marker = "Summary (XCom return value): "
    lines = [line for line in output.splitlines() if marker in line]
    assert lines, "the task log has no ExtractLoadOperator summary"
    text = lines[-1].split(marker, 1)[1]
    summary, _ = json.JSONDecoder().raw_decode(text)
    return summary


def example_connections(db: Any, moto_server: str, **s3_extra: Any) -> dict[str, dict[str, Any]]:
    """The `example_postgres` and `example_s3` connections the example DAGs read, on the test's
    PostgreSQL database and the moto server; `s3_extra` adds to the S3 connection's extra."""
    return {
        "example_postgres": {
            "conn_type": "postgres",
            "host": db.host,
            "port": db.port,
            "login": db.user,
            "schema": db.name,
        },
        "example_s3": {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {"endpoint_url": moto_server, "region_name": "us-east-1", **s3_extra},
        },
    }
