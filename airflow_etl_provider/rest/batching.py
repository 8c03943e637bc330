"""Rows (flat dicts) -> Arrow RecordBatches of `chunk_size` rows with a running schema.

JSON carries no schema, so types are inferred per chunk; the batcher remembers every column
and type it has seen so later chunks stay consistent with earlier ones:
- a column seen before but absent from a chunk is filled with nulls;
- a new column is added to the running schema and carried by every later chunk (earlier
  chunks, already handed on, cannot gain it);
- a column holding only nulls so far has no type yet: it stays out of the schema (and out of
  the chunks) until a value fixes its type, so no chunk carries a null-typed column whose type
  a later chunk would change. This also keeps a null parent object (`"Owner": null` after
  `"Owner": {"Name": ...}`) from adding an `Owner` column: its known children `Owner__Name`
  are filled with nulls like any absent column;
- a column whose values no longer fit its type is promoted (int64 -> double, anything ->
  string), with a warning, and keeps the promoted type from then on;
- except a column of a fixed type: declared (`column_types`) or detected as ISO 8601
  date-times when it first got a type (`column_types.py`). Its values are converted to that
  type in every chunk; one that does not convert is a `SourceError` naming the record
  (its position in the extract, and its `id` when it has one) and the field.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from itertools import chain
from typing import Any

import pyarrow as pa

from airflow_etl_provider.exceptions import SourceError
from airflow_etl_provider.formats.arrow_types import ColumnValueError, apply_column_types
from airflow_etl_provider.rest.column_types import detect_timestamp, takes_text_only
from airflow_etl_provider.types import Log

_CONVERSION_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError)


def promote(known: pa.DataType, seen: pa.DataType) -> pa.DataType:
    """The narrowest type that holds values of both `known` and `seen`."""
    if known == seen or pa.types.is_null(seen):
        return known
    if pa.types.is_null(known):
        return seen
    numeric = (pa.types.is_integer, pa.types.is_floating)
    if any(f(known) for f in numeric) and any(f(seen) for f in numeric):
        return pa.float64()
    return pa.string()


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _text_array(values: list[Any]) -> pa.Array:
    return pa.array([_as_text(v) for v in values], type=pa.string())


def _array(values: list[Any]) -> pa.Array:
    """`values` with an inferred type; values sharing no Arrow type (1 and "one") become text."""
    try:
        return pa.array(values)
    except _CONVERSION_ERRORS:
        return _text_array(values)


def _fixed_array(values: list[Any], target: pa.DataType) -> pa.Array:
    """Values for a column of fixed type, before conversion: a decimal column converts from the
    numbers' JSON text, so a digit beyond its scale is an error (a float would be rounded)."""
    return _text_array(values) if pa.types.is_decimal(target) else _array(values)


