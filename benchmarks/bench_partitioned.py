"""Whole DAG runs under a real scheduler: one ExtractLoadOperator vs `partitioned_transfer`.

    python benchmarks/bench_partitioned.py --repeat 3                        # both cases, defaults
    python benchmarks/bench_partitioned.py --case latency --files 400 --latency-ms 20 --repeat 3
    python benchmarks/bench_partitioned.py --case parquet --rows 4000000 --repeat 1

Airflow runs as it does in production, in a throw-away AIRFLOW_HOME whose metadata database
is a uniquely named PostgreSQL database: `airflow db migrate`, then `airflow api-server`,
`airflow scheduler` (LocalExecutor, `[core] parallelism` per case) and `airflow dag-processor`,
each in its own process group, all stopped at the end however the script ends. The script writes
one DAG file (both DAGs of every case) into the home's DAGS folder before the processes start,
triggers a run through the REST API and polls it until it ends. A run's time is from just
before the trigger request to the run's `end_date`: queueing, every task's start-up and the
scheduler's hand-offs between tasks are counted, as a user waiting for the DAG sees them.
Rounds are interleaved (single, partitioned, single, partitioned, ...) so a neighbour's load on
the shared cores hits both; the median of `--repeat` rounds is reported.

Cases:
- latency: `--files` small CSV objects under one S3 prefix on a moto server (its own process,
  `benchmarks.harness.start_moto`) -> a PostgreSQL table, mode replace. The S3 connection's
  endpoint is a small proxy on loopback, run by this script, that waits `--latency-ms` before
  forwarding each request to moto: every request pays a round trip, as against a remote
  store. Partitioned: `partitions=4` (contiguous name-ordered groups of files), parallelism 4.
- parquet: `orders` (../shared/bench/orders.sql at `--rows` rows) on PostgreSQL -> a local
  folder (connection type `filesystem`) as Parquet files, mode replace. Partitioned:
  `partition_by="id"`, `partitions=--partitions`, parallelism 2. The task instances' own
  durations (REST API) are printed too, to show where a partitioned run's time goes.

After every run the destination is counted (a table's count(*), or the Parquet footers of the
folder's visible files) and must equal the source's rows, or the script fails. The last line
of output with `--json` is the whole result as one JSON object (used by the smoke test).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import http.server
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import REPO, start_moto  # noqa: E402

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
ORDERS_SQL = REPO.parent / "shared" / "bench" / "orders.sql"
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
BUCKET = "etl-bench-partitioned"
PREFIX = "in/"
S3_TABLE = "public.orders_from_s3"
PARQUET_FOLDER = "orders/"
#: Headers that belong to one hop, not forwarded by the delaying proxy.
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "expect", "content-length"}


# -- the delaying proxy -------------------------------------------------------------------------


class _DelayingHandler(http.server.BaseHTTPRequestHandler):
    """Wait, then forward the request to the upstream server over this connection's own upstream connection."""

    protocol_version = "HTTP/1.1"
    # Headers and body are separate writes: with Nagle's algorithm on, the body waits for the
    # client's delayed ACK (~40 ms on Linux), a latency of the proxy, not of the store.
    disable_nagle_algorithm = True
    server: _DelayingProxy

    def _forward(self) -> None:
        body = self._body()
        time.sleep(self.server.delay)
        headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_HEADERS}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        upstream = getattr(self, "_upstream", None)
        if upstream is None:
            upstream = self._upstream = http.client.HTTPConnection(*self.server.upstream, timeout=120)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
        except (http.client.HTTPException, OSError):  # a dropped keep-alive connection: once more, afresh
            upstream.close()
            upstream = self._upstream = http.client.HTTPConnection(*self.server.upstream, timeout=120)
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
        data = response.read()
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_HEADERS:
                self.send_header(name, value)
        if self.command == "HEAD":
            self.send_header("Content-Length", response.getheader("Content-Length", "0"))
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.server.requests += 1

    def _body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                chunk = self.rfile.read(size)
                self.rfile.readline()
                if size == 0:
                    break
                chunks.append(chunk)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


