"""An incremental file source under `airflow dags test`: files are taken by key order, and the
second run opens only the files named after the last one loaded."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.airflow_cli import AirflowCli, logged_summary

DAGS = Path(__file__).parent / "dags"


@pytest.mark.airflow_cli
def test_second_run_reads_only_the_new_file(postgres_database, tmp_path: Path) -> None:
    landing = tmp_path / "files" / "landing"
    landing.mkdir(parents=True)
    for day, ids in (("2026-01-01", range(1, 4)), ("2026-01-02", range(4, 6))):
        (landing / f"{day}.csv").write_text("id,value\n" + "".join(f"{i},v{i}\n" for i in ids))
    db = postgres_database
    home = tmp_path / "airflow_home"
    home.mkdir()
    cli = AirflowCli(
        home,
        connections={
            "files": {"conn_type": "filesystem", "extra": {"base_path": str(tmp_path / "files")}},
            "wh": {"conn_type": "postgres", "host": db.host, "port": db.port, "login": db.user, "schema": db.name},
        },
        env={"AIRFLOW__CORE__DAGS_FOLDER": str(DAGS)},
    )
    first = logged_summary((done := cli.run("dags", "test", "incremental_files")).stdout + done.stderr)
    assert first["rows"] == 5 and first["incremental"]["to"].endswith("landing/2026-01-02.csv")

    (landing / "2026-01-03.csv").write_text("id,value\n6,v6\n7,v7\n")
    # an old file rewritten after it was loaded is not read again: key order, not modification time
    (landing / "2026-01-01.csv").write_text("id,value\n1,changed\n")
    second = logged_summary((done := cli.run("dags", "test", "incremental_files")).stdout + done.stderr)
    assert second["rows"] == 2 and second["incremental"]["to"].endswith("landing/2026-01-03.csv")
    assert second["incremental"]["from"].endswith("landing/2026-01-02.csv")
    # the files up to the watermark were not opened: no row of theirs reached the range filter
    assert second["incremental"]["out_of_range_rows_dropped"] == 0
    with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT id) FROM landing").fetchone() == (7, 7)