class ArrowBatcher:
    """Collects rows and emits RecordBatches of exactly `chunk_size` rows (the last may be shorter)."""

    def __init__(
        self,
        chunk_size: int,
        log: Log | None = None,
        *,
        column_types: Mapping[str, pa.DataType] | None = None,
        detect_timestamps: bool = False,
        name: str = "records",
    ) -> None:
        """`column_types` fixes the types of the named columns; `name` says where the rows come from in errors."""
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, not {chunk_size}")
        self.chunk_size = chunk_size
        self.fields: dict[str, pa.DataType] = {}
        #: Columns seen so far with nulls only, in first-seen order; not in `fields` (no type yet).
        self.untyped: dict[str, None] = {}
        self.declared = dict(column_types or {})
        self.detect_timestamps = detect_timestamps
        #: Columns whose type never changes: declared, or detected when they got their type.
        self.fixed: dict[str, pa.DataType] = {}
        self.name = name
        self._rows: list[dict[str, Any]] = []
        self._built = 0
        self._log = log or logging.getLogger(__name__)

    @property
    def schema(self) -> pa.Schema:
        return pa.schema(list(self.fields.items()))

    def add(self, rows: Iterable[dict[str, Any]]) -> Iterator[pa.RecordBatch]:
        """Buffer `rows`; yield each batch as soon as `chunk_size` rows are buffered."""
        for row in rows:
            self._rows.append(row)
            if len(self._rows) >= self.chunk_size:
                yield self._build()

    def flush(self) -> Iterator[pa.RecordBatch]:
        """Yield what is left as a final, shorter batch."""
        if self._rows:
            yield self._build()

    def _build(self) -> pa.RecordBatch:
        rows, self._rows = self._rows, []
        first, self._built = self._built, self._built + len(rows)
        arrays = [
            _fixed_array(values, self.fixed[name]) if name in self.fixed else self._column(name, values)
            for name, values in ((name, [row.get(name) for row in rows]) for name in list(self.fields))
        ]
        for name in dict.fromkeys(chain.from_iterable(rows)):  # every key, in first-seen order
            if name not in self.fields:
                inferred = _array([row.get(name) for row in rows])
                fixed = self.declared.get(name) or (detect_timestamp(inferred) if self.detect_timestamps else None)
                if fixed is not None:
                    self.untyped.pop(name, None)
                    self.fields[name] = self.fixed[name] = fixed
                    arrays.append(_fixed_array([row.get(name) for row in rows], fixed))
                elif pa.types.is_null(inferred.type):  # no type yet: left out for now
                    self.untyped[name] = None
                else:
                    self.untyped.pop(name, None)
                    self.fields[name] = inferred.type
                    arrays.append(inferred)
        if not arrays:  # every value null: keep the rows, in a batch without columns
            return pa.RecordBatch.from_struct_array(pa.array([{}] * len(rows), type=pa.struct([])))
        batch = pa.RecordBatch.from_arrays(arrays, names=list(self.fields))
        if self.fixed:
            batch = self._convert_fixed(batch, rows, first)
        return batch

    def _convert_fixed(self, batch: pa.RecordBatch, rows: list[dict[str, Any]], first: int) -> pa.RecordBatch:
        """The fixed columns converted to their types (the file formats' conversion), or an error naming the record."""
        for name, target in self.fixed.items():
            column = batch.column(name)
            if takes_text_only(target) and not (
                pa.types.is_string(column.type) or pa.types.is_null(column.type) or column.type == target
            ):
                row = next(i for i, r in enumerate(rows) if r.get(name) is not None and not isinstance(r[name], str))
                raise self._value_error(rows, first, row, name, target, "not text")
        try:
            return apply_column_types(batch, self.fixed, where=self.name)
        except ColumnValueError as error:
            reason = str(error).split(f"cannot be read as {error.target}: ", 1)[-1]
            raise self._value_error(rows, first, error.row, error.name, error.target, reason) from error

    def _value_error(
        self, rows: list[dict[str, Any]], first: int, row: int, name: str, target: pa.DataType, reason: str
    ) -> SourceError:
        record = rows[row]
        key = f" (id {record['id']!r})" if "id" in record else ""
        how = "declared in column_types" if name in self.declared else "detected in the first values"
        return SourceError(
            f"{self.name}, record {first + row}{key}: field {name!r} holds {record.get(name)!r}, which cannot be "
            f"read as {target} ({how}): {reason}. Declare the column's type with column_types"
            + ("" if name in self.declared else ", or turn detect_timestamps off")
            + "."
        )

    def _column(self, name: str, values: list[Any]) -> pa.Array:
        # Infer first, then fit to the known type: converting straight to a known int64 type
        # would silently truncate 2.5 to 2.
        inferred = _array(values)
        known = self.fields[name]
        if inferred.type == known:
            return inferred
        target = promote(known, inferred.type)
        if target != known:
            self._log.warning("Column %r changed type from %s to %s in a later chunk", name, known, target)
            self.fields[name] = target
        if pa.types.is_string(target):
            return _text_array(values)
        return inferred.cast(target)