class _DelayingProxy(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, delay_ms: float) -> None:
        super().__init__(("127.0.0.1", 0), _DelayingHandler)
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.delay = delay_ms / 1000
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextlib.contextmanager
def delaying_proxy(upstream: str, delay_ms: float) -> Iterator[_DelayingProxy]:
    """A proxy on a free loopback port that adds `delay_ms` to every request to `upstream`."""
    proxy = _DelayingProxy(upstream, delay_ms)
    thread = threading.Thread(target=proxy.serve_forever, name="delaying-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()


# -- PostgreSQL ---------------------------------------------------------------------------------


def _psql(database: str, *args: str) -> str:
    command = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER]
    return subprocess.run([*command, "-d", database, *args], check=True, capture_output=True, text=True).stdout


def _count_table(database: str, table: str) -> int:
    return int(_psql(database, "-tA", "-c", f"SELECT count(*) FROM {table}").strip())


@contextlib.contextmanager
def databases(*prefixes: str) -> Iterator[list[str]]:
    """Uniquely named databases, dropped at the end (WITH FORCE: a left snapshot holder goes too)."""
    names = [f"{prefix}_{uuid.uuid4().hex[:10]}" for prefix in prefixes]
    created: list[str] = []
    try:
        for name in names:
            _psql("postgres", "-c", f"CREATE DATABASE {name}")
            created.append(name)
        yield names
    finally:
        for name in created:
            try:
                _psql("postgres", "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            except subprocess.CalledProcessError as error:
                print(f"could not drop database {name}: {error.stderr}", file=sys.stderr)


# -- Airflow ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AirflowStack:
    """api-server, scheduler and dag-processor of one throw-away AIRFLOW_HOME, each in its own process group."""

    def __init__(self, home: Path, metadata_db: str, connections: dict[str, dict[str, Any]]) -> None:
        self.home = home
        (home / "dags").mkdir(parents=True, exist_ok=True)
        (home / "plugins").mkdir(exist_ok=True)
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{metadata_db}",
            **{f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(spec) for conn_id, spec in connections.items()},
        }
        self.processes: list[tuple[str, subprocess.Popen, Any]] = []
        self.run("db", "migrate")

    def run(self, *args: str, timeout: int = 600) -> str:
        process = subprocess.run(
            [AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=timeout, cwd=self.home
        )
        if process.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} exited {process.returncode}:\n{process.stderr[-4000:]}")
        return process.stdout

    @contextlib.contextmanager
    def running(self, parallelism: int, expected_dags: list[str], timeout: float = 240) -> Iterator[None]:
        """The three processes with `[core] parallelism`, until the API serves `expected_dags`."""
        env = {**self.env, "AIRFLOW__CORE__PARALLELISM": str(parallelism)}
        try:
            for name, args in (
                ("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(self.port)]),
                ("scheduler", ["scheduler"]),
                ("dag-processor", ["dag-processor"]),
            ):
                log = (self.home / f"{name}.log").open("w")
                process = subprocess.Popen(
                    [AIRFLOW, *args],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.home,
                    start_new_session=True,
                )
                self.processes.append((name, process, log))
            self._wait_ready(expected_dags, timeout)
            yield
        finally:
            self.stop()

    def _wait_ready(self, dag_ids: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        waiting_for = "the api-server"
        while time.monotonic() < deadline:
            for name, process, _ in self.processes:
                if process.poll() is not None:
                    log = (self.home / f"{name}.log").read_text()[-4000:]
                    raise RuntimeError(f"airflow {name} exited {process.returncode}:\n{log}")
            try:
                health = requests.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()
                waiting_for = "the scheduler's heartbeat"
                if health.get("scheduler", {}).get("status") == "healthy":
                    missing = [d for d in dag_ids if not requests.get(self._api(f"dags/{d}"), timeout=5).ok]
                    waiting_for = f"the DAGs {missing}"
                    if not missing:
                        for dag_id in dag_ids:
                            requests.patch(self._api(f"dags/{dag_id}"), json={"is_paused": False}, timeout=10)
                        return
            except requests.RequestException:
                pass
            time.sleep(1)
        errors = ""
        if waiting_for.startswith("the DAGs"):
            with contextlib.suppress(requests.RequestException):
                errors = requests.get(self._api("importErrors"), timeout=10).text
        raise RuntimeError(f"Airflow was not ready after {timeout:.0f} s: waiting for {waiting_for}. {errors}")

    def stop(self) -> None:
        """SIGTERM every process group started, SIGKILL what is left after 30 s."""
        for _, process, _ in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for _, process, log in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):  # its workers too, even if the leader exited
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            log.close()
        self.processes = []

    def _api(self, path: str) -> str:
        return f"{self.base_url}/api/v2/{path}"

    def run_dag(self, dag_id: str, timeout: float = 3600) -> DagRunResult:
        """Trigger `dag_id` and wait for its run to end: the time from the trigger to the run's end_date."""
        run_id = f"bench__{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S%f}"
        started = time.time()
        response = requests.post(
            self._api(f"dags/{dag_id}/dagRuns"), json={"dag_run_id": run_id, "logical_date": None}, timeout=30
        )
        if not response.ok:
            raise RuntimeError(f"triggering {dag_id} failed: {response.status_code} {response.text}")
        deadline = time.monotonic() + timeout
        while True:
            run = requests.get(self._api(f"dags/{dag_id}/dagRuns/{run_id}"), timeout=30).json()
            if run["state"] in ("success", "failed"):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{dag_id} run {run_id} did not end in {timeout:.0f} s (state {run['state']})")
            time.sleep(0.25)
        instances = requests.get(
            self._api(f"dags/{dag_id}/dagRuns/{run_id}/taskInstances"), params={"limit": 1000}, timeout=30
        ).json()["task_instances"]
        tasks = [
            TaskTiming(
                task=ti["task_id"] if ti.get("map_index", -1) < 0 else f"{ti['task_id']}[{ti['map_index']}]",
                state=ti["state"],
                started_after=(_epoch(ti["start_date"]) - started) if ti.get("start_date") else None,
                seconds=ti.get("duration"),
            )
            for ti in instances
        ]
        tasks.sort(key=lambda t: (t.started_after is None, t.started_after or 0, t.task))
        result = DagRunResult(dag_id, run_id, run["state"], _epoch(run["end_date"]) - started, tasks)
        if run["state"] != "success":
            raise RuntimeError(f"{dag_id} run {run_id} {run['state']}:\n{self.failure_logs(dag_id, run_id, tasks)}")
        return result

    def failure_logs(self, dag_id: str, run_id: str, tasks: list[TaskTiming]) -> str:
        lines = [f"  {t.task}: {t.state}" for t in tasks]
        for log in sorted((self.home / "logs").glob(f"dag_id={dag_id}/run_id={run_id}/**/*.log")):
            text = log.read_text(errors="replace")
            if "ERROR" in text or "Traceback" in text:
                lines.append(f"--- {log.relative_to(self.home)} ---\n{text[-4000:]}")
        return "\n".join(lines)


def _epoch(timestamp: str) -> float:
    return dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


@dataclass
class TaskTiming:
    task: str
    state: str | None
    started_after: float | None  # seconds from the trigger to the task's start
    seconds: float | None


@dataclass
class DagRunResult:
    dag_id: str
    run_id: str
    state: str
    seconds: float
    tasks: list[TaskTiming]


@dataclass
class CaseResult:
    case: str
    workload: str
    parallelism: int
    partitions: int
    source_rows: int
    single: list[float] = field(default_factory=list)
    partitioned: list[float] = field(default_factory=list)
    destination_rows: list[int] = field(default_factory=list)
    single_tasks: list[list[dict[str, Any]]] = field(default_factory=list)
    partitioned_tasks: list[list[dict[str, Any]]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def single_seconds(self) -> float:
        return statistics.median(self.single)

    @property
    def partitioned_seconds(self) -> float:
        return statistics.median(self.partitioned)

    @property
    def speedup(self) -> float:
        return self.single_seconds / self.partitioned_seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "single_seconds": self.single_seconds,
            "partitioned_seconds": self.partitioned_seconds,
            "single_rows_per_second": self.source_rows / self.single_seconds,
            "partitioned_rows_per_second": self.source_rows / self.partitioned_seconds,
            "speedup": self.speedup,
        }


# -- the DAG file -------------------------------------------------------------------------------

DAG_FILE = '''\
"""Written by benchmarks/bench_partitioned.py: per case, one ExtractLoadOperator and its partitioned twin."""

import datetime as dt
import json

from airflow.sdk import DAG

from airflow_etl_provider.operators.extract_load import ExtractLoadOperator
from airflow_etl_provider.partitioned import partitioned_transfer

SPEC = json.loads({spec!r})

for case, spec in SPEC.items():
    with DAG(f"bench_{{case}}_single", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False) as single:
        ExtractLoadOperator(task_id="transfer", **spec["single"])
    with DAG(
        f"bench_{{case}}_partitioned", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False
    ) as partitioned:
        partitioned_transfer(group_id="transfer", **spec["partitioned"])
    globals()[f"single_{{case}}"], globals()[f"partitioned_{{case}}"] = single, partitioned
'''


def write_dag_file(folder: Path, spec: dict[str, Any]) -> None:
    (folder / "bench_partitioned_dags.py").write_text(DAG_FILE.format(spec=json.dumps(spec)))


# -- the cases ----------------------------------------------------------------------------------


def upload_csv_files(endpoint: str, files: int, rows_per_file: int) -> int:
    """`files` CSV objects under PREFIX, `rows_per_file` rows each (ids ascending across files): the rows."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    statuses = ["new", "paid", "shipped", "delivered", "cancelled", "refunded"]
    for index in range(files):
        lines = ["id,customer_id,amount,status,note,created_at"]
        for row in range(rows_per_file):
            order = index * rows_per_file + row + 1
            lines.append(
                f"{order},{1 + order * 7919 % 100000},{order * 37 % 100000 / 100:.2f},{statuses[order % 6]},"
                f'"note {order}, with a comma",2026-01-{1 + order % 28:02d}T{order % 24:02d}:00:00'
            )
        client.put_object(Bucket=BUCKET, Key=f"{PREFIX}part-{index:05d}.csv", Body="\n".join(lines) + "\n")
    return files * rows_per_file


def count_parquet(folder: Path) -> int:
    """Rows of the visible Parquet files under `folder` (hidden `_`/`.` names skipped, as readers do)."""
    import pyarrow.parquet as pq

    total = 0
    for path in folder.rglob("*.parquet"):
        if not any(part.startswith(("_", ".")) for part in path.relative_to(folder).parts):
            total += pq.ParquetFile(path).metadata.num_rows
    return total


def run_case(stack: AirflowStack, result: CaseResult, repeat: int, warmup: int, count_destination: Any) -> CaseResult:
    """Interleaved rounds of the case's two DAGs (after `warmup` untimed ones); every run's destination is counted."""
    for round_number in range(1 - warmup, repeat + 1):
        for kind in ("single", "partitioned"):
            run = stack.run_dag(f"bench_{result.case}_{kind}")
            rows = count_destination()
            result.destination_rows.append(rows)
            if rows != result.source_rows:
                raise RuntimeError(
                    f"{result.case} {kind} round {round_number}: the destination holds {rows:,} rows, the source "
                    f"{result.source_rows:,}"
                )
            if round_number < 1:
                print(f"  {result.case:<8} warm-up {kind:<11} {run.seconds:8.2f} s  (not counted)", flush=True)
                continue
            getattr(result, kind).append(run.seconds)
            getattr(result, f"{kind}_tasks").append([asdict(task) for task in run.tasks])
            print(
                f"  {result.case:<8} round {round_number} {kind:<11} {run.seconds:8.2f} s  "
                f"{result.source_rows / run.seconds:>10,.0f} rows/s  ({rows:,} rows checked)",
                flush=True,
            )
    return result


def task_table(result: CaseResult, kind: str) -> str:
    """Median start (s after trigger) and duration of every task of the `kind` DAG's runs."""
    runs = getattr(result, f"{kind}_tasks")
    by_task: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        for task in run:
            by_task.setdefault(task["task"], []).append(task)
    total = getattr(result, f"{kind}_seconds")
    lines = [
        f"Tasks of `bench_{result.case}_{kind}` (median of {len(runs)} run(s); run total {total:.2f} s):",
        "",
        "| task | starts at (s after trigger) | duration (s) |",
        "|---|---:|---:|",
    ]
    for task, timings in by_task.items():
        starts = [t["started_after"] for t in timings if t["started_after"] is not None]
        durations = [t["seconds"] for t in timings if t["seconds"] is not None]
        start = f"{statistics.median(starts):.2f}" if starts else "-"
        duration = f"{statistics.median(durations):.2f}" if durations else "-"
        lines.append(f"| {task} | {start} | {duration} |")
    return "\n".join(lines)


def summary_table(
    results: list[CaseResult], warmup: int, load_before: tuple[float, ...], load: tuple[float, ...]
) -> str:
    lines = [
        "| case | workload | parallelism | runs | single s | partitioned s | single rows/s | partitioned rows/s "
        "| speed-up (single ÷ partitioned) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.case} | {r.workload} | {r.parallelism} | {len(r.single)}+{len(r.partitioned)} "
            f"| {r.single_seconds:.2f} | {r.partitioned_seconds:.2f} | {r.source_rows / r.single_seconds:,.0f} "
            f"| {r.source_rows / r.partitioned_seconds:,.0f} | {r.speedup:.2f}x |"
        )
    lines.append("")
    lines.append(
        f"Median of interleaved rounds (after {warmup} untimed warm-up round(s)), each a whole DAG run from trigger "
        "to end (LocalExecutor); "
        f"{os.cpu_count()} cores; load average (1/5/15 min) {_load(load_before)} before, {_load(load)} at the end."
    )
    return "\n".join(lines)


def _load(load: tuple[float, ...]) -> str:
    return " / ".join(f"{value:.2f}" for value in load)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["latency", "parquet", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--warmup", type=int, default=0, help="untimed rounds first (the first task after start-up imports cold)"
    )
    parser.add_argument("--files", type=int, default=400, help="latency: CSV objects under the prefix")
    parser.add_argument("--rows-per-file", type=int, default=250, help="latency: rows of each CSV object")
    parser.add_argument("--latency-ms", type=float, default=20, help="latency: added to every S3 request")
    parser.add_argument("--latency-partitions", type=int, default=4)
    parser.add_argument("--latency-parallelism", type=int, default=4)
    parser.add_argument("--rows", type=int, default=1_000_000, help="parquet: rows of orders.sql")
    parser.add_argument("--partitions", type=int, default=2, help="parquet: partitions of the id range")
    parser.add_argument("--parquet-parallelism", type=int, default=2)
    parser.add_argument("--keep-home", action="store_true", help="keep AIRFLOW_HOME (logs) instead of removing it")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on the last line")
    args = parser.parse_args(argv)
    cases = ["latency", "parquet"] if args.case == "both" else [args.case]
    # Killed with SIGTERM (a timeout, Ctrl-C's neighbour): still stop Airflow and drop the databases.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))

    load_before = os.getloadavg()
    home = Path(tempfile.mkdtemp(prefix="etl-bench-partitioned-"))
    files_root = home / "files"
    files_root.mkdir()
    results: list[CaseResult] = []
    moto: subprocess.Popen | None = None
    ok = False
    try:
        with contextlib.ExitStack() as stack:
            data_db, metadata_db = stack.enter_context(databases("etl_bench_part", "etl_bench_part_meta"))
            pg = {"conn_type": "postgres", "host": PG_HOST, "port": PG_PORT, "login": PG_USER, "schema": data_db}
            connections: dict[str, dict[str, Any]] = {"bench_pg": pg}
            spec: dict[str, Any] = {}
            proxy = None
            if "latency" in cases:
                moto, endpoint = start_moto()
                proxy = stack.enter_context(delaying_proxy(endpoint, args.latency_ms))
                connections["bench_s3"] = {
                    "conn_type": "aws",
                    "login": "testing",
                    "password": "testing",
                    "extra": {"endpoint_url": proxy.url, "region_name": "us-east-1"},
                }
                common = {
                    "source_conn_id": "bench_s3",
                    "source": f"s3://{BUCKET}/{PREFIX}",
                    "destination_conn_id": "bench_pg",
                    "destination": S3_TABLE,
                    "mode": "replace",
                }
                spec["latency"] = {
                    "single": common,
                    "partitioned": {**common, "partitions": args.latency_partitions, "partition_by": None},
                }
            if "parquet" in cases:
                connections["bench_files"] = {"conn_type": "filesystem", "extra": {"base_path": str(files_root)}}
                common = {
                    "source_conn_id": "bench_pg",
                    "source": "public.orders",
                    "destination_conn_id": "bench_files",
                    "destination": PARQUET_FOLDER,
                    "mode": "replace",
                }
                spec["parquet"] = {
                    "single": common,
                    "partitioned": {**common, "partitions": args.partitions, "partition_by": "id"},
                }
            airflow = AirflowStack(home, metadata_db, connections)
            write_dag_file(home / "dags", spec)

            if "latency" in cases:
                assert moto is not None and proxy is not None
                print(f"latency: uploading {args.files} CSV objects of {args.rows_per_file} rows ...", flush=True)
                rows = upload_csv_files(endpoint, args.files, args.rows_per_file)
                result = CaseResult(
                    "latency",
                    f"{args.files} S3 CSV objects x {args.rows_per_file} rows, +{args.latency_ms:g} ms per request "
                    f"-> PostgreSQL, replace; partitions={args.latency_partitions}",
                    args.latency_parallelism,
                    args.latency_partitions,
                    rows,
                )
                with airflow.running(args.latency_parallelism, ["bench_latency_single", "bench_latency_partitioned"]):
                    before = proxy.requests
                    run_case(airflow, result, args.repeat, args.warmup, lambda: _count_table(data_db, S3_TABLE))
                    result.notes["s3_requests_per_run"] = (proxy.requests - before) / (2 * (args.repeat + args.warmup))
                results.append(result)

            if "parquet" in cases:
                print(f"parquet: generating orders.sql at {args.rows:,} rows ...", flush=True)
                _psql(data_db, "-v", f"N={args.rows}", "-f", str(ORDERS_SQL))
                rows = _count_table(data_db, "public.orders")
                result = CaseResult(
                    "parquet",
                    f"PostgreSQL orders (orders.sql at N={args.rows:,} rows) -> Parquet folder, replace; "
                    f'partition_by="id", partitions={args.partitions}',
                    args.parquet_parallelism,
                    args.partitions,
                    rows,
                )
                with airflow.running(args.parquet_parallelism, ["bench_parquet_single", "bench_parquet_partitioned"]):
                    count = lambda: count_parquet(files_root / PARQUET_FOLDER)  # noqa: E731
                    run_case(airflow, result, args.repeat, args.warmup, count)
                results.append(result)
        ok = True
    finally:
        if moto is not None:
            moto.kill()
            moto.wait()
        if args.keep_home or not ok:
            print(f"AIRFLOW_HOME kept: {home}", file=sys.stderr)
        else:
            shutil.rmtree(home, ignore_errors=True)

    load = os.getloadavg()
    print()
    print(summary_table(results, args.warmup, load_before, load))
    for result in results:
        if result.case == "latency":
            print(f"\nS3 requests per run (through the proxy): {result.notes['s3_requests_per_run']:.0f}")
        for kind in ("single", "partitioned"):
            print()
            print(task_table(result, kind))
    if args.json:
        cases_json = [r.to_dict() for r in results]
        print(json.dumps({"load_average_before": load_before, "load_average": load, "cases": cases_json}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
