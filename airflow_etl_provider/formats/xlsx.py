"""XLSX: one worksheet, read row by row (openpyxl read-only) and written row by row (write-only).

Excel has no decimal, time-zone or binary cell types, so the writer stores decimals as text
(exact), timestamps with a time zone as UTC date-times without the zone, and binary as base64;
declare `column_types` to read them back. Empty strings come back as NULL (Excel keeps no
empty text cell). Trailing empty rows are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

import pyarrow as pa

from airflow_etl_provider.exceptions import EtlError, FormatOptionError, SourceError
from airflow_etl_provider.formats.arrow_types import encode_for_text, parse_column_types
from airflow_etl_provider.formats.base import FileFormat, FileSource, register_format
from airflow_etl_provider.formats.records import RecordConverter, records_to_batches


def _openpyxl() -> Any:
    """openpyxl comes with the `[xlsx]` extra; without it, say what to install."""
    try:
        import openpyxl
    except ModuleNotFoundError as error:
        raise EtlError(f"XLSX files need openpyxl ({error}): pip install 'airflow-etl-provider[xlsx]'") from error
    return openpyxl


class XlsxFormat(FileFormat):
    name = "xlsx"
    extensions = (".xlsx",)
    compressible = False
    read_options = frozenset({"sheet", "header_row", "column_names", "column_types"})
    write_options = frozenset({"sheet", "header"})

    def read(self, source: FileSource, *, chunk_size: int, **options: Any) -> Iterator[pa.RecordBatch]:
        openpyxl = _openpyxl()
        self.check_options(options, writing=False)
        if source.open_seekable is None:
            raise SourceError(f"{source.name}: XLSX needs a random-access file; this store cannot provide one.")
        converter = RecordConverter(source.name, parse_column_types(options.get("column_types")), unit="row")
        header_row = int(options.get("header_row", 1))
        with source.open_seekable() as stream:
            try:
                book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
            except Exception as error:  # openpyxl raises zipfile, KeyError, ValueError... for bad files
                raise SourceError(f"Cannot open {source.name} as an XLSX workbook: {error}") from error
            try:
                sheet = _sheet(book, options.get("sheet", 0), source.name)
                rows = sheet.iter_rows(min_row=header_row + 1 if header_row else 1, values_only=True)
                names = options.get("column_names") or (_header(sheet, header_row, source.name) if header_row else None)
                yield from records_to_batches(_records(rows, names, header_row + 1), converter, chunk_size)
            finally:
                book.close()

    def write(self, batches: Iterable[pa.RecordBatch], sink: BinaryIO, **options: Any) -> int:
        openpyxl = _openpyxl()
        self.check_options(options, writing=True)
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet(str(options.get("sheet", "Sheet1")))
        rows = 0
        header_written = not options.get("header", True)
        for batch in batches:
            if not header_written:
                sheet.append(batch.schema.names)
                header_written = True
            for row in zip(*(column.to_pylist() for column in _excel_columns(batch).columns), strict=True):
                sheet.append(list(row))
            rows += batch.num_rows
        book.save(sink)
        return rows


def _sheet(book: Any, which: str | int, name: str) -> Any:
    names = book.sheetnames
    if isinstance(which, int) or (isinstance(which, str) and which.isdigit()):
        index = int(which)
        if not 0 <= index < len(names):
            raise FormatOptionError(f"{name} has {len(names)} sheet(s); sheet index {index} does not exist.")
        return book[names[index]]
    if which not in names:
        raise FormatOptionError(f"{name} has no sheet {which!r}; its sheets are: {', '.join(names)}.")
    return book[which]


def _header(sheet: Any, header_row: int, name: str) -> list[str]:
    cells = next(sheet.iter_rows(min_row=header_row, max_row=header_row, values_only=True), ())
    header = list(cells)
    while header and header[-1] is None:
        header.pop()
    if not header:
        raise SourceError(f"{name}, row {header_row}: the header row is empty; set header_row or column_names.")
    return [str(value) if value is not None else f"column_{i + 1}" for i, value in enumerate(header)]


def _records(rows: Iterable[tuple[Any, ...]], names: list[str] | None, first_row: int) -> Iterator[tuple[dict, int]]:
    """(record, sheet row number); empty rows are held back until a non-empty row follows."""
    held: list[tuple[dict, int]] = []
    for number, row in enumerate(rows, start=first_row):
        columns = names or [f"column_{i + 1}" for i in range(len(row))]
        record = {column: (row[i] if i < len(row) else None) for i, column in enumerate(columns)}
        if all(value is None for value in row):
            held.append((record, number))
            continue
        yield from held
        held.clear()
        yield record, number


def _excel_columns(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Cell-ready columns: zoned timestamps as UTC wall time, decimals as text, binary as base64."""
    batch = encode_for_text(batch, temporal_as_text=False)
    arrays = []
    for column in batch.columns:
        t = column.type
        if pa.types.is_timestamp(t) and t.tz is not None:
            column = column.cast(pa.timestamp(t.unit))
        elif pa.types.is_decimal(t) or pa.types.is_time(t) or pa.types.is_duration(t):
            column = column.cast(pa.string())
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


register_format(XlsxFormat())
