"""Example: incremental loads, moving only the rows changed since the last run.

Connections:
- `example_source`: the PostgreSQL (or MySQL, SQLite) database holding `orders`, whose
  `updated_at` column grows whenever a row is added or changed.
- `example_warehouse`: the PostgreSQL database receiving `orders`.

`orders` (DAG `example_incremental`) reads `WHERE updated_at >= <watermark - 5 minutes>` from
the source (the range is pushed down as bound parameters, so an index on `updated_at` serves
it) and upserts the rows on `id`. The watermark (the largest `updated_at` loaded) lives in
Airflow's asset state store under the destination's Asset URI and moves only after the load
committed: a failed run is simply run again. `airflow-etl state show example_incremental orders`
prints it; `state reset` makes the next run load everything.

`backfill_2025` (DAG `example_incremental_backfill`) reloads one past range, `[2025-01-01,
2026-01-01)`: a run given `end=` is stateless and never moves the shared watermark.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from airflow_etl_provider import Incremental
from airflow_etl_provider.operators.extract_load import ExtractLoadOperator

SOURCE_CONN_ID = "example_source"
WAREHOUSE_CONN_ID = "example_warehouse"

with DAG(
    dag_id="example_incremental",
    description="Incremental upsert of the rows changed since the last run.",
    schedule="@hourly",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,  # runs of one watermark follow each other
    tags=["etl", "example", "incremental"],
):
    ExtractLoadOperator(
        task_id="orders",
        source_conn_id=SOURCE_CONN_ID,
        source="orders",
        destination_conn_id=WAREHOUSE_CONN_ID,
        destination="orders",
        keys=["id"],  # keys + cursor: upsert the new and changed rows
        incremental=Incremental(cursor="updated_at", initial="2020-01-01T00:00:00Z", lag=dt.timedelta(minutes=5)),
    )

with DAG(
    dag_id="example_incremental_backfill",
    description="Reload one past range without moving the incremental watermark.",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    tags=["etl", "example", "incremental"],
):
    ExtractLoadOperator(
        task_id="backfill_2025",
        source_conn_id=SOURCE_CONN_ID,
        source="orders",
        destination_conn_id=WAREHOUSE_CONN_ID,
        destination="orders",
        keys=["id"],
        incremental=Incremental(cursor="updated_at", initial="2025-01-01T00:00:00Z", end="2026-01-01T00:00:00Z"),
    )
