"""The REST API -> Postgres example DAG under `airflow tasks test`, and no secret in its traces.

A local HTTP server plays the API; connections come from AIRFLOW_CONN_* JSON in the
environment of the `airflow` subprocess.
"""

from __future__ import annotations

import importlib.util
import json
import secrets
import sqlite3
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.airflow_cli import AirflowCli, logged_summary

DAG_ID = "example_rest_api_to_postgres"
TASK_ID = "upsert_endpoint"
API_KEY = "apikey-9c1b7e42d5"
CLIENT_SECRET = "client-secret-4e8f2a61"


def _json(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


def _users(names: dict[int, str]) -> list[dict]:
    return [{"id": i, "name": name, "address": {"city": f"city {i % 7}"}, "score": i / 4} for i, name in names.items()]


def _serve_cursor_pages(server: HTTPServer, path: str, records: list[dict], check: callable) -> dict:
    """Pages of 50 records behind a cursor; every response is checked for credentials first."""
    seen = {"requests": 0}

    def handler(request: Request) -> Response:
        problem = check(request)
        if problem is not None:
            return problem
        seen["requests"] += 1
        start = int(request.args.get("cursor", 0))
        following = start + 50 if start + 50 < len(records) else None
        return _json({"data": records[start : start + 50], "meta": {"next_cursor": following}})

    server.expect_request(path).respond_with_handler(handler)
    return seen


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> AirflowCli:
    """One migrated AIRFLOW_HOME for the module (migrating is the slow part); tests add connections."""
    return AirflowCli(tmp_path_factory.mktemp("airflow_home"), connections={})


def _connect(cli: AirflowCli, **connections: dict) -> None:
    cli.env.update({f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(spec) for conn_id, spec in connections.items()})


def _api_connection(server: HTTPServer, **extra) -> dict:
    return {
        "conn_type": "rest_api",
        "host": server.url_for("/v1"),
        "extra": {"paginator": "cursor", "cursor_path": "meta.next_cursor", "max_retries": 3, **extra},
    }


@pytest.mark.airflow_cli
def test_upserts_an_endpoint_into_postgres(httpserver: HTTPServer, postgres_database, cli: AirflowCli) -> None:
    pytest.importorskip("airflow_etl_provider.hooks.postgres", reason="the Postgres connector is not there yet")
    import psycopg

    db = postgres_database
    with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name) as conn:
        conn.execute("CREATE TABLE people (id bigint PRIMARY KEY, name text, address__city text, score float8)")
        conn.execute("INSERT INTO people VALUES (5, 'old name', 'old city', 0), (999, 'not in the API', NULL, 1)")

    def check(request: Request) -> Response | None:
        return None if request.args.get("api_key") == API_KEY else _json({"error": "bad key"}, 401)

    seen = _serve_cursor_pages(httpserver, "/v1/people", _users({i: f"user {i}" for i in range(1, 121)}), check)
    _connect(
        cli,
        example_rest_api=_api_connection(
            httpserver, auth_type="api_key", api_key=API_KEY, key_location="query", key_name="api_key"
        ),
        example_warehouse={
            "conn_type": "postgres",
            "host": db.host,
            "port": db.port,
            "login": db.user,
            "schema": db.name,
        },
    )
    params = json.dumps({"endpoint": "people", "table": "people"})
    run = cli.run("tasks", "test", DAG_ID, TASK_ID, "2026-01-01", "-t", params)
    assert seen["requests"] == 3

    with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name) as conn:
        count, distinct = conn.execute("SELECT count(*), count(DISTINCT id) FROM people").fetchone()
        updated = conn.execute("SELECT name, address__city, score FROM people WHERE id = 5").fetchone()
        untouched = conn.execute("SELECT name FROM people WHERE id = 999").fetchone()
    assert (count, distinct) == (121, 121)  # 120 from the API (one of them updated) + one left alone
    assert updated == ("user 5", "city 5", 1.25) and untouched == ("not in the API",)
    summary = logged_summary(run.stdout + run.stderr)
    assert summary["rows"] == 120 and summary["mode"] == "upsert" and summary["source"] == "people"
    assert API_KEY not in run.stdout + run.stderr


class OAuthApi:
    """Token endpoint with short-lived tokens (rejected with 401 once expired) and a flaky data endpoint."""

    def __init__(self, server: HTTPServer, records: list[dict]) -> None:
        self.tokens: dict[str, float] = {}
        self.issued: list[str] = []
        self.throttled = False
        server.expect_request("/v1/oauth/token", method="POST").respond_with_handler(self.token)
        self.seen = _serve_cursor_pages(server, "/v1/users", records, self.check)

    def token(self, request: Request) -> Response:
        if request.form.get("client_secret") != CLIENT_SECRET:
            return _json({"error": "invalid_client"}, 401)
        token = "tok-" + secrets.token_hex(12)
        self.tokens[token] = time.monotonic() + 1.0
        self.issued.append(token)
        return _json({"access_token": token, "expires_in": 3600})  # says an hour, lives one second

    def check(self, request: Request) -> Response | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.tokens.get(token, 0) < time.monotonic():
            return _json({"error": f"token {token} expired"}, 401)
        if not self.throttled:
            self.throttled = True
            return _json({"error": f"slow down {token}"}, 429, {"Retry-After": "1"})
        return None


