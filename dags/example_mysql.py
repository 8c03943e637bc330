"""Example: a MySQL table -> a Parquet file, and the same table -> Postgres.

Connections:
- `example_mysql`: an ordinary Airflow `mysql` connection (schema = database).
- `example_files`: a `filesystem` connection whose extra names the directory,
  e.g. {"base_path": "/data/exports"}.
- `example_postgres`: an ordinary Airflow `postgres` connection.

`export_to_parquet` streams the table from an unbuffered cursor into one Parquet file per run
date, keeping its exact types (DECIMAL as decimal128, TIMESTAMP as UTC instants, JSON as JSON
text, TINYINT(1) as bool). `copy_to_postgres` upserts the same rows into Postgres on `id`.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Param

from airflow_etl_provider.operators.extract_load import ExtractLoadOperator

MYSQL_CONN_ID = "example_mysql"
FILES_CONN_ID = "example_files"
POSTGRES_CONN_ID = "example_postgres"

with DAG(
    dag_id="example_mysql",
    description="MySQL -> Parquet file export, MySQL -> Postgres upsert.",
    schedule="@daily",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    tags=["etl", "example", "mysql"],
    params={"table": Param("orders", type="string", description="MySQL table to move.")},
) as dag:
    ExtractLoadOperator(
        task_id="export_to_parquet",
        source_conn_id=MYSQL_CONN_ID,
        source="{{ params.table }}",
        destination_conn_id=FILES_CONN_ID,
        destination="{{ params.table }}/{{ ds }}.parquet",
        mode="replace",
        chunk_size=50_000,
    )

    ExtractLoadOperator(
        task_id="copy_to_postgres",
        source_conn_id=MYSQL_CONN_ID,
        source="{{ params.table }}",
        destination_conn_id=POSTGRES_CONN_ID,
        destination="{{ params.table }}",
        mode="upsert",
        keys=["id"],
        chunk_size=50_000,
    )
