"""Digits beyond a decimal column's scale, loaded into real PostgreSQL numeric(5,2) and MariaDB DECIMAL(5,2).

Without `decimal_rounding` such a value is refused (the databases would round it, Arrow's
double -> decimal cast did); with it, the digits the CSV wrote are rounded as asked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from airflow_etl_provider.exceptions import LoadError
from airflow_etl_provider.hooks.filesystem import FilesystemConnectorHook
from airflow_etl_provider.hooks.mysql import MySqlConnectorHook
from airflow_etl_provider.hooks.postgres import PostgresConnectorHook
from airflow_etl_provider.hooks.sql_base import SqlConnectorHook


class Database:
    """A hook on a fresh database holding `prices (id int, amount numeric(5,2))`, and a way to read it."""

    def __init__(self, hook: SqlConnectorHook, execute: Callable[[str], list[tuple[Any, ...]]]):
        self.hook = hook
        self.execute = execute
        execute("CREATE TABLE prices (id integer, amount numeric(5,2))")
        execute("INSERT INTO prices VALUES (0, 9.99)")

    def rows(self) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.execute("SELECT id, amount FROM prices ORDER BY id")]


@pytest.fixture(params=["postgres", "mysql"])
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    if request.param == "postgres":
        import psycopg

        db = request.getfixturevalue("postgres_database")
        conn_id = request.getfixturevalue("postgres_conn_id")
        with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name, autocommit=True) as conn:

            def execute(sql: str) -> list[tuple[Any, ...]]:
                cursor = conn.execute(sql)
                return cursor.fetchall() if cursor.description else []

            yield Database(PostgresConnectorHook(conn_id), execute)
    else:
        import mysql.connector

        db = request.getfixturevalue("mysql_database")
        conn_id = request.getfixturevalue("mysql_conn_id")
        conn = mysql.connector.connect(host=db.host, port=db.port, user=db.user, database=db.name, autocommit=True)

        def execute(sql: str) -> list[tuple[Any, ...]]:
            cursor = conn.cursor()
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else []

        try:
            yield Database(MySqlConnectorHook(conn_id), execute)
        finally:
            conn.close()


@pytest.fixture
def csv_file(filesystem_conn_id: str) -> Callable[[str], Iterator[pa.RecordBatch]]:
    """Write a CSV file and return its batches as the filesystem connector reads it (types inferred)."""
    files = FilesystemConnectorHook(filesystem_conn_id)
    with files:
        base = Path(files.config["base_path"])

    def read(text: str) -> Iterator[pa.RecordBatch]:
        (base / "prices.csv").write_text(text)
        return files.extract("prices.csv", chunk_size=2)

    return read


def test_a_value_with_more_digits_than_the_scale_is_refused_and_nothing_is_written(database, csv_file) -> None:
    """1.234 used to be stored as 1.23 (the CSV reader infers double; double -> decimal rounded)."""
    with pytest.raises(LoadError, match=r"row 3, column 'amount': value 1.234 .*decimal_rounding"):
        database.hook.load(csv_file("id,amount\n1,1.5\n2,0.1\n3,1.234\n4,2\n"), "prices")
    assert database.rows() == [(0, Decimal("9.99"))]


def test_values_that_fit_the_scale_are_stored_exactly_as_written(database, csv_file) -> None:
    """1.23, 0.1 and 999.99 are inexact as doubles; their text fits numeric(5,2)."""
    database.hook.load(csv_file("id,amount\n1,1.23\n2,0.1\n3,-999.99\n4,\n"), "prices")
    assert database.rows() == [
        (0, Decimal("9.99")),
        (1, Decimal("1.23")),
        (2, Decimal("0.10")),
        (3, Decimal("-999.99")),
        (4, None),
    ]


@pytest.mark.parametrize(("rounding", "tie"), [("half_even", Decimal("0.12")), ("half_up", Decimal("0.13"))])
def test_decimal_rounding_rounds_the_written_digits(database, csv_file, rounding: str, tie: Decimal) -> None:
    """2.675 is 2.67499999... as a double: rounded as written, it is a tie that goes up either way."""
    result = database.hook.load(
        csv_file("id,amount\n1,1.234\n2,2.675\n3,0.125\n4,-1.005\n"), "prices", decimal_rounding=rounding
    )
    assert result.rows == 4
    away = Decimal("-1.00") if rounding == "half_even" else Decimal("-1.01")
    assert database.rows() == [(0, Decimal("9.99")), (1, Decimal("1.23")), (2, Decimal("2.68")), (3, tie), (4, away)]


def test_decimals_with_a_larger_scale_are_refused_or_rounded_too(database) -> None:
    batch = pa.RecordBatch.from_pydict({"id": [1], "amount": pa.array([Decimal("1.235")], pa.decimal128(10, 3))})
    with pytest.raises(LoadError, match=r"row 1, column 'amount'.*decimal_rounding"):
        database.hook.load([batch], "prices")
    database.hook.load([batch], "prices", decimal_rounding="half_even")
    assert database.rows() == [(0, Decimal("9.99")), (1, Decimal("1.24"))]


def test_a_wrong_rounding_value_is_refused_with_the_known_ones(database) -> None:
    batch = pa.RecordBatch.from_pydict({"id": [1], "amount": [1.5]})
    with pytest.raises(LoadError, match=r"decimal_rounding 'up'.*half_even, half_up"):
        database.hook.load([batch], "prices", decimal_rounding="up")
    assert database.rows() == [(0, Decimal("9.99"))]
