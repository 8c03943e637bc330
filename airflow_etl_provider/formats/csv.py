"""CSV: Arrow's streaming CSV reader and writer, with exact types where the caller declares them.

Reading streams block by block (`block_size` bytes, default 1 MiB) and re-batches to
`chunk_size`. Types are inferred from the first block unless `column_types` declares them;
decimals are written as plain decimal text and come back exact when declared
(`{"amount": "decimal128(18,2)"}`). NULL is an empty unquoted field; an empty string is `""`,
so both survive a round trip. Binary is base64 text, JSON its JSON text (declare `"json"` to
read it back as JSON). Values may hold delimiters, quotes and newlines.

Arrow would take everything after a quote that is never closed as one value; `QuoteGuard`
follows the quoting on the bytes Arrow reads and refuses, naming the line where it opened, a
quoted value longer than `max_field_bytes` (default 16 MiB) or still open at the end.
"""

from __future__ import annotations

import codecs
import csv as pycsv
import io
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

from airflow_etl_provider.arrow_batches import or_empty, rebatch
from airflow_etl_provider.exceptions import FormatOptionError, SourceError
from airflow_etl_provider.formats.arrow_types import (
    ColumnValueError,
    apply_column_types,
    encode_for_text,
    parse_column_types,
    read_as_text,
)
from airflow_etl_provider.formats.base import FileFormat, FileSource, register_format
from airflow_etl_provider.formats.csv_quotes import QuoteGuard

#: The longest row a read takes by default (a longer one asks to raise `block_size`).
DEFAULT_BLOCK_SIZE = 1 << 20
#: Blocks Arrow's streaming reader may read beyond the batches handed on. Left alone it reads
#: up to 32 blocks ahead of its consumer (32 MiB of raw CSV at the default block size, in
#: memory besides the chunks); a few keep the reading and the parsing overlapped.
READ_AHEAD_BLOCKS = 4
#: Longest a read waits for the consumer: a reader that needs more blocks than expected before
#: its next batch is slowed down, never stopped.
_PACE_TIMEOUT = 1.0
#: A quoted value longer than this is taken for a missing closing quote.
DEFAULT_MAX_FIELD_BYTES = 16 << 20
QUOTING = {"needed": "needed", "all": "all_valid", "none": "none"}

_STRADDLING = "straddling object straddles two block boundaries"
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


@contextmanager
def _utf8(source: FileSource, encoding: str) -> Iterator[Any]:
    """`source` opened as UTF-8 bytes: transcoded here rather than by Arrow, so that the quoting is
    followed on the bytes Arrow parses."""
    with source.open() as stream:
        if codecs.lookup(encoding).name == "utf-8":
            yield stream
        else:
            yield pa.transcoding_input_stream(pa.PythonFile(stream, mode="r"), encoding, "utf8")


class _Paced(io.RawIOBase):
    """A read-only pass-through stream that lets Arrow read at most `ahead` blocks beyond the batches taken.

    Arrow's streaming CSV reader fetches blocks on its own I/O thread into a queue of up to 32;
    here a read from another thread waits until the consumer has taken enough batches (one
    per block). A read from the consumer's own thread (the first block, read while opening)
    never waits, and no read waits longer than `_PACE_TIMEOUT`.
    """

    def __init__(self, raw: Any, ahead: int):
        self._raw = raw
        self._ahead = ahead
        self._reads = 0
        self._taken = 0
        self._done = False
        self._changed = threading.Condition()
        self._consumer = threading.get_ident()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if threading.get_ident() != self._consumer:
            with self._changed:
                self._changed.wait_for(
                    lambda: self._done or self._reads - self._taken < self._ahead, timeout=_PACE_TIMEOUT
                )
        block = self._raw.read(size)
        with self._changed:
            self._reads += 1
        return block  # type: ignore[no-any-return]

    def taken(self) -> None:
        """The consumer took one more batch."""
        with self._changed:
            self._taken += 1
            self._changed.notify_all()

    def release(self) -> None:
        """Let every read through from now on (the consumer has stopped)."""
        with self._changed:
            self._done = True
            self._changed.notify_all()


def _paced_batches(reader: Iterable[pa.RecordBatch], paced: _Paced | None) -> Iterator[pa.RecordBatch]:
    """The reader's batches, each counted as taken before it is handed on."""
    try:
        for batch in reader:
            if paced is not None:
                paced.taken()
            yield batch
    finally:
        if paced is not None:
            paced.release()


