"""Every type through every format, with NULLs in every column and awkward text.

Parquet keeps the Arrow types exactly; text formats need `column_types` for what they store
as text (see docs/files_and_s3.md); XLSX has Excel's limits, checked explicitly below.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pytest

from airflow_etl_provider.formats import get_format
from airflow_etl_provider.formats.base import FileSource


def round_trip(format_name: str, table: pa.Table, **read_options) -> pa.Table:
    fmt = get_format(format_name)
    sink = io.BytesIO()
    assert fmt.write(table.to_batches(max_chunksize=3), sink) == table.num_rows
    data = sink.getvalue()
    source = FileSource(f"t.{format_name}", open=lambda: io.BytesIO(data), open_seekable=lambda: io.BytesIO(data))
    batches = list(fmt.read(source, chunk_size=2, **read_options))
    assert [b.num_rows for b in batches] == [2] * (table.num_rows // 2) + [table.num_rows % 2] * (table.num_rows % 2)
    return pa.Table.from_batches(batches)


@pytest.mark.parametrize("format_name", ["parquet", "csv", "json", "jsonl"])
def test_every_type_round_trips_exactly(format_name, table, declared_types):
    options = {} if format_name == "parquet" else {"column_types": declared_types}
    back = round_trip(format_name, table, **options)
    assert back.schema == table.schema
    assert back.equals(table), [c for c in table.column_names if back.column(c) != table.column(c)]


def test_xlsx_round_trip_within_excel_limits(table, declared_types):
    back = round_trip("xlsx", table, column_types=declared_types)
    assert back.schema == table.schema
    for name in ("count", "amount", "flag", "ratio", "day", "doc"):
        assert back.column(name).equals(table.column(name)), name
    # Excel keeps milliseconds and no empty text cell.
    first = table.column("created_at").to_pylist()[0]
    assert back.column("created_at").to_pylist()[0] == first.replace(microsecond=123000)
    assert back.column("created_at").to_pylist()[1:] == table.column("created_at").to_pylist()[1:]
    assert back.column("name").to_pylist() == ['comma, "quote"\nnew line', None, None, "ünïcødé ✓ 日本語"]
    assert back.column("payload").to_pylist() == [b"\x00\xff\x10", None, None, b"abc"]
