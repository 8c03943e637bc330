"""Whole-process throughput and peak RSS on the realistic `orders` table, beside the raw limit.

    python benchmarks/bench_orders.py --rows 1000000 --repeat 3
    python benchmarks/bench_orders.py --rows 1000000 --compare-with ../other-checkout

The table is `../shared/bench/orders.sql` (10 columns: numeric(12,2), a nullable int, unicode
text with quotes, tabs and newlines, timestamptz, timestamp, bool, jsonb), generated with
`psql -v N=<rows>` into the database `etl_bench_orders` (`--database` names another). Every measurement is one fresh
process timed from start to exit, imports included, for the raw tools and for ours alike;
peak RSS is that process's own high-water mark (for a shell pipeline: its largest process).
Each round runs every contender of a direction one after another (raw, ours, and the other
checkout's ours with --compare-with, which runs that checkout's code under its own .venv), so
a neighbour's load on the 2-core machine hits all of them; the median of --repeat rounds is
reported with its ratio to the raw limit. A bare import of the operator (timed once per
direction and checkout; mostly Airflow's own import, which a task process has paid before any
operator runs) shows how much of an "ours" run is start-up, and the last column is the ratio
with that start-up taken out of our run.

S3 is moto's server in its own process on a loopback port, started here: our S3 runs write and
read through its HTTP API, while the raw limits read and write local files, so moto's HTTP
(and its CPU on the shared cores) is counted on our side only.

Directions (the raw limit first, then ours):
- pg -> S3 Parquet: `psql \\copy TO` a CSV file vs one Parquet object in S3;
- S3 CSV -> pg typed table: `psql \\copy FROM` the CSV file (FORMAT csv, HEADER) vs the same CSV
  as an S3 object into the existing typed table;
- pg -> pg append: `psql \\copy TO STDOUT (binary) | psql \\copy FROM STDIN (binary)`;
- pg -> MySQL (with jsonb), into a table the load creates: `psql \\copy TO STDOUT (csv) | mariadb
  LOAD DATA LOCAL INFILE`;
- S3 CSV -> MySQL, into an existing typed table: `mariadb LOAD DATA LOCAL INFILE` of the CSV file;
- MySQL -> pg, from `orders_src` (typed, filled from the CSV at set-up): `mariadb --batch --quick
  -N -e "SELECT ..." | psql \\copy FROM STDIN` in text format. The client's batch output
  escapes tab, newline and backslash as COPY text expects, but writes carriage returns raw, so
  a `sed` turns them into `\\r`; NULL is printed `NULL`, read with NULL 'NULL' (the data has no
  'NULL' strings); booleans arrive as 1/0, which PostgreSQL's boolean reads;
- file directions: pg -> Parquet files (max_rows_per_file, a multi-file write) and pg -> CSV
  file (jsonb as JSON text), both vs `psql \\copy TO` a CSV file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.harness import start_moto  # noqa: E402

ORDERS_SQL = REPO.parent / "shared" / "bench" / "orders.sql"
DATABASE = "etl_bench_orders"
BUCKET = "etl-bench-orders"
CHUNK_SIZE = 50_000
PG = {"host": "127.0.0.1", "port": 5432, "login": "postgres", "schema": DATABASE}
MYSQL = {"host": "127.0.0.1", "port": 3306, "login": "root", "password": "", "schema": DATABASE}
PSQL = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", DATABASE]
MARIADB = ["mariadb", "-h", "127.0.0.1", "-u", "root", "--local-infile=1", "--default-character-set=utf8mb4", DATABASE]
COLUMNS = "id, customer_id, amount, quantity, status, note, created_at, updated_at, is_paid, payload"
MYSQL_DDL = (
    "CREATE TABLE {name} (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(12,2) NOT NULL, "
    "quantity INT, status TEXT NOT NULL, note TEXT NOT NULL, created_at DATETIME(6) NOT NULL, "
    "updated_at DATETIME(6) NOT NULL, is_paid BOOL NOT NULL, payload JSON NOT NULL) "
    "DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
)
FRESH_PG = "DROP TABLE IF EXISTS dst; CREATE TABLE dst (LIKE orders INCLUDING ALL)"
#: The CSV file the CSV directions read: what `psql \copy ... CSV HEADER` writes (bool as true/false text).
CSV_SELECT = (
    "SELECT id, customer_id, amount, quantity, status, note, created_at, updated_at, is_paid::text AS is_paid, "
    "payload FROM orders"
)


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    output: str


@dataclass(frozen=True)
class Direction:
    """A raw command, our operator's arguments, what resets the destination, and how raw's rows are counted."""

    raw: str
    operator: dict[str, object]
    reset: Callable[[], None] = lambda: None
    raw_rows: Callable[[], int] | None = None  # None: a file written by psql, its exit status is the check


def _sh(command: str, *, env: dict[str, str] | None = None) -> Run:
    """Time one shell command from start to exit; the peak RSS of its largest process."""
    started = time.perf_counter()
    process = subprocess.Popen(["bash", "-o", "pipefail", "-c", command], env=env, stdout=subprocess.PIPE, text=True)
    output = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"exit {process.returncode}: {command[:200]}")
    return Run(seconds, usage.ru_maxrss / 1024, output)


def _psql(statement: str) -> str:
    return " ".join([*PSQL, "-c", _quote(statement)])


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _sql(statement: str) -> None:
    subprocess.run([*PSQL, "-c", statement], check=True, stdout=subprocess.DEVNULL)


def _mysql(statement: str) -> str:
    return subprocess.run([*MARIADB, "-N", "-e", statement], check=True, capture_output=True, text=True).stdout


def _load_data(path: str, table: str, *, header: bool) -> str:
    """LOAD DATA of psql's CSV (NULL unquoted empty, quotes doubled, timestamptz with +00, bool t/true)."""
    return (
        f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE {table} CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n' "
        + ("IGNORE 1 LINES " if header else "")
        + "(id, customer_id, amount, @quantity, status, note, @created_at, updated_at, @is_paid, payload) "
        "SET quantity = NULLIF(@quantity, ''), created_at = SUBSTRING_INDEX(@created_at, '+', 1), "
        "is_paid = @is_paid IN ('t', 'true')"
    )


