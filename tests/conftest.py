"""Service fixtures shared by the whole suite.

Connector tests talk to real servers on loopback: PostgreSQL and MariaDB/MySQL (started by
`scripts/services.sh`, checked here), moto's S3 server and a local HTTP server (started here).
Each database fixture creates a uniquely named database and drops it afterwards.
"""

from __future__ import annotations

import os
import socket
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_etl_provider.sdk import pytest_plugin

# The SDK's pytest plugin serves it once installed (pytest11); named here too, so a checkout
# whose installed metadata predates that entry point still has it.
airflow_connection = pytest_plugin.airflow_connection

PG_HOST = os.environ.get("ETL_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("ETL_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("ETL_TEST_PG_USER", "postgres")
MYSQL_HOST = os.environ.get("ETL_TEST_MYSQL_HOST", "127.0.0.1")
MYSQL_PORT = int(os.environ.get("ETL_TEST_MYSQL_PORT", "3306"))
MYSQL_USER = os.environ.get("ETL_TEST_MYSQL_USER", "root")


def _require_port(host: str, port: int, service: str) -> None:
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as error:
        pytest.fail(f"{service} is not reachable on {host}:{port} ({error}); run scripts/services.sh", pytrace=False)


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class Database:
    """A throw-away database on a real server."""

    host: str
    port: int
    user: str
    name: str


@pytest.fixture
def postgres_database() -> Iterator[Database]:
    _require_port(PG_HOST, PG_PORT, "PostgreSQL")
    import psycopg

    name = _unique("etl_test")
    admin = dict(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True)
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Database(PG_HOST, PG_PORT, PG_USER, name)
    finally:
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_conn_id(postgres_database: Database, airflow_connection: Callable[..., str]) -> str:
    """An Airflow `postgres` connection to a fresh database."""
    db = postgres_database
    return airflow_connection("postgres", host=db.host, port=db.port, login=db.user, schema=db.name)


@pytest.fixture
def mysql_database() -> Iterator[Database]:
    _require_port(MYSQL_HOST, MYSQL_PORT, "MySQL/MariaDB")
    import mysql.connector

    name = _unique("etl_test")
    admin = dict(host=MYSQL_HOST, port=MYSQL_PORT, user=MYSQL_USER, password="")
    conn = mysql.connector.connect(**admin)
    try:
        conn.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    finally:
        conn.close()
    try:
        yield Database(MYSQL_HOST, MYSQL_PORT, MYSQL_USER, name)
    finally:
        conn = mysql.connector.connect(**admin)
        try:
            conn.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            conn.close()


@pytest.fixture
def mysql_conn_id(mysql_database: Database, airflow_connection: Callable[..., str]) -> str:
    """An Airflow `mysql` connection to a fresh database."""
    db = mysql_database
    return airflow_connection("mysql", host=db.host, port=db.port, login=db.user, password="", schema=db.name)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's S3 server over real HTTP on a loopback port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_client(moto_server: str) -> Any:
    """A boto3 S3 client of the moto server, to set up and check what a test's S3 holds."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def s3_bucket(s3_client: Any) -> Iterator[str]:
    """A fresh bucket on the moto server."""
    name = _unique("etl-test").replace("_", "-")
    s3_client.create_bucket(Bucket=name)
    yield name


@pytest.fixture
def aws_conn_id(moto_server: str, airflow_connection: Callable[..., str]) -> str:
    """An Airflow `aws` connection pointed at the moto server."""
    return airflow_connection(
        "aws",
        login="testing",
        password="testing",
        extra={"endpoint_url": moto_server, "region_name": "us-east-1"},
    )


@pytest.fixture
def sqlite_conn_id(tmp_path: Path, airflow_connection: Callable[..., str]) -> str:
    """An Airflow `sqlite` connection to a new database file."""
    return airflow_connection("sqlite", host=str(tmp_path / "test.db"))


@pytest.fixture
def filesystem_conn_id(tmp_path: Path, airflow_connection: Callable[..., str]) -> str:
    """An Airflow `filesystem` connection rooted at a new directory."""
    base = tmp_path / "files"
    base.mkdir()
    return airflow_connection("filesystem", extra={"base_path": str(base)})


@pytest.fixture(scope="module")
def salesforce_connector() -> Iterator[type]:
    """The example plugins-folder connector, registered for one test module and removed after it.

    The module is dropped from `sys.modules` too: the loader skips a file already imported, so
    a later module could not register it again.
    """
    from airflow_etl_provider.hooks.registry import registry
    from airflow_etl_provider.sdk import load_plugins_from_directory

    plugins = Path(__file__).resolve().parent.parent / "plugins"
    [result] = [r for r in load_plugins_from_directory(plugins) if r.path.name == "salesforce_connector.py"]
    assert result.error is None and result.conn_types == ["salesforce"], result.error
    yield registry.connector_class("salesforce")
    registry.unregister("salesforce")
    sys.modules.pop("salesforce_connector", None)
