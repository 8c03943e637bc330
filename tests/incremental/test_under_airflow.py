"""Incremental transfers under `airflow dags test`: only the changed rows move, the watermark
lives in Airflow's asset state store and advances only after the destination committed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.airflow_cli import AirflowCli, logged_summary
from tests.pg import execute

BENCH = Path("/work/shared/bench/orders.sql")
DAGS = Path(__file__).parent / "dags"
ROWS = 3000
ETL = str(Path(sys.executable).with_name("airflow-etl"))


def differences(db, source: str, destination: str) -> int:
    """Rows in one table and not the other, both ways (0: the tables are equal)."""
    return execute(
        db,
        f"SELECT count(*) FROM ((TABLE {source} EXCEPT TABLE {destination}) "
        f"UNION ALL (TABLE {destination} EXCEPT TABLE {source})) AS d",
    )[0][0]


@pytest.fixture
def orders(postgres_database) -> None:
    db = postgres_database
    subprocess.run(
        [
            "psql",
            "-q",
            "-h",
            db.host,
            "-p",
            str(db.port),
            "-U",
            db.user,
            "-d",
            db.name,
            "-v",
            f"N={ROWS}",
            "-f",
            str(BENCH),
        ],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def cli(postgres_database, tmp_path: Path) -> AirflowCli:
    db = postgres_database
    home = tmp_path / "airflow_home"
    home.mkdir()
    spec = {"conn_type": "postgres", "host": db.host, "port": db.port, "login": db.user, "schema": db.name}
    return AirflowCli(
        home,
        connections={"src": spec, "wh": spec},
        env={"AIRFLOW__CORE__DAGS_FOLDER": str(DAGS), "ETL_TEST_FAIL_FLAG": str(tmp_path / "fail")},
    )


def etl_cli(cli: AirflowCli, *args: str) -> subprocess.CompletedProcess[str]:
    process = subprocess.run([ETL, *args], env=cli.env, capture_output=True, text=True, timeout=120, cwd=cli.home)
    assert process.returncode == 0, process.stderr[-4000:]
    return process


def run(cli: AirflowCli, dag_id: str = "incremental_orders", check: bool = True) -> subprocess.CompletedProcess[str]:
    return cli.run("dags", "test", dag_id, check=check)


@pytest.mark.airflow_cli
def test_second_run_moves_only_inserted_and_updated_rows(orders, postgres_database, cli, tmp_path: Path) -> None:
    db = postgres_database
    first = logged_summary((done := run(cli)).stdout + done.stderr)
    assert first["rows"] == ROWS and first["incremental"]["rows"] == ROWS
    assert execute(db, "SELECT count(*) FROM orders_copy")[0][0] == ROWS

    execute(
        db,
        f"INSERT INTO orders SELECT id + {ROWS}, customer_id, amount, quantity, status, note, created_at, "
        "timestamp '2031-01-01' + id * interval '1 second', is_paid, payload FROM orders WHERE id <= 1000",
        "UPDATE orders SET amount = amount + 1, updated_at = timestamp '2031-06-01' + id * interval '1 second' "
        "WHERE id BETWEEN 1001 AND 1500",
    )
    second = logged_summary((done := run(cli)).stdout + done.stderr)
    assert second["rows"] == 1500
    assert second["incremental"]["rows"] == 1500
    assert second["incremental"]["to"] == "2031-06-01T00:25:00"
    assert execute(db, "SELECT count(*) FROM orders_copy")[0][0] == ROWS + 1000
    assert differences(db, "orders", "orders_copy") == 0

    # A run that fails in chunk 3 rolls back and leaves the watermark: the rerun loads the rows.
    execute(
        db,
        f"INSERT INTO orders SELECT id + {ROWS + 1000}, customer_id, amount, quantity, status, note, created_at, "
        "timestamp '2032-01-01' + id * interval '1 second', is_paid, payload FROM orders WHERE id <= 1000",
    )
    (tmp_path / "fail").touch()
    failed = run(cli, check=False)
    assert "injected failure in chunk 3" in failed.stdout + failed.stderr
    assert execute(db, "SELECT count(*) FROM orders_copy")[0][0] == ROWS + 1000
    (tmp_path / "fail").unlink()
    rerun = logged_summary((done := run(cli)).stdout + done.stderr)
    assert rerun["incremental"]["rows"] == 1000
    assert rerun["incremental"]["boundary_rows_skipped"] == 1  # the last run's newest row, unchanged
    assert rerun["incremental"]["from"] == "2031-06-01T00:25:00"
    assert differences(db, "orders", "orders_copy") == 0

    # A backfill over a past range reads only that range and leaves the watermark alone.
    backfill = logged_summary((done := run(cli, "incremental_orders_backfill")).stdout + done.stderr)
    assert backfill["incremental"]["stateful"] is False
    in_range = execute(
        db, "SELECT count(*) FROM orders WHERE updated_at >= '2020-01-01' AND updated_at < '2020-07-01'"
    )[0][0]
    assert backfill["rows"] == in_range > 0
    after = logged_summary((done := run(cli)).stdout + done.stderr)
    assert after["incremental"]["from"] == "2032-01-01T00:16:40"
    assert after["rows"] == 0 and after["incremental"]["boundary_rows_skipped"] == 1

    # The CLI shows the watermark; after a reset the next run loads everything again.
    shown = json.loads(etl_cli(cli, "state", "show", "incremental_orders", "orders", "--json").stdout)
    assert shown["watermark"] == "2032-01-01T00:16:40" and shown["cursor"] == "updated_at"
    assert shown["asset"].endswith("/public/orders_copy")
    etl_cli(cli, "state", "reset", "incremental_orders", "orders")
    assert (
        json.loads(etl_cli(cli, "state", "show", "incremental_orders", "orders", "--json").stdout)["watermark"] is None
    )
    full = run(cli)
    assert logged_summary(full.stdout + full.stderr)["rows"] == ROWS + 2000
    assert "watermark stored" in full.stdout + full.stderr  # the asset state store took it
    stored = json.loads(etl_cli(cli, "state", "show", "incremental_orders", "orders", "--json").stdout)
    assert stored == {**shown, "from": "asset state store"}
    # set moves the watermark by hand: the next run reads from there.
    etl_cli(cli, "state", "set", "incremental_orders", "orders", "2032-01-01T00:10:00")
    moved = logged_summary((done := run(cli)).stdout + done.stderr)["incremental"]
    assert moved["from"] == "2032-01-01T00:10:00" and moved["rows"] == 401


def copy_orders_to_mysql(postgres_database, mysql_database) -> None:
    """The bench table in MySQL, written by the connectors themselves (a DATETIME(6) updated_at)."""
    from airflow.sdk import Connection

    from airflow_etl_provider.hooks.mysql import MySqlConnectorHook
    from airflow_etl_provider.hooks.postgres import PostgresConnectorHook

    pg, my = postgres_database, mysql_database
    source = PostgresConnectorHook(
        connection=Connection(
            conn_id="p", conn_type="postgres", host=pg.host, port=pg.port, login=pg.user, schema=pg.name
        )
    )
    destination = MySqlConnectorHook(
        connection=Connection(
            conn_id="m", conn_type="mysql", host=my.host, port=my.port, login=my.user, password="", schema=my.name
        )
    )
    destination.load(source.extract("orders", chunk_size=1000), "orders", mode="replace")


def mysql_rows(db, sql: str) -> list[tuple]:
    import mysql.connector

    conn = mysql.connector.connect(
        host=db.host, port=db.port, user=db.user, password="", database=db.name, autocommit=True
    )
    try:
        cursor = conn.cursor()
        cursor.execute(sql)
        return cursor.fetchall() if cursor.description else []
    finally:
        conn.close()


@pytest.mark.airflow_cli
def test_mysql_to_postgres_second_run_moves_only_the_changes(
    orders, postgres_database, mysql_database, tmp_path
) -> None:
    copy_orders_to_mysql(postgres_database, mysql_database)
    pg, my = postgres_database, mysql_database
    home = tmp_path / "airflow_home"
    home.mkdir()
    cli = AirflowCli(
        home,
        connections={
            "src": {
                "conn_type": "mysql",
                "host": my.host,
                "port": my.port,
                "login": my.user,
                "password": "",
                "schema": my.name,
            },
            "wh": {"conn_type": "postgres", "host": pg.host, "port": pg.port, "login": pg.user, "schema": pg.name},
        },
        env={"AIRFLOW__CORE__DAGS_FOLDER": str(DAGS)},
    )
    assert logged_summary((done := run(cli)).stdout + done.stderr)["rows"] == ROWS
    mysql_rows(
        my,
        f"INSERT INTO orders SELECT id + {ROWS}, customer_id, amount, quantity, status, note, created_at, "
        "TIMESTAMP '2031-01-01 00:00:00' + INTERVAL id SECOND, is_paid, payload FROM orders WHERE id <= 1000",
    )
    mysql_rows(
        my,
        "UPDATE orders SET amount = amount + 1, updated_at = TIMESTAMP '2031-06-01 00:00:00' + INTERVAL id SECOND "
        "WHERE id BETWEEN 1001 AND 1500",
    )
    second = logged_summary((done := run(cli)).stdout + done.stderr)
    assert second["rows"] == second["incremental"]["rows"] == 1500
    source = mysql_rows(my, "SELECT id, amount, updated_at FROM orders ORDER BY id")
    copied = execute(pg, "SELECT id, amount, updated_at FROM orders_copy ORDER BY id")
    assert len(copied) == ROWS + 1000 and copied == source


@pytest.mark.airflow_cli
def test_postgres_to_s3_parquet_appends_only_the_changes(
    orders, postgres_database, moto_server, s3_bucket, tmp_path
) -> None:
    import boto3
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    pg = postgres_database
    home = tmp_path / "airflow_home"
    home.mkdir()
    cli = AirflowCli(
        home,
        connections={
            "src": {"conn_type": "postgres", "host": pg.host, "port": pg.port, "login": pg.user, "schema": pg.name},
            "wh": {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {"endpoint_url": moto_server, "region_name": "us-east-1"},
            },
        },
        env={
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "ETL_TEST_KEYS": "",
            "ETL_TEST_DESTINATION": f"s3://{s3_bucket}/orders/",
        },
    )
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    def parts() -> pa.Table:
        keys = [item["Key"] for item in s3.list_objects_v2(Bucket=s3_bucket, Prefix="orders/").get("Contents", [])]
        tables = [
            pq.read_table(pa.BufferReader(s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read())) for key in keys
        ]
        return pa.concat_tables(tables)

    first = logged_summary((done := run(cli)).stdout + done.stderr)
    assert first["rows"] == ROWS and first["mode"] == "append" and parts().num_rows == ROWS
    execute(
        pg,
        f"INSERT INTO orders SELECT id + {ROWS}, customer_id, amount, quantity, status, note, created_at, "
        "timestamp '2031-01-01' + id * interval '1 second', is_paid, payload FROM orders WHERE id <= 1000",
        "UPDATE orders SET amount = amount + 1, updated_at = timestamp '2031-06-01' + id * interval '1 second' "
        "WHERE id BETWEEN 1001 AND 1500",
    )
    second = logged_summary((done := run(cli)).stdout + done.stderr)
    assert second["rows"] == second["incremental"]["rows"] == 1500
    table = parts()
    assert table.num_rows == ROWS + 1500  # every version of a row, as an append keeps it
    latest: dict[int, tuple] = {}
    for row in table.select(["id", "amount", "updated_at"]).to_pylist():
        if row["id"] not in latest or row["updated_at"] > latest[row["id"]][1]:
            latest[row["id"]] = (row["amount"], row["updated_at"])
    source = execute(pg, "SELECT id, amount, updated_at FROM orders ORDER BY id")
    assert [(i, *latest[i]) for i in sorted(latest)] == source
    assert pc.max(table.column("updated_at")).as_py().isoformat() == "2031-06-01T00:25:00"
