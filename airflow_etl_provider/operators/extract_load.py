"""ExtractLoadOperator: stream any source connection into any destination connection.

The source hook yields Arrow chunks; an optional transform runs on each; the destination
hook loads them. The source reads ahead on a worker thread, by default at most two chunks
beyond the one being loaded, so memory is a few chunks whatever the data set's size.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from airflow.sdk import BaseOperator

from airflow_etl_provider.background import ReadAhead, closed_after
from airflow_etl_provider.exceptions import EtlError
from airflow_etl_provider.hooks.base import DEFAULT_CHUNK_SIZE, ConnectorHook
from airflow_etl_provider.hooks.registry import hook_for
from airflow_etl_provider.types import LoadMode, Operation

if TYPE_CHECKING:
    from airflow.sdk import Context

Transform = Callable[[Any], Any]

#: Chunks the source may have ready beyond the one being loaded by default: enough to keep
#: both sides busy, small enough that memory stays a few chunks whatever the data set's size.
READ_AHEAD_CHUNKS = 2


def _wants_pandas(transform: Transform) -> bool:
    """A transform asks for pandas by annotating its first parameter as a DataFrame."""
    try:
        parameters = list(inspect.signature(transform).parameters.values())
    except (TypeError, ValueError):
        return False
    if not parameters:
        return False
    annotation = parameters[0].annotation
    name = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return name.split(".")[-1] == "DataFrame"


def _as_batches(value: Any, transform_name: str) -> list[pa.RecordBatch]:
    """What a transform returned, as record batches (None drops the chunk)."""
    if value is None:
        return []
    if isinstance(value, pa.RecordBatch):
        return [value]
    if isinstance(value, pa.Table):
        return value.to_batches()
    if type(value).__name__ == "DataFrame":
        return pa.Table.from_pandas(value, preserve_index=False).to_batches()
    raise EtlError(
        f"transform {transform_name!r} returned {type(value).__name__}; return a pyarrow RecordBatch or Table, "
        "a pandas DataFrame, or None to drop the chunk."
    )


class ExtractLoadOperator(BaseOperator):
    """Move data from `source` on one connection to `destination` on another, chunk by chunk.

    :param source_conn_id: Airflow connection to read from (any registered connector type).
    :param source: table, query, file, glob or endpoint, as the source connector reads it.
    :param source_options: extra keyword arguments for the source connector's `extract`.
    :param destination_conn_id: Airflow connection to write to.
    :param destination: table, file or endpoint to write.
    :param destination_options: extra keyword arguments for the destination's `load`.
    :param mode: `append`, `replace` or `upsert`.
    :param keys: columns identifying a row, required for `upsert`.
    :param chunk_size: rows per chunk; memory is bounded by this, not by the data size.
    :param transform: optional callable applied to each chunk. It receives a pyarrow
        RecordBatch, or a pandas DataFrame when its first parameter is annotated as one, and
        returns a RecordBatch, Table, DataFrame, or None to drop the chunk.
    :param read_ahead: chunks the source may read ahead of the destination, on a worker thread
        (default 2); 0 reads in the task's own thread, one chunk at a time, for the least memory.
    """

    template_fields: Sequence[str] = ("source", "destination", "source_options", "destination_options")
    template_fields_renderers = {"source": "sql", "source_options": "json", "destination_options": "json"}
    ui_color = "#e8f4fd"

    def __init__(
        self,
        *,
        source_conn_id: str,
        source: str,
        destination_conn_id: str,
        destination: str,
        source_options: dict[str, Any] | None = None,
        destination_options: dict[str, Any] | None = None,
        mode: str = LoadMode.APPEND.value,
        keys: Sequence[str] | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        transform: Transform | None = None,
        read_ahead: int = READ_AHEAD_CHUNKS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_conn_id = source_conn_id
        self.source = source
        self.destination_conn_id = destination_conn_id
        self.destination = destination
        self.source_options = source_options or {}
        self.destination_options = destination_options or {}
        self.mode = LoadMode.parse(mode).value
        self.keys = list(keys) if keys else None
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive number of rows, got {chunk_size}.")
        self.chunk_size = chunk_size
        self.transform = transform
        if read_ahead < 0:
            raise ValueError(f"read_ahead must be 0 (no read-ahead) or a positive number of chunks, got {read_ahead}.")
        self.read_ahead = read_ahead
        if self.mode == LoadMode.UPSERT.value and not self.keys:
            raise ValueError("mode='upsert' needs keys=[...]: the columns that identify a row.")

    @cached_property
    def source_hook(self) -> ConnectorHook:
        return hook_for(self.source_conn_id)

    @cached_property
    def destination_hook(self) -> ConnectorHook:
        return hook_for(self.destination_conn_id)

    def _reading(self, extracted: Iterator[pa.RecordBatch]) -> AbstractContextManager[Iterator[pa.RecordBatch]]:
        """The source's chunks, read ahead on a worker thread while the destination writes
        (unless `read_ahead` is 0); leaving the block stops and closes the source."""
        if self.read_ahead == 0:
            return closed_after(extracted)
        return ReadAhead(extracted, depth=self.read_ahead, name=f"{self.task_id}-extract")

    def execute(self, context: Context) -> dict[str, Any]:
        source_hook, destination_hook = self.source_hook, self.destination_hook
        source_hook.require(Operation.EXTRACT)
        destination_hook.require(Operation.LOAD)
        destination_hook.require_load_mode(self.mode)
        self.log.info(
            "Streaming %s (%s) -> %s (%s), mode=%s, chunk_size=%d, read_ahead=%d",
            self.source,
            self.source_conn_id,
            self.destination,
            self.destination_conn_id,
            self.mode,
            self.chunk_size,
            self.read_ahead,
        )
        progress = _Progress(self.log)
        with source_hook:
            extracted = source_hook.extract(self.source, chunk_size=self.chunk_size, **self.source_options)
            with self._reading(extracted) as source_chunks:
                chunks: Iterable[pa.RecordBatch] = source_chunks
                if self.transform is not None:
                    chunks = _transformed(chunks, self.transform)
                with destination_hook:
                    result = destination_hook.load(
                        progress.track(chunks),
                        self.destination,
                        mode=self.mode,
                        keys=self.keys,
                        **self.destination_options,
                    )
        progress.finish()
        summary = {
            "rows": progress.rows,
            "chunks": progress.chunks,
            "bytes": progress.bytes,
            "seconds": round(progress.elapsed, 3),
            "rows_per_second": round(progress.rows / progress.elapsed, 1) if progress.elapsed else None,
            "source_conn_id": self.source_conn_id,
            "source": self.source,
            "destination_conn_id": self.destination_conn_id,
            "destination": self.destination,
            "mode": self.mode,
            "load": result.to_dict(),
        }
        self.log.info(
            "Done: %d rows in %d chunks (%d bytes) in %.2f s",
            progress.rows,
            progress.chunks,
            progress.bytes,
            progress.elapsed,
        )
        self.log.info("Summary (XCom return value): %s", json.dumps(summary, default=str))
        return summary


def _transformed(chunks: Iterable[pa.RecordBatch], transform: Transform) -> Iterator[pa.RecordBatch]:
    """Apply the user's transform to each chunk, in Arrow or (when asked for) pandas."""
    name = getattr(transform, "__name__", repr(transform))
    if _wants_pandas(transform):
        import pandas as pd

        for batch in chunks:
            yield from _as_batches(transform(batch.to_pandas(types_mapper=pd.ArrowDtype)), name)
    else:
        for batch in chunks:
            yield from _as_batches(transform(batch), name)


class _Progress:
    """Counts what flows to the destination and logs one line per chunk."""

    def __init__(self, log: Any) -> None:
        self.log = log
        self.rows = 0
        self.chunks = 0
        self.bytes = 0
        self.started = time.monotonic()
        self.elapsed = 0.0

    def track(self, chunks: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in chunks:
            self.rows += batch.num_rows
            self.chunks += 1
            self.bytes += batch.nbytes
            self.elapsed = time.monotonic() - self.started
            rate = self.rows / self.elapsed if self.elapsed else 0.0
            self.log.info(
                "chunk %d: %d rows (%d so far, %.0f rows/s, %.1f MB)",
                self.chunks,
                batch.num_rows,
                self.rows,
                rate,
                self.bytes / 1e6,
            )
            yield batch

    def finish(self) -> None:
        """Stop the clock once the destination has committed."""
        self.elapsed = time.monotonic() - self.started
