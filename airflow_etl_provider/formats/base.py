"""The file-format contract: one reader and one writer per format, over byte streams.

A format knows nothing about where bytes live: the local filesystem and S3 connectors hand
it a `FileSource` (a name for error messages and a way to open the bytes) to read, and a
binary sink to write. Formats register by name and file extension, so a connector picks the
format from a path (`orders.csv.gz` -> csv, gzip) unless the caller names one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar

import pyarrow as pa

from airflow_etl_provider.exceptions import FormatOptionError


@dataclass(frozen=True)
class FileSource:
    """One file or object to read.

    `open` returns a sequential byte stream (already decompressed); `open_seekable`, when the
    store can do it, returns a random-access stream (local file, S3 ranged reads) for the
    formats that need one (Parquet footer, XLSX zip directory).
    """

    name: str
    open: Callable[[], BinaryIO]
    open_seekable: Callable[[], BinaryIO] | None = None


class FileFormat(ABC):
    """Reader and writer of one file format."""

    name: ClassVar[str]
    #: File name endings, lower case, with the dot (`.csv`); the first one is used for new files.
    extensions: ClassVar[tuple[str, ...]]
    #: Whether gzip compression applies (text formats); binary formats compress internally.
    compressible: ClassVar[bool] = True
    #: Options `read` / `write` accept besides the common ones; unknown options are refused.
    read_options: ClassVar[frozenset[str]] = frozenset()
    write_options: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    def read(self, source: FileSource, *, chunk_size: int, **options: Any) -> Iterator[pa.RecordBatch]:
        """Stream `source` as RecordBatches of exactly `chunk_size` rows (the last may be shorter).

        A malformed file raises `SourceError` naming the file, the line or row, and the problem.
        """

    @abstractmethod
    def write(self, batches: Iterable[pa.RecordBatch], sink: BinaryIO, **options: Any) -> int:
        """Write every batch to `sink` (not closed here); returns the number of rows written."""

    def check_options(self, options: dict[str, Any], *, writing: bool) -> None:
        known = self.write_options if writing else self.read_options
        unknown = sorted(set(options) - known)
        if unknown:
            what = "writing" if writing else "reading"
            raise FormatOptionError(
                f"Unknown {self.name} option(s) for {what}: {', '.join(unknown)}. "
                f"Known: {', '.join(sorted(known)) or '(none)'}."
            )


_FORMATS: dict[str, FileFormat] = {}


def register_format(fmt: FileFormat) -> FileFormat:
    """Make `fmt` available by name and by extension (idempotent for the same name)."""
    _FORMATS[fmt.name] = fmt
    return fmt


def known_formats() -> list[str]:
    return sorted(_FORMATS)


def get_format(name: str) -> FileFormat:
    try:
        return _FORMATS[name.lower()]
    except KeyError:
        raise FormatOptionError(f"Unknown file format {name!r}; known formats: {', '.join(known_formats())}.") from None


def format_for_extension(path: str) -> FileFormat | None:
    """The format whose extension ends `path` (compression suffix already removed), if any."""
    lowered = path.lower()
    best: FileFormat | None = None
    best_length = 0
    for fmt in _FORMATS.values():
        for ext in fmt.extensions:
            if lowered.endswith(ext) and len(ext) > best_length:
                best, best_length = fmt, len(ext)
    return best
