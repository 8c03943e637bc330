"""The Assets example under Airflow's own CLI, with OpenLineage's file transport capturing events:
a Postgres -> S3 (moto server) export announces what it read and wrote, and the DAG scheduled on
its destination Asset runs after it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.airflow_cli import AIRFLOW, AirflowCli, example_connections, logged_summary

pytest.importorskip("airflow.providers.openlineage", reason="the [openlineage] extra is not installed")

PRODUCER = "example_assets_producer"
CONSUMER = "example_assets_consumer"
BUCKET = "example-lake"
ROWS = 1234


@pytest.fixture
def events_file(tmp_path: Path) -> Path:
    return tmp_path / "openlineage.jsonl"


@pytest.fixture
def cli(postgres_database, moto_server, events_file: Path, tmp_path: Path) -> AirflowCli:
    import psycopg

    db = postgres_database
    with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name) as conn:
        conn.execute(
            "CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric(12,2), placed_at timestamptz, note text)"
        )
        conn.execute(
            "INSERT INTO orders SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE g * 1.25 END, "
            "timestamptz '2026-01-01 00:00+00' + g * interval '1 minute', 'order ' || g "
            f"FROM generate_series(1, {ROWS}) g"
        )
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou, ClientError):
        s3.create_bucket(Bucket=BUCKET)
    home = tmp_path / "airflow_home"
    home.mkdir()
    return AirflowCli(
        home,
        connections=example_connections(db, moto_server),
        env={
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": str(events_file), "append": True}
            ),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        },
    )


def _task_events(events_file: Path) -> list[dict[str, Any]]:
    """The OpenLineage events of the export task (the DAG run's own events are left out)."""
    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    return [e for e in events if e["job"]["name"] == f"{PRODUCER}.export_orders"]


def _one(events: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    matching = [e for e in events if e["eventType"] == kind]
    assert len(matching) == 1, [e["eventType"] for e in events]
    return matching[0]


@pytest.mark.airflow_cli
def test_start_and_complete_events_name_the_datasets_schema_and_rows(cli, events_file, postgres_database):
    run = cli.run("dags", "test", PRODUCER)
    summary = logged_summary(run.stdout + run.stderr)
    assert summary["rows"] == ROWS

    events = _task_events(events_file)
    start, complete = _one(events, "START"), _one(events, "COMPLETE")
    source = {
        "namespace": f"postgres://{postgres_database.host}:{postgres_database.port}",
        "name": f"{postgres_database.name}.public.orders",
    }
    destination = {"namespace": f"s3://{BUCKET}", "name": "exports/orders.parquet"}
    for event in (start, complete):
        assert [{k: d[k] for k in ("namespace", "name")} for d in event["inputs"]] == [source]
        assert [{k: d[k] for k in ("namespace", "name")} for d in event["outputs"]] == [destination]

    [output] = complete["outputs"]
    fields = [(f["name"], f["type"]) for f in output["facets"]["schema"]["fields"]]
    assert fields == [
        ("id", "int64"),
        ("amount", "decimal128(12, 2)"),
        ("placed_at", "timestamp[us, tz=UTC]"),
        ("note", "string"),
    ]
    assert complete["inputs"][0]["facets"]["schema"]["fields"] == output["facets"]["schema"]["fields"]
    statistics = output["outputFacets"]["outputStatistics"]
    assert statistics["rowCount"] == ROWS
    assert statistics["fileCount"] == 1
    assert statistics["size"] == summary["load"]["bytes"] > 0
    lineage = output["facets"]["columnLineage"]["fields"]
    assert set(lineage) == {"id", "amount", "placed_at", "note"}
    assert lineage["amount"]["inputFields"] == [
        {**source, "field": "amount", "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}
    ]


@pytest.mark.airflow_cli
def test_a_failed_load_emits_a_fail_event_naming_what_it_meant_to_move(cli, events_file, postgres_database):
    run = cli.run("dags", "test", PRODUCER, "--conf", json.dumps({"table": "no_such_table"}), check=False)
    assert run.returncode != 0

    events = _task_events(events_file)
    fail = _one(events, "FAIL")
    assert not [e for e in events if e["eventType"] == "COMPLETE"]
    assert [d["name"] for d in fail["inputs"]] == [f"{postgres_database.name}.public.no_such_table"]
    expected_output = (f"s3://{BUCKET}", "exports/no_such_table.parquet")
    assert [(d["namespace"], d["name"]) for d in fail["outputs"]] == [expected_output]
    assert "outputStatistics" not in fail["outputs"][0]["outputFacets"]
    assert "no_such_table" in fail["run"]["facets"]["errorMessage"]["message"]


def _runs(home: Path, dag_id: str) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(home / "airflow.db")) as db:
        return db.execute("SELECT run_type, state FROM dag_run WHERE dag_id = ?", (dag_id,)).fetchall()


@pytest.mark.airflow_cli
def test_the_dag_scheduled_on_the_destination_asset_runs_after_the_export(cli):
    cli.run("dags", "reserialize")
    cli.run("dags", "test", PRODUCER)
    with contextlib.closing(sqlite3.connect(cli.home / "airflow.db")) as db:
        [(uri, extra)] = db.execute(
            "SELECT asset.uri, asset_event.extra FROM asset_event JOIN asset ON asset.id = asset_event.asset_id"
        ).fetchall()
    assert uri == f"s3://{BUCKET}/exports/orders.parquet"
    assert json.loads(extra)["rows"] == ROWS
    assert _runs(cli.home, CONSUMER) == []

    with cli.api_server() as base_url:
        env = {**cli.env, "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/"}
        log = (cli.home / "scheduler.log").open("w")
        scheduler = subprocess.Popen(
            [AIRFLOW, "scheduler"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cli.home, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 180
            while _runs(cli.home, CONSUMER) != [("asset_triggered", "success")]:
                assert scheduler.poll() is None, (cli.home / "scheduler.log").read_text()[-4000:]
                assert time.monotonic() < deadline, (
                    _runs(cli.home, CONSUMER),
                    (cli.home / "scheduler.log").read_text()[-4000:],
                )
                time.sleep(2)
        finally:
            os.killpg(scheduler.pid, signal.SIGTERM)
            scheduler.wait(timeout=60)
            log.close()

    with contextlib.closing(sqlite3.connect(cli.home / "airflow.db")) as db:
        [(value,)] = db.execute(
            "SELECT value FROM xcom WHERE dag_id = ? AND task_id = 'report_export' AND key = 'return_value'",
            (CONSUMER,),
        ).fetchall()
    reported = json.loads(value)
    assert reported["rows"] == ROWS
    assert reported["mode"] == "replace"
