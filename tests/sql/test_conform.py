"""Fitting chunks to a destination table's columns, and naming what does not fit."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from airflow_etl_provider.exceptions import LoadError
from airflow_etl_provider.sql.conform import conform_batch

TARGET = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("doc", pa.json_(pa.string()))])


def test_casts_to_target_types_in_target_order() -> None:
    batch = pa.RecordBatch.from_pydict({"doc": pa.array(['{"a": 1}'], pa.json_()), "id": pa.array(["7"])})
    conformed = conform_batch(batch, TARGET, destination="t", first_row=0)
    assert conformed.schema.names == ["id", "doc"] and conformed.column("id").to_pylist() == [7]


def test_bad_value_names_its_row_and_column() -> None:
    batch = pa.RecordBatch.from_pydict({"id": pa.array(["1", "2", "x"])})
    with pytest.raises(LoadError, match=r"row 103, column 'id': value 'x'"):
        conform_batch(batch, TARGET, destination="t", first_row=100)


def test_impossible_type_conversion_names_the_column() -> None:
    """Arrow raises ArrowTypeError (not ArrowInvalid) between extension types."""
    batch = pa.RecordBatch.from_pydict({"id": [1], "doc": pa.array(['{"a": 1}'], pa.json_(pa.large_string()))})
    with pytest.raises(LoadError, match=r"row 1, column 'doc'"):
        conform_batch(batch, TARGET, destination="t", first_row=0)


def test_null_in_not_null_column_and_unknown_columns_are_named() -> None:
    with pytest.raises(LoadError, match=r"row 2, column 'id' is NULL"):
        conform_batch(pa.RecordBatch.from_pydict({"id": [1, None]}), TARGET, destination="t", first_row=0)
    with pytest.raises(LoadError, match="'colour'"):
        conform_batch(pa.RecordBatch.from_pydict({"id": [1], "colour": ["red"]}), TARGET, destination="t", first_row=0)


MONEY = pa.schema([pa.field("amount", pa.decimal128(5, 2))])


def amounts(values: list, arrow_type: pa.DataType | None = None) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({"amount": pa.array(values, arrow_type)})


@pytest.mark.parametrize(
    ("values", "arrow_type"),
    [
        ([1.5, 1.234], pa.float64()),  # what the CSV reader infers for 1.234
        ([1.5, 1.234], pa.float32()),
        (["1.5", "1.234"], pa.string()),
        ([Decimal("1.5"), Decimal("1.234")], pa.decimal128(10, 3)),
        ([1.5, 1e-7], pa.float64()),
    ],
)
def test_digits_beyond_the_scale_are_refused_naming_row_and_column(values, arrow_type) -> None:
    with pytest.raises(LoadError, match=r"row 12, column 'amount': value .* decimal_rounding"):
        conform_batch(amounts(values, arrow_type), MONEY, destination="t", first_row=10)


def test_doubles_are_judged_on_their_shortest_decimal_text_not_their_binary_value() -> None:
    """1.23 and 0.1 are inexact in binary; as the CSV wrote them they fit numeric(5,2) exactly."""
    batch = amounts([1.23, 0.1, -999.99, 2.675e2, 1e2, None, -0.0])
    conformed = conform_batch(batch, MONEY, destination="t", first_row=0)
    assert conformed.column("amount").to_pylist() == [
        Decimal(v) for v in ("1.23", "0.10", "-999.99", "267.50", "100.00")
    ] + [None, Decimal("0.00")]


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [
        ("half_even", ["2.68", "-2.68", "1.00", "-1.24", "0.00", "1.23"]),
        ("half_up", ["2.68", "-2.68", "1.01", "-1.24", "0.00", "1.23"]),
    ],
)
@pytest.mark.parametrize("arrow_type", [pa.float64(), pa.float32(), pa.string(), pa.decimal128(20, 10)])
def test_decimal_rounding_rounds_the_written_digits_when_asked(rounding, expected, arrow_type) -> None:
    """2.675 is 2.67499999... in binary: rounded as written it is a tie, to 2.68 either way."""
    written = ["2.675", "-2.675", "1.005", "-1.235", "1e-9", "1.23"]
    if pa.types.is_floating(arrow_type):
        values = pa.array([float(v) for v in written], arrow_type)
    else:
        values = pa.array(written).cast(arrow_type) if pa.types.is_decimal(arrow_type) else pa.array(written)
    batch = pa.RecordBatch.from_arrays([values], names=["amount"])
    conformed = conform_batch(batch, MONEY, destination="t", first_row=0, decimal_rounding=rounding)
    assert conformed.column("amount").to_pylist() == [Decimal(v) for v in expected]


def test_rounding_still_refuses_what_overflows_and_unknown_modes() -> None:
    with pytest.raises(LoadError, match=r"row 2, column 'amount': value 1000.0"):
        conform_batch(amounts([1.0, 1000.0]), MONEY, destination="t", first_row=0, decimal_rounding="half_even")
    with pytest.raises(LoadError, match=r"decimal_rounding 'nearest' for t; use one of: half_even, half_up"):
        conform_batch(
            pa.RecordBatch.from_pydict({"id": [1]}), TARGET, destination="t", first_row=0, decimal_rounding="nearest"
        )


def test_text_booleans_in_the_spellings_databases_write_fit_a_boolean_column() -> None:
    target = pa.schema([pa.field("flag", pa.bool_())])
    spellings = ["t", "f", "TRUE", "false", "1", "0", None, "F"]
    for text_type in (pa.string(), pa.large_string()):
        batch = pa.RecordBatch.from_pydict({"flag": pa.array(spellings, text_type)})
        conformed = conform_batch(batch, target, destination="t", first_row=0)
        assert conformed.column("flag").to_pylist() == [True, False, True, False, True, False, None, False]
    with pytest.raises(LoadError, match=r"row 3, column 'flag': value 'yes' cannot be stored as bool"):
        conform_batch(pa.RecordBatch.from_pydict({"flag": ["t", "f", "yes"]}), target, destination="t", first_row=0)
