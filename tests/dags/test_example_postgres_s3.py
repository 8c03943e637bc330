"""The Postgres <-> S3 example DAG under `airflow tasks test`, against PostgreSQL and moto's S3 server."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.airflow_cli import AirflowCli, example_connections, logged_summary

DAG_ID = "example_postgres_s3"
UTC = dt.timezone.utc

ORDERS = [
    (1, Decimal("12.50"), dt.datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC), 'comma, "quote"\nline ✓'),
    (2, None, None, None),
    (3, Decimal("-0.01"), dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC), ""),
]


@pytest.fixture
def cli(postgres_database, moto_server, s3_bucket, tmp_path: Path) -> AirflowCli:
    pytest.importorskip("airflow_etl_provider.hooks.postgres", reason="the Postgres connector is not there yet")
    db = postgres_database
    home = tmp_path / "airflow_home"
    home.mkdir()
    return AirflowCli(
        home,
        connections=example_connections(db, moto_server, bucket=s3_bucket),
    )


def _s3(moto_server):
    return boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.mark.airflow_cli
def test_exports_a_table_to_parquet_keeping_its_types(cli, postgres_database, moto_server, s3_bucket):
    import psycopg

    db = postgres_database
    with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name) as conn:
        conn.execute(
            "CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric(18,2), created_at timestamptz, note text)"
        )
        conn.cursor().executemany("INSERT INTO orders VALUES (%s, %s, %s, %s)", ORDERS)

    run = cli.run("tasks", "test", DAG_ID, "export_to_s3", "2026-01-01")
    assert logged_summary(run.stdout + run.stderr)["rows"] == 3

    body = _s3(moto_server).get_object(Bucket=s3_bucket, Key="exports/orders/2026-01-01.parquet")["Body"].read()
    table = pq.read_table(io.BytesIO(body)).sort_by("id")
    assert table.schema.field("amount").type == pa.decimal128(18, 2)
    assert table.schema.field("created_at").type.tz is not None
    assert [tuple(row.values()) for row in table.to_pylist()] == ORDERS


@pytest.mark.airflow_cli
def test_imports_csv_objects_into_a_table(cli, postgres_database, moto_server, s3_bucket):
    import psycopg

    s3 = _s3(moto_server)
    s3.put_object(
        Bucket=s3_bucket,
        Key="imports/orders/a.csv",
        Body='id,amount,created_at,note\n1,12.50,2026-01-01T12:00:00.123456Z,"comma, ""quote""\nline ✓"\n'.encode(),
    )
    s3.put_object(
        Bucket=s3_bucket,
        Key="imports/orders/b.csv",
        Body=b'id,amount,created_at,note\n2,,,\n3,-0.01,1999-12-31T23:59:59+00:00,""\n',
    )

    db = postgres_database
    with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name) as conn:
        conn.execute(
            "CREATE TABLE orders_imported (id bigint, amount numeric(18,2), created_at timestamptz, "
            "note text, source_object text)"
        )
        conn.execute("INSERT INTO orders_imported (id, note) VALUES (99, 'stale row, replaced by the import')")

    run = cli.run("tasks", "test", DAG_ID, "import_from_s3", "2026-01-01")
    assert logged_summary(run.stdout + run.stderr)["rows"] == 3

    with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name) as conn:
        rows = conn.execute(
            "SELECT id, amount, created_at, note, source_object FROM orders_imported ORDER BY id"
        ).fetchall()
    assert [row[:4] for row in rows] == ORDERS
    assert rows[0][4] == f"s3://{s3_bucket}/imports/orders/a.csv"