def _count_pg() -> int:
    return int(
        subprocess.run(
            [*PSQL, "-tA", "-c", "SELECT count(*) FROM dst"], capture_output=True, text=True, check=True
        ).stdout
    )


def _count_mysql() -> int:
    return int(_mysql("SELECT count(*) FROM raw_orders"))


def _fresh_pg() -> None:
    _sql(FRESH_PG)


def _fresh_mysql(*typed: str) -> None:
    """Drop both MySQL destinations; create `raw_orders` and the `typed` ones with the typed DDL."""
    _mysql(
        "DROP TABLE IF EXISTS orders, raw_orders; "
        + "; ".join(MYSQL_DDL.format(name=t) for t in ("raw_orders", *typed))
    )


def _ours(checkout: Path, **operator: object) -> str:
    """A shell command running one ExtractLoadOperator in a fresh interpreter of `checkout`'s venv.

    It runs inside `checkout` with -P, so the code imported is that checkout's installed package
    and never a copy that happens to sit in the current directory.
    """
    script = textwrap.dedent(
        f"""
        from airflow_etl_provider.operators.extract_load import ExtractLoadOperator
        summary = ExtractLoadOperator(task_id="bench", chunk_size={CHUNK_SIZE}, **{operator!r}).execute(context={{}})
        print(summary["rows"])
        """
    )
    return f"cd {_quote(str(checkout))} && .venv/bin/python -P -c {_quote(script)}"


def _import_only(checkout: Path) -> str:
    """The start-up share of `_ours`: the same interpreter importing the operator and nothing else."""
    script = "from airflow_etl_provider.operators.extract_load import ExtractLoadOperator"
    return f"cd {_quote(str(checkout))} && .venv/bin/python -P -c {_quote(script)}"


