"""One incremental run of a transfer: the range from the stored watermark, the source read with
that range pushed down, and the new watermark stored once the destination has committed."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from airflow_etl_provider.exceptions import UnsupportedOperationError
from airflow_etl_provider.hooks.base import ConnectorHook
from airflow_etl_provider.incremental.spec import CursorRange, Incremental, display, to_json
from airflow_etl_provider.incremental.state import WatermarkStore, watermark_of
from airflow_etl_provider.incremental.tracker import CursorTracker
from airflow_etl_provider.types import LoadMode


@dataclass
class IncrementalRun:
    """What one run of `spec` reads and, after the load committed, stores."""

    spec: Incremental
    store: WatermarkStore
    range: CursorRange
    tracker: CursorTracker
    previous: dict[str, Any] | None = None
    saved: bool = field(default=False)

    @classmethod
    def begin(
        cls, spec: Incremental, *, uri: str, context: Any, source: str, mode: str, in_task: bool
    ) -> IncrementalRun:
        store = WatermarkStore(uri, in_task=in_task)
        previous = None if spec.stateless else store.load()
        cursor_range = spec.range(watermark_of(previous), context)
        append = mode == LoadMode.APPEND.value
        # Rows at the boundary the last run loaded, unchanged since: skipped, so a run moves only what changed.
        skip = set(previous.get("boundary") or ()) if previous and cursor_range.stateful else None
        tracker = CursorTracker(
            cursor_range,
            source=source,
            skip=skip,
            skip_at=watermark_of(previous) if skip else None,
            strict_boundary=append,
            raise_on_missing=spec.on_cursor_missing == "raise",
        )
        return cls(spec, store, cursor_range, tracker, previous)

    def source_read(self, hook: ConnectorHook, source: str, options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """`source` and its extract options with the range pushed down to the source: a SQL
        WHERE, or a REST API's query parameters (its rows are also filtered here)."""
        from airflow_etl_provider.hooks.file_base import FileConnectorHook
        from airflow_etl_provider.hooks.sql_base import SqlConnectorHook
        from airflow_etl_provider.incremental.sql import ranged_select

        if isinstance(hook, FileConnectorHook):
            return source, self._file_options(options)
        if hook.conn_type == "rest_api":
            self.tracker.filter_range = True
            return source, {**options, "params": {**(options.get("params") or {}), **self._query_parameters()}}
        if not isinstance(hook, SqlConnectorHook):
            raise UnsupportedOperationError(
                hook.conn_type, "incremental extract", ["postgres", "mysql", "sqlite", "rest_api", "filesystem", "aws"]
            )
        select, parameters = ranged_select(
            hook, source, self.range, options.get("parameters"), row_order=self.spec.row_order
        )
        return select, {**options, "parameters": parameters}

    def _file_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Files by key order: the cursor is the file name column, and the files named up to the
        watermark (loaded before: files do not change under their name) are not opened."""
        if options.get("file_name_column") != self.range.cursor:
            raise ValueError(
                "An incremental file source is read by key order: give source_options="
                f"{{'file_name_column': {self.range.cursor!r}}} so the cursor {self.range.cursor!r} "
                "is each row's file name."
            )
        if self.previous is not None and self.range.start_closed and self.spec.lag is None:
            self.range = replace(self.range, start_closed=False)
            self.tracker.range = self.range
        self.tracker.boundary_overflow = True  # a file's rows need no boundary: the next run opens it not
        start_option = "names_from" if self.range.start_closed else "names_after"
        bounds = {start_option: self.range.start, "names_before": self.range.end}
        for name, value in bounds.items():
            if value is not None and not isinstance(value, str):
                raise ValueError(f"An incremental file source's range is file names (text); got {value!r} for {name}.")
        self.tracker.filter_range = True
        return {**options, **{name: value for name, value in bounds.items() if value is not None}}

    def _query_parameters(self) -> dict[str, str]:
        bounds = ((self.spec.start_param, self.range.start), (self.spec.end_param, self.range.end))
        return {name: _as_query_value(value) for name, value in bounds if name and value is not None}

    def new_state(self) -> dict[str, Any] | None:
        """What the next run starts from: the largest cursor loaded (never lower than before)."""
        if not self.range.stateful:
            return None
        maximum = self.tracker.maximum
        if maximum is None:  # nothing new: the watermark stays
            return self.previous
        boundary = sorted(self.tracker.boundary)
        previous_max = watermark_of(self.previous)
        if previous_max is not None and maximum == previous_max and self.previous:
            boundary = sorted(set(boundary) | set(self.previous.get("boundary") or ()))
        return {"cursor": self.range.cursor, "watermark": to_json(maximum), "boundary": boundary}

    def commit(self) -> bool:
        """Store the new watermark; call only after the destination committed."""
        state = self.new_state()
        if state is None or state is self.previous:
            return False
        self.saved = self.store.save(state)
        return self.saved

    def summary(self) -> dict[str, Any]:
        """The XCom summary's `incremental` entry (and, with `state`, the Asset event's)."""
        return {
            "cursor": self.range.cursor,
            "from": display(self.range.start),
            "to": display(self.tracker.maximum if self.range.end is None else self.range.end),
            "max_loaded": display(self.tracker.maximum),
            "rows": self.tracker.rows,
            "boundary_rows_skipped": self.tracker.skipped,
            "out_of_range_rows_dropped": self.tracker.out_of_range,
            "stateful": self.range.stateful,
        }

    def event_extra(self) -> dict[str, Any]:
        extra = self.summary()
        state = self.new_state()
        if state is not None:
            extra["state"] = state
        return extra


def _as_query_value(value: Any) -> str:
    """A cursor bound as a query parameter: ISO 8601 for times and dates, digits for numbers."""
    import datetime as dt

    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
