"""Throughput and peak memory of the PostgreSQL connector, beside raw `psql` COPY in the same run.

    python benchmarks/bench_postgres.py --rows 1000000 --big-rows 4000000

On the local PostgreSQL, with a generated orders table (bigint id, integer with NULLs,
numeric(12,2), timestamptz, boolean, text), each movement in a fresh process
(benchmarks/harness.py: rows/s and peak RSS):
- Postgres -> Postgres (ExtractLoadOperator, replace) beside `psql \\copy ... TO STDOUT | psql
  \\copy ... FROM STDIN` into a table with the same primary key;
- Postgres -> Parquet file (filesystem connector) beside `psql \\copy ... TO` a CSV file;
- CSV file -> Postgres (filesystem connector, replace) beside `psql \\copy ... FROM` that file;
- extract alone of --rows and --big-rows at chunk_size 50,000: peak RSS must not grow with N.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Imported here, not in the movements, so start-up time is not counted as transfer time.
import psycopg  # noqa: E402

from airflow_etl_provider.hooks.postgres import PostgresConnectorHook  # noqa: E402
from airflow_etl_provider.operators.extract_load import ExtractLoadOperator  # noqa: E402
from benchmarks.harness import Measurement, measure, print_table  # noqa: E402

CHUNK_SIZE = 50_000
DATABASE = "etl_bench_pg"
PG = {"host": "127.0.0.1", "port": 5432, "login": "postgres", "schema": DATABASE}
DDL = (
    "CREATE TABLE {name} (id bigint PRIMARY KEY, customer_id integer, amount numeric(12,2), "
    "ordered_at timestamptz, paid boolean, note text)"
)
PSQL = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", PG["host"], "-p", str(PG["port"]), "-U", PG["login"]]


def _sql(*statements: str) -> list[tuple]:
    with psycopg.connect(host=PG["host"], port=PG["port"], user=PG["login"], dbname=DATABASE, autocommit=True) as conn:
        result: list[tuple] = []
        for statement in statements:
            cursor = conn.execute(statement)
            result = cursor.fetchall() if cursor.description else []
        return result


def _count(table: str) -> int:
    return int(_sql(f"SELECT count(*) FROM {table}")[0][0])


def _fresh(table: str) -> None:
    _sql(f"DROP TABLE IF EXISTS {table}", DDL.format(name=table))


def _psql(command: str) -> list[str]:
    return [*PSQL, "-d", DATABASE, "-c", command]


# -- raw psql movements -------------------------------------------------------------------------


def psql_pg_to_pg(table: str) -> int:
    """`psql \\copy ... TO STDOUT` piped into `psql \\copy ... FROM STDIN`, CSV both ways."""
    _fresh(table)
    out = subprocess.Popen(_psql("\\copy src TO STDOUT (FORMAT csv)"), stdout=subprocess.PIPE)
    subprocess.run(_psql(f"\\copy {table} FROM STDIN (FORMAT csv)"), stdin=out.stdout, check=True)
    out.stdout.close()
    if out.wait() != 0:
        raise RuntimeError("psql COPY TO STDOUT failed")
    return _count(table)


def psql_to_csv(source: str, path: str) -> int:
    """The table as a CSV file with a header; booleans spelled true/false so readers infer them."""
    select = f"SELECT id, customer_id, amount, ordered_at, paid::text AS paid, note FROM {source}"
    subprocess.run(_psql(f"\\copy ({select}) TO '{path}' (FORMAT csv, HEADER)"), check=True)
    with open(path, "rb") as written:
        return sum(1 for _ in written) - 1


def psql_from_csv(table: str, path: str) -> int:
    _fresh(table)
    subprocess.run(_psql(f"\\copy {table} FROM '{path}' (FORMAT csv, HEADER)"), check=True)
    return _count(table)


# -- connector movements ----------------------------------------------------------------------


def extract(source: str) -> int:
    return sum(batch.num_rows for batch in PostgresConnectorHook("bench_pg").extract(source, chunk_size=CHUNK_SIZE))


def _operator(**kwargs: object) -> int:
    return int(ExtractLoadOperator(task_id="bench", chunk_size=CHUNK_SIZE, **kwargs).execute(context={})["rows"])


def pg_to_pg(table: str) -> int:
    _fresh(table)
    return _operator(
        source_conn_id="bench_pg", source="src", destination_conn_id="bench_pg", destination=table, mode="replace"
    )


def pg_to_parquet(path: str) -> int:
    return _operator(
        source_conn_id="bench_pg", source="src", destination_conn_id="bench_files", destination=path, mode="replace"
    )


def csv_to_pg(table: str, path: str) -> int:
    _fresh(table)
    return _operator(
        source_conn_id="bench_files", source=path, destination_conn_id="bench_pg", destination=table, mode="replace"
    )


# -- setup --------------------------------------------------------------------------------------


def setup(rows: int, big_rows: int) -> None:
    print(f"generating {big_rows:,} rows (src_big) and {rows:,} (src) in PostgreSQL ...", flush=True)
    admin = dict(host=PG["host"], port=PG["port"], user=PG["login"], dbname="postgres", autocommit=True)
    with psycopg.connect(**admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    generated = (
        "SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE g % 5000 END, (g % 100000) / 100.0, "
        "timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second', g % 2 = 1, 'order note ' || g "
        "FROM generate_series(1, {n}) g"
    )
    _sql(
        DDL.format(name="src_big"),
        f"INSERT INTO src_big {generated.format(n=big_rows)}",
        DDL.format(name="src"),
        f"INSERT INTO src SELECT * FROM src_big WHERE id <= {rows}",
        "VACUUM ANALYZE",
    )


def connections(files_dir: str) -> dict[str, str]:
    specs = {
        "bench_pg": {"conn_type": "postgres", **PG},
        "bench_files": {"conn_type": "filesystem", "extra": {"base_path": files_dir}},
    }
    return {f"AIRFLOW_CONN_{name.upper()}": json.dumps(spec) for name, spec in specs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big-rows", type=int, default=4_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per movement; the fastest is reported")
    parser.add_argument("--skip-setup", action="store_true")
    args = parser.parse_args()
    if not args.skip_setup:
        setup(args.rows, args.big_rows)
    n, big, repeat = args.rows, args.big_rows, args.repeat
    results: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="bench_postgres_") as workdir:
        files = os.path.join(workdir, "files")
        os.mkdir(files)
        os.environ.update(connections(files))
        os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        csv_path = os.path.join(files, "src.csv")

        def run(name: str, target: str, rows: int, **kwargs: object) -> None:
            """Best of --repeat runs: on a shared 2-core machine the slow runs measure the neighbours."""
            runs = [measure(name, f"benchmarks.bench_postgres:{target}", rows=rows, **kwargs) for _ in range(repeat)]
            results.append(min(runs, key=lambda m: m.seconds))
            print(f"  {name}: {', '.join(f'{m.seconds:.2f}' for m in runs)} s", flush=True)

        run("raw: psql COPY pg -> pg", "psql_pg_to_pg", n, table="raw_dst")
        run("postgres -> postgres", "pg_to_pg", n, table="dst")
        run("raw: psql COPY TO csv file", "psql_to_csv", n, source="src", path=csv_path)
        run("postgres -> parquet file", "pg_to_parquet", n, path="src.parquet")
        run("raw: psql COPY FROM csv file", "psql_from_csv", n, table="raw_from_csv", path=csv_path)
        run("csv file -> postgres", "csv_to_pg", n, table="from_csv", path="src.csv")
        run(f"postgres extract {n:,}", "extract", n, source="src")
        run(f"postgres extract {big:,}", "extract", big, source="src_big")
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    print()
    print_table(
        results,
        baseline={
            "postgres -> postgres": "raw: psql COPY pg -> pg",
            "postgres -> parquet file": "raw: psql COPY TO csv file",
            f"postgres extract {n:,}": "raw: psql COPY TO csv file",
            f"postgres extract {big:,}": "raw: psql COPY TO csv file",
            "csv file -> postgres": "raw: psql COPY FROM csv file",
        },
    )


if __name__ == "__main__":
    main()
