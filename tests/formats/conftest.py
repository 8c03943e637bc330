"""A table holding every type the demo moves, with NULLs in every column and awkward text."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

UTC = dt.timezone.utc

#: Types a text format cannot infer back; readers get them through `column_types`.
DECLARED_TYPES = {
    "amount": "decimal128(18,2)",
    "created_at": "timestamp[us, tz=UTC]",
    "payload": "binary",
    "day": "date32[day]",
    "count": "int64",
    "ratio": "double",
    "flag": "bool",
    "name": "string",
    "doc": "json",
}


def all_types_table() -> pa.Table:
    return pa.table(
        {
            "count": pa.array([1, None, -(2**62), 0], pa.int64()),
            "amount": pa.array(
                [Decimal("12.50"), None, Decimal("-9999999999999999.99"), Decimal("0.01")], pa.decimal128(18, 2)
            ),
            "created_at": pa.array(
                [
                    dt.datetime(2026, 1, 1, 12, 30, 0, 123456, tzinfo=UTC),
                    None,
                    dt.datetime(1970, 1, 1, tzinfo=UTC),
                    dt.datetime(2038, 1, 19, 3, 14, 7, tzinfo=UTC),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "name": pa.array(['comma, "quote"\nnew line', None, "", "ünïcødé ✓ 日本語"], pa.string()),
            "flag": pa.array([True, None, False, True], pa.bool_()),
            "ratio": pa.array([1.5, None, -0.25, 1e-10], pa.float64()),
            "day": pa.array([dt.date(2026, 1, 1), None, dt.date(1999, 12, 31), dt.date(2000, 2, 29)], pa.date32()),
            "payload": pa.array([b"\x00\xff\x10", None, b"", b"abc"], pa.binary()),
            "doc": pa.array(
                ['{"a": [1, 2.50, null], "b": "x, \\"y\\"\\n"}', None, "[]", '"text"'], pa.json_(pa.string())
            ),
        }
    )


@pytest.fixture
def table() -> pa.Table:
    return all_types_table()


@pytest.fixture
def declared_types() -> dict[str, str]:
    return dict(DECLARED_TYPES)
