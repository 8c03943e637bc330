"""DAGs the incremental tests run with `airflow dags test` (a chunk can be made to fail)."""

from __future__ import annotations

import os

import pyarrow as pa
from airflow.sdk import DAG

from airflow_etl_provider import Incremental
from airflow_etl_provider.operators.extract_load import ExtractLoadOperator

FAIL_FLAG = os.environ.get("ETL_TEST_FAIL_FLAG", "")
#: No keys: an append (a file destination keeps every version of a row).
KEYS = [key for key in os.environ.get("ETL_TEST_KEYS", "id").split(",") if key]


def fail_at_chunk_3(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Counts chunks; the third fails while the flag file exists (the load then rolls back)."""
    fail_at_chunk_3.seen = getattr(fail_at_chunk_3, "seen", 0) + 1  # type: ignore[attr-defined]
    if FAIL_FLAG and os.path.exists(FAIL_FLAG) and fail_at_chunk_3.seen == 3:  # type: ignore[attr-defined]
        raise RuntimeError("injected failure in chunk 3")
    return batch


with DAG(dag_id="incremental_orders", schedule=None, catchup=False):
    ExtractLoadOperator(
        task_id="orders",
        source_conn_id="src",
        source=os.environ.get("ETL_TEST_SOURCE", "orders"),
        destination_conn_id="wh",
        destination=os.environ.get("ETL_TEST_DESTINATION", "orders_copy"),
        keys=KEYS,
        chunk_size=300,
        transform=fail_at_chunk_3,
        incremental=Incremental(cursor="updated_at", initial="2000-01-01T00:00:00Z"),
    )

with DAG(dag_id="incremental_orders_backfill", schedule=None, catchup=False):
    ExtractLoadOperator(
        task_id="orders",
        source_conn_id="src",
        source=os.environ.get("ETL_TEST_SOURCE", "orders"),
        destination_conn_id="wh",
        destination=os.environ.get("ETL_TEST_DESTINATION", "orders_copy"),
        keys=["id"],
        chunk_size=300,
        incremental=Incremental(cursor="updated_at", initial="2020-01-01T00:00:00Z", end="2020-07-01T00:00:00Z"),
    )

with DAG(dag_id="incremental_rest", schedule=None, catchup=False):
    ExtractLoadOperator(
        task_id="events",
        source_conn_id="api",
        source="events",
        source_options={"column_types": {"updated_at": "timestamp[us, tz=UTC]"}},
        destination_conn_id="wh",
        destination="events",
        keys=["id"],
        incremental=Incremental(cursor="updated_at", initial="2026-01-01T00:00:00Z", start_param="since"),
    )

with DAG(dag_id="incremental_files", schedule=None, catchup=False):
    ExtractLoadOperator(
        task_id="landing",
        source_conn_id="files",
        source="landing/*.csv",
        source_options={"file_name_column": "source_file"},
        destination_conn_id="wh",
        destination="landing",
        incremental=Incremental(cursor="source_file"),
    )
