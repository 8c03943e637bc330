"""The Postgres example DAG under `airflow tasks test`, against PostgreSQL and a local directory."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.airflow_cli import AirflowCli, logged_summary
from tests.pg import execute

DAG_ID = "example_postgres"
UTC = dt.timezone.utc

pytest.importorskip("airflow_etl_provider.hooks.filesystem", reason="the filesystem connector is not there yet")


@pytest.fixture
def orders(postgres_database) -> None:
    execute(
        postgres_database,
        "CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric(12,2), placed_at timestamptz, "
        "note text, doc jsonb)",
        "INSERT INTO orders VALUES "
        "(1, 12.50, '2026-01-01 12:00:00.123456+01', E'caf\u00e9\\nline 2', '{\"a\": [1, 2]}'), "
        "(2, NULL, NULL, NULL, NULL), (3, -0.01, '1999-12-31 23:59:59-08', '', '[]')",
        # the archive holds a stale copy of order 1 and an order the export does not have
        "CREATE TABLE orders_archive (id bigint PRIMARY KEY, amount numeric(12,2), placed_at timestamptz, "
        "note text, doc jsonb)",
        "INSERT INTO orders_archive VALUES (1, 99.99, NULL, 'stale', NULL), (7, 7.00, NULL, 'kept', NULL)",
    )


@pytest.fixture
def cli(postgres_database, tmp_path: Path) -> AirflowCli:
    db = postgres_database
    (tmp_path / "files").mkdir()
    home = tmp_path / "airflow_home"
    home.mkdir()
    connections = {
        "example_postgres": {
            "conn_type": "postgres",
            "host": db.host,
            "port": db.port,
            "login": db.user,
            "schema": db.name,
        },
        "example_files": {"conn_type": "filesystem", "extra": {"base_path": str(tmp_path / "files")}},
    }
    return AirflowCli(home, connections=connections)


@pytest.mark.airflow_cli
def test_exports_to_parquet_then_upserts_the_file(orders, postgres_database, cli, tmp_path: Path) -> None:
    run = cli.tasks_test(DAG_ID, "export_to_parquet")
    assert logged_summary(run.stdout + run.stderr)["rows"] == 3

    table = pq.read_table(tmp_path / "files" / "orders" / "2026-01-01.parquet").sort_by("id")
    assert table.schema.field("amount").type == pa.decimal128(12, 2)
    assert table.schema.field("placed_at").type == pa.timestamp("us", tz="UTC")
    first, second, third = table.to_pylist()
    assert first["amount"] == Decimal("12.50") and first["note"] == "caf\u00e9\nline 2"
    assert first["placed_at"] == dt.datetime(2026, 1, 1, 11, 0, 0, 123456, tzinfo=UTC)
    assert json.loads(first["doc"]) == {"a": [1, 2]}
    assert all(second[key] is None for key in ("amount", "placed_at", "note", "doc"))
    assert third["note"] == "" and third["placed_at"] == dt.datetime(2000, 1, 1, 7, 59, 59, tzinfo=UTC)

    for _ in range(2):  # the same upsert twice leaves the same table
        run = cli.tasks_test(DAG_ID, "upsert_from_parquet")
        assert logged_summary(run.stdout + run.stderr)["rows"] == 3
        archive = execute(postgres_database, "SELECT id, amount, note, doc::text FROM orders_archive ORDER BY id")
        assert archive == [
            (1, Decimal("12.50"), "caf\u00e9\nline 2", '{"a": [1, 2]}'),
            (2, None, None, None),
            (3, Decimal("-0.01"), "", "[]"),
            (7, Decimal("7.00"), "kept", None),
        ]