def _checked_at_end(batches: Iterator[pa.RecordBatch], guard: Any) -> Iterator[pa.RecordBatch]:
    """`batches`, then the quoting check of the whole input (before the last chunk is handed on)."""
    yield from batches
    if isinstance(guard, QuoteGuard):
        guard.finish()


class CsvFormat(FileFormat):
    name = "csv"
    extensions = (".csv", ".tsv", ".txt")
    read_options = frozenset(
        {
            "delimiter",
            "header",
            "column_names",
            "quote_char",
            "encoding",
            "column_types",
            "block_size",
            "max_field_bytes",
        }
    )
    write_options = frozenset({"delimiter", "header", "quoting", "encoding"})

    def read(self, source: FileSource, *, chunk_size: int, **options: Any) -> Iterator[pa.RecordBatch]:
        self.check_options(options, writing=False)
        declared = parse_column_types(options.get("column_types"))
        # Binary (base64), JSON and booleans are read as strings and converted after.
        arrow_types = {name: pa.string() if read_as_text(t) else t for name, t in declared.items()}
        header = bool(options.get("header", True))
        read_options = pacsv.ReadOptions(
            block_size=int(options.get("block_size", DEFAULT_BLOCK_SIZE)),
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
        encoding = options.get("encoding", "utf-8")
        with _utf8(source, encoding) as stream:
            guard = self._guard(stream, source, encoding, parse_options, options)
            # An Arrow stream (no quoting to follow, a transcoded one) is read by Arrow directly.
            paced = None if isinstance(guard, pa.NativeFile) else _Paced(guard, READ_AHEAD_BLOCKS)
            try:
                reader = pacsv.open_csv(
                    guard if paced is None else paced,
                    read_options=read_options,
                    parse_options=parse_options,
                    convert_options=convert_options,
                )
                batches = (
                    apply_column_types(b, declared, where=source.name)
                    for b in or_empty(_paced_batches(reader, paced), reader.schema)
                )
                yield from rebatch(_checked_at_end(batches, guard), chunk_size)
            except (pa.ArrowInvalid, ValueError) as error:
                raise SourceError(self._locate(source, error, options, guard)) from error

    @staticmethod
    def _guard(
        stream: Any, source: FileSource, encoding: str, parse_options: pacsv.ParseOptions, options: dict[str, Any]
    ) -> Any:
        """The stream Arrow reads: through a `QuoteGuard` when values can be quoted."""
        if not parse_options.quote_char:
            return stream
        return QuoteGuard(
            stream,
            name=source.name,
            reopen=lambda: _utf8(source, encoding),
            quote_char=parse_options.quote_char,
            delimiter=parse_options.delimiter,
            max_field_bytes=int(options.get("max_field_bytes", DEFAULT_MAX_FIELD_BYTES)),
        )

    def _locate(self, source: FileSource, error: Exception, options: dict[str, Any], guard: Any) -> str:
        """A message naming the file, the line and the problem (re-scans the file on failure)."""
        text = str(error)
        problem = text.split("\n")[0]
        predicate = None
        if _STRADDLING in text:
            return self._too_long_for_a_block(source, guard, int(options.get("block_size", DEFAULT_BLOCK_SIZE)))
        if isinstance(error, ColumnValueError) and isinstance(error.value, str):
            column, value = error.position, error.value
            problem = f"column #{column + 1} ({error.name!r}): invalid value {value!r} for type {error.target}"
            predicate = lambda row: len(row) > column and row[column] == value  # noqa: E731
        elif match := _WRONG_COLUMNS.search(text):
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
    def _too_long_for_a_block(source: FileSource, guard: Any, block_size: int) -> str:
        """Arrow's "straddling object" error: a row longer than a block, often a quote never closed."""
        open_value = guard.open_value() if isinstance(guard, QuoteGuard) else None
        if open_value and open_value[1] >= block_size:
            return str(
                guard.error_at(
                    open_value[0],
                    f"the quoted value opened on this line has no closing quote within block_size ({block_size}) "
                    "bytes. Close it; if the value really is that long, raise block_size (values longer than "
                    "max_field_bytes are refused whatever the block size)",
                )
            )
        return f"Malformed CSV in {source.name}: a row is longer than block_size ({block_size} bytes); raise it."

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
