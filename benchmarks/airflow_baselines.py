"""The amazon provider's own transfers, measured by `bench_files.py` beside ExtractLoadOperator.

This module imports nothing of airflow_etl_provider (nor pyarrow), so a baseline process holds
only what the Airflow operator itself loads. Each function runs in a fresh process (see
harness.py), stops the clock once the operator returns, then counts what arrived.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from airflow.providers.amazon.aws.transfers.s3_to_sql import S3ToSqlOperator
from airflow.providers.amazon.aws.transfers.sql_to_s3 import SqlToS3Operator

from benchmarks.harness import movement_done

COLUMNS = ["id", "customer_id", "amount", "ordered_at", "note"]
#: Rows per INSERT batch for S3ToSqlOperator, the same as our chunk size.
COMMIT_EVERY = 50_000


def sql_to_s3(bucket: str) -> int:
    """SqlToS3Operator: the query into a pandas DataFrame, written as one Parquet object."""
    SqlToS3Operator(
        task_id="baseline",
        query="SELECT * FROM orders",
        s3_bucket=bucket,
        s3_key="baseline/orders.parquet",
        sql_conn_id="bench_pg",
        aws_conn_id="bench_s3",
        file_format="parquet",
        replace=True,
    ).execute(context={})
    movement_done()
    import io

    import pyarrow.parquet as pq  # already loaded by pandas' to_parquet
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    body = S3Hook(aws_conn_id="bench_s3").get_key("baseline/orders.parquet", bucket).get()["Body"].read()
    return pq.ParquetFile(io.BytesIO(body)).metadata.num_rows


def _csv_rows(path: str) -> Iterator[list[str | None]]:
    """The streaming parser (a generator, not a list): the most memory-frugal way to use it."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for row in reader:
            yield [value if value != "" else None for value in row]


def s3_to_sql(bucket: str) -> int:
    """S3ToSqlOperator: the object downloaded to a temporary file, parsed, inserted in batches."""
    S3ToSqlOperator(
        task_id="baseline",
        s3_key="orders.csv",
        s3_bucket=bucket,
        table="orders_baseline",
        parser=_csv_rows,
        column_list=COLUMNS,
        commit_every=COMMIT_EVERY,
        sql_conn_id="bench_pg",
        aws_conn_id="bench_s3",
    ).execute(context={})
    movement_done()
    from airflow.providers.postgres.hooks.postgres import PostgresHook  # loaded by the operator

    return int(PostgresHook(postgres_conn_id="bench_pg").get_first("SELECT count(*) FROM orders_baseline")[0])
