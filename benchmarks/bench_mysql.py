"""Throughput and peak memory of the MySQL connector, beside raw MariaDB tools and GenericTransfer.

    python benchmarks/bench_mysql.py --rows 1000000 --big-rows 4000000

Against the local MariaDB and PostgreSQL, on the same generated orders table
(BIGINT id, INT with NULLs, DECIMAL(12,2), DATETIME(6), TINYINT(1), VARCHAR):
- MySQL extract at --rows and --big-rows (peak RSS should not grow with the row count);
- MySQL -> Parquet file (filesystem connector) beside the `mariadb` CLI writing the same rows as TSV;
- Postgres -> MySQL beside a raw `LOAD DATA LOCAL INFILE` of the same rows by the `mariadb` CLI,
  and beside Airflow's GenericTransfer with page_size on the same rows (--gt-rows to move fewer:
  it pages with LIMIT/OFFSET, so its rate drops as the table grows).
Each movement runs in a fresh process (benchmarks/harness.py): rows/s and peak RSS. The
throughput figures are run --repeat times, interleaved, and the median run is reported (the
machine is shared, so a single run is noisy).

mysql-connector's C extension needs OpenSSL >= 3.2 and this machine's Python has 3.0 loaded
first, so by default the pure-Python protocol runs; rows marked [C ext] preload the driver's own
OpenSSL (LD_PRELOAD) so the C extension loads, which is what a matching environment gets.
GenericTransfer needs the official MySQL provider's hook for the destination: it is installed
with `pip --target` into a temporary directory put on PYTHONPATH of that one measurement only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Imported here, not in the movements, so start-up time is not counted as transfer time.
import airflow.providers.postgres.hooks.postgres  # noqa: E402, F401
from airflow.providers.common.sql.operators.generic_transfer import GenericTransfer  # noqa: E402

with contextlib.suppress(ImportError):  # on PYTHONPATH only for the GenericTransfer measurement
    import airflow.providers.mysql.hooks.mysql  # noqa: F401

import airflow_etl_provider.hooks.filesystem  # noqa: E402, F401
import airflow_etl_provider.hooks.postgres  # noqa: E402, F401
from airflow_etl_provider.hooks.mysql import MySqlConnectorHook  # noqa: E402
from airflow_etl_provider.operators.extract_load import ExtractLoadOperator  # noqa: E402
from benchmarks.harness import Measurement, measure, print_table  # noqa: E402

CHUNK_SIZE = 50_000
DATABASE = "etl_bench_mysql"
MYSQL = {"host": "127.0.0.1", "port": 3306, "login": "root", "password": "", "schema": DATABASE}
PG = {"host": "127.0.0.1", "port": 5432, "login": "postgres", "schema": DATABASE}
MYSQL_DDL = (
    "CREATE TABLE {name} (id BIGINT PRIMARY KEY, customer_id INT NULL, amount DECIMAL(12,2), "
    "ordered_at DATETIME(6), paid TINYINT(1), note VARCHAR(64))"
)
COLUMNS = "id, customer_id, amount, ordered_at, paid, note"


def _mariadb(*args: str, stdout=None) -> None:
    subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", *args], check=True, stdout=stdout)


def _mysql_count(table: str) -> int:
    out = subprocess.run(
        ["mariadb", "-h127.0.0.1", "-uroot", "-N", "-B", DATABASE, "-e", f"SELECT COUNT(*) FROM {table}"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip())


# -- movements (each runs in a fresh process) -------------------------------------------------


def extract_mysql(table: str) -> int:
    _check_driver()
    return sum(batch.num_rows for batch in MySqlConnectorHook("bench_mysql").extract(table, chunk_size=CHUNK_SIZE))


def _operator(**kwargs: object) -> int:
    _check_driver()
    return int(ExtractLoadOperator(task_id="bench", chunk_size=CHUNK_SIZE, **kwargs).execute(context={})["rows"])


def mysql_to_parquet(table: str) -> int:
    return _operator(
        source_conn_id="bench_mysql",
        source=table,
        destination_conn_id="bench_files",
        destination=f"{table}.parquet",
        mode="replace",
    )


def postgres_to_mysql(table: str) -> int:
    """Into a new table, as the raw LOAD DATA figure is measured (both drop and create it here)."""
    _mariadb(DATABASE, "-e", f"DROP TABLE IF EXISTS {table}")
    return _operator(
        source_conn_id="bench_pg", source="src", destination_conn_id="bench_mysql", destination=table, mode="append"
    )


def cli_select(table: str, path: str) -> int:
    """`mariadb --batch --raw` writing the table as TSV (\\N for NULL, as LOAD DATA reads it)."""
    select = f"SELECT id, IFNULL(customer_id, '\\\\N'), amount, ordered_at, paid, note FROM {table}"
    with open(path, "wb") as out:
        _mariadb("--batch", "--raw", "-N", DATABASE, "-e", select, stdout=out)
    with open(path, "rb") as written:
        return sum(1 for _ in written)


def cli_load_data(table: str, path: str) -> int:
    _mariadb(DATABASE, "-e", f"DROP TABLE IF EXISTS {table}; {MYSQL_DDL.format(name=table)}")
    _mariadb("--local-infile=1", DATABASE, "-e", f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE {table} ({COLUMNS})")
    return _mysql_count(table)


def generic_transfer(table: str, limit: int, page_size: int) -> int:
    _mariadb(DATABASE, "-e", f"DROP TABLE IF EXISTS {table}; {MYSQL_DDL.format(name=table)}")
    GenericTransfer(
        task_id="bench_generic_transfer",
        sql=f"SELECT {COLUMNS} FROM src WHERE id <= {limit} ORDER BY id",
        destination_table=table,
        source_conn_id="bench_pg",
        destination_conn_id="bench_mysql_provider",
        page_size=page_size,
        insert_args={"commit_every": page_size, "executemany": True},
        deferrable=False,
    ).execute(context={})
    return _mysql_count(table)


# -- setup -------------------------------------------------------------------------------------


def setup(rows: int, big_rows: int) -> None:
    import psycopg

    print(f"generating {big_rows:,} rows in MariaDB and {rows:,} in PostgreSQL ...", flush=True)
    generated = (
        "SELECT seq, IF(seq % 10 = 0, NULL, seq % 5000), (seq % 100000) / 100, "
        "TIMESTAMP('2026-01-01') + INTERVAL seq SECOND, seq % 2, CONCAT('order note ', seq) FROM seq_1_to_{n}"
    )
    _mariadb(
        "-e",
        f"DROP DATABASE IF EXISTS {DATABASE}; CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4; USE {DATABASE}; "
        f"{MYSQL_DDL.format(name='src_big')}; INSERT INTO src_big {generated.format(n=big_rows)}; "
        f"{MYSQL_DDL.format(name='src')}; INSERT INTO src SELECT * FROM src_big WHERE id <= {rows};",
    )
    admin = dict(host=PG["host"], port=PG["port"], user=PG["login"], dbname="postgres", autocommit=True)
    with psycopg.connect(**admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    with psycopg.connect(host=PG["host"], port=PG["port"], user=PG["login"], dbname=DATABASE) as conn:
        conn.execute(
            "CREATE TABLE src (id bigint PRIMARY KEY, customer_id integer, amount numeric(12,2), "
            "ordered_at timestamp, paid boolean, note text)"
        )
        conn.execute(
            "INSERT INTO src SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE g % 5000 END, (g % 100000) / 100.0, "
            f"timestamp '2026-01-01' + g * interval '1 second', g % 2 = 1, 'order note ' || g "
            f"FROM generate_series(1, {rows}) g"
        )


def connections(files_dir: str) -> dict[str, str]:
    specs = {
        "bench_mysql": {"conn_type": "mysql", **MYSQL},
        "bench_mysql_provider": {"conn_type": "mysql", **MYSQL, "extra": {"client": "mysql-connector-python"}},
        "bench_pg": {"conn_type": "postgres", **PG},
        "bench_files": {"conn_type": "filesystem", "extra": {"base_path": files_dir}},
    }
    return {f"AIRFLOW_CONN_{name.upper()}": json.dumps(spec) for name, spec in specs.items()}


def c_extension_env() -> dict[str, str]:
    """Preload the driver's OpenSSL (and libstdc++, which otherwise finds no static TLS left)."""
    import mysql

    vendor = Path(mysql.__path__[0]) / "vendor"
    preload = [vendor / "libcrypto.so.3", vendor / "libssl.so.3", Path("/lib/x86_64-linux-gnu/libstdc++.so.6")]
    return {"LD_PRELOAD": ":".join(str(path) for path in preload if path.exists()), "BENCH_MYSQL_CEXT": "1"}


