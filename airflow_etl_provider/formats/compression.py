"""Stream compression for the text formats (`.csv.gz`, `.jsonl.gz`, `.json.gz`).

Compression wraps the byte stream, so the format code never sees it and memory stays at
the codec's window size.
"""

from __future__ import annotations

import gzip
from typing import BinaryIO

from airflow_etl_provider.exceptions import FormatOptionError

#: Compression name -> file suffix.
COMPRESSIONS: dict[str, str] = {"gzip": ".gz"}
GZIP_LEVEL = 6


def parse_compression(value: str | None) -> str | None:
    """`compression` option: "gzip", "none" / None, or "auto" (None here: detect from the name)."""
    if value is None or value in {"none", "auto"}:
        return None
    if value not in COMPRESSIONS:
        raise FormatOptionError(f"Unknown compression {value!r}; use one of: none, {', '.join(COMPRESSIONS)}.")
    return value


def split_compression(path: str) -> tuple[str, str | None]:
    """(`path` without its compression suffix, compression name or None)."""
    lowered = path.lower()
    for name, suffix in COMPRESSIONS.items():
        if lowered.endswith(suffix):
            return path[: -len(suffix)], name
    return path, None


def decompressing(stream: BinaryIO, compression: str | None) -> BinaryIO:
    if compression == "gzip":
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    return stream


def compressing(sink: BinaryIO, compression: str | None) -> BinaryIO:
    """A writer that compresses into `sink`; closing it flushes the codec, not `sink`."""
    if compression == "gzip":
        return gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=GZIP_LEVEL, mtime=0)  # type: ignore[return-value]
    return sink
