"""Schema drift on incremental runs into SQL tables: a new source column is added, refused or
dropped as asked; a widened column type is refused naming the column."""

from __future__ import annotations

import pytest

from airflow_etl_provider import Incremental
from airflow_etl_provider.exceptions import LoadError
from airflow_etl_provider.operators.extract_load import ExtractLoadOperator
from tests.pg import execute


@pytest.fixture
def tables(postgres_database) -> None:
    execute(
        postgres_database,
        "CREATE TABLE src (id int PRIMARY KEY, a int, b text, ts int)",
        "INSERT INTO src VALUES (1, 10, 'x', 1), (2, 20, 'y', 2)",
        "CREATE TABLE dst (id int PRIMARY KEY, a int, ts int)",
    )


def transfer(conn_id: str, evolution: str) -> dict:
    return ExtractLoadOperator(
        task_id="t",
        source_conn_id=conn_id,
        source="src",
        destination_conn_id=conn_id,
        destination="dst",
        keys=["id"],
        incremental=Incremental(cursor="ts", schema_evolution=evolution),  # type: ignore[arg-type]
    ).execute(context={})


def test_add_columns_alters_the_table_then_loads(tables, postgres_database, postgres_conn_id: str) -> None:
    assert transfer(postgres_conn_id, "add_columns")["rows"] == 2
    assert execute(postgres_database, "SELECT id, a, b FROM dst ORDER BY id") == [(1, 10, "x"), (2, 20, "y")]


def test_freeze_refuses_naming_the_column_and_leaves_the_table(tables, postgres_database, postgres_conn_id) -> None:
    with pytest.raises(LoadError, match=r"new column\(s\) 'b' that dst lacks"):
        transfer(postgres_conn_id, "freeze")
    columns = execute(postgres_database, "SELECT column_name FROM information_schema.columns WHERE table_name = 'dst'")
    assert sorted(c for (c,) in columns) == ["a", "id", "ts"]
    assert execute(postgres_database, "SELECT count(*) FROM dst") == [(0,)]


def test_discard_drops_the_new_column(tables, postgres_database, postgres_conn_id: str) -> None:
    assert transfer(postgres_conn_id, "discard")["rows"] == 2
    assert execute(postgres_database, "SELECT id, a FROM dst ORDER BY id") == [(1, 10), (2, 20)]


def test_a_widened_type_is_refused(tables, postgres_database, postgres_conn_id: str) -> None:
    execute(postgres_database, "ALTER TABLE src ALTER COLUMN a TYPE bigint", "ALTER TABLE dst ADD COLUMN b text")
    with pytest.raises(LoadError, match=r"Column 'a' of dst is int32 but the source now sends int64"):
        transfer(postgres_conn_id, "add_columns")
    assert execute(postgres_database, "SELECT count(*) FROM dst") == [(0,)]
