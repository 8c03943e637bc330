"""A partitioned transfer configured from the environment, for tests/partitioned (one DAG per test run)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import time
from pathlib import Path

from airflow.sdk import DAG

from airflow_etl_provider import Incremental
from airflow_etl_provider.partitioned import partitioned_transfer

SPEC = json.loads(os.environ.get("ETL_TEST_PARTITIONED", "{}"))
if "incremental" in SPEC:
    SPEC["incremental"] = Incremental(**SPEC["incremental"])
#: Part `index` kills its own process (SIGKILL) after its first chunk while this file exists.
KILL_FLAG = os.environ.get("ETL_TEST_KILL_FLAG", "")
#: Part `index` fails after its first chunk while this file exists.
FAIL_FLAG = os.environ.get("ETL_TEST_FAIL_FLAG", "")


def _sabotage(batch):
    """Kill or fail the part whose rows include the id given in the flag file, after its first chunk."""
    for flag, kill in ((KILL_FLAG, True), (FAIL_FLAG, False)):
        if flag and Path(flag).exists() and int(Path(flag).read_text()) in batch.column("id").to_pylist():
            if kill:
                Path(flag).unlink()  # the retry runs through
                time.sleep(0.5)  # the part's earlier chunks reach the server first
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError("injected part failure")
    return batch


with DAG("partitioned_orders", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False) as dag:
    if SPEC:
        partitioned_transfer(
            group_id="orders_copy",
            part_retry_delay=dt.timedelta(seconds=1),
            transform=_sabotage if (KILL_FLAG or FAIL_FLAG) else None,
            **SPEC,
        )
