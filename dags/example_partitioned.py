"""Example: one big Postgres table moved by parallel mapped tasks, published at once.

Connections: `example_postgres` (an ordinary Airflow `postgres` connection) and `example_s3`
(an ordinary `aws` connection; its extra may carry `endpoint_url` for MinIO and a `bucket`).

`orders_to_warehouse` copies `orders` into `orders_copy` in 8 parts split on `id`: each part
loads its own staging table, then `publish` swaps them in with one transaction, so readers
see the old table or the new one, never a mix. `orders_to_lake` writes the same table as
Parquet parts under `lake/orders/`, split by the table's pages (`ctid`); the files appear
together at publish. Both read one PostgreSQL snapshot, so writes at the source while the
parts run never give a mix. See docs/partitioned.md.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from airflow_etl_provider.partitioned import partitioned_transfer

POSTGRES_CONN_ID = "example_postgres"
S3_CONN_ID = "example_s3"

with DAG(
    dag_id="example_partitioned",
    description="One Postgres table in parallel parts -> Postgres (one swap) and -> S3 Parquet (one publish).",
    schedule="@daily",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,
    tags=["etl", "example", "partitioned"],
) as dag:
    partitioned_transfer(
        group_id="orders_to_warehouse",
        source_conn_id=POSTGRES_CONN_ID,
        source="orders",
        destination_conn_id=POSTGRES_CONN_ID,
        destination="orders_copy",
        mode="replace",
        partition_by="id",
        partitions=8,
        part_retries=2,
    )

    partitioned_transfer(
        group_id="orders_to_lake",
        source_conn_id=POSTGRES_CONN_ID,
        source="orders",
        destination_conn_id=S3_CONN_ID,
        destination="lake/orders/",
        destination_options={"compression_codec": "zstd"},
        mode="replace",
        partition_by="ctid",
        partitions=4,
        part_retries=2,
    )
