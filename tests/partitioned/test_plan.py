"""Partitions cover every row exactly once, read one snapshot, and refuse what cannot be split."""

from __future__ import annotations

import pytest

from airflow_etl_provider.exceptions import EtlError
from airflow_etl_provider.hooks.registry import hook_for
from airflow_etl_provider.partitioned.plan import partition_select, plan_partitions
from tests.pg import execute


@pytest.fixture
def events(postgres_database) -> None:
    """1,000 rows with ids 1..1000 except a gap, 10 NULL ids, skewed timestamps and dates."""
    execute(
        postgres_database,
        "CREATE TABLE events (id bigint, at timestamptz, day date, amount numeric(10,2), name text)",
        "INSERT INTO events SELECT CASE WHEN g <= 990 THEN g * (CASE WHEN g > 500 THEN 7 ELSE 1 END) END, "
        "timestamptz '2026-01-01 00:00:00+00' + (g * g) * interval '1 second', date '2020-01-01' + g, "
        "g / 3.0, 'n' || g FROM generate_series(1, 1000) AS g",
    )


def _read(hook, source: str, partitions) -> list[list[str]]:
    """The `name` of every row each partition selects (the source's rows all have distinct names)."""
    seen = []
    with hook:
        for partition in partitions:
            select = partition_select(hook, source, partition)
            rows = hook.db.execute(f"SELECT name FROM ({select}) AS p", partition.parameters).fetchall()
            seen.append([name for (name,) in rows])
    return seen


@pytest.mark.parametrize(
    ("partition_by", "method"),
    [("id", "even"), ("id", "quantiles"), ("at", "even"), ("day", "even"), ("amount", "even"), ("ctid", "even")],
)
def test_every_row_is_in_exactly_one_partition(events, postgres_conn_id, partition_by, method) -> None:
    hook = hook_for(postgres_conn_id)
    partitions = plan_partitions(hook, "events", partition_by, 4, method=method)
    assert len(partitions) == 4
    seen = _read(hook, "events", partitions)
    names = [name for part in seen for name in part]
    assert len(names) == 1000 and len(set(names)) == 1000
    if method == "quantiles" or partition_by == "ctid":  # even ranges of a skewed key may be empty
        assert all(part for part in seen), f"an empty partition: {[len(part) for part in seen]}"


def test_quantiles_balance_a_skewed_key(events, postgres_conn_id) -> None:
    hook = hook_for(postgres_conn_id)
    even = [len(part) for part in _read(hook, "events", plan_partitions(hook, "events", "id", 4))]
    balanced = [
        len(part) for part in _read(hook, "events", plan_partitions(hook, "events", "id", 4, method="quantiles"))
    ]
    assert max(even) > 500  # ids above 500 are spread 7x wider: most rows fall in the first range
    assert max(balanced) - min(balanced) <= 15  # equal counts, plus the NULL ids in the first


def test_a_query_source_is_split_by_a_column_of_its_result(events, postgres_conn_id, postgres_database) -> None:
    hook = hook_for(postgres_conn_id)
    query = "SELECT id AS k, name FROM events WHERE name LIKE 'n1%%'"
    partitions = plan_partitions(hook, query, "k", 3)
    names = [name for part in _read(hook, query, partitions) for name in part]
    (expected,) = execute(postgres_database, "SELECT count(*) FROM events WHERE name LIKE 'n1%'")
    assert len(names) == len(set(names)) == expected[0] > 100


def test_rows_beyond_the_planned_range_still_land_in_a_partition(events, postgres_conn_id, postgres_database) -> None:
    hook = hook_for(postgres_conn_id)
    partitions = plan_partitions(hook, "events", "id", 4)
    execute(postgres_database, "INSERT INTO events (id, name) VALUES (-5, 'below'), (99999, 'above'), (NULL, 'null')")
    names = [name for part in _read(hook, "events", partitions) for name in part]
    assert {"below", "above", "null"} <= set(names) and len(names) == len(set(names)) == 1003


def test_ctid_refuses_a_query_and_other_databases(events, postgres_conn_id, sqlite_conn_id) -> None:
    with pytest.raises(EtlError, match="a query has none"):
        plan_partitions(hook_for(postgres_conn_id), "SELECT * FROM events", "ctid", 2)
    with pytest.raises(EtlError, match="needs PostgreSQL"):
        plan_partitions(hook_for(sqlite_conn_id), "events", "ctid", 2)


def test_a_text_key_needs_quantiles(events, postgres_conn_id) -> None:
    with pytest.raises(EtlError, match="method='quantiles'"):
        plan_partitions(hook_for(postgres_conn_id), "events", "name", 2)
    assert len(plan_partitions(hook_for(postgres_conn_id), "events", "name", 2, method="quantiles")) == 2


def test_files_are_split_into_contiguous_groups(filesystem_conn_id) -> None:
    hook = hook_for(filesystem_conn_id)
    base = hook.store.base
    import os

    os.makedirs(f"{base}/in/_hidden")
    for number in range(10):
        with open(f"{base}/in/f{number:02d}.csv", "w") as handle:
            handle.write(f"n\n{number}\n")
    with open(f"{base}/in/_hidden/x.csv", "w") as handle:
        handle.write("n\n99\n")
    partitions = plan_partitions(hook, "in/", None, 3)
    values = []
    for partition in partitions:
        values.append(sorted(v for b in hook.extract("in/", **partition.options) for v in b.column("n").to_pylist()))
    assert [len(group) for group in values] == [3, 3, 4]
    assert sorted(v for group in values for v in group) == list(range(10))
    assert len(plan_partitions(hook, "in/", None, 50)) == 10  # never more parts than files


def test_the_plan_refuses_a_single_file_destination_before_anything_runs(events, postgres_conn_id, filesystem_conn_id):
    from types import SimpleNamespace

    from airflow_etl_provider.partitioned.operators import PlanPartitionsOperator

    plan = PlanPartitionsOperator(
        task_id="plan",
        transfer_id="g",
        source_conn_id=postgres_conn_id,
        source="events",
        destination_conn_id=filesystem_conn_id,
        destination="out/events.parquet",
        partitions=2,
        partition_by="id",
    )
    with pytest.raises(ValueError, match="end the destination with '/'"):
        plan.execute({"dag": SimpleNamespace(dag_id="d"), "run_id": "r"})
