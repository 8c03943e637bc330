"""`Incremental`: which rows of a source a run moves, by a cursor column (dlt's parameter set).

A run reads the range `[start, end)` of the cursor: `start` is the stored watermark (the largest
cursor value a previous run loaded) minus `lag`, or `initial` on the first run; `end` is open
unless given. The start is closed by default, so rows that share the watermark's value and
arrived after the last run are not lost; the rows at that boundary already loaded are skipped
(by their keys in an upsert, by a hash of the row in an append).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

CursorValue = int | float | str | dt.date | dt.datetime

RANGE_STARTS = ("closed", "open")
ON_CURSOR_MISSING = ("raise", "include", "exclude")
ROW_ORDERS = ("asc", "desc")
SCHEMA_EVOLUTIONS = ("add_columns", "freeze", "discard")


def parse_cursor_value(value: Any, what: str) -> CursorValue:
    """A cursor bound as given in a DAG: ints stay ints, ISO 8601 text becomes a date or datetime."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a timestamp, date, number or text, got a bool ({value!r}).")
    if isinstance(value, int | float | dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return dt.date.fromisoformat(text)
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return value
    raise ValueError(f"{what} must be a timestamp, date, number or ISO 8601 text, got {type(value).__name__}.")


def to_json(value: CursorValue) -> dict[str, Any]:
    """A cursor value as JSON for the state store, with its kind so it comes back the same type."""
    if isinstance(value, dt.datetime):
        return {"type": "datetime", "value": value.isoformat()}
    if isinstance(value, dt.date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, int):
        return {"type": "int", "value": value}
    if isinstance(value, float):
        return {"type": "float", "value": value}
    return {"type": "str", "value": str(value)}


def from_json(data: dict[str, Any]) -> CursorValue:
    """The inverse of `to_json`."""
    kind, value = data.get("type"), data.get("value")
    if kind in ("datetime", "date") and not isinstance(value, str):
        raise ValueError(f"Stored cursor value {data!r} is not ISO 8601 text.")
    if kind == "datetime":
        return dt.datetime.fromisoformat(str(value))
    if kind == "date":
        return dt.date.fromisoformat(str(value))
    if kind == "int":
        return int(value)  # type: ignore[arg-type]
    if kind == "float":
        return float(value)  # type: ignore[arg-type]
    if kind == "str":
        return str(value)
    raise ValueError(f"Unknown stored cursor value {data!r}: expected a 'type' of datetime, date, int, float or str.")


def display(value: CursorValue | None) -> str | int | float | None:
    """A cursor value for the XCom summary, the log and the Asset event (JSON-safe)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class CursorRange:
    """The cursor range one run reads: `start` (closed or open) up to `end` (always open)."""

    cursor: str
    start: CursorValue | None
    end: CursorValue | None
    start_closed: bool = True
    include_missing: bool = False
    #: False for a run given `end` (a backfill or one partition): it never moves the watermark.
    stateful: bool = True

    def describe(self) -> str:
        low = "-inf" if self.start is None else display(self.start)
        high = "+inf" if self.end is None else display(self.end)
        return f"{self.cursor} in {'[' if self.start_closed else '('}{low}, {high})"


@dataclass(frozen=True)
class Incremental:
    """Move only the rows whose `cursor` column is past the last run's watermark.

    :param cursor: the column that grows when a row is added or changed (timestamp, date or integer).
    :param initial: where the first run starts (None: the first run reads every row).
    :param end: where the range ends (exclusive). Given, the run is stateless: it neither reads
        nor moves the stored watermark (backfills, parallel partitions).
    :param lag: re-read this much before the watermark (a timedelta for time cursors, a number
        for integer cursors), for rows committed late at the source. Needs keys (an upsert).
    :param range_start: "closed" (>=, default: loses no row that shares the watermark's value)
        or "open" (>).
    :param on_cursor_missing: rows whose cursor is NULL: "raise" (default), "include" or "exclude".
    :param row_order: "asc" or "desc" orders the source by the cursor; None reads in the source's order.
    :param use_data_interval: read Airflow's data interval `[data_interval_start, data_interval_end)`
        instead of the watermark (stateless, as with `end`).
    :param start_param: REST sources: the query parameter that takes the range's start (e.g.
        "since", "updated_after"); the rows are filtered client-side as well.
    :param end_param: REST sources: the query parameter that takes the range's end.
    :param schema_evolution: a column the source gained, for a SQL destination: "add_columns"
        (default: ALTER TABLE ... ADD COLUMN before the load), "freeze" (refuse, naming it) or
        "discard" (drop it). A widened column type is refused whatever this says.
    """

    cursor: str
    initial: Any = None
    end: Any = None
    lag: Any = None
    range_start: Literal["closed", "open"] = "closed"
    on_cursor_missing: Literal["raise", "include", "exclude"] = "raise"
    row_order: Literal["asc", "desc"] | None = None
    use_data_interval: bool = False
    start_param: str | None = None
    end_param: str | None = None
    schema_evolution: Literal["add_columns", "freeze", "discard"] = "add_columns"

    def __post_init__(self) -> None:
        if not self.cursor or not isinstance(self.cursor, str):
            raise ValueError("Incremental(cursor=...) needs the name of the cursor column.")
        if self.range_start not in RANGE_STARTS:
            raise ValueError(f"Incremental range_start must be one of {RANGE_STARTS}, got {self.range_start!r}.")
        if self.on_cursor_missing not in ON_CURSOR_MISSING:
            raise ValueError(
                f"Incremental on_cursor_missing must be one of {ON_CURSOR_MISSING}, got {self.on_cursor_missing!r}."
            )
        if self.row_order is not None and self.row_order not in ROW_ORDERS:
            raise ValueError(f"Incremental row_order must be one of {ROW_ORDERS} or None, got {self.row_order!r}.")
        if self.schema_evolution not in SCHEMA_EVOLUTIONS:
            raise ValueError(
                f"Incremental schema_evolution must be one of {SCHEMA_EVOLUTIONS}, got {self.schema_evolution!r}."
            )
        if self.end is not None and self.use_data_interval:
            raise ValueError("Incremental takes end= or use_data_interval=True, not both: both set the range.")
        for name in ("initial", "end"):
            value = getattr(self, name)
            if value is not None and not _is_template(value):
                parse_cursor_value(value, f"Incremental {name}")
        if self.lag is not None and not isinstance(self.lag, dt.timedelta | int | float):
            raise ValueError(f"Incremental lag must be a timedelta or a number, got {type(self.lag).__name__}.")

    @property
    def stateless(self) -> bool:
        return self.end is not None or self.use_data_interval

    def range(self, watermark: CursorValue | None, context: Any = None) -> CursorRange:
        """The range this run reads, from the stored `watermark` (ignored when stateless)."""
        include_missing = self.on_cursor_missing != "exclude"
        if self.use_data_interval:
            start = (context or {}).get("data_interval_start")
            end = (context or {}).get("data_interval_end")
            if start is None or end is None:
                raise ValueError(
                    f"Incremental(use_data_interval=True) on cursor {self.cursor!r}: this run has no data interval "
                    "(a manual or asset-triggered run); give end= or use the watermark."
                )
            return CursorRange(self.cursor, start, end, True, include_missing, stateful=False)
        if self.end is not None:
            start = None if self.initial is None else parse_cursor_value(self.initial, "Incremental initial")
            end = parse_cursor_value(self.end, "Incremental end")
            return CursorRange(self.cursor, start, end, True, include_missing, stateful=False)
        if watermark is None:
            start = None if self.initial is None else parse_cursor_value(self.initial, "Incremental initial")
            return CursorRange(self.cursor, start, None, self.range_start == "closed", include_missing)
        start = watermark
        if self.lag is not None:
            start = _minus(watermark, self.lag, self.cursor)
        return CursorRange(self.cursor, start, None, self.range_start == "closed", include_missing)


def _minus(value: CursorValue, lag: Any, cursor: str) -> CursorValue:
    try:
        return value - lag  # type: ignore[operator,no-any-return]
    except TypeError as error:
        raise ValueError(
            f"Incremental lag {lag!r} cannot be subtracted from cursor {cursor!r}'s watermark {value!r}: "
            "use a timedelta for a timestamp or date cursor, a number for an integer cursor."
        ) from error


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value
