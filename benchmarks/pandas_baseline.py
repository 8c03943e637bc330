"""The hand-written pandas script that `benchmarks/run.py` compares the embedded path with.

It imports nothing of Airflow or airflow_etl_provider, so its process holds only what such a
script loads (pandas, sqlite3). Runs in a fresh process (see harness.py).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd

#: The same chunk size the operator uses, for `to_sql`'s batches.
CHUNK_SIZE = 50_000


def csv_to_sqlite(workdir: str) -> int:
    """pandas reads the whole file, then `to_sql` writes it."""
    frame = pd.read_csv(Path(workdir) / "orders.csv")
    with sqlite3.connect(Path(workdir) / "pandas.db") as db:
        frame.to_sql("orders", db, if_exists="replace", index=False, chunksize=CHUNK_SIZE)
    return len(frame)
