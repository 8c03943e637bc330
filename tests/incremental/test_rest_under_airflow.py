"""An incremental REST source under `airflow dags test`: the range's start goes to the API as
`since`, the rows are filtered client-side too, and the second run moves only the new records."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import psycopg
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.airflow_cli import AirflowCli, logged_summary

DAGS = Path(__file__).parent / "dags"
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def record(i: int) -> dict:
    return {"id": i, "name": f"event {i}", "updated_at": (START + dt.timedelta(hours=i)).isoformat()}


@pytest.mark.airflow_cli
def test_second_run_asks_since_the_watermark_and_moves_only_new_records(
    httpserver: HTTPServer, postgres_database, tmp_path: Path
) -> None:
    records = [record(i) for i in range(1, 51)]
    asked: list[str | None] = []

    def handler(request: Request) -> Response:
        since = request.args.get("since")
        asked.append(since)
        # a coarse API: it filters by day only, so the client-side filter has rows to drop
        day = dt.datetime.fromisoformat(since.replace("Z", "+00:00")).date() if since else None
        rows = [r for r in records if day is None or dt.datetime.fromisoformat(r["updated_at"]).date() >= day]
        return Response(json.dumps(rows), content_type="application/json")

    httpserver.expect_request("/v1/events").respond_with_handler(handler)
    db = postgres_database
    home = tmp_path / "airflow_home"
    home.mkdir()
    cli = AirflowCli(
        home,
        connections={
            "api": {"conn_type": "rest_api", "host": httpserver.url_for("/v1")},
            "wh": {"conn_type": "postgres", "host": db.host, "port": db.port, "login": db.user, "schema": db.name},
        },
        env={"AIRFLOW__CORE__DAGS_FOLDER": str(DAGS)},
    )
    first = logged_summary((done := cli.run("dags", "test", "incremental_rest")).stdout + done.stderr)
    assert first["rows"] == 50 and asked == ["2026-01-01T00:00:00Z"]

    records.extend(record(i) for i in range(51, 61))
    second = logged_summary((done := cli.run("dags", "test", "incremental_rest")).stdout + done.stderr)
    assert asked[-1] == "2026-01-03T02:00:00Z"  # the watermark: event 50's updated_at
    assert second["rows"] == second["incremental"]["rows"] == 10
    # the API sent the whole day (events 48..60): the hours before the watermark are dropped here,
    # and event 50 itself, loaded last time and unchanged, is skipped at the boundary
    assert second["incremental"]["out_of_range_rows_dropped"] == 2
    assert second["incremental"]["boundary_rows_skipped"] == 1
    with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name) as conn:
        assert conn.execute("SELECT count(*), max(id) FROM events").fetchone() == (60, 60)
