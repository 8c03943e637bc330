"""The embedded demo DAG under `airflow tasks test`: rows, types and the XCom summary."""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.airflow_cli import REPO, AirflowCli, logged_summary

DAG_ID = "etl_embedded_demo"
ROWS = 30_000


def demo_module():
    spec = importlib.util.spec_from_file_location("etl_embedded_demo", REPO / "dags" / "etl_embedded_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    home = tmp_path_factory.mktemp("airflow_home")
    output = tmp_path_factory.mktemp("demo_output")
    cli = AirflowCli(
        home,
        connections={
            "etl_demo_files": {"conn_type": "filesystem", "extra": {"base_path": str(output)}},
            "etl_demo_sqlite": {"conn_type": "sqlite", "host": str(output / "warehouse.db")},
        },
        env={"ETL_DEMO_ROWS": str(ROWS)},
    )
    outputs = {
        task_id: cli.tasks_test(DAG_ID, task_id).stdout
        for task_id in ("write_sample_csv", "upsert_orders", "upsert_orders_again", "export_orders")
    }
    return outputs, output


@pytest.mark.airflow_cli
def test_xcom_summary_reports_what_was_moved(demo_run: tuple[dict[str, str], Path]) -> None:
    outputs, _ = demo_run
    summary = logged_summary(outputs["upsert_orders_again"])
    assert summary["rows"] == ROWS and summary["chunks"] == 2
    assert summary["mode"] == "upsert" and summary["destination"] == "orders"
    assert summary["source"] == "orders.csv" and summary["bytes"] > 0 and summary["seconds"] > 0
    assert summary["load"]["rows"] == ROWS


@pytest.mark.airflow_cli
def test_rows_arrive_once_with_their_types(demo_run: tuple[dict[str, str], Path]) -> None:
    _, output = demo_run
    with sqlite3.connect(output / "warehouse.db") as db:
        assert db.execute("SELECT count(*), count(DISTINCT order_id) FROM orders").fetchone() == (ROWS, ROWS)
        declared = {row[1]: row[2] for row in db.execute("PRAGMA table_info(orders)")}
        assert declared["amount"] == "DECIMAL_TEXT(12,2)" and declared["ordered_at"] == "TIMESTAMPTZ"
        assert db.execute(
            "SELECT typeof(amount), typeof(customer_id) FROM orders WHERE customer_id IS NOT NULL LIMIT 1"
        ).fetchone() == ("text", "integer")


@pytest.mark.airflow_cli
def test_csv_sqlite_parquet_round_trip_keeps_values(demo_run: tuple[dict[str, str], Path]) -> None:
    _, output = demo_run
    expected = pa.Table.from_batches(list(demo_module().generate_orders(ROWS)))
    exported = pq.read_table(output / "orders.parquet").sort_by("order_id")
    assert exported.schema.field("customer_id").type == pa.int64()
    assert exported.schema.field("amount").type == pa.decimal128(12, 2)
    assert exported.schema.field("ordered_at").type == pa.timestamp("us", tz="UTC")
    assert exported.column("customer_id").null_count == expected.column("customer_id").null_count > 0
    for name in expected.schema.names:
        assert exported.column(name).to_pylist() == expected.column(name).to_pylist(), name
    notes = set(exported.column("note").to_pylist())
    assert {"two\nlines", 'comma, and "double quotes"', "emoji 🎉🚀", "  padded  "} <= notes
