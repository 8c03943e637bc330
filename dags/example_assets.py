"""Example: a transfer's destination is an Asset, and a DAG scheduled on it runs after each load.

Connections: `example_postgres` (an ordinary `postgres` connection) and `example_s3` (an
ordinary `aws` connection; `endpoint_url` in its extra for MinIO and the like).

`example_assets_producer` exports a Postgres table to `s3://example-lake/exports/<table>.parquet`.
ExtractLoadOperator declares no Asset by hand: it names its source as an inlet and its
destination as an outlet itself, from the rendered destination, and each successful run
emits an Asset event whose extra carries `rows`, `bytes`, `chunks` and `mode`.

`example_assets_consumer` is scheduled on that Asset: it runs after every export and reads the
figures from the triggering event. The Asset URI is the one `airflow_etl_provider.lineage.asset_uri`
gives (see docs/lineage.md); for S3 it is simply `s3://bucket/key`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import DAG, Asset, Param, task

from airflow_etl_provider.operators.extract_load import ExtractLoadOperator

POSTGRES_CONN_ID = "example_postgres"
S3_CONN_ID = "example_s3"
#: The bucket the exports land in; the consumer's schedule names the same object.
LAKE_BUCKET = "example-lake"
ORDERS_EXPORT = Asset(f"s3://{LAKE_BUCKET}/exports/orders.parquet")

with DAG(
    dag_id="example_assets_producer",
    description="Postgres -> S3 Parquet export whose destination is an Asset.",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    tags=["etl", "example", "assets"],
    params={"table": Param("orders", type="string", description="Postgres table to export.")},
):
    ExtractLoadOperator(
        task_id="export_orders",
        source_conn_id=POSTGRES_CONN_ID,
        source="{{ params.table }}",
        destination_conn_id=S3_CONN_ID,
        destination=f"s3://{LAKE_BUCKET}/exports/{{{{ params.table }}}}.parquet",
        mode="replace",
    )

with DAG(
    dag_id="example_assets_consumer",
    description="Runs after each export of the orders table to S3.",
    schedule=[ORDERS_EXPORT],
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    tags=["etl", "example", "assets"],
):

    @task
    def report_export(triggering_asset_events: Any = None) -> dict[str, Any]:
        """The rows and bytes of the export that triggered this run, from its Asset event."""
        events = triggering_asset_events[ORDERS_EXPORT]
        extra = dict(events[-1].extra)
        print(f"Export of {ORDERS_EXPORT.uri} triggered this run: {extra}")
        return extra

    report_export()
