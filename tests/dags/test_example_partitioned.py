"""The partitioned example DAG under `airflow dags test`, as written, against PostgreSQL and moto's S3."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.airflow_cli import AirflowCli, example_connections
from tests.pg import execute

BENCH = Path("/work/shared/bench/orders.sql")
ROWS = 10_000


@pytest.mark.airflow_cli
def test_both_transfers_equal_the_source(postgres_database, moto_server, s3_bucket, s3_client, tmp_path: Path) -> None:
    db = postgres_database
    command = ["psql", "-q", "-h", db.host, "-p", str(db.port), "-U", db.user, "-d", db.name]
    subprocess.run([*command, "-v", f"N={ROWS}", "-f", str(BENCH)], check=True, capture_output=True)
    home = tmp_path / "airflow_home"
    home.mkdir()
    cli = AirflowCli(home, connections=example_connections(db, moto_server, bucket=s3_bucket))

    done = cli.run("dags", "test", "example_partitioned")
    output = done.stdout + done.stderr
    assert f"Published {ROWS} rows from 8 parts into orders_copy" in output
    assert f"Published {ROWS} rows from 4 parts into lake/orders/" in output

    checksum = "SELECT count(*), sum(hashtext(o::text)) FROM {} AS o"
    assert execute(db, checksum.format("orders")) == execute(db, checksum.format("orders_copy"))
    s3 = s3_client
    keys = [entry["Key"] for entry in s3.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert keys and all(key.startswith("lake/orders/part-") for key in keys), keys
    ids = []
    for key in keys:
        ids += (
            pq.read_table(io.BytesIO(s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read())).column("id").to_pylist()
        )
    assert sorted(ids) == list(range(1, ROWS + 1))
