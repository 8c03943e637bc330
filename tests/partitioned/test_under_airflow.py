"""Partitioned transfers under `airflow dags test` (mapped parts, XCom, teardown, as Airflow runs them)
on the realistic orders table: the destination equals the source, or stays as it was."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.airflow_cli import AirflowCli
from tests.pg import execute

BENCH = Path("/work/shared/bench/orders.sql")
DAGS = Path(__file__).parent / "dags"
ROWS = 20_000
#: Rows of the orders table for the runs under a scheduler (the figures in docs/partitioned.md: 4,000,000).
SCHEDULED_ROWS = int(os.environ.get("ETL_TEST_PARTITIONED_ROWS", "20000"))
CHECKSUM = "SELECT count(*), sum(hashtext(o::text)) FROM {} AS o"


def _orders(db, rows: int) -> None:
    """The realistic orders table with `rows` rows (../shared/bench/orders.sql)."""
    command = ["psql", "-q", "-h", db.host, "-p", str(db.port), "-U", db.user, "-d", db.name]
    subprocess.run([*command, "-v", f"N={rows}", "-f", str(BENCH)], check=True, capture_output=True)


@pytest.fixture
def orders(postgres_database) -> None:
    _orders(postgres_database, ROWS)


def _spec(**changes: object) -> dict[str, object]:
    """partitioned_transfer's arguments for the test DAG: orders -> orders_copy, replace, 4 parts on id."""
    return {
        "source_conn_id": "src",
        "source": "orders",
        "destination_conn_id": "wh",
        "destination": "orders_copy",
        "mode": "replace",
        "partition_by": "id",
        "partitions": 4,
        **changes,
    }


def _cli(tmp_path: Path, db, spec: dict, moto_server: str | None = None) -> AirflowCli:
    """Airflow with the test DAG configured by `spec` (partitioned_transfer's arguments)."""
    home = tmp_path / "airflow_home"
    home.mkdir()
    pg = {"conn_type": "postgres", "host": db.host, "port": db.port, "login": db.user, "schema": db.name}
    connections = {"src": pg, "wh": pg}
    if moto_server:
        extra = {"endpoint_url": moto_server, "region_name": "us-east-1"}
        connections["lake"] = {"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}
    env = {
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "ETL_TEST_PARTITIONED": json.dumps(spec),
        "ETL_TEST_FAIL_FLAG": str(tmp_path / "fail"),
    }
    return AirflowCli(home, connections=connections, env=env)


def _leftovers(db) -> list[tuple]:
    return execute(
        db,
        "SELECT relname FROM pg_class WHERE relname LIKE '\\_etl\\_%' UNION ALL "
        "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'airflow-etl-snapshot%' "
        "AND datname = current_database()",
    )


@pytest.mark.airflow_cli
@pytest.mark.parametrize(("partition_by", "existing"), [("id", True), ("ctid", False)])
def test_replace_into_postgres_with_8_parts_equals_the_source(
    orders, postgres_database, tmp_path, partition_by, existing
):
    db = postgres_database
    if existing:  # stale rows the replace must remove; the table's definition (its key) must stay
        execute(
            db,
            "CREATE TABLE orders_copy (LIKE orders INCLUDING ALL)",
            "INSERT INTO orders_copy SELECT * FROM orders WHERE id <= 50",
            "UPDATE orders_copy SET note = 'stale'",
        )
    spec = _spec(partition_by=partition_by, partitions=8)
    done = _cli(tmp_path, db, spec).run("dags", "test", "partitioned_orders")
    assert "Published 20000 rows from 8 parts" in done.stdout + done.stderr
    assert execute(db, CHECKSUM.format("orders")) == execute(db, CHECKSUM.format("orders_copy"))
    if existing:
        assert execute(db, "SELECT count(*) FROM pg_indexes WHERE tablename = 'orders_copy'") == [(1,)]
    assert _leftovers(db) == []


@pytest.mark.airflow_cli
def test_a_failing_part_leaves_the_destination_as_it_was(orders, postgres_database, tmp_path):
    db = postgres_database
    execute(db, "CREATE TABLE orders_copy AS SELECT * FROM orders WHERE id <= 100")
    before = execute(db, CHECKSUM.format("orders_copy"))
    spec = _spec()
    cli = _cli(tmp_path, db, spec)
    (tmp_path / "fail").write_text("12000")  # the part holding id 12000 fails after its first chunk
    failed = cli.run("dags", "test", "partitioned_orders", check=False)
    assert failed.returncode != 0 and "injected part failure" in failed.stdout + failed.stderr
    assert execute(db, CHECKSUM.format("orders_copy")) == before
    assert _leftovers(db) == []  # the teardown dropped the other parts' staging and ended the snapshot


@pytest.mark.airflow_cli
def test_parquet_parts_on_s3_are_published_together(
    orders, postgres_database, tmp_path, moto_server, s3_bucket, s3_client
):
    s3 = s3_client
    db = postgres_database
    s3.put_object(Bucket=s3_bucket, Key="lake/orders/old.parquet", Body=b"replaced")
    spec = _spec(
        destination_conn_id="lake",
        destination=f"s3://{s3_bucket}/lake/orders/",
        destination_options={"max_rows_per_file": 3000},
    )
    done = _cli(tmp_path, db, spec, moto_server).run("dags", "test", "partitioned_orders")
    assert "Published 20000 rows from 4 parts" in done.stdout + done.stderr
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket, Prefix="lake/")["Contents"]]
    assert all(key.startswith("lake/orders/part-") and key.endswith(".parquet") for key in keys), keys
    assert len(keys) == 8  # 4 parts of 5,000 rows in files of at most 3,000 rows
    tables = [pq.read_table(io.BytesIO(s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read())) for key in keys]
    ids = pa.concat_tables(tables).column("id").to_pylist()
    assert sorted(ids) == list(range(1, ROWS + 1))
    assert _leftovers(db) == []


