"""SIGKILL a real load into PostgreSQL, MySQL and SQLite, in every mode, and look at what it left.

Each case loads `TOTAL_ROWS` rows in `CHUNK_ROWS` chunks from a fresh interpreter (the hook as
the operator uses it: `hook_for(conn_id).load(...)`) and kills it at one of two points:

- `mid_insert`: the source blocks after two chunks and the kill follows at once, while the
  writer thread is still sending the first chunks (an open COPY / LOAD DATA);
- `all_sent`: the source blocks after its last chunk, and the kill waits until the server
  has received every row (`pg_stat_progress_copy`, `INNODB_TRX`): the rows are in, the
  commit, swap or merge is not.

Then, once the server has ended the dead session: the destination equals its state before
the load (no table when the load was to create it), and a rerun in this process makes it
equal to one clean run of the same load into a twin table (rows, column types, keys), with
no `_etl_*` table of ours left anywhere in the database.
"""

from __future__ import annotations

import csv
import hashlib
import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest

from airflow_etl_provider.hooks.registry import hook_for
from airflow_etl_provider.hooks.sql_base import SqlConnectorHook
from airflow_etl_provider.types import TableInfo
from tests.faults.harness import killable_chunks, run_and_kill, run_and_kill_when_ready, sample_batch

TOTAL_ROWS = 100_000
CHUNK_ROWS = 25_000
CHUNKS = TOTAL_ROWS // CHUNK_ROWS
PRE_ROWS = 100
#: Where the existing table's own rows start, far from the loaded ids 0..TOTAL_ROWS-1.
PRE_START = 1_000_000

MODES = [("append", None), ("replace", None), ("upsert", ["id"])]
DATABASES = ["postgres", "mysql", "sqlite"]
TARGETS = ["existing", "new"]
KILL_POINTS = ["mid_insert", "all_sent"]


# -- observing the databases ---------------------------------------------------------------


def rows(hook: SqlConnectorHook, sql: str) -> list[tuple]:
    """Rows of a catalog query on the hook's own session."""
    if hook.conn_type == "mysql":
        return hook._query(sql)
    return hook.db.execute(sql).fetchall()


_WORK_TABLES = {
    "postgres": "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relname LIKE '\\_etl\\_%' AND c.relkind IN ('r', 'p')",
    "mysql": "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
    "AND TABLE_NAME LIKE '\\_etl\\_%'",
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '\\_etl\\_%' ESCAPE '\\'",
}
#: Sessions on the test database besides the observer's own (a killed load's, until it ends).
_OTHER_SESSIONS = {
    "postgres": "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    "mysql": "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()",
}


def work_tables(hook: SqlConnectorHook) -> list[str]:
    return sorted(row[0] for row in rows(hook, _WORK_TABLES[hook.conn_type]))


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


def wait_for_dead_sessions(hook: SqlConnectorHook) -> None:
    """The server notices a killed client when it next reads from its socket; wait for that."""
    if hook.conn_type in _OTHER_SESSIONS:
        wait_until(lambda: rows(hook, _OTHER_SESSIONS[hook.conn_type])[0][0] == 0, "the killed session has ended")


def rows_received(hook: SqlConnectorHook) -> int:
    """Loaded rows (ids below TOTAL_ROWS) the server holds so far, committed or not."""
    if hook.conn_type == "postgres":  # one COPY per load, still open at the kill point
        copied = rows(
            hook, "SELECT sum(tuples_processed) FROM pg_stat_progress_copy WHERE datname = current_database()"
        )
        return int(copied[0][0] or 0)
    # MySQL: a dirty read of the target and the staging tables (the other session's rows are not committed)
    tables = [table for (table,) in rows(hook, "SHOW TABLES") if table == "t" or table.startswith("_etl_stage_")]
    counts = [0]
    for table in tables:
        hook._query("SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED")
        counts.append(hook._query(f"SELECT COUNT(*) FROM `{table}` WHERE id < {TOTAL_ROWS}")[0][0])
    return max(counts)


def every_row_received(hook: SqlConnectorHook) -> Callable[[], bool]:
    if hook.conn_type == "sqlite":  # SQLite inserts each chunk before it pulls the next
        return lambda: True
    return lambda: rows_received(hook) >= TOTAL_ROWS


@dataclass(frozen=True)
class State:
    """What a table holds: its definition (columns with types, keys) and a digest of its rows."""

    definition: tuple | None
    rows: int = 0
    id_sum: int = 0
    digest: str = ""


def state(hook: SqlConnectorHook, table: str) -> State:
    infos = [info for info in hook.get_schema().tables if info.name == table]
    if not infos:
        return State(None)
    data = pa.Table.from_batches(list(hook.extract(f"SELECT * FROM {hook.quote_identifier(table)} ORDER BY id")))
    text = io.StringIO()
    csv.writer(text).writerows(zip(*(column.to_pylist() for column in data.columns), strict=True))
    return State(
        _definition(infos[0]),
        data.num_rows,
        sum(data.column("id").to_pylist()),
        hashlib.sha256(text.getvalue().encode()).hexdigest(),
    )


def _definition(info: TableInfo) -> tuple:
    columns = tuple((c.name, c.type, c.nullable) for c in info.columns)
    return columns, info.primary_key, tuple(sorted(info.unique))


# -- the loads -----------------------------------------------------------------------------


def prepare(hook: SqlConnectorHook, table: str, mode: str, target: str) -> None:
    """An existing table gets rows of its own; for an upsert, some share ids with the load."""
    if target == "new":
        return
    chunks = [sample_batch(PRE_START, PRE_ROWS)]
    if mode == "upsert":
        overlap = sample_batch(0, 10)
        chunks.append(overlap.set_column(2, "note", pa.array(["before"] * overlap.num_rows)))
    hook.load(chunks, table, mode="upsert", keys=["id"])


