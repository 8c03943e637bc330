"""JSON: an array of records, or an object holding the array at `records_path` ("data.items").

Read incrementally: a small scanner walks the text block by block and decodes one record at a
time with the standard library's decoder, so memory holds one block plus one record (values
outside the records path are decoded one at a time and dropped). Written as an array, or as
nested objects around it when `records_path` is given. Encodings as for JSON Lines.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, TextIO

import pyarrow as pa

from airflow_etl_provider.exceptions import SourceError
from airflow_etl_provider.formats.arrow_types import parse_column_types
from airflow_etl_provider.formats.base import FileFormat, FileSource, register_format
from airflow_etl_provider.formats.records import RecordConverter, batch_records, dumps, records_to_batches

BLOCK_CHARS = 1 << 16
#: A single value larger than this is reported as malformed rather than buffered further.
MAX_VALUE_CHARS = 256 << 20
_WHITESPACE = " \t\n\r"


class _Scanner:
    """Walks JSON text held in a sliding buffer, tracking the line number for errors."""

    def __init__(self, text: TextIO, name: str):
        self._text = text
        self._name = name
        self._decoder = json.JSONDecoder()
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._line = 1  # line number at self._pos
        self._counted = 0  # self._line counts newlines before this offset

    def _fill(self) -> bool:
        """Append a block to the buffer (dropping what was consumed); False at end of text."""
        if self._eof:
            return False
        block = self._text.read(BLOCK_CHARS)
        if not block:
            self._eof = True
            return False
        self._sync_line()
        self._buf = self._buf[self._pos :] + block
        self._counted -= self._pos
        self._pos = 0
        return True

    def _sync_line(self) -> None:
        if self._pos > self._counted:
            self._line += self._buf.count("\n", self._counted, self._pos)
            self._counted = self._pos

    @property
    def line(self) -> int:
        self._sync_line()
        return self._line

    def error(self, problem: str) -> SourceError:
        return SourceError(f"Malformed JSON in {self._name}, line {self.line}: {problem}")

    def peek(self) -> str:
        """The next non-whitespace character ("" at the end)."""
        while True:
            while self._pos < len(self._buf) and self._buf[self._pos] in _WHITESPACE:
                self._pos += 1
            if self._pos < len(self._buf) or not self._fill():
                return self._buf[self._pos : self._pos + 1]

    def take(self, expected: str) -> None:
        found = self.peek()
        if found != expected:
            raise self.error(f"expected {expected!r}, found {found or 'the end of the file'!r}")
        self._pos += 1

    def value(self) -> Any:
        """Decode the next value, reading more text while it is incomplete."""
        self.peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as error:
                if len(self._buf) - self._pos > MAX_VALUE_CHARS or not self._fill():
                    self._pos = max(self._pos, min(error.pos, len(self._buf)))
                    raise self.error(error.msg) from error
                continue
            # A number or literal cut by the block end would decode short: make sure it is whole.
            if end == len(self._buf) and self._fill():
                continue
            self._pos = end
            return value


class JsonFormat(FileFormat):
    name = "json"
    extensions = (".json",)
    read_options = frozenset({"records_path", "encoding", "column_types"})
    write_options = frozenset({"records_path", "encoding"})

    def read(self, source: FileSource, *, chunk_size: int, **options: Any) -> Iterator[pa.RecordBatch]:
        self.check_options(options, writing=False)
        converter = RecordConverter(source.name, parse_column_types(options.get("column_types")))
        path = [part for part in (options.get("records_path") or "").split(".") if part]
        with source.open() as raw:
            text = io.TextIOWrapper(raw, encoding=options.get("encoding", "utf-8"))
            scanner = _Scanner(text, source.name)
            try:
                yield from records_to_batches(_records(scanner, path), converter, chunk_size)
            except UnicodeDecodeError as error:
                raise scanner.error(f"not valid text in the declared encoding ({error})") from error

    def write(self, batches: Iterable[pa.RecordBatch], sink: BinaryIO, **options: Any) -> int:
        self.check_options(options, writing=True)
        encoding = options.get("encoding", "utf-8")
        path = [part for part in (options.get("records_path") or "").split(".") if part]
        sink.write(("".join("{" + json.dumps(p) + ":" for p in path) + "[").encode(encoding))
        rows = 0
        separator = "\n"
        for batch in batches:
            parts = []
            for record in batch_records(batch):
                parts.append(separator + dumps(record))
                separator = ",\n"
            sink.write("".join(parts).encode(encoding))
            rows += batch.num_rows
        sink.write(("\n]" + "}" * len(path) + "\n").encode(encoding))
        return rows


def _records(scanner: _Scanner, path: list[str]) -> Iterator[tuple[Any, int]]:
    """(record, line) for every element of the array at `path`."""
    for depth, key in enumerate(path):
        if scanner.peek() != "{":
            raise scanner.error(f"expected an object holding {'.'.join(path[: depth + 1])!r}")
        _find_key(scanner, key, ".".join(path[: depth + 1]))
    if scanner.peek() != "[":
        hint = " (set the records_path option to the array's key)" if scanner.peek() == "{" else ""
        raise scanner.error(f"expected an array of records{hint}")
    scanner.take("[")
    if scanner.peek() == "]":
        return
    while True:
        line = scanner.line
        yield scanner.value(), line
        if scanner.peek() == ",":
            scanner.take(",")
        else:
            scanner.take("]")
            return


def _find_key(scanner: _Scanner, key: str, shown: str) -> None:
    """Move past `"key":` inside the object starting here, skipping the values before it."""
    scanner.take("{")
    while scanner.peek() != "}":
        name = scanner.value()
        scanner.take(":")
        if name == key:
            return
        scanner.value()
        if scanner.peek() == ",":
            scanner.take(",")
    raise scanner.error(f"records_path {shown!r} not found")


register_format(JsonFormat())
