"""The cursor range pushed down to PostgreSQL, MySQL and SQLite: only the rows in range are read,
values are bound as parameters, the cursor's name is quoted, a query's own parameters are kept."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import psycopg
import pytest

from airflow_etl_provider.hooks.registry import hook_for
from airflow_etl_provider.incremental.spec import Incremental
from airflow_etl_provider.incremental.sql import ranged_select

UTC = dt.timezone.utc
CURSOR = 'changed "at"'  # a name that breaks unquoted SQL
ROWS = [(i, dt.datetime(2026, 1, i, 12, 0, 0) if i != 5 else None) for i in range(1, 10)]


def read_ids(conn_id: str, source: str, incremental: Incremental, watermark=None, parameters=None) -> list[int]:
    hook = hook_for(conn_id)
    with hook:
        select, params = ranged_select(
            hook, source, incremental.range(watermark), parameters, row_order=incremental.row_order
        )
        batches = list(hook.extract(select, chunk_size=100, parameters=params))
    return [row["id"] for batch in batches for row in batch.to_pylist()]


@pytest.fixture
def postgres_events(postgres_database, postgres_conn_id: str) -> str:
    db = postgres_database
    with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE events (id int PRIMARY KEY, "{CURSOR.replace(chr(34), chr(34) * 2)}" timestamp)')
        conn.cursor().executemany("INSERT INTO events VALUES (%s, %s)", ROWS)
    return postgres_conn_id


@pytest.fixture
def mysql_events(mysql_database, mysql_conn_id: str) -> str:
    import mysql.connector

    db = mysql_database
    conn = mysql.connector.connect(host=db.host, port=db.port, user=db.user, password="", database=db.name)
    try:
        conn.cursor().execute(f"CREATE TABLE events (id int PRIMARY KEY, `{CURSOR}` datetime(6))")
        conn.cursor().executemany("INSERT INTO events VALUES (%s, %s)", ROWS)
        conn.commit()
    finally:
        conn.close()
    return mysql_conn_id


@pytest.fixture
def sqlite_events(sqlite_conn_id: str, tmp_path: Path) -> str:
    with sqlite3.connect(tmp_path / "test.db") as conn:
        conn.execute(
            f'CREATE TABLE events (id integer PRIMARY KEY, "{CURSOR.replace(chr(34), chr(34) * 2)}" timestamp)'
        )
        conn.executemany("INSERT INTO events VALUES (?, ?)", [(i, ts.isoformat(" ") if ts else None) for i, ts in ROWS])
    return sqlite_conn_id


@pytest.fixture(params=["postgres", "mysql", "sqlite"])
def events(request) -> str:
    return request.getfixturevalue(f"{request.param}_events")


def test_reads_only_the_range_closed_start_open_end(events: str) -> None:
    incremental = Incremental(cursor=CURSOR, initial="2026-01-03T12:00:00Z", end="2026-01-07T12:00:00Z")
    # NULL cursors are read by default (on_cursor_missing="raise" then fails on them, see the tracker tests)
    assert sorted(read_ids(events, "events", incremental)) == [3, 4, 5, 6]


def test_excluded_null_cursors_and_an_open_start_after_the_watermark(events: str) -> None:
    incremental = Incremental(cursor=CURSOR, range_start="open", on_cursor_missing="exclude", row_order="desc")
    watermark = dt.datetime(2026, 1, 7, 12, 0, 0)  # naive, as a timestamp column's maximum comes back
    assert read_ids(events, "events", incremental, watermark) == [9, 8]


def test_no_watermark_nor_initial_reads_every_row_with_a_cursor(events: str) -> None:
    incremental = Incremental(cursor=CURSOR, on_cursor_missing="exclude", row_order="asc")
    assert read_ids(events, "events", incremental) == [1, 2, 3, 4, 6, 7, 8, 9]
    assert sorted(read_ids(events, "events", Incremental(cursor=CURSOR, on_cursor_missing="include"))) == list(
        range(1, 10)
    )


def test_lag_moves_the_start_back(events: str) -> None:
    incremental = Incremental(cursor=CURSOR, lag=dt.timedelta(days=2), on_cursor_missing="exclude")
    assert sorted(read_ids(events, "events", incremental, dt.datetime(2026, 1, 8, 12))) == [6, 7, 8, 9]


@pytest.mark.parametrize("dialect", ["postgres", "mysql"])
def test_a_query_keeps_its_own_parameters(dialect: str, request) -> None:
    conn_id = request.getfixturevalue(f"{dialect}_events")
    incremental = Incremental(cursor=CURSOR, initial="2026-01-02T00:00:00Z", on_cursor_missing="exclude")
    positional = read_ids(conn_id, "SELECT * FROM events WHERE id < %s", incremental, parameters=[8])
    named = read_ids(conn_id, "SELECT * FROM events WHERE id < %(top)s", incremental, parameters={"top": 4})
    assert (sorted(positional), sorted(named)) == ([2, 3, 4, 6, 7], [2, 3])


def test_sqlite_query_keeps_its_own_parameters(sqlite_events: str) -> None:
    incremental = Incremental(cursor=CURSOR, initial="2026-01-02T00:00:00Z", on_cursor_missing="exclude")
    positional = read_ids(sqlite_events, "SELECT * FROM events WHERE id < ?", incremental, parameters=[8])
    named = read_ids(sqlite_events, "SELECT * FROM events WHERE id < :top", incremental, parameters={"top": 4})
    assert (sorted(positional), sorted(named)) == ([2, 3, 4, 6, 7], [2, 3])


def test_values_are_bound_never_spliced(postgres_events: str) -> None:
    hook = hook_for(postgres_events)
    with hook:
        select, params = ranged_select(hook, "events", Incremental(cursor="id", initial=3, end=5).range(None))
    assert "3" not in select and "5" not in select and params == [3, 5]
    assert '"_etl_incremental"' not in select and '_etl_incremental."id" >= %s' in select


def test_integer_cursor(postgres_events: str) -> None:
    incremental = Incremental(cursor="id", initial=7)
    assert sorted(read_ids(postgres_events, "events", incremental)) == [7, 8, 9]