def directions(files: Path) -> dict[str, Direction]:
    csv_file = str(files / "orders.csv")
    to_csv_file = _psql(f"\\copy orders TO '{files / 'raw.csv'}' (FORMAT csv)")
    pg_to_mysql_raw = (
        _psql("\\copy orders TO STDOUT (FORMAT csv)")
        + " | "
        + " ".join(MARIADB)
        + " -e "
        + _quote(_load_data("/dev/stdin", "raw_orders", header=False))
    )
    mysql_to_pg_raw = (
        " ".join(MARIADB)
        + " --batch --quick -N -e "
        + _quote(f"SELECT {COLUMNS} FROM orders_src")
        + " | sed 's/\\r/\\\\r/g' | PGTZ=UTC "
        + _psql("\\copy dst FROM STDIN (FORMAT text, NULL 'NULL')")
    )
    from_pg = {"source_conn_id": "bench_pg", "source": "orders"}
    return {
        "pg -> S3 Parquet": Direction(
            to_csv_file,
            {**from_pg, "destination_conn_id": "bench_s3", "destination": "orders.parquet", "mode": "replace"},
        ),
        "S3 CSV -> pg typed table": Direction(
            _psql(f"\\copy dst FROM '{csv_file}' (FORMAT csv, HEADER)"),
            {
                "source_conn_id": "bench_s3",
                "source": "orders.csv",
                "destination_conn_id": "bench_pg",
                "destination": "dst",
            },
            _fresh_pg,
            _count_pg,
        ),
        "pg -> pg append": Direction(
            _psql("\\copy orders TO STDOUT (FORMAT binary)") + " | " + _psql("\\copy dst FROM STDIN (FORMAT binary)"),
            {**from_pg, "destination_conn_id": "bench_pg", "destination": "dst"},
            _fresh_pg,
            _count_pg,
        ),
        "pg -> MySQL (with jsonb)": Direction(
            pg_to_mysql_raw,
            {**from_pg, "destination_conn_id": "bench_mysql", "destination": "orders"},
            _fresh_mysql,
            _count_mysql,
        ),
        "S3 CSV -> MySQL": Direction(
            " ".join(MARIADB) + " -e " + _quote(_load_data(csv_file, "raw_orders", header=True)),
            {
                "source_conn_id": "bench_s3",
                "source": "orders.csv",
                "destination_conn_id": "bench_mysql",
                "destination": "orders",
            },
            lambda: _fresh_mysql("orders"),
            _count_mysql,
        ),
        "MySQL -> pg": Direction(
            mysql_to_pg_raw,
            {
                "source_conn_id": "bench_mysql",
                "source": "orders_src",
                "destination_conn_id": "bench_pg",
                "destination": "dst",
            },
            _fresh_pg,
            _count_pg,
        ),
        "pg -> Parquet files (4 parts)": Direction(
            to_csv_file,
            {
                **from_pg,
                "destination_conn_id": "bench_files",
                "destination": "parquet/",
                "mode": "replace",
                "destination_options": {"max_rows_per_file": 250_000},
            },
        ),
        "pg -> CSV file": Direction(
            _psql(f"\\copy orders TO '{files / 'raw.csv'}' (FORMAT csv, HEADER)"),
            {**from_pg, "destination_conn_id": "bench_files", "destination": "out.csv", "mode": "replace"},
        ),
    }


