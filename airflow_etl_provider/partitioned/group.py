"""`partitioned_transfer`: one call in a DAG that builds the plan -> parts -> publish group."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from airflow.sdk import TaskGroup

from airflow_etl_provider.hooks.base import DEFAULT_CHUNK_SIZE
from airflow_etl_provider.incremental.spec import Incremental
from airflow_etl_provider.operators.extract_load import READ_AHEAD_CHUNKS, Transform, incremental_mode
from airflow_etl_provider.partitioned.operators import (
    CleanupPartitionsOperator,
    PartTransferOperator,
    PlanPartitionsOperator,
    PublishPartitionsOperator,
)
from airflow_etl_provider.partitioned.plan import METHODS
from airflow_etl_provider.partitioned.snapshot import DEFAULT_HOLD_SECONDS
from airflow_etl_provider.types import LoadMode


def partitioned_transfer(
    *,
    group_id: str,
    source_conn_id: str,
    source: str,
    destination_conn_id: str,
    destination: str,
    partitions: int,
    partition_by: str | None = None,
    method: str = "even",
    mode: str = LoadMode.APPEND.value,
    keys: Sequence[str] | None = None,
    source_options: dict[str, Any] | None = None,
    destination_options: dict[str, Any] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    transform: Transform | None = None,
    read_ahead: int = READ_AHEAD_CHUNKS,
    snapshot: bool = True,
    snapshot_hold_seconds: int = DEFAULT_HOLD_SECONDS,
    max_active_parts: int | None = None,
    part_retries: int | None = None,
    part_retry_delay: dt.timedelta | None = None,
    incremental: Incremental | None = None,
) -> TaskGroup:
    """Move `source` to `destination` as `partitions` parallel mapped tasks, published at once.

    :param partition_by: the column whose value ranges split a SQL source, `"ctid"` for the pages
        of a PostgreSQL table; not used for a file source (its files are split into groups).
    :param method: `"even"` ranges between the column's min and max, or `"quantiles"` (equal row
        counts, at the cost of one sort of the column on the source).
    :param mode: how the destination takes the rows, as in `ExtractLoadOperator`: `append`,
        `replace` (one swap at publish) or `upsert` (with `keys`).
    :param snapshot: PostgreSQL sources: every part reads one exported snapshot, held for at
        most `snapshot_hold_seconds` (it holds back VACUUM on the source while it lasts).
    :param transform: applied to each chunk in every part, as in `ExtractLoadOperator`.
    :param max_active_parts: how many parts may run at once (unset: as the executor allows).
    :param incremental: a stateless `Incremental` range (`end=` given, or `use_data_interval=True`)
        read by every part; the mode follows its rule (keys: upsert, else append).
    :param part_retries: retries of each part, and `part_retry_delay` between them (unset: the DAG's defaults).

    The group holds `plan` -> `parts` (mapped) -> `publish`, and `cleanup`, a teardown that
    removes the parts' staging and ends the snapshot whatever happened. See docs/partitioned.md.
    """
    if partitions < 1:
        raise ValueError(f"partitions must be at least 1, got {partitions}.")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}.")
    if LoadMode.parse(mode) is LoadMode.UPSERT and not keys:
        raise ValueError("mode='upsert' needs keys=[...]: the columns that identify a row.")
    if incremental is not None:
        if not incremental.stateless:
            raise ValueError(
                "A partitioned transfer reads stateless incremental ranges only: give Incremental(end=...) or "
                "use_data_interval=True (parts cannot share one watermark)."
            )
        mode = incremental_mode(mode, list(keys) if keys else None, incremental)
    common: dict[str, Any] = {
        "transfer_id": group_id,
        "source_conn_id": source_conn_id,
        "source": source,
        "destination_conn_id": destination_conn_id,
        "destination": destination,
    }
    with TaskGroup(group_id=group_id) as group:
        plan = PlanPartitionsOperator(
            task_id="plan",
            partitions=partitions,
            partition_by=partition_by,
            method=method,
            mode=mode,
            source_options=source_options,
            destination_options=destination_options,
            snapshot=snapshot,
            snapshot_hold_seconds=snapshot_hold_seconds,
            **common,
        )
        part_kwargs: dict[str, Any] = {}
        if max_active_parts is not None:
            part_kwargs["max_active_tis_per_dagrun"] = max_active_parts
        if part_retries is not None:
            part_kwargs["retries"] = part_retries
        if part_retry_delay is not None:
            part_kwargs["retry_delay"] = part_retry_delay
        if incremental is not None:
            part_kwargs |= {"incremental": incremental, "keys": keys}
        parts = PartTransferOperator.partial(
            task_id="parts",
            source_conn_id=source_conn_id,
            destination_conn_id=destination_conn_id,
            chunk_size=chunk_size,
            transform=transform,
            read_ahead=read_ahead,
            **part_kwargs,
        ).expand_kwargs(plan.output)
        publish = PublishPartitionsOperator(
            task_id="publish",
            plan=plan.output,
            part_results=parts.output,
            mode=mode,
            keys=keys,
            destination_options=destination_options,
            **common,
        )
        cleanup = CleanupPartitionsOperator(task_id="cleanup", **common)
        plan >> parts >> publish >> cleanup.as_teardown(setups=plan)
    return group
