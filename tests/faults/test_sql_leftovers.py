"""What a killed MySQL load leaves (its DDL is committed at once) is removed by the next load of
the same table, and by nothing else: not another table's, not a user's, not a live load's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from airflow_etl_provider.hooks.mysql import MySqlConnectorHook
from tests.faults.harness import run_and_kill, sample_batch
from tests.faults.test_sql_kill import wait_for_dead_sessions


@pytest.fixture
def hook(mysql_conn_id: str) -> Iterator[MySqlConnectorHook]:
    hook = MySqlConnectorHook(mysql_conn_id)
    with hook:
        yield hook


def work_tables(hook: MySqlConnectorHook) -> list[str]:
    return sorted(name for (name,) in hook._query("SHOW TABLES") if name.startswith("_etl_"))


def kill_a_replace(conn_id: str, table: str, marker: Path) -> None:
    run_and_kill(
        f"""
        from airflow_etl_provider.hooks.registry import hook_for
        hook_for({conn_id!r}).load(killable_chunks(50_000, 10_000, {str(marker)!r}, 2), {table!r}, mode="replace")
        """,
        marker,
    )


def test_the_next_load_of_a_table_drops_only_what_killed_loads_of_that_table_left(
    hook: MySqlConnectorHook, mysql_conn_id: str, tmp_path: Path
) -> None:
    for table in ("t", "u"):
        hook.load([sample_batch(0, 10)], table, mode="append")
        kill_a_replace(mysql_conn_id, table, tmp_path / f"{table}.marker")
    wait_for_dead_sessions(hook)
    left_by_kills = work_tables(hook)
    assert [name[-2:] for name in left_by_kills] == ["_t", "_u"]
    users = ["_etl_stage_t", "_etl_stage_notes_t", "_etl_stage_1_0123abcd_t_copy"]
    for name in users:
        hook._query(f"CREATE TABLE `{name}` (id INT)")

    hook.load([sample_batch(0, 5)], "t", mode="replace")
    assert work_tables(hook) == sorted([left_by_kills[1], *users])
    assert hook._query("SELECT COUNT(*) FROM t") == [(5,)]
    hook.load([sample_batch(0, 5)], "u", mode="append")
    assert work_tables(hook) == sorted(users)


def test_a_running_load_keeps_its_staging_table_while_another_load_of_the_table_cleans_up(
    hook: MySqlConnectorHook, mysql_conn_id: str
) -> None:
    hook.load([sample_batch(0, 10)], "t", mode="append")
    other = MySqlConnectorHook(mysql_conn_id)
    staged_meanwhile: list[str] = []

    def chunks() -> Iterator[pa.RecordBatch]:
        yield sample_batch(100, 10)
        with other:  # not `hook`: its session is busy with the load
            staged_meanwhile.extend(work_tables(other))
            # Dropping the running load's staging table would wait for that load: fail instead of hanging.
            other._query("SET SESSION lock_wait_timeout = 5")
            other.load([sample_batch(200, 10)], "t", mode="upsert", keys=["note"])
        yield sample_batch(110, 10)

    hook._query("ALTER TABLE t MODIFY note VARCHAR(255), ADD UNIQUE (note)")
    result = hook.load(chunks(), "t", mode="replace")
    assert result.rows == 20
    assert len(staged_meanwhile) == 1
    assert hook._query("SELECT MIN(id), MAX(id), COUNT(*) FROM t") == [(100, 119, 20)]
    assert work_tables(hook) == []
