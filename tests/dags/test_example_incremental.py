"""The incremental example DAG under `airflow dags test`: the second run moves only the changes,
the backfill DAG reloads its range and leaves the watermark where it was."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.airflow_cli import AirflowCli, logged_summary
from tests.pg import execute

ETL = str(Path(sys.executable).with_name("airflow-etl"))


@pytest.fixture
def cli(postgres_database, tmp_path: Path) -> AirflowCli:
    db = postgres_database
    execute(
        db,
        "CREATE SCHEMA src",
        "CREATE TABLE src.orders (id bigint PRIMARY KEY, amount numeric(12,2), updated_at timestamptz NOT NULL)",
        "INSERT INTO src.orders SELECT g, g, timestamptz '2025-06-01 00:00+00' + g * interval '1 hour' "
        "FROM generate_series(1, 100) g",
    )
    home = tmp_path / "airflow_home"
    home.mkdir()
    base = {"conn_type": "postgres", "host": db.host, "port": db.port, "login": db.user, "schema": db.name}
    return AirflowCli(
        home,
        connections={"example_source": {**base, "extra": {"schema": "src"}}, "example_warehouse": base},
    )


@pytest.mark.airflow_cli
def test_moves_only_the_changed_rows_and_a_backfill_keeps_the_watermark(cli, postgres_database) -> None:
    db = postgres_database
    first = cli.run("dags", "test", "example_incremental")
    assert logged_summary(first.stdout + first.stderr)["incremental"]["rows"] == 100

    execute(
        db,
        "INSERT INTO src.orders VALUES (101, 1.5, now())",
        "UPDATE src.orders SET amount = -1, updated_at = now() WHERE id = 7",
    )
    second = logged_summary((done := cli.run("dags", "test", "example_incremental")).stdout + done.stderr)
    # the 5-minute lag re-reads the last run's newest row, unchanged, so skipped: only the two changes move
    assert second["rows"] == 2 and second["mode"] == "upsert"
    assert execute(db, "SELECT count(*), sum(amount) FROM public.orders")[0] == (101, 5050 - 7 - 1 + 1.5)

    show = [ETL, "state", "show", "example_incremental", "orders", "--json"]
    before = json.loads(subprocess.run(show, env=cli.env, capture_output=True, text=True, check=True).stdout)
    backfill = cli.run("dags", "test", "example_incremental_backfill")
    assert logged_summary(backfill.stdout + backfill.stderr)["incremental"]["stateful"] is False
    after = json.loads(subprocess.run(show, env=cli.env, capture_output=True, text=True, check=True).stdout)
    assert after == before and after["watermark"] is not None
