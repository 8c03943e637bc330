"""Column types of REST records: declared (`column_types`) or ISO 8601 date-times detected.

JSON has no date-time type, so an API's timestamps arrive as text. A text column whose
values in the chunk that first gives it a type are all ISO 8601 date-times
(`2026-01-01T12:00:00Z`, `2026-01-01 12:00:00.5+02:00`) becomes `timestamp[us, tz=UTC]`
when they all carry an offset, `timestamp[us]` when none does (mixed: stays text). Declared
and detected types are then fixed: a later value that does not convert is an error, never a
null or a type change. The conversion is the file formats' own (`apply_column_types`).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

#: What Arrow's timestamp parser reads: date, `T` or space, hh:mm[:ss[.ffffff]], optional offset.
_DATE_TIME = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
_OFFSET = r"(Z|[+-]\d{2}(:?\d{2})?)"
ISO_AWARE = f"^{_DATE_TIME}{_OFFSET}$"
ISO_NAIVE = f"^{_DATE_TIME}$"

AWARE = pa.timestamp("us", tz="UTC")
NAIVE = pa.timestamp("us")


def detect_timestamp(values: pa.Array) -> pa.DataType | None:
    """The timestamp type of a text column whose non-null values are all ISO 8601 date-times, else None."""
    if not pa.types.is_string(values.type):
        return None
    present = values.drop_null()
    if not len(present):
        return None
    if pc.all(pc.match_substring_regex(present, ISO_AWARE)).as_py():
        return AWARE
    if pc.all(pc.match_substring_regex(present, ISO_NAIVE)).as_py():
        return NAIVE
    return None


def takes_text_only(target: pa.DataType) -> bool:
    """Temporal columns convert from text only: Arrow would read a number as an offset from 1970."""
    return pa.types.is_temporal(target)
