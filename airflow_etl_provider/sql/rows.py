"""DB-API rows -> Arrow, for drivers that return Python tuples (SQLite; MySQL decodes raw rows itself).

Each column is built with its declared Arrow type. Values stored as text (decimals and
timestamps in SQLite, for instance) are parsed by Arrow's own casts, which are exact and
strict: a value that does not parse is an error naming the column, never a silent NULL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from airflow_etl_provider.exceptions import SourceError


def column_array(values: Sequence[Any], arrow_type: pa.DataType | None) -> pa.Array:
    """One column's Python values as an Arrow array of `arrow_type` (inferred when None)."""
    if arrow_type is None:
        return pa.array(values)
    try:
        return pa.array(values, type=arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        as_text = pa.array([None if value is None else str(value) for value in values], type=pa.string())
        return as_text.cast(arrow_type)


def rows_to_batch(
    rows: Sequence[Sequence[Any]], names: Sequence[str], types: Sequence[pa.DataType | None], *, source: str
) -> pa.RecordBatch:
    """Turn fetched rows into a RecordBatch with one typed column per name."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    arrays = []
    for name, arrow_type, values in zip(names, types, columns, strict=True):
        try:
            arrays.append(column_array(values, arrow_type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
            raise SourceError(
                f"Reading {source}: column {name!r} holds a value that is not {arrow_type}: {error}"
            ) from error
    return pa.RecordBatch.from_arrays(arrays, names=list(names))
