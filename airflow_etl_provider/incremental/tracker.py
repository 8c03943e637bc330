"""What flows through an incremental run: the largest cursor value read, the rows at that value
(hashed, so an append can skip them next time), NULL cursors, and the boundary rows skipped."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from airflow_etl_provider.exceptions import SourceError
from airflow_etl_provider.incremental.spec import CursorRange, CursorValue

#: Boundary rows remembered at most: beyond this many rows sharing one cursor value an append
#: cannot tell which it already loaded, and says so instead of guessing.
MAX_BOUNDARY_ROWS = 10_000


def row_hash(row: dict[str, Any]) -> str:
    """A stable digest of one row's values (what an append compares at the boundary)."""
    text = json.dumps(row, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class CursorTracker:
    """Watches the source's chunks for one run.

    :param cursor_range: the range read (its start is the boundary).
    :param skip: hashes of the rows at the last run's watermark it loaded; such a row read again
        unchanged is dropped (None: keep all).
    :param skip_at: that watermark (the range's start, unless a lag moved the start back).
    :param strict_boundary: more than MAX_BOUNDARY_ROWS rows at the maximum is an error (an
        append cannot dedup them next run); otherwise they are forgotten and the next run's
        upsert overwrites them with the same values.
    :param raise_on_missing: a NULL cursor is an error naming the column and the chunk.
    :param filter_range: drop the rows outside the range here (a source that cannot bound it itself).
    """

    def __init__(
        self,
        cursor_range: CursorRange,
        *,
        source: str,
        skip: set[str] | None = None,
        skip_at: CursorValue | None = None,
        strict_boundary: bool = False,
        raise_on_missing: bool = False,
        filter_range: bool = False,
    ) -> None:
        self.range = cursor_range
        self.source = source
        self.skip = skip or set()
        self.skip_at = skip_at
        self.strict_boundary = strict_boundary
        self.boundary_overflow = False
        self.raise_on_missing = raise_on_missing
        self.filter_range = filter_range
        self.out_of_range = 0
        self.maximum: CursorValue | None = None
        self.boundary: set[str] = set()
        self.rows = 0
        self.skipped = 0
        self.chunks = 0

    @property
    def cursor(self) -> str:
        return self.range.cursor

    def watch(self, chunks: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in chunks:
            self.chunks += 1
            if self.cursor not in batch.schema.names:
                raise SourceError(
                    f"Incremental cursor column {self.cursor!r} is not in {self.source!r} "
                    f"(columns: {', '.join(batch.schema.names)})."
                )
            column = batch.column(self.cursor)
            if self.raise_on_missing and column.null_count:
                index = pc.index(pc.is_null(column), True).as_py()
                raise SourceError(
                    f"Incremental cursor {self.cursor!r} is NULL in row {index + 1} of chunk {self.chunks} of "
                    f"{self.source!r}; pass on_cursor_missing='include' or 'exclude' to load or skip such rows."
                )
            if self.filter_range:
                batch = self._in_range(batch)
            if self.skip and self.skip_at is not None:
                batch = self._without_loaded(batch)
            self._observe(batch)
            self.rows += batch.num_rows
            yield batch

    def _in_range(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """`batch` without the rows whose cursor is outside the range (NULLs as configured)."""
        column = batch.column(self.cursor)
        keep = pa.array([True] * batch.num_rows)
        if self.range.start is not None:
            start = self._scalar(self.range.start, column)
            above = pc.greater_equal(column, start) if self.range.start_closed else pc.greater(column, start)
            keep = pc.and_(keep, above)
        if self.range.end is not None:
            keep = pc.and_(keep, pc.less(column, self._scalar(self.range.end, column)))
        keep = pc.fill_null(keep, self.range.include_missing)
        self.out_of_range += batch.num_rows - pc.sum(pc.cast(keep, pa.int64())).as_py() if batch.num_rows else 0
        return batch.filter(keep)

    def _scalar(self, value: CursorValue, column: pa.Array) -> pa.Scalar:
        try:
            return pa.scalar(value, column.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as error:
            raise SourceError(
                f"Incremental cursor {self.cursor!r} of {self.source!r} is {column.type}, which cannot be compared "
                f"with {value!r}; declare its type (e.g. column_types={{{self.cursor!r}: 'timestamp[us, tz=UTC]'}})."
            ) from error

    def _without_loaded(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """`batch` without the boundary rows the last run already appended."""
        column = batch.column(self.cursor)
        try:
            start = pa.scalar(self.skip_at, column.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as error:
            raise SourceError(
                f"Incremental cursor {self.cursor!r} of {self.source!r} is {column.type} now, but the watermark "
                f"{self.skip_at!r} was stored from another type; reset the state (airflow-etl state reset)."
            ) from error
        at_start = pc.fill_null(pc.equal(column, start), False)
        if not pc.any(at_start).as_py():
            return batch
        keep = []
        for index, (row, boundary) in enumerate(zip(batch.to_pylist(), at_start.to_pylist(), strict=True)):
            if boundary and row_hash(row) in self.skip:
                self.skipped += 1
            else:
                keep.append(index)
        return batch.take(pa.array(keep, pa.int64()))

    def _observe(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        column = batch.column(self.cursor)
        batch_max = pc.max(column).as_py()
        if batch_max is None:
            return
        if self.maximum is None or batch_max > self.maximum:
            self.maximum = batch_max
            self.boundary = set()
        if batch_max == self.maximum and not self.boundary_overflow:
            at_max = pc.fill_null(pc.equal(column, pa.scalar(batch_max, column.type)), False)
            for row in batch.filter(at_max).to_pylist():
                self.boundary.add(row_hash(row))
            if len(self.boundary) > MAX_BOUNDARY_ROWS:
                if not self.strict_boundary:
                    self.boundary_overflow, self.boundary = True, set()
                    return
                raise SourceError(
                    f"More than {MAX_BOUNDARY_ROWS} rows of {self.source!r} share cursor value {self.maximum!r}: "
                    f"an append cannot tell next run which of them it loaded; use keys=[...] (an upsert) "
                    f"or a finer cursor than {self.cursor!r}."
                )
