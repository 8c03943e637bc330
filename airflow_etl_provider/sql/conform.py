"""Fit an incoming chunk to the destination table's columns, or say exactly what does not fit.

Every SQL destination runs each chunk through `conform_batch` before writing it, so a bad
value is reported with its row number, column and reason instead of a bare driver error.
"""

from __future__ import annotations

import pyarrow as pa

from airflow_etl_provider.exceptions import LoadError

#: What Arrow raises for a value or a type it cannot convert.
CAST_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)


def _first_bad_row(values: pa.Array, target: pa.DataType) -> tuple[int, object, str]:
    for index in range(len(values)):
        try:
            values.slice(index, 1).cast(target)
        except CAST_ERRORS as error:
            return index, values[index].as_py(), str(error)
    return 0, None, "the values cannot be converted"


def conform_batch(batch: pa.RecordBatch, target: pa.Schema, *, destination: str, first_row: int) -> pa.RecordBatch:
    """Cast `batch` to the `target` columns it carries (same names, target types and order).

    `first_row` is the 0-based position of the batch's first row in the whole load, used to
    report a bad value as "row N" of the input.
    """
    unknown = [name for name in batch.schema.names if target.get_field_index(name) < 0]
    if unknown:
        raise LoadError(
            f"Cannot load into {destination}: column(s) {', '.join(map(repr, unknown))} do not exist in "
            f"the destination table (it has {', '.join(target.names)}). Add them to the table or drop them "
            "with a transform."
        )
    arrays = []
    fields = []
    for field in target:
        if field.name not in batch.schema.names:
            continue
        values = batch.column(field.name)
        if not field.nullable and values.null_count:
            row = next(i for i, valid in enumerate(values.is_valid().to_pylist()) if not valid)
            raise LoadError(
                f"Cannot load into {destination}: row {first_row + row + 1}, column {field.name!r} is NULL "
                "but the column is NOT NULL."
            )
        if not values.type.equals(field.type):
            try:
                values = values.cast(field.type)
            except CAST_ERRORS as error:
                row, value, reason = _first_bad_row(values, field.type)
                raise LoadError(
                    f"Cannot load into {destination}: row {first_row + row + 1}, column {field.name!r}: "
                    f"value {value!r} cannot be stored as {field.type} ({reason})."
                ) from error
        arrays.append(values)
        fields.append(field.with_nullable(True))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))
