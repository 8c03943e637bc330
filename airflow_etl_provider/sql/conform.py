"""Fit an incoming chunk to the destination table's columns, or say exactly what does not fit.

Every SQL destination runs each chunk through `conform_batch` before writing it, so a bad
value is reported with its row number, column and reason instead of a bare driver error.

Decimal columns keep every digit or refuse the value: a value with more fractional digits than
the column's scale (1.234 into numeric(5,2)) is an error unless the load asks for rounding
(`decimal_rounding="half_even"` or `"half_up"`). A double is judged on its shortest decimal
text (what a CSV file said: 1.23, not 1.229999...), never on its binary value.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from airflow_etl_provider.exceptions import LoadError
from airflow_etl_provider.formats.arrow_types import CAST_ERRORS, cast_to_bool, first_bad_value

#: `decimal_rounding` values -> Arrow's round modes. "half_up" rounds ties away from zero, as
#: Python's ROUND_HALF_UP and PostgreSQL / MySQL do (Arrow's own "half_up" goes towards +inf).
DECIMAL_ROUNDING = {"half_even": "half_to_even", "half_up": "half_towards_infinity"}

Cast = Callable[[pa.Array], pa.Array]


def _cast_to(target: pa.DataType, decimal_rounding: str | None) -> Cast:
    """The conversion of a column to `target`: Arrow's cast, but exact or rounded for decimals,
    and text booleans in the spellings databases write."""
    if pa.types.is_decimal(target):
        return _decimal_cast(target, decimal_rounding)
    if pa.types.is_boolean(target):
        return cast_to_bool
    return lambda values: values.cast(target)


def _decimal_cast(target: pa.DataType, rounding: str | None) -> Cast:
    """Cast to the decimal `target`, refusing lost fractional digits or rounding them by `rounding`."""

    def cast(values: pa.Array) -> pa.Array:
        if pa.types.is_floating(values.type):
            if rounding is not None:  # too small to round to anything but 0, and too long as text
                tiny = pc.less(pc.abs(values), 10.0 ** -(target.scale + 1))
                values = pc.if_else(tiny, pa.scalar(0, values.type), values)
            values = values.cast(pa.string())  # the shortest text that reads back as the same double
        if rounding is None:
            return values.cast(target)  # Arrow refuses to drop digits from text or decimals
        if not pa.types.is_decimal(values.type):
            whole_digits = target.precision - target.scale
            values = values.cast(pa.decimal256(76, 76 - whole_digits))
        rounded = pc.round(values, ndigits=target.scale, round_mode=DECIMAL_ROUNDING[rounding])
        return rounded.cast(target)

    return cast


def _hint(target: pa.DataType, reason: str) -> str:
    if pa.types.is_decimal(target) and "data loss" in reason:
        return (
            f" It has more fractional digits than the column's scale ({target.scale}); round it in a transform, "
            f"or load with decimal_rounding='half_even' (or 'half_up')."
        )
    return ""


def conform_batch(
    batch: pa.RecordBatch,
    target: pa.Schema,
    *,
    destination: str,
    first_row: int,
    decimal_rounding: str | None = None,
) -> pa.RecordBatch:
    """Cast `batch` to the `target` columns it carries (same names, target types and order).

    `first_row` is the 0-based position of the batch's first row in the whole load, used to
    report a bad value as "row N" of the input. `decimal_rounding` (None, "half_even" or
    "half_up") says what to do with digits beyond a decimal column's scale.
    """
    if decimal_rounding is not None and decimal_rounding not in DECIMAL_ROUNDING:
        raise LoadError(
            f"Unknown decimal_rounding {decimal_rounding!r} for {destination}; use one of: "
            f"{', '.join(DECIMAL_ROUNDING)} (or leave it unset to refuse values that would lose digits)."
        )
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
            cast = _cast_to(field.type, decimal_rounding)
            try:
                values = cast(values)
            except CAST_ERRORS as error:
                row, value, reason = first_bad_value(values, cast)
                raise LoadError(
                    f"Cannot load into {destination}: row {first_row + row + 1}, column {field.name!r}: "
                    f"value {value!r} cannot be stored as {field.type} ({reason}).{_hint(field.type, reason)}"
                ) from error
        arrays.append(values)
        fields.append(field.with_nullable(True))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))
