"""Example: a Postgres table -> Parquet in S3, and CSV files in S3 -> a Postgres table.

Connections (any S3-compatible store works, e.g. MinIO through `endpoint_url`):
- `example_postgres`: an ordinary Airflow `postgres` connection.
- `example_s3`: an ordinary Airflow `aws` connection; its extra may add a default `bucket`
  and `prefix`, e.g. {"region_name": "eu-west-1", "bucket": "analytics", "prefix": "etl/"}.

`export_to_s3` streams the table with COPY into one Parquet object per run date (a multipart
upload; the object appears complete or not at all, and keeps every column type exactly).
`import_from_s3` reads every CSV object under a prefix as one stream (each row tagged with
its object's name) and replaces the Postgres table atomically. CSV carries decimals and
timestamps as text, so their types are declared.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Param

from airflow_etl_provider.operators.extract_load import ExtractLoadOperator

POSTGRES_CONN_ID = "example_postgres"
S3_CONN_ID = "example_s3"

with DAG(
    dag_id="example_postgres_s3",
    description="Postgres -> S3 Parquet export, S3 CSV -> Postgres import.",
    schedule="@daily",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    tags=["etl", "example", "s3", "postgres"],
    params={
        "table": Param("orders", type="string", description="Postgres table to export."),
        "import_table": Param("orders_imported", type="string", description="Table the CSV files replace."),
    },
) as dag:
    ExtractLoadOperator(
        task_id="export_to_s3",
        source_conn_id=POSTGRES_CONN_ID,
        source="{{ params.table }}",
        destination_conn_id=S3_CONN_ID,
        destination="exports/{{ params.table }}/{{ ds }}.parquet",
        destination_options={"compression_codec": "zstd"},
        mode="replace",
        chunk_size=50_000,
    )

    ExtractLoadOperator(
        task_id="import_from_s3",
        source_conn_id=S3_CONN_ID,
        source="imports/{{ params.table }}/*.csv",
        source_options={
            "file_name_column": "source_object",
            "column_types": {"amount": "decimal128(18,2)", "created_at": "timestamp[us, tz=UTC]"},
        },
        destination_conn_id=POSTGRES_CONN_ID,
        destination="{{ params.import_table }}",
        mode="replace",
        chunk_size=50_000,
    )
