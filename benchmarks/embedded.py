"""Embedded-path movements measured by `benchmarks/run.py`: CSV -> SQLite -> Parquet.

Each function runs inside a fresh process (see harness.py) and returns the rows it moved;
imports happen at module level so the timing covers the movement only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from airflow_etl_provider.operators.extract_load import ExtractLoadOperator

CHUNK_SIZE = 50_000
COLUMN_TYPES = {
    "id": "int64",
    "customer_id": "int64",
    "amount": "decimal128(12,2)",
    "ordered_at": "timestamp[us, tz=UTC]",
    "note": "string",
}


def _connections(workdir: str) -> None:
    os.environ["AIRFLOW_CONN_BENCH_FILES"] = json.dumps({"conn_type": "filesystem", "extra": {"base_path": workdir}})
    os.environ["AIRFLOW_CONN_BENCH_SQLITE"] = json.dumps({"conn_type": "sqlite", "host": f"{workdir}/bench.db"})


def generate_csv(workdir: str, rows: int) -> int:
    """Write `rows` rows of typed sample data to orders.csv, streaming (not measured)."""
    rng = np.random.default_rng(7)
    path = Path(workdir) / "orders.csv"
    notes = pa.array(["plain", 'comma, and "quotes"', "two\nlines", "émoji 🎉", None])
    writer = None
    with path.open("wb") as sink:
        for first in range(0, rows, 200_000):
            n = min(200_000, rows - first)
            customer = pa.array(rng.integers(1, 50_000, n), mask=rng.random(n) < 0.1)
            cents = rng.integers(0, 10_000_000, n)
            amount = pc.binary_join_element_wise(
                pa.array(cents // 100).cast(pa.string()),
                pc.utf8_lpad(pa.array(cents % 100).cast(pa.string()), 2, "0"),
                ".",
            )
            batch = pa.RecordBatch.from_pydict(
                {
                    "id": pa.array(np.arange(first + 1, first + n + 1)),
                    "customer_id": customer,
                    "amount": amount,
                    "ordered_at": pa.array(
                        1_767_225_600_000_000 + rng.integers(0, 86400 * 10**6 * 90, n),
                        pa.timestamp("us", tz="UTC"),
                    ).cast(pa.string()),
                    "note": notes.take(pa.array(rng.integers(0, len(notes), n))),
                }
            )
            writer = writer or pacsv.CSVWriter(sink, batch.schema)
            writer.write_batch(batch)
        if writer:
            writer.close()
    return rows


def _operator_run(workdir: str, **kwargs: object) -> int:
    _connections(workdir)
    summary = ExtractLoadOperator(task_id="bench", chunk_size=CHUNK_SIZE, **kwargs).execute(context={})
    return int(summary["rows"])


def csv_to_sqlite(workdir: str) -> int:
    return _operator_run(
        workdir,
        source_conn_id="bench_files",
        source="orders.csv",
        source_options={"column_types": COLUMN_TYPES},
        destination_conn_id="bench_sqlite",
        destination="orders",
        mode="replace",
    )


def sqlite_to_parquet(workdir: str) -> int:
    return _operator_run(
        workdir,
        source_conn_id="bench_sqlite",
        source="orders",
        destination_conn_id="bench_files",
        destination="orders.parquet",
        mode="replace",
    )
