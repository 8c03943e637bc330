"""Throughput and peak memory of the S3 connector, beside the amazon provider's own transfers.

    python benchmarks/bench_files.py --rows 500000 --write-rows 1000000 --write-rows 4000000 --big-csv-gb 2

Against a moto S3 server (its own process) and the local PostgreSQL (and MariaDB when the
MySQL connector is installed), on the same generated orders data:
- Postgres -> S3 Parquet: ExtractLoadOperator vs SqlToS3Operator;
- S3 CSV -> Postgres: ExtractLoadOperator vs S3ToSqlOperator (csv.reader parser, insert_rows);
  (the Airflow operators run from benchmarks/airflow_baselines.py, which imports nothing of ours)
- S3 Parquet -> MySQL: ExtractLoadOperator;
- a Parquet write of N generated rows to S3 (multipart; peak RSS should not grow with N);
- extraction of one big CSV object (generated in /tmp, streamed to disk, deleted after).
Each movement runs in a fresh process (benchmarks/harness.py): rows/s and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from airflow_etl_provider.hooks.registry import hook_for  # noqa: E402
from airflow_etl_provider.operators.extract_load import ExtractLoadOperator  # noqa: E402
from benchmarks.harness import Measurement, measure, print_table, start_moto  # noqa: E402

CHUNK_SIZE = 50_000
BUCKET = "etl-bench"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
MYSQL = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
#: What a DAG file using the amazon provider's operators imports when parsed (not timed).
BASELINE_PRELOAD = ("benchmarks.airflow_baselines",)
PG_TABLE = (
    "CREATE TABLE {name} (id bigint, customer_id bigint, amount numeric(12,2), ordered_at timestamptz, note text)"
)


# -- movements (each runs in a fresh process) -------------------------------------------------


def _run(**kwargs: object) -> int:
    summary = ExtractLoadOperator(task_id="bench", chunk_size=CHUNK_SIZE, **kwargs).execute(context={})
    return int(summary["rows"])


def pg_to_s3_parquet() -> int:
    return _run(
        source_conn_id="bench_pg",
        source="orders",
        destination_conn_id="bench_s3",
        destination="etl/orders.parquet",
        mode="replace",
    )


def s3_csv_to_pg(column_types: dict[str, str]) -> int:
    return _run(
        source_conn_id="bench_s3",
        source="orders.csv",
        source_options={"column_types": column_types},
        destination_conn_id="bench_pg",
        destination="orders_from_s3",
        mode="replace",
    )


def s3_parquet_to_mysql() -> int:
    return _run(
        source_conn_id="bench_s3",
        source="etl/orders.parquet",
        destination_conn_id="bench_mysql",
        destination="orders",
        mode="replace",
    )


def _generated(rows: int) -> Iterator[pa.RecordBatch]:
    rng = np.random.default_rng(11)
    for first in range(0, rows, CHUNK_SIZE):
        n = min(CHUNK_SIZE, rows - first)
        yield pa.record_batch(
            {
                "id": pa.array(np.arange(first, first + n)),
                "customer_id": pa.array(rng.integers(1, 50_000, n), mask=rng.random(n) < 0.1),
                "amount": pa.array(rng.integers(0, 10**9, n)).cast(pa.decimal128(19, 0)).cast(pa.decimal128(12, 2)),
                "ordered_at": pa.array(
                    1_767_225_600_000_000 + rng.integers(0, 10**13, n), pa.timestamp("us", tz="UTC")
                ),
                "note": pa.array(rng.integers(0, 10**12, n)).cast(pa.string()),
            }
        )


def parquet_write(count: int) -> int:
    with hook_for("bench_s3") as hook:
        return hook.load(_generated(count), f"write/{count}.parquet", mode="replace").rows


def big_csv_extract(column_types: dict[str, str]) -> int:
    with hook_for("bench_s3") as hook:
        return sum(b.num_rows for b in hook.extract("big.csv", chunk_size=CHUNK_SIZE, column_types=column_types))


# -- set-up (not measured) ------------------------------------------------------------------
# The data generator lives in benchmarks/embedded.py, which imports pandas: only the parent
# process imports it, so the measured processes load nothing the movement does not need.


def _s3_client(endpoint: str):
    import boto3

    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench"
    )


def _upload(client, path: Path, key: str) -> None:
    from boto3.s3.transfer import TransferConfig

    client.upload_file(str(path), BUCKET, key, Config=TransferConfig(multipart_chunksize=64 << 20))


def _parts(client, key: str) -> str:
    etag = client.head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')
    return etag.split("-")[1] if "-" in etag else "1 (single PUT)"


def _mysql_available() -> bool:
    try:
        import airflow_etl_provider.hooks.mysql  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=500_000, help="rows of the transfer comparisons")
    parser.add_argument("--write-rows", type=int, action="append", help="rows of the Parquet write (repeatable)")
    parser.add_argument("--big-csv-gb", type=float, default=0, help="size of the big CSV object (0: skip)")
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument(
        "--directions", default="pg-s3,s3-pg,s3-mysql", help="comma-separated subset of: pg-s3, s3-pg, s3-mysql"
    )
    args = parser.parse_args()

    import psycopg

    from benchmarks.embedded import COLUMN_TYPES, generate_csv

    moto, endpoint = start_moto()
    database = f"etl_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**PG, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    mysql = _mysql_available()
    connections = {
        "bench_pg": {
            "conn_type": "postgres",
            "host": PG["host"],
            "port": PG["port"],
            "login": PG["user"],
            "schema": database,
        },
        "bench_s3": {
            "conn_type": "aws",
            "login": "bench",
            "password": "bench",
            "extra": {"endpoint_url": endpoint, "region_name": "us-east-1", "bucket": BUCKET},
        },
        "bench_mysql": {
            "conn_type": "mysql",
            "host": MYSQL["host"],
            "port": MYSQL["port"],
            "login": MYSQL["user"],
            "password": "",
            "schema": database,
        },
    }
    env = {f"AIRFLOW_CONN_{k.upper()}": json.dumps(v) for k, v in connections.items()}
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    results: list[Measurement] = []
    baseline: dict[str, str] = {}
    try:
        client = _s3_client(endpoint)
        client.create_bucket(Bucket=BUCKET)
        if mysql:
            import mysql.connector

            conn = mysql.connector.connect(**MYSQL)
            conn.cursor().execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
            conn.close()
        with tempfile.TemporaryDirectory(prefix="etl-bench-files-", dir="/tmp") as workdir:
            rows = args.rows
            generate_csv(workdir, rows)
            csv_path = Path(workdir) / "orders.csv"
            print(f"{rows:,} rows of orders, CSV {csv_path.stat().st_size / 1e6:,.0f} MB", flush=True)
            _upload(client, csv_path, "orders.csv")
            with psycopg.connect(**PG, dbname=database, autocommit=True) as db:
                for name in ("orders", "orders_baseline", "orders_from_s3"):
                    db.execute(PG_TABLE.format(name=name))
                with db.cursor().copy("COPY orders FROM STDIN (FORMAT csv, HEADER)") as copy, csv_path.open("rb") as f:
                    while block := f.read(1 << 20):
                        copy.write(block)
                # Set hint bits and statistics now, so that neither side pays for them on first read.
                db.execute("VACUUM (FREEZE, ANALYZE) orders")
            label = f"{rows // 1000}k"
            directions = set(args.directions.split(","))
            pairs = [
                (
                    f"postgres -> s3 parquet, etl ({label})",
                    "pg_to_s3_parquet",
                    f"postgres -> s3 parquet, SqlToS3Operator ({label})",
                    "sql_to_s3",
                ),
                (
                    f"s3 csv -> postgres, etl ({label})",
                    "s3_csv_to_pg",
                    f"s3 csv -> postgres, S3ToSqlOperator ({label})",
                    "s3_to_sql",
                ),
            ]
            pairs = [pair for pair, key in zip(pairs, ("pg-s3", "s3-pg"), strict=True) if key in directions]
            for ours, ours_fn, theirs, theirs_fn in pairs:
                kwargs = {"column_types": COLUMN_TYPES} if ours_fn == "s3_csv_to_pg" else {}
                results.append(measure(ours, f"benchmarks.bench_files:{ours_fn}", rows=rows, env=env, **kwargs))
                print_table(results[-1:])
                if not args.skip_baselines:
                    results.append(
                        measure(
                            theirs,
                            f"benchmarks.airflow_baselines:{theirs_fn}",
                            rows=rows,
                            env=env,
                            preload=BASELINE_PRELOAD,
                            bucket=BUCKET,
                        )
                    )
                    baseline[ours] = theirs
                    print_table(results[-1:])
            if mysql and "s3-mysql" in directions:
                if "pg-s3" not in directions:
                    measure("(parquet source)", "benchmarks.bench_files:pg_to_s3_parquet", rows=rows, env=env)
                results.append(
                    measure(
                        f"s3 parquet -> mysql, etl ({label})",
                        "benchmarks.bench_files:s3_parquet_to_mysql",
                        rows=rows,
                        env=env,
                    )
                )
                print_table(results[-1:])
        for write_rows in args.write_rows or []:
            results.append(
                measure(
                    f"generated -> s3 parquet, etl ({write_rows // 1000}k)",
                    "benchmarks.bench_files:parquet_write",
                    rows=write_rows,
                    env=env,
                    count=write_rows,
                )
            )
            size = client.head_object(Bucket=BUCKET, Key=f"write/{write_rows}.parquet")["ContentLength"]
            print_table(results[-1:])
            print(f"  object {size / 1e6:,.0f} MB in {_parts(client, f'write/{write_rows}.parquet')} multipart parts")
        if args.big_csv_gb:
            _big_csv(args.big_csv_gb, client, env, results)
    finally:
        moto.terminate()
        moto.wait()
        with psycopg.connect(**PG, dbname="postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if mysql:
            import mysql.connector

            conn = mysql.connector.connect(**MYSQL)
            conn.cursor().execute(f"DROP DATABASE IF EXISTS `{database}`")
            conn.close()
    print()
    print_table(results, baseline)


def _big_csv(gigabytes: float, client, env: dict[str, str], results: list[Measurement]) -> None:
    from benchmarks.embedded import COLUMN_TYPES, generate_csv

    with tempfile.TemporaryDirectory(prefix="etl-bench-big-", dir="/tmp") as workdir:
        sample = 100_000
        generate_csv(workdir, sample)
        per_row = (Path(workdir) / "orders.csv").stat().st_size / sample
        rows = int(gigabytes * 1e9 / per_row)
        generate_csv(workdir, rows)
        path = Path(workdir) / "orders.csv"
        print(f"big CSV: {rows:,} rows, {path.stat().st_size / 1e9:.2f} GB", flush=True)
        _upload(client, path, "big.csv")
    try:
        results.append(
            measure(
                f"s3 csv {gigabytes:g} GB -> extract, etl",
                "benchmarks.bench_files:big_csv_extract",
                rows=rows,
                env=env,
                column_types=COLUMN_TYPES,
            )
        )
        print_table(results[-1:])
    finally:
        client.delete_object(Bucket=BUCKET, Key="big.csv")


if __name__ == "__main__":
    main()
