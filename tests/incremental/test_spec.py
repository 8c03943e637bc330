"""Incremental's parameters, the range a run reads, and what the tracker keeps and skips."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from airflow_etl_provider import Incremental
from airflow_etl_provider.exceptions import SourceError
from airflow_etl_provider.incremental.spec import CursorRange, from_json, to_json
from airflow_etl_provider.incremental.tracker import CursorTracker, row_hash
from airflow_etl_provider.operators.extract_load import ExtractLoadOperator

UTC = dt.timezone.utc


def test_first_run_starts_at_initial_closed_and_unbounded() -> None:
    spec = Incremental(cursor="updated_at", initial="2026-01-01T00:00:00Z")
    assert spec.range(None) == CursorRange(
        "updated_at", dt.datetime(2026, 1, 1, tzinfo=UTC), None, include_missing=True
    )


def test_later_runs_start_at_the_watermark_minus_lag() -> None:
    spec = Incremental(cursor="updated_at", initial="2026-01-01T00:00:00Z", lag=dt.timedelta(minutes=5))
    cursor_range = spec.range(dt.datetime(2026, 2, 1, 12, 0))
    assert cursor_range.start == dt.datetime(2026, 2, 1, 11, 55) and cursor_range.start_closed
    assert Incremental(cursor="id", range_start="open").range(41).start_closed is False
    assert Incremental(cursor="id", initial=40, range_start="open").range(None).start_closed is False


def test_end_makes_the_run_stateless_and_ignores_the_watermark() -> None:
    spec = Incremental(cursor="day", initial="2025-01-01", end="2025-02-01")
    cursor_range = spec.range(dt.date(2026, 1, 1))
    assert (cursor_range.start, cursor_range.end, cursor_range.stateful) == (
        dt.date(2025, 1, 1),
        dt.date(2025, 2, 1),
        False,
    )


def test_data_interval_range_needs_one() -> None:
    spec = Incremental(cursor="ts", use_data_interval=True)
    start, end = dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2026, 1, 2, tzinfo=UTC)
    cursor_range = spec.range(None, {"data_interval_start": start, "data_interval_end": end})
    assert (cursor_range.start, cursor_range.end, cursor_range.stateful) == (start, end, False)
    with pytest.raises(ValueError, match="no data interval"):
        spec.range(None, {"data_interval_start": None, "data_interval_end": None})


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"cursor": ""}, "name of the cursor column"),
        ({"cursor": "c", "range_start": "half"}, "range_start"),
        ({"cursor": "c", "on_cursor_missing": "skip"}, "on_cursor_missing"),
        ({"cursor": "c", "row_order": "up"}, "row_order"),
        ({"cursor": "c", "end": 5, "use_data_interval": True}, "not both"),
        ({"cursor": "c", "lag": "5m"}, "lag"),
        ({"cursor": "c", "initial": True}, "bool"),
    ],
)
def test_invalid_parameters_say_which(arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Incremental(**arguments)


@pytest.mark.parametrize(
    "value", [dt.datetime(2026, 1, 1, 5, tzinfo=UTC), dt.datetime(2026, 1, 1), dt.date(2026, 1, 1), 7]
)
def test_watermarks_round_trip_through_json_with_their_type(value) -> None:
    assert from_json(to_json(value)) == value and type(from_json(to_json(value))) is type(value)


def batch(rows: list[tuple[int, int | None]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([{"id": i, "v": v} for i, v in rows])


def test_tracker_keeps_the_maximum_and_the_rows_at_it() -> None:
    tracker = CursorTracker(CursorRange("v", None, None), source="t")
    list(tracker.watch([batch([(1, 5), (2, 9)]), batch([(3, 9), (4, 7)])]))
    assert tracker.maximum == 9 and tracker.rows == 4
    assert tracker.boundary == {row_hash({"id": 2, "v": 9}), row_hash({"id": 3, "v": 9})}


def test_tracker_skips_unchanged_boundary_rows_only() -> None:
    loaded = {row_hash({"id": 2, "v": 9})}
    tracker = CursorTracker(CursorRange("v", 8, None), source="t", skip=loaded, skip_at=9)
    out = list(tracker.watch([batch([(1, 8), (2, 9), (3, 9), (4, 10)])]))  # the lag re-reads 8
    assert [row["id"] for b in out for row in b.to_pylist()] == [1, 3, 4] and tracker.skipped == 1


def test_tracker_names_a_null_cursor_and_a_missing_column() -> None:
    with pytest.raises(SourceError, match="'v' is NULL in row 2 of chunk 1"):
        list(
            CursorTracker(CursorRange("v", None, None), source="t", raise_on_missing=True).watch(
                [batch([(1, 1), (2, None)])]
            )
        )
    with pytest.raises(SourceError, match="'w' is not in 't'"):
        list(CursorTracker(CursorRange("w", None, None), source="t").watch([batch([(1, 1)])]))


def operator(**kwargs) -> ExtractLoadOperator:
    return ExtractLoadOperator(
        task_id="t", source_conn_id="a", source="s", destination_conn_id="b", destination="d", **kwargs
    )


def test_keys_with_a_cursor_upsert_a_cursor_alone_appends() -> None:
    assert operator(keys=["id"], incremental=Incremental(cursor="ts")).mode == "upsert"
    assert operator(incremental=Incremental(cursor="ts")).mode == "append"


def test_replace_and_lag_without_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="mode='replace'"):
        operator(mode="replace", incremental=Incremental(cursor="ts"))
    with pytest.raises(ValueError, match="duplicate"):
        operator(incremental=Incremental(cursor="ts", lag=dt.timedelta(minutes=5)))