def load_body(conn_id: str, table: str, mode: str, keys: list[str] | None, marker: Path, block_after: int) -> str:
    """The killed load: its source has one chunk more than a clean run, never reached, so with
    `block_after=CHUNKS` it blocks exactly where a clean run's source would end."""
    return f"""
        from airflow_etl_provider.hooks.registry import hook_for
        chunks = killable_chunks({TOTAL_ROWS + CHUNK_ROWS}, {CHUNK_ROWS}, {str(marker)!r}, block_after={block_after})
        hook_for({conn_id!r}).load(chunks, {table!r}, mode={mode!r}, keys={keys!r})
        """


def clean_load(hook: SqlConnectorHook, table: str, mode: str, keys: list[str] | None) -> None:
    hook.load(killable_chunks(TOTAL_ROWS, CHUNK_ROWS, None, block_after=0), table, mode=mode, keys=keys)


@pytest.fixture(params=DATABASES)
def conn_id(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_conn_id")


@pytest.fixture
def observer(conn_id: str) -> Iterator[SqlConnectorHook]:
    hook = hook_for(conn_id)
    assert isinstance(hook, SqlConnectorHook)
    with hook:
        yield hook


def kill_during_load(observer: SqlConnectorHook, conn_id: str, tmp_path: Path, mode: str, keys, point: str) -> None:
    """Load into `t` in a subprocess and SIGKILL it at `point`."""
    marker = tmp_path / "marker"
    if point == "mid_insert":
        run_and_kill(load_body(conn_id, "t", mode, keys, marker, block_after=2), marker, settle=0.02)
    else:
        body = load_body(conn_id, "t", mode, keys, marker, block_after=CHUNKS)
        run_and_kill_when_ready(body, marker, every_row_received(observer))


@pytest.mark.parametrize("point", KILL_POINTS)
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(("mode", "keys"), MODES, ids=[mode for mode, _ in MODES])
def test_killed_load_leaves_the_destination_as_it_was_and_a_rerun_completes_it(
    observer: SqlConnectorHook, conn_id: str, tmp_path: Path, mode: str, keys, target: str, point: str
) -> None:
    for table in ("t", "twin"):
        prepare(observer, table, mode, target)
    before = state(observer, "t")

    kill_during_load(observer, conn_id, tmp_path, mode, keys, point)
    wait_for_dead_sessions(observer)
    assert state(observer, "t") == before
    if observer.conn_type != "mysql":  # transactional DDL: the server rolled the staging table back too
        assert work_tables(observer) == []

    clean_load(hook_for(conn_id), "t", mode, keys)
    clean_load(hook_for(conn_id), "twin", mode, keys)
    after, clean = state(observer, "t"), state(observer, "twin")
    assert after == clean
    assert after.rows == TOTAL_ROWS + (PRE_ROWS if target == "existing" and mode != "replace" else 0)
    assert work_tables(observer) == []


# -- a partitioned PostgreSQL table, replaced by TRUNCATE + COPY in one transaction ---------------

_PARTITIONED = [
    "CREATE TABLE {t} (id bigint PRIMARY KEY, amount numeric(12,2), note text, at timestamptz) PARTITION BY RANGE (id)",
    "CREATE TABLE {t}_low PARTITION OF {t} FOR VALUES FROM (MINVALUE) TO (50000)",
    "CREATE TABLE {t}_high PARTITION OF {t} FOR VALUES FROM (50000) TO (100000)",
    "CREATE TABLE {t}_other PARTITION OF {t} DEFAULT",
]


def partitioning(hook: SqlConnectorHook, table: str) -> tuple:
    """The table's kind and its attached partitions with their bounds and row counts."""
    kind = rows(hook, f"SELECT relkind FROM pg_class WHERE oid = '{table}'::regclass")[0][0]
    parts = rows(
        hook,
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        f"WHERE i.inhparent = '{table}'::regclass ORDER BY 1",
    )
    return kind, tuple((name, bound, rows(hook, f'SELECT count(*) FROM "{name}"')[0][0]) for name, bound in parts)


@pytest.mark.parametrize("point", KILL_POINTS)
def test_killed_replace_of_a_partitioned_table_leaves_it_complete_and_partitioned(
    postgres_conn_id: str, tmp_path: Path, point: str
) -> None:
    observer = hook_for(postgres_conn_id)
    assert isinstance(observer, SqlConnectorHook)
    with observer:
        for table in ("t", "twin"):
            for statement in _PARTITIONED:
                observer.db.execute(statement.format(t=table).encode())
            prepare(observer, table, "replace", "existing")
        before, parts_before = state(observer, "t"), partitioning(observer, "t")
        assert [count for *_, count in parts_before[1]] == [0, 0, PRE_ROWS]

        kill_during_load(observer, postgres_conn_id, tmp_path, "replace", None, point)
        wait_for_dead_sessions(observer)
        assert state(observer, "t") == before and partitioning(observer, "t") == parts_before
        assert work_tables(observer) == []

        clean_load(hook_for(postgres_conn_id), "t", "replace", None)
        clean_load(hook_for(postgres_conn_id), "twin", "replace", None)
        after, clean = state(observer, "t"), state(observer, "twin")
        assert after == clean and after.rows == TOTAL_ROWS
        kind, parts = partitioning(observer, "t")
        assert kind == "p" and [(name, count) for name, _, count in parts] == [
            ("t_high", 50_000),
            ("t_low", 50_000),
            ("t_other", 0),
        ]
