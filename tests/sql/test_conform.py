"""Fitting chunks to a destination table's columns, and naming what does not fit."""

from __future__ import annotations

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
