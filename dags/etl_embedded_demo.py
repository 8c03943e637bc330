"""Embedded demo: CSV file -> SQLite (upsert, twice) -> aggregate and full export -> Parquet.

Runs with no server at all. Connections (JSON form in the environment, see `scripts/demo.sh`):
- `etl_demo_files`: conn type `filesystem`, extra {"base_path": "<output dir>"}
- `etl_demo_sqlite`: conn type `sqlite`, host = path of the database file
The sample data is generated deterministically (no network): ints with NULLs, exact decimals,
time-zone-aware timestamps and unicode text with commas, quotes and newlines.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from collections.abc import Iterator
from decimal import Decimal

import pyarrow as pa
from airflow.sdk import DAG, task

from airflow_etl_provider.hooks.registry import hook_for
from airflow_etl_provider.operators.extract_load import ExtractLoadOperator

FILES_CONN_ID = "etl_demo_files"
SQLITE_CONN_ID = "etl_demo_sqlite"
ROWS = int(os.environ.get("ETL_DEMO_ROWS", "100000"))
CHUNK_SIZE = 20_000

ORDERS_SCHEMA = pa.schema(
    [
        pa.field("order_id", pa.int64(), nullable=False),
        pa.field("customer_id", pa.int64()),
        pa.field("quantity", pa.int64()),
        pa.field("amount", pa.decimal128(12, 2)),
        pa.field("ordered_at", pa.timestamp("us", tz="UTC")),
        pa.field("note", pa.string()),
    ]
)
#: How the CSV's text columns are read back: the types a CSV file cannot carry itself.
CSV_COLUMN_TYPES = {name: str(ORDERS_SCHEMA.field(name).type) for name in ORDERS_SCHEMA.names}
NOTES = [
    "plain",
    'comma, and "double quotes"',
    "two\nlines",
    "Crème brûlée — Ærøskøbing",
    "日本語のメモ",
    "emoji 🎉🚀",
    "  padded  ",
    "",
    None,
]
ZONES = [dt.timezone.utc, dt.timezone(dt.timedelta(hours=5, minutes=30)), dt.timezone(dt.timedelta(hours=-8))]


def generate_orders(rows: int, chunk_size: int = CHUNK_SIZE, seed: int = 20260101) -> Iterator[pa.RecordBatch]:
    """The demo's sample orders, the same on every run, one chunk at a time."""
    rng = random.Random(seed)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    for first in range(1, rows + 1, chunk_size):
        ids = range(first, min(first + chunk_size, rows + 1))
        yield pa.RecordBatch.from_pydict(
            {
                "order_id": list(ids),
                "customer_id": [None if rng.random() < 0.1 else rng.randrange(1, 5000) for _ in ids],
                "quantity": [None if rng.random() < 0.05 else rng.randrange(-3, 50) for _ in ids],
                "amount": [Decimal(rng.randrange(-10_000, 10_000_000)).scaleb(-2) for _ in ids],
                "ordered_at": [
                    (
                        start + dt.timedelta(seconds=rng.randrange(0, 90 * 86400), microseconds=rng.randrange(10**6))
                    ).astimezone(rng.choice(ZONES))
                    for _ in ids
                ],
                "note": [rng.choice(NOTES) for _ in ids],
            },
            schema=ORDERS_SCHEMA,
        )


DAILY_TOTALS_QUERY = """
SELECT substr(ordered_at, 1, 10) AS order_day,
       count(*) AS orders,
       count(customer_id) AS orders_with_customer,
       sum(quantity) AS quantity
FROM orders
GROUP BY substr(ordered_at, 1, 10)
ORDER BY order_day
"""

with DAG(
    dag_id="etl_embedded_demo",
    description="CSV -> SQLite (upsert) -> Parquet on the embedded default connectors",
    schedule=None,
    catchup=False,
    tags=["etl", "demo"],
) as dag:

    @task
    def write_sample_csv() -> dict[str, int]:
        """Write the generated orders to orders.csv through the filesystem connector."""
        with hook_for(FILES_CONN_ID) as files:
            result = files.load(generate_orders(ROWS), "orders.csv", mode="replace")
        return {"rows": result.rows}

    csv_to_sqlite_upsert = {
        "source_conn_id": FILES_CONN_ID,
        "source": "orders.csv",
        "source_options": {"column_types": CSV_COLUMN_TYPES},
        "destination_conn_id": SQLITE_CONN_ID,
        "destination": "orders",
        "mode": "upsert",
        "keys": ["order_id"],
        "chunk_size": CHUNK_SIZE,
    }
    upsert_orders = ExtractLoadOperator(task_id="upsert_orders", **csv_to_sqlite_upsert)
    upsert_orders_again = ExtractLoadOperator(
        task_id="upsert_orders_again",
        doc_md="The same upsert a second time: the table must come out identical (idempotence).",
        **csv_to_sqlite_upsert,
    )

    export_daily_totals = ExtractLoadOperator(
        task_id="export_daily_totals",
        source_conn_id=SQLITE_CONN_ID,
        source=DAILY_TOTALS_QUERY,
        destination_conn_id=FILES_CONN_ID,
        destination="daily_totals.parquet",
        mode="replace",
        chunk_size=CHUNK_SIZE,
    )

    export_orders = ExtractLoadOperator(
        task_id="export_orders",
        source_conn_id=SQLITE_CONN_ID,
        source="orders",
        destination_conn_id=FILES_CONN_ID,
        destination="orders.parquet",
        mode="replace",
        chunk_size=CHUNK_SIZE,
    )

    @task
    def report() -> dict[str, object]:
        """Count what arrived where, from the outputs themselves, and save it beside them."""
        with hook_for(SQLITE_CONN_ID) as sqlite, hook_for(FILES_CONN_ID) as files:
            (orders_in_sqlite,) = next(iter(sqlite.extract("SELECT count(*) AS n FROM orders"))).column("n").to_pylist()
            counts = {
                "orders.csv": sum(b.num_rows for b in files.extract("orders.csv")),
                "sqlite orders table": orders_in_sqlite,
                "orders.parquet": sum(b.num_rows for b in files.extract("orders.parquet")),
                "daily_totals.parquet": sum(b.num_rows for b in files.extract("daily_totals.parquet")),
            }
            output_dir = os.path.realpath(files.config["base_path"])
        summary = {"output_dir": output_dir, "database": str(sqlite.database_path), "rows": counts}
        with open(os.path.join(output_dir, "summary.json"), "w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=2)
        return summary

    (write_sample_csv() >> upsert_orders >> upsert_orders_again >> [export_daily_totals, export_orders] >> report())
