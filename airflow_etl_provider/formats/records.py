"""Python records (dicts from JSON, rows from a sheet) to Arrow batches and back.

Used by the formats whose parser yields Python values: JSON, JSON Lines and XLSX. Columns
and types come from the first chunk (in the order keys first appear) unless `column_types`
declares them; later chunks are converted to the same schema, so every batch of one file
has one schema. A column declared `json` takes a string as JSON text (how the writers store a
JSON column) and any other value (object, array, number) as that JSON value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pyarrow as pa

from airflow_etl_provider.arrow_batches import rebatch
from airflow_etl_provider.arrow_kinds import is_json
from airflow_etl_provider.exceptions import SourceError
from airflow_etl_provider.formats.arrow_types import apply_column_types, encode_for_text


def dumps(value: Any) -> str:
    """Compact JSON text, unicode kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class RecordConverter:
    """Turns chunks of records into batches sharing the schema of the first chunk."""

    def __init__(self, name: str, declared: Mapping[str, pa.DataType], *, unit: str = "line"):
        self.name = name
        self.declared = dict(declared)
        self.unit = unit
        self.schema: pa.Schema | None = None

    def convert(self, records: list[dict[str, Any]], positions: list[int]) -> pa.RecordBatch:
        where = f"{self.name}, {self.unit}s {positions[0]}-{positions[-1]}" if records else self.name
        names = list(self.schema.names) if self.schema is not None else _key_union(records)
        if self.schema is not None:
            self._refuse_new_keys(records, positions, set(names))
        arrays = []
        for column in names:
            values = [record.get(column) for record in records]
            arrays.append(self._array(column, values, positions, where))
        batch = pa.RecordBatch.from_arrays(arrays, names=names)
        batch = apply_column_types(batch, self.declared, where=where)
        if self.schema is None:
            self.schema = batch.schema
        elif batch.schema != self.schema:
            batch = self._conform(batch, where)
        return batch

    def _array(self, column: str, values: list[Any], positions: list[int], where: str) -> pa.Array:
        if is_json(self.declared.get(column, pa.null())):
            values = [value if value is None or isinstance(value, str) else dumps(value) for value in values]
        try:
            return pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            position = _first_odd_value(values, positions)
            raise SourceError(
                f"{self.name}, {self.unit} {position}: column {column!r} mixes value types ({error}); "
                f"declare its type with column_types."
            ) from error

    def _conform(self, batch: pa.RecordBatch, where: str) -> pa.RecordBatch:
        assert self.schema is not None
        try:
            return batch.cast(self.schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as error:
            raise SourceError(
                f"{where}: values do not fit the types inferred from the first rows "
                f"({', '.join(f'{f.name} {f.type}' for f in self.schema)}): {error}; declare them with column_types."
            ) from error

    def _refuse_new_keys(self, records: list[dict[str, Any]], positions: list[int], known: set[str]) -> None:
        for record, position in zip(records, positions, strict=True):
            extra = set(record) - known
            if extra:
                raise SourceError(
                    f"{self.name}, {self.unit} {position}: field(s) {', '.join(sorted(extra))} did not appear "
                    f"in the first rows, which fixed the columns as: {', '.join(sorted(known))}."
                )

    def empty(self) -> pa.RecordBatch:
        schema = self.schema or pa.schema([(n, t) for n, t in self.declared.items()])
        return pa.RecordBatch.from_pylist([], schema=schema)


def _key_union(records: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for record in records:
        for key in record:
            seen.setdefault(key, None)
    return list(seen)


def _first_odd_value(values: list[Any], positions: list[int]) -> int:
    """Position of the first value whose Python type differs from the first non-null one."""
    first_type = next((type(v) for v in values if v is not None), None)
    for value, position in zip(values, positions, strict=True):
        if value is not None and type(value) is not first_type:
            return position
    return positions[0]


def records_to_batches(
    records: Iterable[tuple[dict[str, Any], int]], converter: RecordConverter, chunk_size: int
) -> Iterator[pa.RecordBatch]:
    """(record, position) pairs as batches of exactly `chunk_size` rows."""

    def chunks() -> Iterator[pa.RecordBatch]:
        pending: list[dict[str, Any]] = []
        positions: list[int] = []
        for record, position in records:
            if not isinstance(record, dict):
                raise SourceError(
                    f"{converter.name}, {converter.unit} {position}: expected an object (a record), "
                    f"got {type(record).__name__}."
                )
            pending.append(record)
            positions.append(position)
            if len(pending) == chunk_size:
                yield converter.convert(pending, positions)
                pending, positions = [], []
        if pending or converter.schema is None:
            yield converter.convert(pending, positions) if pending else converter.empty()

    return rebatch(chunks(), chunk_size)


def batch_records(batch: pa.RecordBatch) -> list[dict[str, Any]]:
    """A batch as JSON-ready dicts: decimals and temporals as ISO text, binary as base64."""
    return encode_for_text(batch, temporal_as_text=True).to_pylist()
