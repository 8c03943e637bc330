"""Arrow types written as strings in DAGs, and the text encodings of types text formats lack.

Text formats (CSV, JSON, JSON Lines, XLSX) cannot carry every Arrow type, so writers encode
them with `encode_for_text` and readers restore them with `apply_column_types` when the
caller declares the types (`column_types={"amount": "decimal128(18,2)"}`):

- decimal: plain decimal text (`-12.50`), exact;
- timestamp with a time zone: ISO 8601 with the offset (`2026-01-01 12:00:00.000000Z`);
- date / time: ISO 8601;
- binary: base64 text;
- JSON (`arrow.json`, what Postgres json/jsonb and MySQL JSON columns read as): its JSON text,
  declared back as `"json"`.

Declared `bool` columns take the spellings databases write (t/f, 1/0, true/false, any case):
`cast_to_bool`, which SQL destinations use too for text loaded into a boolean column.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from functools import cache, partial

import pyarrow as pa
import pyarrow.compute as pc

from airflow_etl_provider.arrow_kinds import JSON, is_binary, is_json

#: What a conversion raises for a value or a type it cannot convert (base64 errors are ValueErrors).
CAST_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, ValueError)
#: Spellings of the JSON type: a short name, the extension's name, and how Arrow prints it.
_JSON_NAMES = frozenset({"json", "arrow.json", str(JSON)})
_PARAMETERISED = re.compile(r"^\s*(?P<name>[a-z0-9_]+)\s*(?:[\[(](?P<args>.*)[\])])?\s*$", re.IGNORECASE)


def parse_type(spec: str | pa.DataType) -> pa.DataType:
    """An Arrow type from its string form, as `str(pa_type)` prints it.

    Accepts simple aliases (`int64`, `string`, `bool`, `date32`), `decimal128(18,2)`,
    `decimal(18,2)`, `timestamp[us]`, `timestamp[us, tz=UTC]`, `time64[us]`, `duration[s]`,
    and `json` (also `arrow.json`, `extension<arrow.json>`).
    """
    if isinstance(spec, pa.DataType):
        return spec
    if spec.strip().lower() in _JSON_NAMES:
        return JSON
    match = _PARAMETERISED.match(spec)
    if not match:
        raise ValueError(f"Cannot read the Arrow type {spec!r}; write it like 'int64' or 'decimal128(18,2)'.")
    name, args = match["name"].lower(), match["args"]
    if args is None or name in {"date32", "date64"}:
        try:
            return pa.type_for_alias(name)
        except ValueError as error:
            raise ValueError(f"Unknown Arrow type {spec!r}.") from error
    parts = [part.strip() for part in args.split(",")]
    try:
        if name in {"decimal", "decimal128", "decimal256"}:
            precision, scale = int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
            return (pa.decimal256 if name == "decimal256" else pa.decimal128)(precision, scale)
        if name == "timestamp":
            tz = next((p.split("=", 1)[1].strip() for p in parts[1:] if p.startswith("tz=")), None)
            return pa.timestamp(parts[0], tz=tz)
        if name in {"time32", "time64"}:
            return getattr(pa, name)(parts[0])
        if name == "duration":
            return pa.duration(parts[0])
    except (ValueError, IndexError, TypeError) as error:
        raise ValueError(f"Cannot read the Arrow type {spec!r}: {error}") from error
    raise ValueError(f"Unknown Arrow type {spec!r}.")


def parse_column_types(column_types: Mapping[str, str | pa.DataType] | pa.Schema | None) -> dict[str, pa.DataType]:
    """`column_types` option (a mapping of column -> type string, or a schema) as Arrow types."""
    if column_types is None:
        return {}
    if isinstance(column_types, pa.Schema):
        return {f.name: f.type for f in column_types}
    return {name: parse_type(spec) for name, spec in column_types.items()}


def _b64encode(array: pa.Array) -> pa.Array:
    return pa.array(
        [None if v is None else base64.b64encode(v).decode("ascii") for v in array.to_pylist()], pa.string()
    )


def _b64decode(array: pa.Array, target: pa.DataType) -> pa.Array:
    return pa.array([None if v is None else base64.b64decode(v) for v in array.to_pylist()], target)


def read_as_text(arrow_type: pa.DataType) -> bool:
    """Whether a text reader takes a column declared `arrow_type` as text and converts it after
    (`apply_column_types`): base64 binary, JSON text and booleans, whose spellings Arrow's
    parsers do not all know."""
    return is_binary(arrow_type) or is_json(arrow_type) or pa.types.is_boolean(arrow_type)


def encode_for_text(batch: pa.RecordBatch, *, temporal_as_text: bool) -> pa.RecordBatch:
    """`batch` with binary as base64, JSON as its text (and, for JSON/XLSX, decimals and
    temporals as ISO text)."""
    arrays: list[pa.Array] = []
    changed = False
    for column in batch.columns:
        t = column.type
        if is_binary(t):
            column, changed = _b64encode(column), True
        elif is_json(t):
            column, changed = column.storage.cast(pa.string()), True
        elif temporal_as_text and (pa.types.is_decimal(t) or pa.types.is_temporal(t)):
            # Arrow prints tz-aware instants as ISO 8601 with the offset ('...123456Z').
            column, changed = column.cast(pa.string()), True
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names) if changed else batch


class ColumnValueError(ValueError):
    """A column that does not fit its declared type; `value` is the first value that does not."""

    def __init__(self, message: str, *, name: str, position: int, target: pa.DataType, value: object, row: int = 0):
        super().__init__(message)
        self.name, self.position, self.target, self.value = name, position, target, value
        #: Index in the batch of the row holding `value`.
        self.row = row


def apply_column_types(batch: pa.RecordBatch, types: Mapping[str, pa.DataType], *, where: str) -> pa.RecordBatch:
    """Cast the columns named in `types` (names not in the batch are ignored, as Arrow's CSV
    reader does); base64 text becomes binary again, text booleans are read by `cast_to_bool`."""
    if not types or not any(name in types for name in batch.schema.names):
        return batch
    arrays: list[pa.Array] = []
    for position, (name, column) in enumerate(zip(batch.schema.names, batch.columns, strict=True)):
        target = types.get(name)
        if target is not None and column.type != target:
            try:
                column = _cast(column, target)
            except CAST_ERRORS as error:
                row, value, reason = first_bad_value(column, partial(_cast, target=target))
                raise ColumnValueError(
                    f"{where}: column {name!r} cannot be read as {target}: {reason}",
                    name=name,
                    position=position,
                    target=target,
                    value=value,
                    row=row,
                ) from error
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _cast(column: pa.Array, target: pa.DataType) -> pa.Array:
    if is_binary(target) and pa.types.is_string(column.type):
        return _b64decode(column, target)
    if pa.types.is_boolean(target):
        return cast_to_bool(column)
    if pa.types.is_timestamp(target) and pa.types.is_timestamp(column.type) and column.type.tz != target.tz:
        if column.type.tz is None and target.tz is not None:
            column = pc.assume_timezone(column, target.tz)
        return column.cast(target)
    return column.cast(target)


@cache
def _bool_spellings() -> tuple[pa.Array, pa.Array]:
    """Built on first use: `pa.array` imports pandas (~50 MB), which no process should pay at import."""
    return pa.array(["t", "true", "1"]), pa.array(["f", "false", "0"])


def cast_to_bool(values: pa.Array) -> pa.Array:
    """`values` as booleans; text in the spellings databases write, in any case: t/f (PostgreSQL's
    COPY), 1/0 (MySQL), true/false. Other text raises ArrowInvalid naming the first one."""
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return values.cast(pa.bool_())
    spelled_true, spelled_false = _bool_spellings()
    lowered = pc.utf8_lower(values)
    true = pc.is_in(lowered, value_set=spelled_true)
    other = pc.and_(pc.is_valid(values), pc.invert(pc.or_(true, pc.is_in(lowered, value_set=spelled_false))))
    if pc.any(other).as_py():
        first = values[pc.index(other, True).as_py()].as_py()
        raise pa.ArrowInvalid(f"{first!r} is not a boolean; write t/f, true/false or 1/0")
    return pc.if_else(pc.is_valid(values), true, pa.scalar(None, pa.bool_()))


def value_at(values: pa.Array, index: int) -> object:
    """The value at `index` as Python, or as Arrow's text where Python has no such value (the
    year 14645, or a struct holding it)."""
    try:
        return values[index].as_py()
    except (OverflowError, ValueError):
        one = values.slice(index, 1)
        if pa.types.is_nested(one.type):
            return one.to_string(indent=0, skip_new_lines=True).rsplit("\n", 1)[-1].strip("[]")
        return one.cast(pa.string())[0].as_py()


def first_bad_value(values: pa.Array, cast: Callable[[pa.Array], pa.Array]) -> tuple[int, object, str]:
    """(index, value, reason) of the first value `cast` refuses, trying them one at a time
    (only once a whole column failed)."""
    for index in range(len(values)):
        try:
            cast(values.slice(index, 1))
        except CAST_ERRORS as error:
            return index, value_at(values, index), str(error)
    return 0, None, "the values cannot be converted"
