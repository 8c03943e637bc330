"""JSON Lines: one JSON object per line, read and written line by line.

Decimals, dates and timestamps are written as ISO text and binary as base64 (see
`arrow_types`); declare `column_types` to read them back as those types.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

import pyarrow as pa

from airflow_etl_provider.exceptions import SourceError
from airflow_etl_provider.formats.arrow_types import parse_column_types
from airflow_etl_provider.formats.base import FileFormat, FileSource, register_format
from airflow_etl_provider.formats.records import RecordConverter, batch_records, dumps, records_to_batches


class JsonLinesFormat(FileFormat):
    name = "jsonl"
    extensions = (".jsonl", ".ndjson")
    read_options = frozenset({"encoding", "column_types"})
    write_options = frozenset({"encoding"})

    def read(self, source: FileSource, *, chunk_size: int, **options: Any) -> Iterator[pa.RecordBatch]:
        self.check_options(options, writing=False)
        converter = RecordConverter(source.name, parse_column_types(options.get("column_types")))
        with source.open() as raw:
            text = io.TextIOWrapper(raw, encoding=options.get("encoding", "utf-8"))
            yield from records_to_batches(_records(text, source.name), converter, chunk_size)

    def write(self, batches: Iterable[pa.RecordBatch], sink: BinaryIO, **options: Any) -> int:
        self.check_options(options, writing=True)
        encoding = options.get("encoding", "utf-8")
        rows = 0
        for batch in batches:
            lines = "".join(dumps(record) + "\n" for record in batch_records(batch))
            sink.write(lines.encode(encoding))
            rows += batch.num_rows
        return rows


def _records(lines: Iterable[str], name: str) -> Iterator[tuple[Any, int]]:
    number = 0
    try:
        for number, line in enumerate(lines, start=1):  # noqa: B007 (number is used after a decode error)
            if line.strip():
                yield json.loads(line), number
    except json.JSONDecodeError as error:
        raise SourceError(f"Malformed JSON in {name}, line {number}, column {error.colno}: {error.msg}") from error
    except UnicodeDecodeError as error:
        raise SourceError(f"{name}, after line {number}: not valid text in the declared encoding ({error})") from error


register_format(JsonLinesFormat())
