"""Publishing parts: every part's rows at once in each mode, or nothing (the destination unchanged)."""

from __future__ import annotations

import os

import pyarrow as pa
import pytest

from airflow_etl_provider.exceptions import LoadError
from airflow_etl_provider.files import publish_copies
from airflow_etl_provider.hooks.registry import hook_for
from airflow_etl_provider.sql.names import TableName
from tests.pg import execute

PARTS = [TableName(f"_etl_part_tabc_{i}_t", "public") for i in range(3)]
TARGET = TableName("t", "public")


@pytest.fixture
def parts(postgres_database) -> None:
    """Three part tables of ids 1..30 (ten each); the target holds ids 25..40, name 'old'."""
    statements = [
        "CREATE TABLE t (id bigint PRIMARY KEY, name text)",
        "INSERT INTO t SELECT g, 'old' FROM generate_series(25, 40) g",
    ]
    for index, part in enumerate(PARTS):
        statements.append(f"CREATE TABLE {part.name} (id bigint, name text)")
        statements.append(
            f"INSERT INTO {part.name} SELECT g, 'new' FROM generate_series({index * 10 + 1}, {index * 10 + 10}) g"
        )
    execute(postgres_database, *statements)


def _publish(conn_id: str, mode: str, **options):
    hook = hook_for(conn_id)
    with hook:
        return hook.loader().publish_parts(
            PARTS, TARGET, mode=mode, keys=["id"] if mode == "upsert" else None, **options
        )


def _parts_left(db) -> int:
    return execute(db, "SELECT count(*) FROM pg_class WHERE relname LIKE '\\_etl\\_part%'")[0][0]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("replace", [(30, 30, 0)]),
        ("append", None),  # ids 25..30 collide with the primary key: the whole publish rolls back
        ("upsert", [(40, 30, 10)]),
    ],
)
def test_each_mode_publishes_all_parts_in_one_transaction(parts, postgres_conn_id, postgres_database, mode, expected):
    db = postgres_database
    summary = "SELECT count(*), count(*) FILTER (WHERE name = 'new'), count(*) FILTER (WHERE name = 'old') FROM t"
    if expected is None:
        with pytest.raises(LoadError, match="rolled back, the table is unchanged"):
            _publish(postgres_conn_id, mode)
        assert execute(db, summary) == [(16, 0, 16)]
        assert _parts_left(db) == 3  # kept for a retry of the publish; the teardown drops them
        return
    result = _publish(postgres_conn_id, mode)
    assert result.rows == 30 and result.chunks == 3
    assert execute(db, summary) == expected
    assert _parts_left(db) == 0
    assert execute(db, "SELECT count(*) FROM pg_indexes WHERE tablename = 't'") == [(1,)]


def test_a_part_holding_fewer_rows_than_it_loaded_is_refused(parts, postgres_conn_id, postgres_database) -> None:
    with pytest.raises(
        LoadError, match=r"part 1's table public._etl_part_tabc_1_t holds 10 rows but the part loaded 11"
    ):
        _publish(postgres_conn_id, "replace", expected_rows=[10, 11, 10])
    assert execute(postgres_database, "SELECT count(*) FROM t") == [(16,)]


def test_a_missing_part_table_is_refused(parts, postgres_conn_id, postgres_database) -> None:
    execute(postgres_database, f"DROP TABLE {PARTS[2].name}")
    with pytest.raises(LoadError, match="_etl_part_tabc_2_t do not exist"):
        _publish(postgres_conn_id, "append")
    assert execute(postgres_database, "SELECT count(*) FROM t") == [(16,)]


def _write_part(hook, folder: str, values: list[int]) -> list[str]:
    batch = pa.record_batch({"n": pa.array(values, pa.int64())})
    return hook.load([batch], folder, mode="replace").details["files"]


@pytest.mark.parametrize("store", ["filesystem", "s3"])
def test_file_parts_replace_the_folder_and_stay_until_removed(request, store, tmp_path) -> None:
    if store == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        conn_id = request.getfixturevalue("aws_conn_id")
        destination = f"s3://{bucket}/out/"
    else:
        conn_id = request.getfixturevalue("filesystem_conn_id")
        destination = "out/"
    hook = hook_for(conn_id)
    with hook:
        _write_part(hook, destination, [0])  # what was there before: the replace removes it
        sources = _write_part(hook, destination + "_etl-parts-tabc/part-00000/", [1, 2]) + _write_part(
            hook, destination + "_etl-parts-tabc/part-00001/", [3]
        )
        assert hook.store.folders_starting(destination, "_etl-parts-") == ["_etl-parts-tabc"]
        assert hook.store.folders_starting(destination + "_etl-parts-tabc", "part-") == ["part-00000", "part-00001"]
        result = publish_copies(hook.store, sources, destination, mode="replace", options={})
        assert result.details["replaced"] == 1
        values = sorted(v for batch in hook.extract(destination) for v in batch.column("n").to_pylist())
        assert values == [1, 2, 3]
        assert all(hook.store.exists(name) for name in sources)  # the parts' own files stay until cleanup
        hook.store.remove_tree(destination + "_etl-parts-tabc")
        assert not any(hook.store.exists(name) for name in sources)
        assert hook.store.folders_starting(destination, "_etl-") == []
        if store == "filesystem":  # nothing hidden is left: no run folder, no parts folder
            published = sorted(os.path.basename(name) for name in result.details["files"])
            assert sorted(os.listdir(hook.store.path("out"))) == published


