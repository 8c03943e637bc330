"""ExtractLoadOperator: stream any source connection into any destination connection.

The source hook yields Arrow chunks; an optional transform runs on each; the destination
hook loads them. The source reads ahead on a worker thread, by default at most two chunks
beyond the one being loaded, so memory is a few chunks whatever the data set's size; after
each chunk, Arrow's memory pool hands back the pages it keeps.

Each transfer announces what it read and wrote: an Asset event on its destination (through an
AssetAlias declared at parse time, because the Asset URI needs the connection's host, database
or bucket, which a DAG file must not read) and, when the OpenLineage provider is installed,
OpenLineage datasets with their schema, row count and column lineage.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa
from airflow.sdk import Asset, AssetAlias, BaseOperator

from airflow_etl_provider.background import ReadAhead, closed_after
from airflow_etl_provider.exceptions import EtlError
from airflow_etl_provider.hooks.base import DEFAULT_CHUNK_SIZE, ConnectorHook
from airflow_etl_provider.hooks.registry import hook_for
from airflow_etl_provider.incremental.drift import evolving, sql_evolver
from airflow_etl_provider.incremental.run import IncrementalRun
from airflow_etl_provider.incremental.spec import Incremental
from airflow_etl_provider.lineage.datasets import LineageDataset
from airflow_etl_provider.lineage.transfer import TransferLineage, asset_event_extra
from airflow_etl_provider.types import LoadMode, LoadResult, Operation

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
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


def outlet_alias_name(destination_conn_id: str, destination: str) -> str:
    """The AssetAlias a transfer declares at parse time: its destination as written in the DAG
    (templates unrendered); each run attaches the destination's rendered Asset to it."""
    return f"etl:{destination_conn_id}:{destination}"


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
    :param incremental: move only the rows past the last run's watermark (see `Incremental` and
        docs/incremental.md). With keys, the load is an upsert; without, an append.

    Unless `outlets` are given, the task's outlet is `AssetAlias(outlet_alias_name(...))` and each
    successful run emits an event for the destination's Asset (`airflow_etl_provider.lineage.asset_uri`)
    with `{"rows", "bytes", "chunks", "mode"}` (and `incremental` for an incremental run) in its
    extra; unless `inlets` are given, the
    source's Assets become the inlets at run time. Given outlets that are Assets get the same
    extra keys in their events.
    """

    template_fields: Sequence[str] = ("source", "destination", "source_options", "destination_options")
    template_fields_renderers = {"source": "sql", "source_options": "json", "destination_options": "json"}
    ui_color = "#e8f4fd"
    #: Whether the destination is a dataset users see (False for the staging of a partitioned
    #: transfer's part: its publish step announces the real destination).
    announces_destination: ClassVar[bool] = True

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
        incremental: Incremental | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        #: The alias this operator declared as its outlet; None when the DAG gave its own outlets.
        self.outlet_alias: AssetAlias | None = None
        if not self.outlets and self.announces_destination:
            self.outlet_alias = AssetAlias(name=outlet_alias_name(destination_conn_id, destination))
            self.outlets = [self.outlet_alias]
        self._own_inlets = not self.inlets
        self.lineage: TransferLineage | None = None
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
        self.incremental = incremental
        if incremental is not None:
            self.mode = incremental_mode(self.mode, self.keys, incremental)
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
        source_hook.check_options(Operation.EXTRACT, self.source, self.source_options)
        destination_hook.check_options(Operation.LOAD, self.destination, self.destination_options)
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
        lineage = self._resolve_lineage()
        progress = _Progress(self.log)
        read_schema = _FirstSchema()
        incremental = self._begin_incremental(context, lineage)
        direct = self._load_directly(source_hook, destination_hook) if incremental is None else None
        if direct is not None:
            result, progress.schema = direct
            progress.count(result)
        else:
            result = self._load_chunks(source_hook, destination_hook, progress, read_schema, incremental)
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
        if incremental is not None:
            # The destination has committed: only now may the watermark move.
            incremental.commit()
            summary["incremental"] = incremental.summary()
            self.log.info(
                "Incremental: read %s, %d rows, %d boundary rows already loaded skipped; watermark %s",
                incremental.range.describe(),
                incremental.tracker.rows,
                incremental.tracker.skipped,
                _watermark_fate(incremental),
            )
        self.log.info(
            "Done: %d rows in %d chunks (%d bytes) in %.2f s",
            progress.rows,
            progress.chunks,
            progress.bytes,
            progress.elapsed,
        )
        self.log.info("Summary (XCom return value): %s", json.dumps(summary, default=str))
        lineage.input_schema = read_schema.schema if self.transform is not None else progress.schema
        lineage.output_schema = progress.schema
        lineage.rows = progress.rows
        lineage.bytes = result.bytes or progress.bytes
        files = result.details.get("files")
        lineage.files = len(files) if isinstance(files, list) else None
        extra = asset_event_extra(lineage, chunks=progress.chunks, mode=self.mode)
        if incremental is not None:
            extra["incremental"] = incremental.event_extra()
        if self.announces_destination:
            self._announce(context, lineage, extra)
        return summary

    def _load_directly(
        self, source_hook: ConnectorHook, destination_hook: ConnectorHook
    ) -> tuple[LoadResult, pa.Schema] | None:
        """The destination's own way from this source, when it has one and no transform runs."""
        if self.transform is not None:
            return None
        with destination_hook:
            return destination_hook.load_from(
                source_hook,
                self.source,
                self.source_options,
                self.destination,
                mode=self.mode,
                keys=self.keys,
                **self.destination_options,
            )

    def _load_chunks(
        self,
        source_hook: ConnectorHook,
        destination_hook: ConnectorHook,
        progress: _Progress,
        read_schema: _FirstSchema,
        incremental: IncrementalRun | None,
    ) -> LoadResult:
        """Stream the source's Arrow chunks (transformed, watched for the watermark) into the destination."""
        with source_hook:
            source, source_options = self.source, self.source_options
            if incremental is not None:
                source, source_options = incremental.source_read(source_hook, source, source_options)
            extracted = _releasing(source_hook.extract(source, chunk_size=self.chunk_size, **source_options))
            with self._reading(extracted) as source_chunks:
                chunks: Iterable[pa.RecordBatch] = source_chunks
                if incremental is not None:
                    chunks = incremental.tracker.watch(chunks)
                if self.transform is not None:
                    chunks = _transformed(read_schema.watch(chunks), self.transform)
                if incremental is not None and _is_sql(destination_hook):
                    evolve = sql_evolver(
                        destination_hook, self.destination, incremental.spec.schema_evolution, self.log
                    )
                    chunks = evolving(chunks, evolve)
                with destination_hook:
                    return destination_hook.load(
                        _releasing(progress.track(chunks)),
                        self.destination,
                        mode=self.mode,
                        keys=self.keys,
                        **self.destination_options,
                    )

    def _begin_incremental(self, context: Context, lineage: TransferLineage) -> IncrementalRun | None:
        """The incremental run's range, from the watermark stored under the destination's Asset URI."""
        if self.incremental is None:
            return None
        if lineage.output is None:
            raise EtlError(
                f"Incremental load into {self.destination!r} on {self.destination_conn_id!r}: the destination has "
                "no Asset URI to keep the watermark under; name a table, file or folder."
            )
        run = IncrementalRun.begin(
            self.incremental,
            uri=lineage.output.uri,
            context=context,
            source=self.source,
            mode=self.mode,
            in_task=context.get("ti") is not None,
        )
        self.log.info("Incremental: reading %s (watermark under %s)", run.range.describe(), lineage.output.uri)
        return run

    # -- lineage -------------------------------------------------------------------------

    def _resolve_lineage(self) -> TransferLineage:
        """The source's and destination's datasets, named from the rendered fields and the connections."""
        self.lineage = TransferLineage.resolve(self.source_hook, self.source, self.destination_hook, self.destination)
        if self.transform is not None:
            self.lineage.transform = getattr(self.transform, "__name__", repr(self.transform))
        return self.lineage

    def _announce(self, context: Context, lineage: TransferLineage, extra: dict[str, Any]) -> None:
        """Inlets, the outlet Asset event with the transfer's figures, and the hook lineage collector."""
        from airflow.sdk.lineage import get_hook_lineage_collector

        if self._own_inlets:
            self.inlets = [asset for asset in map(self._asset, lineage.inputs) if asset is not None]
        # Outside the task runner (an `execute(context={})` call) there are no events to record.
        if (outlet_events := context.get("outlet_events")) is not None:
            self._record_event(outlet_events, lineage.output, extra)
        collector = get_hook_lineage_collector()
        for dataset in lineage.inputs:
            collector.add_input_asset(context=self.source_hook, uri=dataset.uri)
        if lineage.output is not None:
            collector.add_output_asset(context=self.destination_hook, uri=lineage.output.uri)

    def _record_event(self, outlet_events: Any, output: LineageDataset | None, extra: dict[str, Any]) -> None:
        """The destination's Asset event through the declared alias; or, when the DAG gave its own
        outlets, the transfer's figures added to each given Asset's event (its own keys kept)."""
        if self.outlet_alias is None:
            for outlet in self.outlets:
                if isinstance(outlet, Asset):
                    event_extra = outlet_events[outlet].extra
                    for key, value in extra.items():
                        event_extra.setdefault(key, value)
        elif output is not None and (asset := self._asset(output)) is not None:
            outlet_events[self.outlet_alias].add(asset, extra=extra)
            self.log.info("Asset event for %s: %s", asset.uri, json.dumps(extra))

    def _asset(self, dataset: LineageDataset) -> Asset | None:
        """The Asset of `dataset`; None, with a warning, when Airflow refuses its URI (a scheme's
        normaliser from another provider): the data has moved, lineage must not fail the task."""
        try:
            return Asset(uri=dataset.uri)
        except ValueError as error:
            self.log.warning("No Asset for %s: Airflow refuses the URI (%s)", dataset.uri, error)
            return None

    def _lineage_now(self) -> TransferLineage:
        return self.lineage if self.lineage is not None else self._resolve_lineage()

    def _openlineage(self) -> OperatorLineage:
        from airflow_etl_provider.hooks.sql_base import SqlConnectorHook
        from airflow_etl_provider.lineage.openlineage import operator_lineage

        lineage = self._lineage_now()
        hook = self.source_hook
        return operator_lineage(lineage, hook if isinstance(hook, SqlConnectorHook) else None)

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        """What the transfer will read and write (the OpenLineage listener calls this)."""
        return self._openlineage()

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """The datasets with the schema moved, the rows and bytes written and column lineage."""
        return self._openlineage()

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> OperatorLineage:
        """The datasets the failed transfer read and meant to write (no statistics: nothing was written)."""
        return self._openlineage()


