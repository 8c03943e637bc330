"""Example: a Postgres table -> a Parquet file, and that file -> a Postgres table by upsert.

Connections:
- `example_postgres`: an ordinary Airflow `postgres` connection (schema = database); its extra
  may set `schema` (default `public`), `sslmode`, `application_name`, `connect_timeout`.
- `example_files`: a `filesystem` connection whose extra names the directory,
  e.g. {"base_path": "/data/exports"}.

`export_to_parquet` streams the table with `COPY ... TO STDOUT` into one Parquet file per run
date, keeping every column's type exactly (numeric(p,s) as decimal128, timestamptz as UTC
instants, jsonb as JSON text). `upsert_from_parquet` reads that file back and merges it into
`params.archive` on `id` (staging table + `INSERT ... ON CONFLICT`, one transaction): running
it twice leaves the same table.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Param

from airflow_etl_provider.operators.extract_load import ExtractLoadOperator

POSTGRES_CONN_ID = "example_postgres"
FILES_CONN_ID = "example_files"

with DAG(
    dag_id="example_postgres",
    description="Postgres -> Parquet file export, Parquet file -> Postgres upsert.",
    schedule="@daily",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    tags=["etl", "example", "postgres"],
    params={
        "table": Param("orders", type="string", description="Postgres table to export."),
        "archive": Param("orders_archive", type="string", description="Table the exported file is upserted into."),
    },
) as dag:
    export = ExtractLoadOperator(
        task_id="export_to_parquet",
        source_conn_id=POSTGRES_CONN_ID,
        source="{{ params.table }}",
        destination_conn_id=FILES_CONN_ID,
        destination="{{ params.table }}/{{ ds }}.parquet",
        mode="replace",
        chunk_size=50_000,
    )

    upsert = ExtractLoadOperator(
        task_id="upsert_from_parquet",
        source_conn_id=FILES_CONN_ID,
        source="{{ params.table }}/{{ ds }}.parquet",
        destination_conn_id=POSTGRES_CONN_ID,
        destination="{{ params.archive }}",
        mode="upsert",
        keys=["id"],
        chunk_size=50_000,
    )

    export >> upsert
