from __future__ import annotations

import io

import openpyxl
import pyarrow as pa
import pytest

from airflow_etl_provider.exceptions import FormatOptionError, SourceError
from airflow_etl_provider.formats import get_format
from airflow_etl_provider.formats.base import FileSource

XLSX = get_format("xlsx")


def workbook(*sheets: tuple[str, list[list]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    sink = io.BytesIO()
    book.save(sink)
    return sink.getvalue()


def read(data: bytes, chunk_size: int = 100, **options) -> pa.Table:
    source = FileSource("book.xlsx", open=lambda: io.BytesIO(data), open_seekable=lambda: io.BytesIO(data))
    return pa.Table.from_batches(list(XLSX.read(source, chunk_size=chunk_size, **options)))


def test_sheet_by_name_or_index_and_header_row():
    data = workbook(("first", [["x"], [1]]), ("second", [["title line"], ["id", "name"], [1, "a"], [2, "b"]]))
    assert read(data).to_pylist() == [{"x": 1}]
    expected = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    assert read(data, sheet="second", header_row=2).to_pylist() == expected
    assert read(data, sheet=1, header_row=2).to_pylist() == expected


def test_no_header_row_names_columns():
    data = workbook(("s", [[1, "a"], [2, "b"]]))
    assert read(data, header_row=0).column_names == ["column_1", "column_2"]
    assert read(data, header_row=0, column_names=["id", "name"]).num_rows == 2


def test_rows_are_streamed_in_exact_chunks_and_inner_empty_rows_kept():
    rows = [["n"]] + [[i] for i in range(10)] + [[None]] + [[10]] + [[None]] * 3
    batches = (
        list(
            XLSX.read(
                FileSource("b.xlsx", open=lambda: io.BytesIO(data), open_seekable=lambda: io.BytesIO(data)),
                chunk_size=4,
            )
        )
        if (data := workbook(("s", rows)))
        else []
    )
    assert [b.num_rows for b in batches] == [4, 4, 4]
    assert pa.Table.from_batches(batches).column("n").to_pylist() == list(range(10)) + [None, 10]


def test_unknown_sheet_lists_the_sheets():
    with pytest.raises(FormatOptionError, match="no sheet 'nope'; its sheets are: a, b"):
        read(workbook(("a", [["x"]]), ("b", [["y"]])), sheet="nope")


def test_a_cell_of_another_type_names_the_row():
    data = workbook(("s", [["n"], [1], [2], ["three"]]))
    with pytest.raises(SourceError, match="book.xlsx, row 4: column 'n' mixes value types"):
        read(data)


def test_not_a_workbook_names_the_file():
    with pytest.raises(SourceError, match="Cannot open book.xlsx as an XLSX workbook"):
        read(b"plain text")


def test_writer_streams_rows_with_header_and_sheet_name():
    sink = io.BytesIO()
    XLSX.write(pa.table({"a": [1, 2], "b": ["x", None]}).to_batches(max_chunksize=1), sink, sheet="out")
    book = openpyxl.load_workbook(io.BytesIO(sink.getvalue()))
    assert book.sheetnames == ["out"]
    assert [list(r) for r in book["out"].iter_rows(values_only=True)] == [["a", "b"], [1, "x"], [2, None]]