@pytest.mark.airflow_cli
def test_a_part_killed_mid_load_is_retried_without_duplicates(postgres_database, tmp_path):
    """A real deployment (LocalExecutor, parallelism 2): the part holding id 25,000 SIGKILLs its own
    process after 5 chunks went to its staging table; Airflow retries it; the result equals the source."""
    db = postgres_database
    _orders(db, 40000)
    spec = _spec(chunk_size=1000, part_retries=1)
    cli = _cli(tmp_path, db, spec)
    flag = Path(cli.env["ETL_TEST_FAIL_FLAG"]).with_name("kill")
    cli.env["ETL_TEST_KILL_FLAG"] = str(flag)
    flag.write_text("25000")
    with cli.scheduler(parallelism=2) as base_url:
        run = cli.trigger(base_url, "partitioned_orders")
    assert not flag.exists(), "the part never reached id 25,000"
    parts = {ti["map_index"]: ti for ti in run["task_instances"] if ti["task_id"] == "orders_copy.parts"}
    assert run["state"] == "success", run
    assert [parts[i]["try_number"] for i in range(4)] == [1, 1, 2, 1]  # the killed part ran twice
    assert execute(db, CHECKSUM.format("orders")) == execute(db, CHECKSUM.format("orders_copy"))
    assert execute(db, "SELECT count(*) FROM orders_copy") == [(40000,)]
    assert _leftovers(db) == []


