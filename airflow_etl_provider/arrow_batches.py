"""Re-chunking a stream of RecordBatches into batches of exactly `chunk_size` rows.

Readers and drivers produce batches of whatever size suits them (a CSV block, a Parquet row
group, a cursor fetch); the contract promises `chunk_size` rows per batch. `rebatch` fixes the
sizes while holding at most one chunk's worth of rows (slices share the source buffers).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pyarrow as pa


def byte_slices(batch: pa.RecordBatch, target_bytes: int) -> Iterator[pa.RecordBatch]:
    """`batch` as zero-copy slices of about `target_bytes` of Arrow data each (none for no rows):
    what an encoder turns into one payload at a time, so a chunk is never encoded whole."""
    if batch.num_rows == 0:
        return
    rows = max(1, batch.num_rows * target_bytes // max(batch.nbytes, 1))
    for offset in range(0, batch.num_rows, rows):
        yield batch.slice(offset, rows)


def _combine(parts: list[pa.RecordBatch]) -> pa.RecordBatch:
    return parts[0] if len(parts) == 1 else pa.concat_batches(parts)


def rebatch(batches: Iterable[pa.RecordBatch], chunk_size: int) -> Iterator[pa.RecordBatch]:
    """Yield batches of exactly `chunk_size` rows (the last may be shorter).

    Every input batch must have the same schema. A stream whose batches hold no row at all
    yields one empty batch, so that the schema still reaches the destination.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}.")
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    empty: pa.RecordBatch | None = None
    yielded = False
    for batch in batches:
        if batch.num_rows == 0:
            empty = empty or batch
            continue
        offset = 0
        while offset < batch.num_rows:
            take = min(chunk_size - pending_rows, batch.num_rows - offset)
            pending.append(batch.slice(offset, take))
            pending_rows += take
            offset += take
            if pending_rows == chunk_size:
                yield _combine(pending)
                yielded = True
                pending, pending_rows = [], 0
    if pending:
        yield _combine(pending)
    elif not yielded and empty is not None:
        yield empty


def or_empty(batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The batches, or one empty batch of `schema` when there are none (a header-only file)."""
    yielded = False
    for batch in batches:
        yielded = True
        yield batch
    if not yielded:
        yield pa.RecordBatch.from_pylist([], schema=schema)
