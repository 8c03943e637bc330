"""A SQL connection that cannot be opened at task time: the error names the connection and where
it points (host and port, database, or the SQLite file), says what to check, and carries no
password, neither in its own text nor in any exception chained to it.

Real servers and a real closed port on 127.0.0.1. PostgreSQL here trusts every login from
127.0.0.1 (pg_hba `trust`), so a wrong password cannot fail there: its cases are an unknown
database and an unknown role instead. MariaDB checks passwords, so it gets a real user with a
password and a wrong one.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mysql.connector
import pyarrow as pa
import pytest

from airflow_etl_provider.exceptions import ConnectorConfigError
from airflow_etl_provider.hooks.mysql import MySqlConnectorHook
from airflow_etl_provider.hooks.postgres import PostgresConnectorHook
from airflow_etl_provider.hooks.sql_base import SqlConnectorHook
from airflow_etl_provider.hooks.sqlite import SQLiteConnectorHook

PASSWORD = "wr0ng-s3cret-Pa55"
#: The MariaDB test user's real password: it must not show either.
RIGHT_PASSWORD = "r1ght-s3cret-Pa55"
#: Fail fast: no retries, a short connect timeout.
FAST = {"retry_count": 0, "connect_timeout": 3}


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def chain(error: BaseException | None) -> Iterator[BaseException]:
    while error is not None:
        yield error
        error = error.__cause__ or error.__context__


def failure(hook: SqlConnectorHook, action: str) -> ConnectorConfigError:
    """The error of reading (extract) or writing (load) through `hook`."""
    with pytest.raises(ConnectorConfigError) as info:
        if action == "extract":
            list(hook.extract("SELECT 1 AS a"))
        else:
            hook.load([pa.record_batch({"a": [1]})], "target")
    for error in chain(info.value):
        for secret in (PASSWORD, RIGHT_PASSWORD):
            assert secret not in str(error) and secret not in repr(error), error
    return info.value


def assert_names(error: ConnectorConfigError, *words: str) -> None:
    message = str(error)
    for word in words:
        assert word in message, message


# -- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture
def pg_settings(postgres_database: Any) -> dict[str, Any]:
    db = postgres_database
    return {"host": db.host, "port": db.port, "login": db.user, "schema": db.name, "password": PASSWORD}


@pytest.mark.parametrize("action", ["extract", "load"])
def test_postgres_closed_port(
    pg_settings: dict[str, Any], airflow_connection: Callable[..., str], closed_port: int, action: str
) -> None:
    conn_id = airflow_connection("postgres", **{**pg_settings, "port": closed_port}, extra=FAST)
    error = failure(PostgresConnectorHook(conn_id), action)
    assert_names(error, repr(conn_id), f"127.0.0.1:{closed_port}", "unreachable", "'host'")


def test_postgres_unknown_database(pg_settings: dict[str, Any], airflow_connection: Callable[..., str]) -> None:
    conn_id = airflow_connection("postgres", **{**pg_settings, "schema": "no_such_db_etl"}, extra=FAST)
    error = failure(PostgresConnectorHook(conn_id), "extract")
    assert_names(error, repr(conn_id), "127.0.0.1:", "'no_such_db_etl'", "does not exist", "'schema'")


def test_postgres_unknown_role(pg_settings: dict[str, Any], airflow_connection: Callable[..., str]) -> None:
    conn_id = airflow_connection("postgres", **{**pg_settings, "login": "no_such_role_etl"}, extra=FAST)
    error = failure(PostgresConnectorHook(conn_id), "load")
    assert_names(error, repr(conn_id), "127.0.0.1:", "'no_such_role_etl'", "authentication failed", "'login'")


# -- MySQL / MariaDB -------------------------------------------------------------------------


@pytest.fixture
def mysql_user(mysql_database: Any) -> Iterator[str]:
    """A real user whose password is not PASSWORD; dropped afterwards."""
    db = mysql_database
    name = f"etl_{uuid.uuid4().hex[:10]}"
    admin = mysql.connector.connect(host=db.host, port=db.port, user=db.user, password="", autocommit=True)
    cursor = admin.cursor()
    try:
        for host in ("%", "localhost"):
            cursor.execute(f"CREATE USER '{name}'@'{host}' IDENTIFIED BY '{RIGHT_PASSWORD}'")
            cursor.execute(f"GRANT ALL ON `{db.name}`.* TO '{name}'@'{host}'")
        yield name
    finally:
        for host in ("%", "localhost"):
            cursor.execute(f"DROP USER IF EXISTS '{name}'@'{host}'")
        admin.close()


@pytest.fixture
def my_settings(mysql_database: Any, mysql_user: str) -> dict[str, Any]:
    db = mysql_database
    return {"host": db.host, "port": db.port, "login": mysql_user, "schema": db.name, "password": RIGHT_PASSWORD}


@pytest.mark.parametrize("action", ["extract", "load"])
def test_mysql_wrong_password(
    my_settings: dict[str, Any], airflow_connection: Callable[..., str], mysql_user: str, action: str
) -> None:
    conn_id = airflow_connection("mysql", **{**my_settings, "password": PASSWORD}, extra=FAST)
    error = failure(MySqlConnectorHook(conn_id), action)
    assert_names(error, repr(conn_id), "127.0.0.1:", repr(mysql_user), "login/password", "'password'")


def test_mysql_closed_port(
    my_settings: dict[str, Any], airflow_connection: Callable[..., str], closed_port: int
) -> None:
    conn_id = airflow_connection("mysql", **{**my_settings, "port": closed_port}, extra=FAST)
    error = failure(MySqlConnectorHook(conn_id), "extract")
    assert_names(error, repr(conn_id), f"127.0.0.1:{closed_port}", "unreachable", "'host'")


def test_mysql_unknown_database(my_settings: dict[str, Any], airflow_connection: Callable[..., str]) -> None:
    conn_id = airflow_connection("mysql", **{**my_settings, "schema": "no_such_db_etl"}, extra=FAST)
    error = failure(MySqlConnectorHook(conn_id), "extract")
    # 1044: a user without rights on a database is told so whether or not it exists
    assert_names(error, repr(conn_id), "127.0.0.1:", "'no_such_db_etl'", "check the schema field", "'schema'")


# -- SQLite ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["directory", "not a database"])
def test_sqlite_file_that_cannot_be_opened(tmp_path: Path, airflow_connection: Callable[..., str], kind: str) -> None:
    path = tmp_path / "data.db"
    if kind == "directory":
        path.mkdir()
    else:
        path.write_bytes(b"this is no SQLite file, only text" * 100)
    conn_id = airflow_connection("sqlite", host=str(path))
    for action in ("extract", "load"):
        error = failure(SQLiteConnectorHook(conn_id), action)
        assert_names(error, repr(conn_id), str(path), "'host'")
