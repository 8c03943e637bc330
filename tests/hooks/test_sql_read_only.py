"""A SQL source runs as exactly one read-only statement, on the real servers.

Each server test keeps a `victim` table with rows and tries to change it through the source
text: stacked statements, a data-modifying WITH, SELECT ... INTO, FOR UPDATE and a stored
function that deletes. The table must keep its rows and the error must say why.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mysql.connector
import psycopg
import pyarrow as pa
import pytest

from airflow_etl_provider.exceptions import SourceError
from airflow_etl_provider.hooks.mysql import MySqlConnectorHook
from airflow_etl_provider.hooks.postgres import PostgresConnectorHook
from airflow_etl_provider.hooks.sqlite import SQLiteConnectorHook
from airflow_etl_provider.sql.names import read_statement

READ_ONLY = "must be one read-only statement"

# -- the statement check, dialect by dialect ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "dialect", "expected"),
    [
        ("SELECT 1;", "postgres", "SELECT 1"),
        ("  select 1 ;  -- done", "postgres", "select 1"),
        ("SELECT ';' AS a, \"x;y\" FROM t /* ; */ -- ;\n", "postgres", "SELECT ';' AS a, \"x;y\" FROM t"),
        ("SELECT $$a;b$$, $q$ ; $q$, E'it\\'s;' AS c", "postgres", "SELECT $$a;b$$, $q$ ; $q$, E'it\\'s;' AS c"),
        ("SELECT 1 /* outer /* nested ; */ still ; */", "postgres", "SELECT 1"),
        ("SELECT /*! SQL_NO_CACHE */ 1 /*M!100000 + 1 */", "mysql", "SELECT /*! SQL_NO_CACHE */ 1 /*M!100000 + 1 */"),
        ("SELECT a$b$c FROM t WHERE x = $1", "postgres", "SELECT a$b$c FROM t WHERE x = $1"),
        ("WITH q AS (SELECT 1) SELECT * FROM q", "postgres", "WITH q AS (SELECT 1) SELECT * FROM q"),
        ("(VALUES (1), (2))", "postgres", "(VALUES (1), (2))"),
        ("TABLE t", "postgres", "TABLE t"),
        ("SELECT 'it\\'s; fine', \"a;\" # ; comment\n", "mysql", "SELECT 'it\\'s; fine', \"a;\""),
        ("SELECT `a;b` FROM t WHERE c = %s -- ;", "mysql", "SELECT `a;b` FROM t WHERE c = %s"),
        ("SELECT [a;b], `c;d` FROM t -- x", "sqlite", "SELECT [a;b], `c;d` FROM t"),
        ("SELECT update_count FROM t WHERE (deleted)", "postgres", "SELECT update_count FROM t WHERE (deleted)"),
    ],
)
def test_one_read_statement_is_kept_without_its_trailing_semicolon(text: str, dialect: str, expected: str) -> None:
    assert read_statement(text, dialect) == expected


@pytest.mark.parametrize(
    ("text", "dialect", "reason"),
    [
        ("SELECT 1 AS a) q; DROP TABLE victim; SELECT * FROM (SELECT 1 AS a", "postgres", "more than one statement"),
        ("SELECT 1 AS a; DROP TABLE victim", "mysql", "more than one statement"),
        ("SELECT 1;;", "sqlite", "more than one statement"),
        ("SELECT 1 # 2; DROP TABLE victim", "postgres", "more than one statement"),  # `#` is an operator there
        ("SELECT 1 /* a /* b */ ; DROP TABLE victim */", "mysql", "more than one statement"),  # no nesting there
        ("SELECT 1 /*! ; DROP TABLE victim */", "mysql", "more than one statement"),  # MySQL runs /*! ... */
        ("SELECT 1--1; DROP TABLE victim", "mysql", "more than one statement"),  # `--` needs a space there
        ("SELECT 1 AS a) q, (SELECT 2", "postgres", "unbalanced parentheses"),
        ("SELECT 'unterminated", "postgres", "unterminated"),
        ("SELECT * INTO copy FROM victim", "postgres", "INTO"),
        ("SELECT * FROM victim INTO OUTFILE '/tmp/x'", "mysql", "INTO"),
        ("WITH d AS (DELETE FROM victim RETURNING *) SELECT * FROM d", "postgres", "data-modifying"),
        ("WITH d AS MATERIALIZED (update victim SET id = 0 RETURNING *) SELECT 1", "postgres", "data-modifying"),
        ("SHOW TABLES", "mysql", "SHOW"),
        ("EXPLAIN ANALYZE DELETE FROM victim", "postgres", "EXPLAIN"),
        ("PRAGMA writable_schema = 1", "sqlite", "PRAGMA"),
        ("  -- only a comment\n", "postgres", "no statement"),
    ],
)
def test_anything_but_one_read_statement_is_refused(text: str, dialect: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        read_statement(text, dialect)


def assert_read_only_refusal(error: pytest.ExceptionInfo[SourceError], conn_id: str) -> None:
    message = str(error.value)
    assert READ_ONLY in message and conn_id in message, message


# -- PostgreSQL ----------------------------------------------------------------------------

PG_WRITES = [
    "SELECT 1 AS a) q; DROP TABLE victim; SELECT * FROM (SELECT 1 AS a",
    "SELECT 1 AS a; DROP TABLE victim",
    "WITH d AS (DELETE FROM victim RETURNING *) SELECT * FROM d",
    "SELECT * INTO victim_copy FROM victim",
    "SELECT * FROM victim FOR UPDATE",
    "SELECT kill_victim() AS gone",  # a function that deletes: only the read-only transaction stops it
    "SELECT nextval('victim_seq')",
]


@pytest.fixture
def pg_victim(postgres_database: Any) -> Iterator[psycopg.Connection]:
    db = postgres_database
    with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name, autocommit=True) as conn:
        conn.execute("CREATE TABLE victim AS SELECT g AS id FROM generate_series(1, 3) g")
        conn.execute("CREATE SEQUENCE victim_seq")
        conn.execute(
            "CREATE FUNCTION kill_victim() RETURNS bigint LANGUAGE sql AS "
            "$$ WITH d AS (DELETE FROM victim RETURNING 1) SELECT count(*) FROM d $$"
        )
        yield conn


def pg_untouched(conn: psycopg.Connection) -> None:
    assert conn.execute("SELECT to_regclass('victim_copy')").fetchone() == (None,)
    assert conn.execute("SELECT count(*) FROM victim").fetchone() == (3,)
    assert conn.execute("SELECT last_value, is_called FROM victim_seq").fetchone() == (1, False)


@pytest.mark.parametrize("source", PG_WRITES)
def test_postgres_extract_cannot_write(pg_victim: psycopg.Connection, postgres_conn_id: str, source: str) -> None:
    with pytest.raises(SourceError) as error:
        list(PostgresConnectorHook(postgres_conn_id).extract(source))
    assert_read_only_refusal(error, postgres_conn_id)
    pg_untouched(pg_victim)


@pytest.mark.parametrize("source", PG_WRITES[:3] + PG_WRITES[5:6])
def test_postgres_preview_cannot_write(pg_victim: psycopg.Connection, postgres_conn_id: str, source: str) -> None:
    with pytest.raises(SourceError) as error:
        PostgresConnectorHook(postgres_conn_id).preview(source)
    assert_read_only_refusal(error, postgres_conn_id)
    pg_untouched(pg_victim)


def test_postgres_describe_runs_one_statement_only(pg_victim: psycopg.Connection, postgres_conn_id: str) -> None:
    """Below the statement check too, the describe query cannot carry a second statement."""
    hook = PostgresConnectorHook(postgres_conn_id)
    with hook, pytest.raises(psycopg.errors.SyntaxError, match="multiple commands"):
        hook._describe("SELECT 1 AS a) q; DROP TABLE victim; SELECT * FROM (SELECT 1 AS a", "stacked")
    pg_untouched(pg_victim)


def test_postgres_queries_keep_working_read_only(pg_victim: psycopg.Connection, postgres_conn_id: str) -> None:
    hook = PostgresConnectorHook(postgres_conn_id)
    query = (
        "-- ids; above a bound\n"
        "WITH v AS (SELECT id, ';' AS \"semi;colon\" FROM victim /* ; */) "
        'SELECT id, "semi;colon", $$x;y$$ AS d FROM v WHERE id > %s ORDER BY id; -- trailing'
    )
    table = pa.Table.from_batches(list(hook.extract(query, parameters=(1,))))
    assert table.to_pydict() == {"id": [2, 3], "semi;colon": [";", ";"], "d": ["x;y", "x;y"]}
    assert hook.preview("TABLE victim;", limit=2)["id"].tolist() == [1, 2]
    with hook:  # the hook's own session is writable again afterwards
        hook.db.execute("INSERT INTO victim VALUES (4)")
    assert pg_victim.execute("SELECT count(*) FROM victim").fetchone() == (4,)


# -- MySQL / MariaDB -------------------------------------------------------------------------


@pytest.fixture
def my_victim(mysql_database: Any) -> Iterator[Any]:
    db = mysql_database
    conn = mysql.connector.connect(
        host=db.host, port=db.port, user=db.user, password="", database=db.name, autocommit=True
    )
    cursor = conn.cursor()
    cursor.execute("CREATE TABLE victim (id INT) ENGINE=MyISAM")  # not transactional: no rollback could undo
    cursor.execute("INSERT INTO victim VALUES (1), (2), (3)")
    cursor.execute(
        "CREATE FUNCTION kill_victim() RETURNS INT MODIFIES SQL DATA BEGIN DELETE FROM victim; RETURN 1; END"
    )
    try:
        yield cursor
    finally:
        conn.close()


def my_untouched(cursor: Any) -> None:
    cursor.execute("SELECT COUNT(*) FROM victim")
    assert cursor.fetchall() == [(3,)]


@pytest.mark.parametrize(
    "source",
    [
        "SELECT 1 AS a; DROP TABLE victim",
        "SELECT 1 AS a; DELETE FROM victim",
        "SELECT kill_victim() AS gone",
        "SELECT * FROM (SELECT kill_victim() AS gone) AS d",  # evaluated while planning
        "SELECT * FROM victim FOR UPDATE",
    ],
)
def test_mysql_extract_cannot_write(my_victim: Any, mysql_conn_id: str, source: str) -> None:
    with pytest.raises(SourceError) as error:
        list(MySqlConnectorHook(mysql_conn_id).extract(source))
    assert_read_only_refusal(error, mysql_conn_id)
    my_untouched(my_victim)


def test_mysql_session_runs_one_statement_per_call(my_victim: Any, mysql_conn_id: str) -> None:
    """Below the statement check too, the driver sends no second statement (multi-statements are off)."""
    with MySqlConnectorHook(mysql_conn_id) as hook, pytest.raises(mysql.connector.errors.ProgrammingError):
        hook._query("SELECT 1 AS a; DROP TABLE victim")
    my_untouched(my_victim)


def test_mysql_extract_cannot_write_a_server_file(my_victim: Any, mysql_conn_id: str, tmp_path: Path) -> None:
    target = f"/tmp/etl_outfile_{os.getpid()}_{tmp_path.name}"
    with pytest.raises(SourceError) as error:
        list(MySqlConnectorHook(mysql_conn_id).extract(f"SELECT * FROM victim INTO OUTFILE '{target}'"))
    assert_read_only_refusal(error, mysql_conn_id)
    assert not os.path.exists(target)


def test_mysql_preview_cannot_write(my_victim: Any, mysql_conn_id: str) -> None:
    for source in ("SELECT 1 AS a; DROP TABLE victim", "SELECT kill_victim() AS gone"):
        with pytest.raises(SourceError) as error:
            MySqlConnectorHook(mysql_conn_id).preview(source)
        assert_read_only_refusal(error, mysql_conn_id)
    my_untouched(my_victim)


def test_mysql_queries_keep_working_read_only(my_victim: Any, mysql_conn_id: str) -> None:
    my_victim.execute("CREATE TABLE docs (id INT, doc JSON)")
    my_victim.execute("""INSERT INTO docs VALUES (1, '{"a": ";"}')""")
    hook = MySqlConnectorHook(mysql_conn_id)
    query = (
        "-- ids; above a bound\n"
        "SELECT id # ;\n, ';' AS `semi;colon` FROM victim /* ; */ WHERE id > %s ORDER BY id; -- trailing"
    )
    table = pa.Table.from_batches(list(hook.extract(query, parameters=(1,))))
    assert table.to_pydict() == {"id": [2, 3], "semi;colon": [";", ";"]}
    docs = pa.Table.from_batches(list(hook.extract("WITH d AS (SELECT doc FROM docs) SELECT doc FROM d;")))
    assert docs.schema.field("doc").type == pa.json_(pa.string())  # MariaDB's EXPLAIN tracing still runs
    with hook:  # the hook's session is writable again afterwards
        hook._query("INSERT INTO victim VALUES (4)")
    my_victim.execute("SELECT COUNT(*) FROM victim")
    assert my_victim.fetchall() == [(4,)]


# -- SQLite ------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_hook(sqlite_conn_id: str) -> Iterator[SQLiteConnectorHook]:
    hook = SQLiteConnectorHook(sqlite_conn_id)
    with hook:
        hook.db.executescript("CREATE TABLE victim (id INTEGER); INSERT INTO victim VALUES (1), (2), (3);")
        yield hook


@pytest.mark.parametrize("source", ["SELECT 1 AS a; DROP TABLE victim", "PRAGMA writable_schema = 1"])
def test_sqlite_extract_refuses_anything_but_one_read(
    sqlite_hook: SQLiteConnectorHook, sqlite_conn_id: str, source: str
) -> None:
    with pytest.raises(SourceError) as error:
        list(sqlite_hook.extract(source))
    assert_read_only_refusal(error, sqlite_conn_id)
    assert sqlite_hook.db.execute("SELECT count(*) FROM victim").fetchone() == (3,)


def test_sqlite_session_is_read_only_while_reading(sqlite_hook: SQLiteConnectorHook) -> None:
    stream = sqlite_hook.extract("SELECT id FROM victim ORDER BY id;", chunk_size=1)
    assert next(stream).num_rows == 1
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        sqlite_hook.db.execute("DELETE FROM victim")
    assert sum(batch.num_rows for batch in stream) == 2
    sqlite_hook.db.execute("INSERT INTO victim VALUES (4)")  # writable again once the read is over
    assert sqlite_hook.db.execute("SELECT count(*) FROM victim").fetchone() == (4,)