@pytest.mark.airflow_cli
@pytest.mark.parametrize("destination", ["postgres", "s3"])
def test_under_a_scheduler_8_parts_equal_the_source(
    postgres_database, tmp_path, moto_server, s3_bucket, s3_client, destination
):
    """LocalExecutor with parallelism 2: orders -> a PostgreSQL replace, or -> Parquet parts on S3."""
    db = postgres_database
    _orders(db, SCHEDULED_ROWS)
    spec = _spec(partitions=8)
    if destination == "s3":
        spec |= {"destination_conn_id": "lake", "destination": f"s3://{s3_bucket}/orders/"}
    cli = _cli(tmp_path, db, spec, moto_server)
    with cli.scheduler(parallelism=2) as base_url:
        run = cli.trigger(base_url, "partitioned_orders", timeout=3600)
    assert run["state"] == "success", run
    if destination == "postgres":
        assert execute(db, CHECKSUM.format("orders")) == execute(db, CHECKSUM.format("orders_copy"))
    else:
        s3 = s3_client
        keys = [
            o["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=s3_bucket)
            for o in page["Contents"]
        ]
        assert all(key.startswith("orders/part-") for key in keys), keys
        ids = []
        for key in keys:
            body = s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
            ids.append(pq.read_table(io.BytesIO(body), columns=["id"]).column("id"))
        column = pa.chunked_array([chunk for part in ids for chunk in part.chunks])
        assert len(column) == SCHEDULED_ROWS and pa.compute.count_distinct(column).as_py() == SCHEDULED_ROWS
        assert pa.compute.min(column).as_py() == 1 and pa.compute.max(column).as_py() == SCHEDULED_ROWS
    assert _leftovers(db) == []


@pytest.mark.airflow_cli
def test_a_stateless_incremental_range_is_read_by_every_part(orders, postgres_database, tmp_path):
    db = postgres_database
    execute(
        db,
        "CREATE TABLE orders_copy (LIKE orders INCLUDING ALL)",
        "INSERT INTO orders_copy SELECT * FROM orders WHERE id <= 10",
    )
    spec = _spec(
        destination="{{ 'orders' ~ '_copy' }}",  # rendered alike by plan, publish and cleanup
        mode="append",
        keys=["id"],
        incremental={"cursor": "updated_at", "initial": "2021-01-01T00:00:00", "end": "2023-01-01T00:00:00"},
    )
    done = _cli(tmp_path, db, spec).run("dags", "test", "partitioned_orders")
    in_range = "FROM orders WHERE updated_at >= '2021-01-01' AND updated_at < '2023-01-01'"
    (expected,) = execute(db, f"SELECT count(*) {in_range} AND id > 10")
    assert f"Published {expected[0] + execute(db, f'SELECT count(*) {in_range} AND id <= 10')[0][0]} rows" in (
        done.stdout + done.stderr
    )
    # upserted (keys given): the ten rows there before stay, the range's rows are added once
    assert execute(db, "SELECT count(*) FROM orders_copy") == [(10 + expected[0],)]
    assert execute(db, f"SELECT count(*) FROM (SELECT * {in_range} EXCEPT SELECT * FROM orders_copy) AS d") == [(0,)]


@pytest.mark.airflow_cli
def test_staging_an_abandoned_run_left_is_removed_by_the_next_plan(orders, postgres_database, tmp_path):
    """A run whose teardown never ran (deleted, or marked failed midway) left part tables and a held
    snapshot; the next plan of the same transfer, running alone, removes them. Another transfer's stay."""
    from airflow_etl_provider.partitioned.snapshot import hold
    from airflow_etl_provider.partitioned.staging import transfer_prefix

    db = postgres_database
    abandoned = f"_etl_part_{transfer_prefix('partitioned_orders', 'orders_copy')}abcde_0_orders_copy"
    other = f"_etl_part_{transfer_prefix('partitioned_orders', 'another_group')}abcde_0_orders_copy"
    execute(db, f"CREATE TABLE {abandoned} (id int)", f"CREATE TABLE {other} (id int)")
    conninfo = f"host={db.host} port={db.port} user={db.user} dbname={db.name}"
    hold(conninfo, transfer_prefix("partitioned_orders", "orders_copy") + "fffff")  # a plan run alone, say
    spec = _spec(mode="append", partitions=2)
    done = _cli(tmp_path, db, spec).run("dags", "test", "partitioned_orders")
    assert f"Removing public.{abandoned}, left by run" in done.stdout + done.stderr
    assert _leftovers(db) == [(other,)]  # and no holder session is left
    assert execute(db, "SELECT count(*) FROM orders_copy") == [(ROWS,)]


@pytest.mark.airflow_cli
def test_parts_folders_an_abandoned_run_left_on_s3_are_removed_by_the_next_plan(
    orders, postgres_database, tmp_path, moto_server, s3_bucket, s3_client
):
    from airflow_etl_provider.partitioned.staging import transfer_prefix

    abandoned = f"lake/orders/_etl-parts-{transfer_prefix('partitioned_orders', 'orders_copy')}abcde/part-00000/"
    other = f"lake/orders/_etl-parts-{transfer_prefix('partitioned_orders', 'another_group')}abcde/part-00000/"
    for folder in (abandoned, other):
        s3_client.put_object(Bucket=s3_bucket, Key=folder + "part-x.parquet", Body=b"left behind")
        s3_client.put_object(
            Bucket=s3_bucket, Key=folder + "_etl-tmp-20260101T000000Z-host-1-abcdef01/x.upload", Body=b""
        )
    spec = _spec(destination_conn_id="lake", destination=f"s3://{s3_bucket}/lake/orders/", mode="append", partitions=2)
    done = _cli(tmp_path, postgres_database, spec, moto_server).run("dags", "test", "partitioned_orders")
    assert "left by run" in done.stdout + done.stderr
    keys = sorted(o["Key"] for o in s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="lake/")["Contents"])
    assert not any(key.startswith(abandoned) for key in keys)
    assert [key for key in keys if "_etl-" in key] == [
        other + "_etl-tmp-20260101T000000Z-host-1-abcdef01/x.upload",
        other + "part-x.parquet",
    ]
    assert len([key for key in keys if key.startswith("lake/orders/part-")]) == 2  # the two parts, published
