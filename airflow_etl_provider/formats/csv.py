"""CSV: Arrow's streaming CSV reader and writer, with exact types where the caller declares them.

Reading streams block by block (`block_size` bytes, default 1 MiB) and re-batches to
`chunk_size`. Types are inferred from the first block unless `column_types` declares them;
decimals are written as plain decimal text and come back exact when declared
(`{"amount": "decimal128(18,2)"}`). NULL is an empty unquoted field; an empty string is `""`,
so both survive a round trip. Binary is base64 text. Values may hold delimiters, quotes and
newlines.
"""

from __future__ import annotations

import codecs
import csv as pycsv
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

from airflow_etl_provider.arrow_batches import or_empty, rebatch
from airflow_etl_provider.exceptions import SourceError
from airflow_etl_provider.formats.arrow_types import apply_column_types, encode_for_text, parse_column_types
from airflow_etl_provider.formats.base import FileFormat, FileSource, FormatOptionError, register_format

#: Arrow reads ahead several blocks; 1 MiB keeps that near 70 MB at full speed (4 MiB: ~200 MB).
DEFAULT_BLOCK_SIZE = 1 << 20
QUOTING = {"needed": "needed", "all": "all_valid", "none": "none"}

_WRONG_COLUMNS = re.compile(r"Expected (\d+) columns, got (\d+)")
_BAD_VALUE = re.compile(r"In CSV column #(\d+): CSV conversion error to (.+?): invalid value '(.*)'", re.DOTALL)


class _Transcoder(io.RawIOBase):
    """A write-only stream that re-encodes UTF-8 bytes (what Arrow writes) to `encoding`."""

    def __init__(self, sink: BinaryIO, encoding: str):
        self._sink = sink
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._encoding = encoding

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._sink.write(self._decoder.decode(bytes(data)).encode(self._encoding))
        return len(data)


class CsvFormat(FileFormat):
    name = "csv"
    extensions = (".csv", ".tsv", ".txt")
    read_options = frozenset(
        {"delimiter", "header", "column_names", "quote_char", "encoding", "column_types", "block_size"}
    )
    write_options = frozenset({"delimiter", "header", "quoting", "encoding"})

    def read(self, source: FileSource, *, chunk_size: int, **options: Any) -> Iterator[pa.RecordBatch]:
        self.check_options(options, writing=False)
        declared = parse_column_types(options.get("column_types"))
        # Binary travels as base64 text: read it as a string, decode after.
        arrow_types = {name: t for name, t in declared.items() if not pa.types.is_binary(t)}
        header = bool(options.get("header", True))
        read_options = pacsv.ReadOptions(
            block_size=int(options.get("block_size", DEFAULT_BLOCK_SIZE)),
            encoding=options.get("encoding", "utf-8"),
            column_names=options.get("column_names"),
            autogenerate_column_names=not header and not options.get("column_names"),
        )
        parse_options = pacsv.ParseOptions(
            delimiter=options.get("delimiter", ","),
            quote_char=options.get("quote_char", '"'),
            newlines_in_values=True,
        )
        convert_options = pacsv.ConvertOptions(
            column_types=arrow_types,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        )
        with source.open() as stream:
            try:
                reader = pacsv.open_csv(
                    stream, read_options=read_options, parse_options=parse_options, convert_options=convert_options
                )
                batches = (apply_column_types(b, declared, where=source.name) for b in or_empty(reader, reader.schema))
                yield from rebatch(batches, chunk_size)
            except (pa.ArrowInvalid, ValueError) as error:
                raise SourceError(self._locate(source, error, options)) from error

    def _locate(self, source: FileSource, error: Exception, options: dict[str, Any]) -> str:
        """A message naming the file, the line and the problem (re-scans the file on failure)."""
        text = str(error)
        problem = text.split("\n")[0]
        predicate = None
        if match := _WRONG_COLUMNS.search(text):
            expected = int(match[1])
            problem = f"expected {expected} columns, got {match[2]}"
            predicate = lambda row: len(row) != expected  # noqa: E731
        elif match := _BAD_VALUE.search(text):
            column, target, value = int(match[1]), match[2], match[3]
            problem = f"column #{column + 1}: invalid value {value!r} for type {target}"
            predicate = lambda row: len(row) > column and row[column] == value  # noqa: E731
        line = self._find_line(source, options, predicate) if predicate else None
        where = f"line {line}" if line else "a line that could not be located"
        return f"Malformed CSV in {source.name}, {where}: {problem}"

    @staticmethod
    def _find_line(source: FileSource, options: dict[str, Any], predicate: Any) -> int | None:
        first_data_line = 2 if options.get("header", True) and not options.get("column_names") else 1
        try:
            with source.open() as raw:
                text = io.TextIOWrapper(raw, encoding=options.get("encoding", "utf-8"), newline="")
                reader = pycsv.reader(
                    text, delimiter=options.get("delimiter", ","), quotechar=options.get("quote_char", '"')
                )
                start = 1
                for row in reader:
                    if reader.line_num >= first_data_line and predicate(row):
                        return start
                    start = reader.line_num + 1
        except (OSError, pycsv.Error, UnicodeDecodeError):
            return None
        return None

    def write(self, batches: Iterable[pa.RecordBatch], sink: BinaryIO, **options: Any) -> int:
        self.check_options(options, writing=True)
        quoting = options.get("quoting", "needed")
        if quoting not in QUOTING:
            raise FormatOptionError(f"Unknown CSV quoting {quoting!r}; use one of: {', '.join(QUOTING)}.")
        encoding = options.get("encoding", "utf-8")
        target: Any = sink if codecs.lookup(encoding).name == "utf-8" else _Transcoder(sink, encoding)
        write_options = pacsv.WriteOptions(
            include_header=bool(options.get("header", True)),
            delimiter=options.get("delimiter", ","),
            quoting_style=QUOTING[quoting],
        )
        writer: pacsv.CSVWriter | None = None
        rows = 0
        for batch in batches:
            encoded = encode_for_text(batch, temporal_as_text=False)
            if writer is None:
                writer = pacsv.CSVWriter(target, encoded.schema, write_options=write_options)
            writer.write_batch(encoded)
            rows += batch.num_rows
        if writer is not None:
            writer.close()
        return rows


register_format(CsvFormat())
