"""Whole-process throughput and peak RSS on the realistic `orders` table, beside the raw limit.

    python benchmarks/bench_orders.py --rows 1000000 --repeat 3
    python benchmarks/bench_orders.py --rows 1000000 --compare-with ../other-checkout

The table is `../shared/bench/orders.sql` (10 columns: numeric(12,2), a nullable int, unicode
text with quotes, tabs and newlines, timestamptz, timestamp, bool, jsonb), generated with
`psql -v N=<rows>` into the database `etl_bench_orders`. Every measurement is one fresh
process timed from start to exit, imports included, for the raw tools and for ours alike;
peak RSS is that process's own high-water mark (for a shell pipeline: its largest process).
Each round runs every contender of a direction one after another (raw, ours, and the other
checkout's ours with --compare-with, which runs that checkout's code under its own .venv), so
a neighbour's load on the 2-core machine hits all of them; the median of --repeat rounds is
reported with its ratio to the raw limit.

Directions:
- pg -> pg append: `psql \\copy TO STDOUT (binary) | psql \\copy FROM STDIN` vs ExtractLoadOperator;
- CSV file -> pg typed table: `psql \\copy FROM` the file vs the filesystem connector;
- pg -> Parquet files (max_rows_per_file, a multi-file write) vs `psql \\copy TO` a CSV file;
- pg -> CSV file (jsonb as JSON text) vs `psql \\copy TO` a CSV file;
- pg -> MySQL, into a table the load creates: `psql \\copy TO STDOUT | mariadb LOAD DATA LOCAL
  INFILE` vs ExtractLoadOperator.
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
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ORDERS_SQL = REPO.parent / "shared" / "bench" / "orders.sql"
DATABASE = "etl_bench_orders"
CHUNK_SIZE = 50_000
PG = {"host": "127.0.0.1", "port": 5432, "login": "postgres", "schema": DATABASE}
MYSQL = {"host": "127.0.0.1", "port": 3306, "login": "root", "password": "", "schema": DATABASE}
PSQL = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", DATABASE]
MARIADB = ["mariadb", "-h", "127.0.0.1", "-u", "root", "--local-infile=1", DATABASE]
MYSQL_DDL = (
    "CREATE TABLE raw_orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(12,2) NOT NULL, "
    "quantity INT, status TEXT NOT NULL, note TEXT NOT NULL, created_at DATETIME(6) NOT NULL, "
    "updated_at DATETIME(6) NOT NULL, is_paid BOOL NOT NULL, payload JSON NOT NULL) "
    "DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
)
#: The CSV file the CSV direction reads: what `psql \copy ... CSV HEADER` writes (bool as true/false text).
CSV_SELECT = (
    "SELECT id, customer_id, amount, quantity, status, note, created_at, updated_at, is_paid::text AS is_paid, "
    "payload FROM orders"
)


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    output: str


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


def _rows_written(direction: str, name: str, run: Run) -> int | None:
    """The rows a run put in its destination: our summary, or a count of the raw tool's table."""
    if name != "raw":
        return int(run.output.split()[-1])
    if "-> pg" in direction:
        return int(
            subprocess.run(
                [*PSQL, "-tA", "-c", "SELECT count(*) FROM dst"], capture_output=True, text=True, check=True
            ).stdout
        )
    if "MySQL" in direction:
        return int(_mysql("SELECT count(*) FROM raw_orders"))
    return None  # a file written by psql: its exit status is the check


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


# -- directions: (raw command, our operator arguments, a reset run before each measurement) -----


def directions(files: Path) -> dict[str, tuple[str, dict[str, object], str]]:
    fresh_pg = "DROP TABLE IF EXISTS dst; CREATE TABLE dst (LIKE orders INCLUDING ALL)"
    pg_to_pg_raw = (
        _psql("\\copy orders TO STDOUT (FORMAT binary)") + " | " + _psql("\\copy dst FROM STDIN (FORMAT binary)")
    )
    pg_to_mysql_raw = (
        _psql("\\copy orders TO STDOUT (FORMAT csv)")
        + " | "
        + " ".join(MARIADB)
        + " -e "
        + _quote(
            "LOAD DATA LOCAL INFILE '/dev/stdin' INTO TABLE raw_orders CHARACTER SET utf8mb4 "
            "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n' "
            "(id, customer_id, amount, @quantity, status, note, @created_at, updated_at, @is_paid, payload) "
            "SET quantity = NULLIF(@quantity, ''), created_at = LEFT(@created_at, 26), is_paid = (@is_paid = 't')"
        )
    )
    return {
        "pg -> pg append": (
            pg_to_pg_raw,
            dict(source_conn_id="bench_pg", source="orders", destination_conn_id="bench_pg", destination="dst"),
            fresh_pg,
        ),
        "CSV file -> pg typed table": (
            _psql(f"\\copy dst FROM '{files / 'orders.csv'}' (FORMAT csv, HEADER)"),
            dict(source_conn_id="bench_files", source="orders.csv", destination_conn_id="bench_pg", destination="dst"),
            fresh_pg,
        ),
        "pg -> Parquet files (4 parts)": (
            _psql(f"\\copy orders TO '{files / 'raw.csv'}' (FORMAT csv)"),
            dict(
                source_conn_id="bench_pg",
                source="orders",
                destination_conn_id="bench_files",
                destination="parquet/",
                mode="replace",
                destination_options={"max_rows_per_file": 250_000},
            ),
            "",
        ),
        "pg -> CSV file": (
            _psql(f"\\copy orders TO '{files / 'raw.csv'}' (FORMAT csv, HEADER)"),
            dict(
                source_conn_id="bench_pg",
                source="orders",
                destination_conn_id="bench_files",
                destination="out.csv",
                mode="replace",
            ),
            "",
        ),
        "pg -> MySQL (new table)": (
            pg_to_mysql_raw,
            dict(source_conn_id="bench_pg", source="orders", destination_conn_id="bench_mysql", destination="orders"),
            "mysql",
        ),
    }


