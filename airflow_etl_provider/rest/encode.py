"""Arrow rows -> JSON request bodies for `load`.

Decimals are sent as strings by default so no digit is lost (`decimals="number"` sends
floats); timestamps and dates as ISO 8601 (timezone kept); bytes as base64; NaN as null;
a JSON column (Arrow's `arrow.json`, e.g. a PostgreSQL jsonb) as the JSON value it holds,
not as a string of it.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from airflow_etl_provider.arrow_kinds import is_json

DECIMAL_MODES = ("string", "number")


class _Encoder(json.JSONEncoder):
    def __init__(self, *args: Any, decimals: str = "string", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decimals = decimals

    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            return float(o) if self.decimals == "number" else str(o)
        if isinstance(o, (dt.datetime, dt.date, dt.time)):
            return o.isoformat()
        if isinstance(o, dt.timedelta):
            return o.total_seconds()
        if isinstance(o, (bytes, bytearray, memoryview)):
            return base64.b64encode(bytes(o)).decode("ascii")
        return super().default(o)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def encode_records(records: list[dict[str, Any]], decimals: str = "string") -> bytes:
    """A JSON array body for `records`."""
    if decimals not in DECIMAL_MODES:
        raise ValueError(f"decimals must be one of {', '.join(DECIMAL_MODES)}, not {decimals!r}")
    encoder = _Encoder(decimals=decimals, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return encoder.encode([_clean(r) for r in records]).encode("utf-8")


def record_batches(chunks: Iterator[pa.RecordBatch], batch_size: int) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Regroup Arrow chunks into lists of `batch_size` records; yields (index of first record, records)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, not {batch_size}")
    pending: list[dict[str, Any]] = []
    start = 0
    for chunk in chunks:
        json_columns = [field.name for field in chunk.schema if is_json(field.type)]
        for offset in range(0, chunk.num_rows, batch_size):
            rows = chunk.slice(offset, batch_size).to_pylist()
            for row in rows if json_columns else ():
                for name in json_columns:
                    if row[name] is not None:
                        row[name] = json.loads(row[name])
            pending.extend(rows)
            while len(pending) >= batch_size:
                yield start, pending[:batch_size]
                pending = pending[batch_size:]
                start += batch_size
    if pending:
        yield start, pending
