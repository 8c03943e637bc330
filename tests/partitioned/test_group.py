"""`partitioned_transfer` builds plan -> parts -> publish with a cleanup teardown, and refuses
arguments it could only fail on after every part had run."""

from __future__ import annotations

import datetime as dt

import pytest
from airflow.sdk import DAG

from airflow_etl_provider import Incremental
from airflow_etl_provider.partitioned import partitioned_transfer

ARGUMENTS = {
    "group_id": "g",
    "source_conn_id": "a",
    "source": "t",
    "destination_conn_id": "b",
    "destination": "t",
    "partitions": 2,
    "partition_by": "id",
}


def test_the_group_holds_plan_mapped_parts_publish_and_a_teardown() -> None:
    with DAG("d", schedule=None, start_date=dt.datetime(2026, 1, 1)) as dag:
        partitioned_transfer(**ARGUMENTS, part_retries=3, max_active_parts=2)
    tasks = {task.task_id: task for task in dag.tasks}
    assert sorted(tasks) == ["g.cleanup", "g.parts", "g.plan", "g.publish"]
    assert tasks["g.plan"].downstream_task_ids == {"g.parts", "g.publish", "g.cleanup"}  # publish reads its XCom
    assert tasks["g.parts"].downstream_task_ids == {"g.publish"}
    assert tasks["g.publish"].downstream_task_ids == {"g.cleanup"}
    assert tasks["g.cleanup"].is_teardown and not tasks["g.publish"].is_teardown
    assert tasks["g.parts"].partial_kwargs["retries"] == 3
    assert tasks["g.parts"].partial_kwargs["max_active_tis_per_dagrun"] == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"incremental": Incremental(cursor="updated_at")}, "stateless incremental ranges only"),
        ({"mode": "upsert"}, "needs keys"),
        ({"method": "median"}, "method must be one of"),
        ({"partitions": 0}, "at least 1"),
        ({"mode": "replace", "incremental": Incremental(cursor="u", end=5)}, "mode='replace'"),
    ],
)
def test_arguments_that_could_only_fail_late_are_refused_when_the_dag_is_parsed(changes, message) -> None:
    with pytest.raises(ValueError, match=message):
        partitioned_transfer(**{**ARGUMENTS, **changes})