def _mysql(db, *statements: str) -> list[tuple]:
    import mysql.connector

    conn = mysql.connector.connect(host=db.host, port=db.port, user=db.user, password="", database=db.name)
    try:
        cursor = conn.cursor()
        rows: list[tuple] = []
        for statement in statements:
            cursor.execute(statement)
            rows = cursor.fetchall() if cursor.with_rows else []
        conn.commit()
        return rows
    finally:
        conn.close()


@pytest.mark.parametrize("existing", [True, False])
def test_mysql_parts_are_published_in_replace_and_into_a_missing_table(mysql_database, mysql_conn_id, existing):
    db = mysql_database
    statements = [f"CREATE TABLE {part.name} (id bigint, name text)" for part in PARTS]
    statements += [f"INSERT INTO {part.name} VALUES ({i}, 'new'), ({i + 10}, 'new')" for i, part in enumerate(PARTS)]
    if existing:
        statements += ["CREATE TABLE t (id bigint PRIMARY KEY, name text)", "INSERT INTO t VALUES (99, 'old')"]
    _mysql(db, *statements)
    hook = hook_for(mysql_conn_id)
    parts = [TableName(part.name, db.name) for part in PARTS]
    with hook:
        result = hook.loader().publish_parts(parts, TableName("t", db.name), mode="replace" if existing else "append")
    assert result.rows == 6
    assert _mysql(db, "SELECT id, name FROM t ORDER BY id") == [(i, "new") for i in (0, 1, 2, 10, 11, 12)]
    left = _mysql(db, f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{db.name}'")
    assert [name for (name,) in left] == ["t"]
    if existing:
        assert _mysql(db, "SHOW KEYS FROM t WHERE Key_name = 'PRIMARY'") != []


def test_a_publish_killed_midway_is_undone_by_the_next_load_and_its_retry_publishes_once(
    filesystem_conn_id, tmp_path
) -> None:
    """SIGKILL inside the publish, after 2 of 3 part files were copied in: the next load of the
    folder undoes those 2 (the old file was not deleted yet), and the retried publish gives the
    parts' rows once, without the old file's."""
    from airflow_etl_provider.files import clean_up_interrupted_loads
    from tests.faults.harness import run_and_kill

    hook = hook_for(filesystem_conn_id)
    with hook:
        _write_part(hook, "out/", [0])
        sources = [
            name
            for index in range(3)
            for name in _write_part(hook, f"out/_etl-parts-tabc/part-{index:05d}/", [index * 10 + 1, index * 10 + 2])
        ]
    marker = tmp_path / "marker"
    run_and_kill(
        f"""
        import time
        from pathlib import Path
        from airflow_etl_provider.files import publish_copies
        from airflow_etl_provider.hooks.filesystem import LocalStore
        from airflow_etl_provider.hooks.registry import hook_for

        copy, copied = LocalStore.copy, []
        def copy_then_stop(self, source, name):
            copy(self, source, name)
            copied.append(name)
            if len(copied) == 2:
                Path({str(marker)!r}).write_text("2 copied")
                time.sleep(3600)
        LocalStore.copy = copy_then_stop
        with hook_for({filesystem_conn_id!r}) as hook:
            publish_copies(hook.store, {sources!r}, "out/", mode="replace", options={{}})
        """,
        marker,
        settle=0.1,
    )
    with hook:
        values = sorted(v for batch in hook.extract("out/") for v in batch.column("n").to_pylist())
        assert values == [0, 1, 2, 11, 12]  # what a reader sees meanwhile: the old file and 2 of the 3 new
        clean_up_interrupted_loads(hook.store, "out")
        assert [v for batch in hook.extract("out/") for v in batch.column("n").to_pylist()] == [0]
        publish_copies(hook.store, sources, "out/", mode="replace", options={})
        values = sorted(v for batch in hook.extract("out/") for v in batch.column("n").to_pylist())
        assert values == [1, 2, 11, 12, 21, 22]
