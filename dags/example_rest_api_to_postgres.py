"""Example: a REST API endpoint -> a Postgres table, upserted by `id`.

Everything about the API lives in the connection, so the DAG holds no URL or secret:
- `example_rest_api`: conn type `rest_api`; host = the API's base URL; the extra carries
  auth (e.g. {"auth_type": "bearer", "token": "..."}), pagination
  ({"paginator": "cursor", "cursor_path": "meta.next_cursor"}), `records_path`, `rate_limit`.
- `example_warehouse`: the destination, normally a `postgres` connection (any connector that
  loads with mode upsert works, e.g. `sqlite` for a local try-out).

The endpoint, the table and the chunk size are run parameters (templated), so one DAG serves
any endpoint of the API: trigger it with {"endpoint": "orders", "table": "api_orders"}.
Rows already in the table are updated by `id`, new ones inserted: re-runs never duplicate.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Param

from airflow_etl_provider.operators.extract_load import ExtractLoadOperator

API_CONN_ID = "example_rest_api"
WAREHOUSE_CONN_ID = "example_warehouse"

with DAG(
    dag_id="example_rest_api_to_postgres",
    description="Copy one REST API endpoint into a Postgres table, upserting by id.",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    tags=["etl", "example", "rest_api"],
    params={
        "endpoint": Param("users", type="string", description="Endpoint path under the connection's base URL."),
        "table": Param("api_users", type="string", description="Destination table (created when missing)."),
        "records_path": Param("", type="string", description="Body path of the records; empty: autodetect."),
    },
) as dag:
    ExtractLoadOperator(
        task_id="upsert_endpoint",
        source_conn_id=API_CONN_ID,
        source="{{ params.endpoint }}",
        source_options={"records_path": "{{ params.records_path }}"},
        destination_conn_id=WAREHOUSE_CONN_ID,
        destination="{{ params.table }}",
        mode="upsert",
        keys=["id"],
        chunk_size=10_000,
    )
