"""PostgreSQL to PostgreSQL by binary COPY, server to server, on a real server: the rows as they
were, every load mode, the cases that must stay on the Arrow path, failures and a SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from typing import Any

import pytest

from airflow_etl_provider.exceptions import LoadError, SourceError
from airflow_etl_provider.operators.extract_load import ExtractLoadOperator
from airflow_etl_provider.sql.postgres_copy import CopyColumn, copy_blocker
from tests.pg import execute

COLUMNS = (
    "id int PRIMARY KEY, amount numeric(12,2), big bigint, note text, tag varchar(20), payload jsonb, "
    "doc json, at timestamptz, local_at timestamp, day date, paid bool, raw bytea, ids int[], ref uuid, ratio float8"
)
SOURCE_ROWS = (
    "INSERT INTO src SELECT i, i * 1.25, i::bigint << 33, 'é\",\n\t' || i, 'tag' || i, "
    "jsonb_build_object('i', i, 'ü', repeat('x', i % 7)), json_build_object('k', i), "
    "'2024-03-01 12:00:00+00'::timestamptz + i * interval '1 minute', '1999-12-31 23:59:59.999999'::timestamp, "
    "DATE '0044-03-15 BC' + i, i % 2 = 0, decode(md5(i::text), 'hex'), ARRAY[i, NULL, -i], "
    "md5(i::text)::uuid, i / 3.0 FROM generate_series(1, 2500) AS i"
)
NULLS = "INSERT INTO src (id) VALUES (0)"
CHECKSUM = "SELECT count(*), sum(hashtext(t::text)) FROM {} AS t"


def transfer(conn_id: str, destination: str = "dst", source: str = "src", **kwargs: Any) -> dict[str, Any]:
    operator = ExtractLoadOperator(
        task_id="copy",
        source_conn_id=conn_id,
        source=source,
        destination_conn_id=conn_id,
        destination=destination,
        **kwargs,
    )
    return operator.execute(context={})


@pytest.fixture
def tables(postgres_database):
    execute(postgres_database, f"CREATE TABLE src ({COLUMNS})", SOURCE_ROWS, NULLS, f"CREATE TABLE dst ({COLUMNS})")
    return postgres_database


@pytest.mark.parametrize("mode", ["append", "replace", "upsert"])
def test_every_value_arrives_as_it_was_in_every_mode(tables, postgres_conn_id, mode):
    execute(tables, "INSERT INTO dst (id, note) VALUES (1, 'old'), (99999, 'kept by append and upsert')")
    if mode == "append":
        execute(tables, "DELETE FROM dst WHERE id = 1")
    summary = transfer(postgres_conn_id, mode=mode, keys=["id"] if mode == "upsert" else None)

    assert summary["load"]["details"] == {"copy": "binary, server to server"}
    assert summary["rows"] == 2501
    moved = "SELECT count(*), sum(hashtext(t::text)) FROM dst AS t WHERE id <> 99999"
    assert execute(tables, moved) == execute(tables, CHECKSUM.format("src"))
    assert execute(tables, "SELECT count(*) FROM dst WHERE id = 99999") == [(0 if mode == "replace" else 1,)]
    assert execute(tables, "SELECT amount, payload->>'ü', ids FROM dst WHERE id = 3") == [
        (Decimal("3.75"), "xxx", [3, None, -3])
    ]


def test_the_rows_of_a_query_with_parameters(tables, postgres_conn_id):
    summary = transfer(
        postgres_conn_id,
        source="SELECT id, note FROM src WHERE id BETWEEN %s AND %s",
        source_options={"parameters": [10, 19]},
    )
    assert summary["load"]["details"]["copy"] == "binary, server to server"
    assert execute(tables, "SELECT count(*), min(id), max(id), count(amount) FROM dst") == [(10, 10, 19, 0)]


def test_a_destination_with_a_narrower_scale_goes_through_arrow_which_refuses_rounding(tables, postgres_conn_id):
    # Binary COPY into numeric(12,1) would round 1.25 to 1.3 without a word.
    execute(tables, "CREATE TABLE narrow (id int, amount numeric(12,1))")
    with pytest.raises(LoadError, match="amount"):
        transfer(postgres_conn_id, destination="narrow", source="SELECT id, amount FROM src WHERE id = 1")
    assert execute(tables, "SELECT count(*) FROM narrow") == [(0,)]


def test_a_missing_destination_is_created_through_arrow(tables, postgres_conn_id):
    summary = transfer(postgres_conn_id, destination="fresh", source="SELECT id, note, payload FROM src")
    assert "copy" not in summary["load"]["details"]
    assert execute(tables, "SELECT count(*) FROM fresh") == [(2501,)]


@pytest.mark.parametrize(
    ("source", "destination", "reason"),
    [
        ([CopyColumn("a", 23, -1)], {}, "does not exist"),
        ([CopyColumn("a", 23, -1), CopyColumn("a", 23, -1)], {"a": CopyColumn("a", 23, -1)}, "two columns"),
        ([CopyColumn("a", 23, -1)], {"b": CopyColumn("b", 23, -1)}, "not in the destination"),
        ([CopyColumn("a", 23, -1)], {"a": CopyColumn("a", 20, -1)}, "another type"),
        ([CopyColumn("a", 16500, -1)], {"a": CopyColumn("a", 16500, -1)}, "user-defined"),
        ([CopyColumn("a", 1700, 786438)], {"a": CopyColumn("a", 1700, 655366)}, "modifier"),
        ([CopyColumn("a", 1700, -1)], {"a": CopyColumn("a", 1700, 786438)}, "modifier"),
        ([CopyColumn("a", 23, -1)], {"a": CopyColumn("a", 23, -1, generated=True)}, "generated"),
    ],
)
def test_what_keeps_a_transfer_on_the_arrow_path(source, destination, reason):
    assert reason in (copy_blocker(source, destination) or "")


def test_a_source_without_modifier_into_an_unconstrained_column_copies():
    numeric_12_2 = CopyColumn("a", 1700, 786438)
    assert copy_blocker([numeric_12_2], {"a": CopyColumn("a", 1700, -1)}) is None
    assert copy_blocker([numeric_12_2], {"a": numeric_12_2, "extra": CopyColumn("extra", 25, -1)}) is None


def test_a_source_failing_mid_stream_leaves_the_destination_as_it_was(tables, postgres_conn_id):
    execute(tables, "INSERT INTO dst (id, note) VALUES (1, 'before')")
    failing = "SELECT g AS id, (1000 / (g - 2000))::text AS note FROM generate_series(1, 3000) AS g"
    with pytest.raises(SourceError, match=r"division by zero") as raised:
        transfer(postgres_conn_id, source=failing, mode="replace")
    assert postgres_conn_id in str(raised.value)
    assert execute(tables, "SELECT id, note FROM dst") == [(1, "before")]


def test_a_destination_refusing_a_row_leaves_it_as_it_was(tables, postgres_conn_id):
    execute(tables, "INSERT INTO dst (id, note) VALUES (2000, 'taken')")
    with pytest.raises(LoadError, match="duplicate key"):
        transfer(postgres_conn_id)
    assert execute(tables, "SELECT id, note FROM dst") == [(2000, "taken")]
    # The source's session is usable again: the next transfer of the same hooks' connection works.
    execute(tables, "DELETE FROM dst")
    assert transfer(postgres_conn_id)["rows"] == 2501


def test_a_writing_query_is_refused_before_anything_moves(tables, postgres_conn_id):
    writing = "WITH gone AS (DELETE FROM src RETURNING id) SELECT id FROM gone"
    with pytest.raises(SourceError, match="read-only"):
        transfer(postgres_conn_id, source=writing)
    assert execute(tables, "SELECT count(*) FROM src") == [(2501,)]


def test_a_transform_keeps_the_chunks(tables, postgres_conn_id):
    summary = transfer(postgres_conn_id, transform=lambda batch: batch)
    assert "copy" not in summary["load"]["details"]
    assert summary["chunks"] >= 1


def _rows_being_copied_in(db) -> int:
    """Rows a COPY FROM in `db` has taken so far (the destination or its staging table)."""
    rows = execute(
        db,
        "SELECT coalesce(max(tuples_processed), 0) FROM pg_stat_progress_copy "
        "WHERE datname = current_database() AND command = 'COPY FROM'",
    )
    return int(rows[0][0])


@pytest.mark.parametrize("mode", ["append", "replace"])
def test_a_transfer_killed_mid_copy_leaves_the_destination_as_it_was(postgres_database, postgres_conn_id, mode):
    db = postgres_database
    execute(
        db,
        "CREATE TABLE big (id int PRIMARY KEY, note text)",
        "INSERT INTO big SELECT g, repeat('n', 200) FROM generate_series(1, 400000) AS g",
        "CREATE TABLE dst (id int PRIMARY KEY, note text)",
        "INSERT INTO dst VALUES (-1, 'before')",
    )
    script = textwrap.dedent(
        f"""
        from airflow_etl_provider.operators.extract_load import ExtractLoadOperator
        ExtractLoadOperator(task_id="k", source_conn_id={postgres_conn_id!r}, source="big",
            destination_conn_id={postgres_conn_id!r}, destination="dst", mode={mode!r}).execute(context={{}})
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ), stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not _rows_being_copied_in(db):
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "the COPY never started"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
        if process.stderr:
            process.stderr.close()
    deadline = time.monotonic() + 30
    others = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    while execute(db, others)[0][0]:
        assert time.monotonic() < deadline, "the killed sessions did not end"
        time.sleep(0.05)
    assert execute(db, "SELECT id, note FROM dst") == [(-1, "before")]
    assert execute(db, "SELECT count(*) FROM pg_tables WHERE tablename LIKE '\\_etl%'") == [(0,)]
    transfer(postgres_conn_id, source="big", mode=mode)
    expected = 400000 if mode == "replace" else 400001
    assert execute(db, "SELECT count(*) FROM dst") == [(expected,)]