def _check_driver() -> None:
    """Fail the measurement when the C extension is not in the state its name says."""
    import mysql.connector

    if bool(os.environ.get("BENCH_MYSQL_CEXT")) != mysql.connector.HAVE_CEXT:
        raise RuntimeError(f"mysql-connector C extension loaded: {mysql.connector.HAVE_CEXT}, expected the opposite")


def mysql_provider_path(workdir: str) -> dict[str, str]:
    """The official MySQL provider in a throw-away directory, for GenericTransfer's destination hook."""
    target = os.path.join(workdir, "mysql_provider")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            target,
            "apache-airflow-providers-mysql",
        ],
        check=True,
    )
    return {"PYTHONPATH": f"{Path(__file__).resolve().parent.parent}{os.pathsep}{target}"}


def median_runs(results: list[Measurement]) -> list[Measurement]:
    """One measurement per name: the run with the median time (first-seen order kept)."""
    by_name: dict[str, list[Measurement]] = {}
    for result in results:
        by_name.setdefault(result.name, []).append(result)
    return [sorted(runs, key=lambda m: m.seconds)[len(runs) // 2] for runs in by_name.values()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big-rows", type=int, default=4_000_000)
    parser.add_argument("--gt-rows", type=int, help="rows GenericTransfer moves (default: --rows)")
    parser.add_argument("--page-size", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs of each throughput figure")
    parser.add_argument("--skip-setup", action="store_true")
    args = parser.parse_args()
    if not args.skip_setup:
        setup(args.rows, args.big_rows)
    n, big = args.rows, args.big_rows
    gt_rows = args.gt_rows or n
    cli_select, load_data = "raw: mariadb CLI select -> TSV", "raw: mariadb CLI LOAD DATA LOCAL"
    gt = f"GenericTransfer pg -> mysql (page_size={args.page_size:,})"
    with tempfile.TemporaryDirectory(prefix="bench_mysql_") as workdir:
        files = os.path.join(workdir, "files")
        os.mkdir(files)
        os.environ.update(connections(files))
        os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        tsv = os.path.join(workdir, "src.tsv")
        cext = c_extension_env()
        results: list[Measurement] = []

        def run(name: str, target: str, rows: int, env: dict[str, str] | None = None, **kwargs: object) -> None:
            started = time.perf_counter()
            results.append(measure(name, f"benchmarks.bench_mysql:{target}", rows=rows, env=env, **kwargs))
            print(
                f"  {name}: {time.perf_counter() - started:.1f} s (load average {os.getloadavg()[0]:.1f})", flush=True
            )

        # Interleaved, so a busy moment of the machine hits every figure alike; medians are reported.
        for _ in range(args.repeat):
            run(cli_select, "cli_select", n, table="src", path=tsv)
            run(load_data, "cli_load_data", n, table="raw_dst", path=tsv)
            run("postgres -> mysql", "postgres_to_mysql", n, table="dst")
            run("postgres -> mysql [C ext]", "postgres_to_mysql", n, env=cext, table="dst_c")
            run(f"mysql extract {n:,}", "extract_mysql", n, table="src")
            run(f"mysql extract {n:,} [C ext]", "extract_mysql", n, env=cext, table="src")
            run("mysql -> parquet", "mysql_to_parquet", n, table="src")
            run("mysql -> parquet [C ext]", "mysql_to_parquet", n, env=cext, table="src")
        run(f"mysql extract {big:,}", "extract_mysql", big, table="src_big")
        run(f"mysql extract {big:,} [C ext]", "extract_mysql", big, env=cext, table="src_big")
        provider = mysql_provider_path(workdir)
        run(
            gt,
            "generic_transfer",
            gt_rows,
            env=provider,
            table="gt_dst",
            limit=gt_rows,
            page_size=args.page_size,
        )
    print()
    results = median_runs(results)
    print_table(
        results,
        baseline={
            f"mysql extract {n:,}": cli_select,
            f"mysql extract {big:,}": cli_select,
            f"mysql extract {n:,} [C ext]": cli_select,
            f"mysql extract {big:,} [C ext]": cli_select,
            "mysql -> parquet": cli_select,
            "mysql -> parquet [C ext]": cli_select,
            "postgres -> mysql": load_data,
            "postgres -> mysql [C ext]": load_data,
            gt: load_data,
        },
    )
    by_name = {m.name: m for m in results}
    for ours in ("postgres -> mysql", "postgres -> mysql [C ext]"):
        ratio = by_name[ours].rows_per_second / by_name[gt].rows_per_second
        print(f"{ours} vs GenericTransfer: {ratio:.1f}x")


if __name__ == "__main__":
    main()
