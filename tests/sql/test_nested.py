"""The one JSON encoding of nested columns that every SQL destination stores."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest

from airflow_etl_provider.arrow_kinds import JSON
from airflow_etl_provider.sql.nested import nested_as_json


def texts(values: pa.Array) -> list[object]:
    encoded = nested_as_json(values)
    assert encoded.type == JSON
    return [None if text is None else json.loads(text) for text in encoded.storage.to_pylist()]


def test_maps_become_objects_and_empty_maps_empty_objects() -> None:
    maps = pa.array([[("a", 1), ("b", None)], [], None], pa.map_(pa.string(), pa.int64()))
    assert texts(maps) == [{"a": 1, "b": None}, {}, None]


def test_leaves_keep_their_exact_text() -> None:
    """Nanoseconds and year 14645 included, which a Python datetime cannot hold."""
    values = pa.StructArray.from_arrays(
        [
            pa.array([1_767_323_045_123_456_789], pa.timestamp("ns", tz="UTC")),
            pa.array([400_000_000_000_000_000], pa.timestamp("us")),
            pa.array([date(2026, 1, 2)], pa.date32()),
            pa.array([Decimal("1.50")], pa.decimal128(5, 2)),
            pa.array([b"\x00\xff"], pa.binary()),
        ],
        names=["at", "far", "day", "amount", "raw"],
    )
    assert texts(values) == [
        {
            "at": "2026-01-02 03:04:05.123456789Z",
            "far": "14645-06-30 15:06:40.000000",
            "day": "2026-01-02",
            "amount": "1.50",
            "raw": "AP8=",
        }
    ]


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        (pa.array([[1.0, float("nan")]], pa.list_(pa.float64())), "NaN"),
        (pa.array([[1.0, float("inf")]], pa.list_(pa.float64())), "infinity"),
        (pa.array([[("a", 1), ("a", 2)]], pa.map_(pa.string(), pa.int64())), "duplicate key"),
        (pa.array([[(b"k", 1)]], pa.map_(pa.binary(), pa.int64())), "not representable as JSON"),
    ],
)
def test_what_json_cannot_hold_is_a_value_error(values: pa.Array, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        nested_as_json(values)
