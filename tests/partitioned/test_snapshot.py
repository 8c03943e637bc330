"""One exported snapshot, held by a detached process, read by every part; released or timed out."""

from __future__ import annotations

import time

import psycopg
import pytest

from airflow_etl_provider.exceptions import SourceError
from airflow_etl_provider.hooks.registry import hook_for
from airflow_etl_provider.partitioned.snapshot import is_held
from tests.pg import execute


def _rows(hook, **options) -> int:
    return sum(batch.num_rows for batch in hook.extract("t", **options))


def _admin(db) -> psycopg.Connection:
    return psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name, autocommit=True)


def test_readers_of_the_snapshot_do_not_see_later_writes(postgres_database, postgres_conn_id) -> None:
    db = postgres_database
    execute(db, "CREATE TABLE t (id int)", "INSERT INTO t SELECT generate_series(1, 100)")
    hook = hook_for(postgres_conn_id)
    held = hook.hold_snapshot("tsnaptest1")
    execute(db, "INSERT INTO t SELECT generate_series(101, 150)", "DELETE FROM t WHERE id <= 10")
    assert _rows(hook, snapshot=held.snapshot) == 100
    assert _rows(hook, snapshot=held.snapshot) == 100  # a second reader, later, sees the same
    assert _rows(hook) == 140
    with _admin(db) as admin:
        assert is_held(admin, "tsnaptest1")
        assert hook.release_snapshot("tsnaptest1") == 1
        assert not is_held(admin, "tsnaptest1")
    assert hook.release_snapshot("tsnaptest1") == 0  # harmless to repeat
    with pytest.raises(SourceError, match="invalid snapshot identifier"):
        _rows(hook, snapshot=held.snapshot)


def test_an_unreleased_snapshot_ends_after_its_hold_time(postgres_database, postgres_conn_id) -> None:
    execute(postgres_database, "CREATE TABLE t (id int)")
    hook = hook_for(postgres_conn_id)
    hook.hold_snapshot("tsnaptest2", hold_seconds=1)
    with _admin(postgres_database) as admin:
        deadline = time.monotonic() + 15
        while is_held(admin, "tsnaptest2") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not is_held(admin, "tsnaptest2")


def test_a_snapshot_id_is_never_spliced_into_sql(postgres_database, postgres_conn_id) -> None:
    execute(postgres_database, "CREATE TABLE t (id int)")
    with pytest.raises(SourceError, match="is not a snapshot identifier"):
        _rows(hook_for(postgres_conn_id), snapshot="1-1'; DROP TABLE t; --")
    assert execute(postgres_database, "SELECT count(*) FROM t") == [(0,)]
