"""The built-in connectors pass the same conformance suite a plugin author runs.

A connector whose module does not exist yet is skipped with the reason.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from airflow_etl_provider.sdk import ConnectorConformance

ROWS = [(1, "ada"), (2, "grace"), (3, "linus"), (4, "margaret"), (5, "barbara")]


def _connector(module: str, name: str) -> tuple[Any, list[pytest.MarkDecorator]]:
    """The connector class, or None with a skip mark naming why it is unavailable."""
    try:
        return getattr(importlib.import_module(module), name), []
    except (ImportError, AttributeError) as error:
        return None, [pytest.mark.skip(reason=f"{module}.{name} is not available: {error}")]


SQLite, sqlite_marks = _connector("airflow_etl_provider.hooks.sqlite", "SQLiteConnectorHook")
Filesystem, filesystem_marks = _connector("airflow_etl_provider.hooks.filesystem", "FilesystemConnectorHook")
Postgres, postgres_marks = _connector("airflow_etl_provider.hooks.postgres", "PostgresConnectorHook")
MySql, mysql_marks = _connector("airflow_etl_provider.hooks.mysql", "MySqlConnectorHook")
S3, s3_marks = _connector("airflow_etl_provider.hooks.s3", "S3ConnectorHook")
RestApi, rest_marks = _connector("airflow_etl_provider.hooks.rest_api", "RestApiConnectorHook")


class _SqlConformance(ConnectorConformance):
    """SQL connectors: the source table is seeded through the connector itself (upsert on id)."""

    @pytest.fixture
    def source(self, conn_id: str) -> str:
        from airflow_etl_provider.hooks.registry import hook_for

        people = pa.RecordBatch.from_pydict({"id": [r[0] for r in ROWS], "name": [r[1] for r in ROWS]})
        with hook_for(conn_id) as hook:
            hook.load([people], "people", mode="upsert", keys=["id"])
        return "people"

    @pytest.fixture
    def destination(self, conn_id: str) -> str:
        return "conformance_out"


class TestSQLiteConformance(_SqlConformance):
    pytestmark = sqlite_marks
    connector_class = SQLite

    @pytest.fixture
    def conn_id(self, sqlite_conn_id: str) -> str:
        return sqlite_conn_id


class TestFilesystemConformance(ConnectorConformance):
    pytestmark = filesystem_marks
    connector_class = Filesystem

    @pytest.fixture
    def conn_id(self, filesystem_conn_id: str) -> str:
        return filesystem_conn_id

    @pytest.fixture
    def source(self, conn_id: str, tmp_path: Path) -> str:
        table = pa.table({"id": [r[0] for r in ROWS], "name": [r[1] for r in ROWS]})
        pq.write_table(table, tmp_path / "files" / "people.parquet")
        return "people.parquet"

    @pytest.fixture
    def destination(self, conn_id: str) -> str:
        return "out/conformance.parquet"


class TestPostgresConformance(_SqlConformance):
    pytestmark = postgres_marks
    connector_class = Postgres

    @pytest.fixture
    def conn_id(self, postgres_conn_id: str) -> str:
        return postgres_conn_id


class TestMySqlConformance(_SqlConformance):
    pytestmark = mysql_marks
    connector_class = MySql

    @pytest.fixture
    def conn_id(self, mysql_conn_id: str) -> str:
        return mysql_conn_id


class TestS3Conformance(ConnectorConformance):
    pytestmark = s3_marks
    connector_class = S3

    @pytest.fixture
    def conn_id(self, moto_server: str, s3_bucket: str, airflow_connection: Callable[..., str]) -> str:
        extra = {"endpoint_url": moto_server, "region_name": "us-east-1", "bucket": s3_bucket}
        return airflow_connection("aws", login="testing", password="testing", extra=extra)

    @pytest.fixture
    def source(self, conn_id: str, moto_server: str, s3_bucket: str) -> str:
        import boto3

        body = pa.BufferOutputStream()
        pq.write_table(pa.table({"id": [r[0] for r in ROWS], "name": [r[1] for r in ROWS]}), body)
        client = boto3.client(
            "s3",
            endpoint_url=moto_server,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.put_object(Bucket=s3_bucket, Key="people.parquet", Body=body.getvalue().to_pybytes())
        return "people.parquet"

    @pytest.fixture
    def destination(self, conn_id: str) -> str:
        return "out/conformance.parquet"


class TestRestApiConformance(ConnectorConformance):
    """Against a tiny JSON API on loopback that lists what was POSTed to it."""

    pytestmark = rest_marks
    connector_class = RestApi

    @pytest.fixture
    def conn_id(self, httpserver: HTTPServer, airflow_connection: Callable[..., str]) -> str:
        stored: dict[str, list[Any]] = {"people": [{"id": i, "name": n} for i, n in ROWS], "conformance_out": []}

        def collection(request: Request) -> Response:
            name = request.path.rsplit("/", 1)[-1]
            if request.method == "POST":
                stored[name].extend(json.loads(request.data))
            return Response(json.dumps(stored[name]), content_type="application/json")

        for name in stored:
            httpserver.expect_request(f"/api/{name}").respond_with_handler(collection)
        return airflow_connection(
            "rest_api", host=httpserver.url_for("/api/"), extra={"health_check_endpoint": "people"}
        )

    @pytest.fixture
    def source(self, conn_id: str) -> str:
        return "people"

    @pytest.fixture
    def destination(self, conn_id: str) -> str:
        return "conformance_out"