def incremental_mode(mode: str, keys: list[str] | None, incremental: Incremental) -> str:
    """The load mode of an incremental transfer asked for `mode`, or the error for one it cannot take.

    Sling's rule: a cursor with keys upserts the new rows, a cursor alone appends them."""
    if mode == LoadMode.REPLACE.value:
        raise ValueError(
            f"incremental=Incremental(cursor={incremental.cursor!r}) with mode='replace' would replace the table "
            "with the changed rows only; use mode='upsert' with keys, or 'append'."
        )
    if keys and mode == LoadMode.APPEND.value:
        mode = LoadMode.UPSERT.value
    if incremental.lag is not None and mode != LoadMode.UPSERT.value:
        raise ValueError(
            "Incremental(lag=...) re-reads rows already loaded; an append would duplicate them: give keys=[...]."
        )
    return mode


def _is_sql(hook: ConnectorHook) -> bool:
    from airflow_etl_provider.hooks.sql_base import SqlConnectorHook

    return isinstance(hook, SqlConnectorHook)


def _watermark_fate(incremental: IncrementalRun) -> str:
    if not incremental.range.stateful:
        return "unchanged (a stateless range)"
    return "stored" if incremental.saved else "kept in the Asset event"


def _releasing(chunks: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """`chunks`, handing back to the system what Arrow's memory pool keeps after each one.

    mimalloc (the default pool) keeps each thread's freed pages for reuse: over a transfer that
    is tens of megabytes besides the chunks in flight. This runs on the thread that takes the
    chunks (the read-ahead worker for the source's), whose pages it frees; closing it closes
    `chunks` on that thread.
    """
    pool = pa.default_memory_pool()
    with closed_after(iter(chunks)) as items:
        for batch in items:
            yield batch
            pool.release_unused()


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
        self.schema: pa.Schema | None = None

    def track(self, chunks: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in chunks:
            if self.schema is None:
                self.schema = batch.schema
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

    def count(self, result: LoadResult) -> None:
        """What a load that took no chunks (`load_from`) wrote."""
        self.rows, self.chunks, self.bytes = result.rows, result.chunks, result.bytes

    def finish(self) -> None:
        """Stop the clock once the destination has committed."""
        self.elapsed = time.monotonic() - self.started


class _FirstSchema:
    """Remembers the schema of the first chunk that passes (what the source read, before a transform)."""

    def __init__(self) -> None:
        self.schema: pa.Schema | None = None

    def watch(self, chunks: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in chunks:
            if self.schema is None:
                self.schema = batch.schema
            yield batch
