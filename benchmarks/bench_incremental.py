"""An incremental run over 1% changed rows against the full copy of the same table.

    .venv/bin/python -m benchmarks.bench_incremental [ROWS]   (default 4,000,000)

Generates `orders` (shared/bench/orders.sql) into a scratch PostgreSQL database with an index
on `updated_at`, copies it whole (append into an empty table; its primary key is added untimed), changes 1% of the rows
(`updated_at` moved past the maximum), then runs the incremental upsert, which reads only
those rows (the range is pushed down), and finally upserts the same rows through a plain query
without incremental, which is what merging them costs by itself. Prints the durations and the
incremental run's ratio to the full copy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg

from airflow_etl_provider import Incremental
from airflow_etl_provider.operators.extract_load import ExtractLoadOperator

HOST, PORT, USER = "127.0.0.1", 5432, "postgres"
ORDERS_SQL = Path(__file__).resolve().parents[2] / "shared" / "bench" / "orders.sql"


def main(rows: int) -> None:
    name = f"bench_incr_{uuid.uuid4().hex[:8]}"
    admin = dict(host=HOST, port=PORT, user=USER, dbname="postgres", autocommit=True)
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        run(name, rows)
    finally:
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(name: str, rows: int) -> None:
    sql = os.environ.get("ORDERS_SQL", str(ORDERS_SQL))
    subprocess.run(
        ["psql", "-q", "-h", HOST, "-p", str(PORT), "-U", USER, "-d", name, "-v", f"N={rows}", "-f", sql], check=True
    )
    db = dict(host=HOST, port=PORT, user=USER, dbname=name, autocommit=True)
    with psycopg.connect(**db) as conn:
        conn.execute("CREATE INDEX ON orders (updated_at)")
        conn.execute("ANALYZE orders")
        watermark = conn.execute("SELECT max(updated_at) FROM orders").fetchone()[0]
    os.environ["AIRFLOW_CONN_BENCH_PG"] = json.dumps(
        {"conn_type": "postgres", "host": HOST, "port": PORT, "login": USER, "schema": name}
    )
    common = dict(source_conn_id="bench_pg", source="orders", destination_conn_id="bench_pg", chunk_size=50_000)

    started = time.monotonic()
    full = ExtractLoadOperator(task_id="full", destination="orders_copy", **common).execute(context={})
    full_seconds = time.monotonic() - started

    changed = rows // 100
    with psycopg.connect(**db) as conn:
        conn.execute("ALTER TABLE orders_copy ADD PRIMARY KEY (id)")  # what the upsert merges on
        conn.execute(
            "UPDATE orders SET amount = amount + 1, updated_at = %s::timestamp + id * interval '1 microsecond' "
            "WHERE id %% 100 = 0",
            (watermark,),
        )
        conn.execute("ANALYZE orders")
    incremental = Incremental(cursor="updated_at", initial=(watermark.isoformat()), range_start="open")
    started = time.monotonic()
    delta = ExtractLoadOperator(
        task_id="delta", destination="orders_copy", keys=["id"], incremental=incremental, **common
    ).execute(context={})
    delta_seconds = time.monotonic() - started

    # The same rows upserted by a plain query, no incremental: what merging them costs by itself.
    started = time.monotonic()
    plain = ExtractLoadOperator(
        task_id="plain",
        destination="orders_copy",
        keys=["id"],
        mode="upsert",
        **{**common, "source": "SELECT * FROM orders WHERE id % 100 = 0"},
    ).execute(context={})
    plain_seconds = time.monotonic() - started

    print(
        json.dumps(
            {
                "rows": rows,
                "full": {"rows": full["rows"], "seconds": round(full_seconds, 2)},
                "incremental": {"rows": delta["rows"], "expected": changed, "seconds": round(delta_seconds, 2)},
                "plain_upsert_of_the_same_rows": {"rows": plain["rows"], "seconds": round(plain_seconds, 2)},
                "ratio": round(delta_seconds / full_seconds, 4),
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4_000_000)