def setup(rows: int, files: Path, endpoint: str) -> None:
    """The orders table in PostgreSQL, its CSV file (also in S3), and `orders_src` in MariaDB."""
    print(f"generating {rows:,} orders in PostgreSQL database {DATABASE} ...", flush=True)
    subprocess.run([*PSQL[:-2], "-d", "postgres", "-c", f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"], check=True)
    subprocess.run([*PSQL[:-2], "-d", "postgres", "-c", f"CREATE DATABASE {DATABASE}"], check=True)
    subprocess.run([*PSQL, "-v", f"N={rows}", "-f", str(ORDERS_SQL)], check=True, stdout=subprocess.DEVNULL)
    _sql(f"\\copy ({CSV_SELECT}) TO '{files / 'orders.csv'}' (FORMAT csv, HEADER)")
    _upload_csv(endpoint, files / "orders.csv")
    subprocess.run(
        ["mariadb", "-h", "127.0.0.1", "-u", "root", "-e", f"CREATE DATABASE IF NOT EXISTS {DATABASE}"], check=True
    )
    _mysql(
        f"DROP TABLE IF EXISTS orders_src; {MYSQL_DDL.format(name='orders_src')}; "
        + _load_data(str(files / "orders.csv"), "orders_src", header=True)
    )
    loaded = int(_mysql("SELECT count(*) FROM orders_src"))
    if loaded != rows:
        raise SystemExit(f"orders_src has {loaded} rows, expected {rows}")


def _upload_csv(endpoint: str, path: Path) -> None:
    """Create the bucket and upload the CSV, in a child: boto3 would make this process, whose peak
    RSS every measured child inherits, far bigger than psql."""
    script = textwrap.dedent(
        f"""
        from benchmarks.bench_files import _s3_client
        client = _s3_client({endpoint!r})
        client.create_bucket(Bucket={BUCKET!r})
        client.upload_file({str(path)!r}, {BUCKET!r}, "orders.csv")
        """
    )
    subprocess.run([sys.executable, "-c", script], cwd=REPO, check=True)


def connections(files: Path, endpoint: str) -> dict[str, str]:
    specs = {
        "bench_pg": {"conn_type": "postgres", **PG},
        "bench_mysql": {"conn_type": "mysql", **MYSQL},
        "bench_files": {"conn_type": "filesystem", "extra": {"base_path": str(files)}},
        "bench_s3": {
            "conn_type": "aws",
            "login": "bench",
            "password": "bench",
            "extra": {"endpoint_url": endpoint, "region_name": "us-east-1", "bucket": BUCKET},
        },
    }
    return {f"AIRFLOW_CONN_{name.upper()}": json.dumps(spec) for name, spec in specs.items()}


def _use_database(name: str) -> None:
    """Point every command and connection at the database `name` (a run beside another one)."""
    global DATABASE
    DATABASE = PG["schema"] = MYSQL["schema"] = PSQL[-1] = MARIADB[-1] = name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", action="append", help="run only the directions whose name contains this")
    parser.add_argument("--compare-with", type=Path, help="another checkout whose .venv runs its own code")
    parser.add_argument(
        "--database", default=DATABASE, help=f"database (PostgreSQL and MariaDB) to fill and read, default {DATABASE}"
    )
    args = parser.parse_args()
    _use_database(args.database)
    if shutil.which("psql") is None or shutil.which("mariadb") is None:
        sys.exit("psql and mariadb clients are needed")
    contenders = {"ours": REPO}
    if args.compare_with:
        contenders[f"ours @ {args.compare_with.name}"] = args.compare_with.resolve()
    moto, endpoint = start_moto()
    try:
        with tempfile.TemporaryDirectory(prefix="bench_orders_") as workdir:
            table, imports = _run_all(args, contenders, Path(workdir), endpoint)
    finally:
        moto.terminate()
        moto.wait()
    print(f"\norders table, {args.rows:,} rows, chunk_size {CHUNK_SIZE:,}, median of {args.repeat}, whole process")
    print(f"{'direction':<30} {'contender':<24} {'rows/s':>10} {'peak RSS MB':>12} {'÷ raw':>6} {'w/o imports':>12}")
    for direction, name, rate, rss, ratio, without_imports in table:
        print(f"{direction:<30} {name:<24} {rate:>10,.0f} {rss:>12.0f} {ratio:>6.2f} {without_imports:>12.2f}")
    for line in imports:
        print(line)
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; max RSS of this script "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


def _run_all(
    args: argparse.Namespace, contenders: dict[str, Path], files: Path, endpoint: str
) -> tuple[list[tuple[str, str, float, float, float, float]], list[str]]:
    """Every selected direction, `args.repeat` interleaved rounds: the table rows and the import lines."""
    setup(args.rows, files, endpoint)
    env = {**os.environ, **connections(files, endpoint), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    env.pop("PYTHONPATH", None)
    table: list[tuple[str, str, float, float, float, float]] = []
    imports: list[str] = []
    for direction, spec in directions(files).items():
        if args.only and not any(word in direction for word in args.only):
            continue
        runs: dict[str, list[Run]] = {"raw": [], **{name: [] for name in contenders}}
        for _ in range(args.repeat):
            for name in runs:
                spec.reset()
                command = spec.raw if name == "raw" else _ours(contenders[name], **spec.operator)
                try:
                    run = _sh(command, env=env)
                except RuntimeError as error:
                    print(f"  {direction} / {name} failed: {error}", flush=True)
                    continue
                if name != "raw":
                    written: int | None = int(run.output.split()[-1])
                else:
                    written = spec.raw_rows() if spec.raw_rows else None
                if written not in (None, args.rows):
                    raise SystemExit(f"{direction} / {name} wrote {written} rows, expected {args.rows}")
                runs[name].append(run)
        limit = statistics.median(r.seconds for r in runs["raw"]) if runs["raw"] else float("nan")
        for name, measured in runs.items():
            if not measured:
                table.append((direction, name, float("nan"), float("nan"), float("nan"), float("nan")))
                continue
            seconds = statistics.median(r.seconds for r in measured)
            rss = statistics.median(r.peak_rss_mb for r in measured)
            print(f"  {direction} / {name}: {', '.join(f'{r.seconds:.2f}' for r in measured)} s", flush=True)
            startup = 0.0
            if name != "raw":
                startup = _sh(_import_only(contenders[name]), env=env).seconds
                share = f"{startup:.2f} s ({startup / seconds:.0%} of {seconds:.2f} s)"
                imports.append(f"{direction} / {name}: of which imports: {share}")
            table.append((direction, name, args.rows / seconds, rss, limit / seconds, limit / (seconds - startup)))
    return table, imports


if __name__ == "__main__":
    main()
