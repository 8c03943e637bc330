"""Fit an incoming chunk to the destination table's columns, or say exactly what does not fit.

Every SQL destination runs each chunk through `conform_batch` before writing it, so a bad
value is reported with its row number, column and reason instead of a bare driver error.

Decimal columns keep every digit or refuse the value: a value with more fractional digits than
the column's scale (1.234 into numeric(5,2)) is an error unless the load asks for rounding
(`decimal_rounding="half_even"` or `"half_up"`). A double is judged on its shortest decimal
text (what a CSV file said: 1.23, not 1.229999...), never on its binary value.

Timestamps and times keep every digit too: nanoseconds into a microsecond column are an error
unless the load asks to drop them (`timestamp_truncation=True`, towards the earlier instant).
What a destination cannot hold although the Arrow type can (a year after 9999 in SQLite, NaN
in MySQL) is refused by its `ValueLimits`. Nested values (list, struct, map) going into a JSON
or text column become JSON text (`nested_as_json`), on every load alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from airflow_etl_provider.arrow_kinds import is_json
from airflow_etl_provider.exceptions import LoadError
from airflow_etl_provider.formats.arrow_types import CAST_ERRORS, cast_to_bool, first_bad_value
from airflow_etl_provider.sql.nested import nested_as_json

#: `decimal_rounding` values -> Arrow's round modes. "half_up" rounds ties away from zero, as
#: Python's ROUND_HALF_UP and PostgreSQL / MySQL do (Arrow's own "half_up" goes towards +inf).
DECIMAL_ROUNDING = {"half_even": "half_to_even", "half_up": "half_towards_infinity"}

Cast = Callable[[pa.Array], pa.Array]


@dataclass(frozen=True)
class ValueLimits:
    """What a destination's columns hold besides what their Arrow type says.

    `timestamps` are the first and last instant a timestamp column stores, in microseconds
    since 1970-01-01 UTC (wall time for columns without a time zone), `timestamps_text` says
    them in words; `nan` and `infinity` say whether a floating-point column stores NaN and ±Infinity.
    """

    destination: str
    timestamps: tuple[int, int] | None = None
    timestamps_text: str = ""
    nan: bool = True
    infinity: bool = True


#: 0001-01-01 00:00:00 to 9999-12-31 23:59:59.999999, the years ISO 8601 text and most databases take.
YEARS_1_TO_9999 = (-62_135_596_800_000_000, 253_402_300_799_999_999)


def _cast_to(target: pa.DataType, decimal_rounding: str | None, timestamp_truncation: bool = False) -> Cast:
    """The conversion of a column to `target`: Arrow's cast, but exact or rounded for decimals,
    exact or truncated (if asked) for timestamps and times, text booleans in the spellings
    databases write, and nested values as JSON text in JSON and text columns."""
    if pa.types.is_decimal(target):
        return _decimal_cast(target, decimal_rounding)
    if pa.types.is_boolean(target):
        return cast_to_bool
    if is_json(target) or pa.types.is_string(target) or pa.types.is_large_string(target):
        return lambda values: _as_text(values, target)
    if timestamp_truncation and (pa.types.is_timestamp(target) or pa.types.is_time(target)):
        return lambda values: _truncated(values, target)
    return lambda values: values.cast(target)


def _as_text(values: pa.Array, target: pa.DataType) -> pa.Array:
    if pa.types.is_nested(values.type):
        values = nested_as_json(values)
    if is_json(values.type) and not is_json(target):
        values = values.storage
    return values.cast(target)


def _truncated(values: pa.Array, target: pa.DataType) -> pa.Array:
    """Timestamps or times in `target`'s unit, digits beyond it dropped. Timestamps are floored, so
    an instant before 1970 keeps the digits it was written with (...59.9999995 -> ...59.999999)."""
    if pa.types.is_timestamp(values.type) and pa.types.is_timestamp(target):
        names = {"s": "second", "ms": "millisecond", "us": "microsecond", "ns": "nanosecond"}
        return pc.floor_temporal(values, unit=names[target.unit]).cast(target)  # exact now: overflow still refused
    if pa.types.is_time(values.type) and pa.types.is_time(target):
        return values.cast(target, safe=False)  # a time of day is >= 0, so towards zero is down
    return values.cast(target)


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
    if (pa.types.is_timestamp(target) or pa.types.is_time(target)) and "would lose data" in reason:
        return (
            f" It has digits beyond the column's unit ({target.unit}); drop them in a transform, or load with "
            "timestamp_truncation=True."
        )
    return ""


def _check_limits(values: pa.Array, target: pa.DataType, limits: ValueLimits) -> tuple[int, object, str] | None:
    """(index, value, reason) of the first value of a conformed column the destination cannot hold."""
    if limits.timestamps is not None and pa.types.is_timestamp(target) and target.unit != "ns":
        micros = values.cast(pa.timestamp("us", tz=target.tz)).cast(pa.int64())
        low, high = limits.timestamps
        outside = pc.or_(pc.less(micros, low), pc.greater(micros, high))
        if pc.any(outside).as_py():
            index = pc.index(outside, True).as_py()
            text = values.slice(index, 1).cast(pa.string())[0].as_py()  # Python has no year 14645
            return index, text, f"is outside what {limits.destination} stores ({limits.timestamps_text})"
    if pa.types.is_floating(target):
        for allowed, test, name, hint in (
            (limits.nan, pc.is_nan, "NaN", " (with NULL, for instance)"),
            (limits.infinity, pc.is_inf, "infinity", ""),
        ):
            if allowed:
                continue
            found = pc.fill_null(test(values), False)
            if pc.any(found).as_py():
                index = pc.index(found, True).as_py()
                reason = f"cannot be stored: {limits.destination} cannot store {name}; replace it{hint} in a transform"
                return index, values[index].as_py(), reason
    return None


def conform_batch(
    batch: pa.RecordBatch,
    target: pa.Schema,
    *,
    destination: str,
    first_row: int,
    decimal_rounding: str | None = None,
    timestamp_truncation: bool = False,
    limits: ValueLimits | None = None,
) -> pa.RecordBatch:
    """Cast `batch` to the `target` columns it carries (same names, target types and order).

    `first_row` is the 0-based position of the batch's first row in the whole load, used to
    report a bad value as "row N" of the input. `decimal_rounding` (None, "half_even" or
    "half_up") says what to do with digits beyond a decimal column's scale,
    `timestamp_truncation` whether digits beyond a timestamp or time column's unit are dropped,
    and `limits` what the destination cannot hold although the column's Arrow type can.
    """
    if decimal_rounding is not None and decimal_rounding not in DECIMAL_ROUNDING:
        raise LoadError(
            f"Unknown decimal_rounding {decimal_rounding!r} for {destination}; use one of: "
            f"{', '.join(DECIMAL_ROUNDING)} (or leave it unset to refuse values that would lose digits)."
        )
    if not isinstance(timestamp_truncation, bool):
        raise LoadError(f"timestamp_truncation for {destination} must be true or false, not {timestamp_truncation!r}.")
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
            cast = _cast_to(field.type, decimal_rounding, timestamp_truncation)
            try:
                values = cast(values)
            except CAST_ERRORS as error:
                row, value, reason = first_bad_value(values, cast)
                raise LoadError(
                    f"Cannot load into {destination}: row {first_row + row + 1}, column {field.name!r}: "
                    f"value {value!r} cannot be stored as {field.type} ({reason})."
                    f"{_hint(field.type, reason)}"
                ) from error
        refused = _check_limits(values, field.type, limits) if limits is not None else None
        if refused is not None:
            row, value, reason = refused
            raise LoadError(
                f"Cannot load into {destination}: row {first_row + row + 1}, column {field.name!r}: "
                f"value {value!r} {reason}."
            )
        arrays.append(values)
        fields.append(field.with_nullable(True))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))