@pytest.mark.airflow_cli
def test_secrets_never_reach_logs_errors_or_xcom(httpserver: HTTPServer, tmp_path: Path, cli: AirflowCli) -> None:
    pytest.importorskip("airflow_etl_provider.hooks.sqlite", reason="the SQLite connector is not there yet")
    api = OAuthApi(httpserver, _users({i: f"user {i}" for i in range(1, 151)}))
    home = cli.home
    _connect(
        cli,
        example_rest_api=_api_connection(
            httpserver,
            auth_type="oauth2",
            client_id="etl-client",
            client_secret=CLIENT_SECRET,
            oauth2_url=httpserver.url_for("/v1/oauth/token"),
            rate_limit=600,
        ),
        example_warehouse={"conn_type": "sqlite", "host": str(tmp_path / "warehouse.db")},
    )
    run = cli.run("tasks", "test", DAG_ID, TASK_ID, "2026-01-01", "-t", json.dumps({"endpoint": "users"}))

    # The run went through the paths that handle secrets: 429 with Retry-After, token expiry + 401.
    assert len(api.issued) >= 2 and api.throttled and api.seen["requests"] == 3
    with sqlite3.connect(tmp_path / "warehouse.db") as db:
        assert db.execute("SELECT count(*) FROM api_users").fetchone() == (150,)
    assert "renewing credentials" in run.stdout + run.stderr

    summary = logged_summary(run.stdout + run.stderr)
    assert summary["rows"] == 150
    traces = {"stdout": run.stdout, "stderr": run.stderr, "xcom summary": json.dumps(summary)}
    traces.update({str(p): p.read_text(errors="replace") for p in (home / "logs").rglob("*") if p.is_file()})
    traces["metadata db"] = (home / "airflow.db").read_bytes().decode("latin-1")
    for secret in (CLIENT_SECRET, *api.issued):
        for where, text in traces.items():
            assert secret not in text, f"{secret[:6]}... leaked into {where}"


def test_dag_is_parameterised_by_templated_fields() -> None:
    spec = importlib.util.spec_from_file_location("dag_module", Path(__file__).parents[2] / "dags" / f"{DAG_ID}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    task = module.dag.get_task(TASK_ID)
    assert task.source == "{{ params.endpoint }}" and task.destination == "{{ params.table }}"
    assert {"source", "destination", "source_options"} <= set(task.template_fields)
    assert (task.mode, task.keys, task.source_conn_id) == ("upsert", ["id"], "example_rest_api")


@pytest.mark.airflow_cli
def test_a_stripe_style_list_lands_whole_with_timestamptz(
    httpserver: HTTPServer, postgres_database, cli: AirflowCli
) -> None:
    """57 records over pages of 20, paged by the last record's id until has_more is false."""
    import datetime as dt

    import psycopg

    start = dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone.utc)
    records = [
        {"id": f"ch_{i:02d}", "created": (start + dt.timedelta(minutes=i)).isoformat().replace("+00:00", "Z")}
        for i in range(57)
    ]

    def handler(request: Request) -> Response:
        after = request.args.get("starting_after")
        first = 0 if after is None else [r["id"] for r in records].index(after) + 1
        return _json({"object": "list", "data": records[first : first + 20], "has_more": first + 20 < 57})

    httpserver.expect_request("/v1/charges").respond_with_handler(handler)
    db = postgres_database
    with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name) as conn:
        conn.execute("CREATE TABLE charges (id text PRIMARY KEY, created timestamptz)")
    _connect(
        cli,
        example_rest_api=_api_connection(
            httpserver,
            cursor_from="last_record",
            cursor_path="id",
            cursor_param="starting_after",
            has_more_path="has_more",
        ),
        example_warehouse={
            "conn_type": "postgres",
            "host": db.host,
            "port": db.port,
            "login": db.user,
            "schema": db.name,
        },
    )
    params = json.dumps({"endpoint": "charges", "table": "charges", "records_path": "data"})
    run = cli.run("tasks", "test", DAG_ID, TASK_ID, "2026-01-01", "-t", params)
    assert logged_summary(run.stdout + run.stderr)["rows"] == 57
    with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name) as conn:
        rows = conn.execute("SELECT id, created FROM charges ORDER BY id").fetchall()
    assert rows == [(r["id"], start + dt.timedelta(minutes=i)) for i, r in enumerate(records)]