def _reset(kind: str) -> None:
    if kind == "mysql":
        _mysql(f"DROP TABLE IF EXISTS orders, raw_orders; {MYSQL_DDL}")
    elif kind:
        _sql(kind)


def setup(rows: int, files: Path) -> None:
    print(f"generating {rows:,} orders in PostgreSQL database {DATABASE} ...", flush=True)
    subprocess.run([*PSQL[:-2], "-d", "postgres", "-c", f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"], check=True)
    subprocess.run([*PSQL[:-2], "-d", "postgres", "-c", f"CREATE DATABASE {DATABASE}"], check=True)
    subprocess.run([*PSQL, "-v", f"N={rows}", "-f", str(ORDERS_SQL)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["mariadb", "-h", "127.0.0.1", "-u", "root", "-e", f"CREATE DATABASE IF NOT EXISTS {DATABASE}"])
    _sql(f"\\copy ({CSV_SELECT}) TO '{files / 'orders.csv'}' (FORMAT csv, HEADER)")


def connections(files: Path) -> dict[str, str]:
    specs = {
        "bench_pg": {"conn_type": "postgres", **PG},
        "bench_mysql": {"conn_type": "mysql", **MYSQL},
        "bench_files": {"conn_type": "filesystem", "extra": {"base_path": str(files)}},
    }
    return {f"AIRFLOW_CONN_{name.upper()}": json.dumps(spec) for name, spec in specs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", action="append", help="run only the directions whose name contains this")
    parser.add_argument("--compare-with", type=Path, help="another checkout whose .venv runs its own code")
    args = parser.parse_args()
    if shutil.which("psql") is None or shutil.which("mariadb") is None:
        sys.exit("psql and mariadb clients are needed")
    contenders = {"ours": REPO}
    if args.compare_with:
        contenders[f"ours @ {args.compare_with.name}"] = args.compare_with.resolve()
    with tempfile.TemporaryDirectory(prefix="bench_orders_") as workdir:
        files = Path(workdir)
        setup(args.rows, files)
        env = {**os.environ, **connections(files), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        env.pop("PYTHONPATH", None)
        table: list[tuple[str, str, float, float, float]] = []
        for direction, (raw, operator, reset) in directions(files).items():
            if args.only and not any(word in direction for word in args.only):
                continue
            runs: dict[str, list[Run]] = {"raw": [], **{name: [] for name in contenders}}
            for _ in range(args.repeat):
                for name in runs:
                    _reset(reset)
                    command = raw if name == "raw" else _ours(contenders[name], **operator)
                    try:
                        run = _sh(command, env=env)
                    except RuntimeError as error:
                        print(f"  {direction} / {name} failed: {error}", flush=True)
                        continue
                    written = _rows_written(direction, name, run)
                    if written not in (None, args.rows):
                        raise SystemExit(f"{direction} / {name} wrote {written} rows, expected {args.rows}")
                    runs[name].append(run)
            limit = statistics.median(r.seconds for r in runs["raw"])
            for name, measured in runs.items():
                if not measured:
                    table.append((direction, name, float("nan"), float("nan"), float("nan")))
                    continue
                seconds = statistics.median(r.seconds for r in measured)
                rss = statistics.median(r.peak_rss_mb for r in measured)
                table.append((direction, name, args.rows / seconds, rss, limit / seconds))
                print(f"  {direction} / {name}: {', '.join(f'{r.seconds:.2f}' for r in measured)} s", flush=True)
    print(f"\norders table, {args.rows:,} rows, chunk_size {CHUNK_SIZE:,}, median of {args.repeat}, whole process")
    print(f"{'direction':<30} {'contender':<24} {'rows/s':>10} {'peak RSS MB':>12} {'÷ raw':>6}")
    for direction, name, rate, rss, ratio in table:
        print(f"{direction:<30} {name:<24} {rate:>10,.0f} {rss:>12.0f} {ratio:>6.2f}")
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; max RSS of this script "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
