"""Which mysql-connector protocol reads a MySQL result, and the reader process that gives C speed.

mysql-connector's C extension reads rows several times faster than its pure-Python protocol,
but as shipped it cannot load into a process that already loaded Python's `ssl` (it carries a
newer OpenSSL of its own), which every Airflow task process has. So a large read runs in a
reader process (`mysql_reader_process.py`) that loads the extension first; the task process
gets raw cells as Arrow and types them. Where the extension loads in the task process itself,
it is used there; where neither works, the pure-Python protocol reads.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import mysql.connector
import pyarrow as pa
from mysql.connector import errors as mysql_errors

from airflow_etl_provider.sql import mysql_reader_process

#: The three ways a result can be read, as the hook reports them (`MySqlConnectorHook.read_path`).
IN_PROCESS_C = "C extension"
READER_PROCESS_C = "C extension in a reader process"
PURE_PYTHON = "pure-Python protocol"

_READER_SCRIPT = str(Path(mysql_reader_process.__file__).resolve())


class CExtensionUnavailable(Exception):
    """The reader process could not load the C extension either (nothing was read)."""


class _ReaderState:
    """Whether a reader process has been found unable to load the C extension in this process."""

    unavailable = False


def read_path(c_extension: bool) -> str:
    """The protocol a read takes: the C extension here, in a reader process, or pure Python."""
    if mysql.connector.HAVE_CEXT:
        return IN_PROCESS_C
    if c_extension and not _ReaderState.unavailable:
        return READER_PROCESS_C
    return PURE_PYTHON


@dataclass
class CellStream:
    """A result as the reader process sends it: the cursor description, then one binary array of
    row-major cells per chunk."""

    description: list[tuple[str, int, int, int | None]]
    chunks: Iterator[pa.Array]


@contextmanager
def reader_process(connect_args: dict[str, Any], select: str, parameters: Any, chunk_size: int) -> Iterator[CellStream]:
    """Run `select` in a reader process; its failures are raised as the driver's errors.

    Leaving the block early kills the process, which ends its session and so the server's
    query. A process that stops before the end of its stream, or ends with an error after it,
    is an error here too: a read never ends short without one.
    """
    request = {"connect": connect_args, "select": select, "parameters": parameters, "chunk_size": chunk_size}
    with tempfile.TemporaryFile() as errors_file:
        process = subprocess.Popen(
            [sys.executable, "-P", _READER_SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors_file,
        )
        assert process.stdin is not None and process.stdout is not None
        try:
            try:
                pickle.dump(request, process.stdin)
                process.stdin.close()
            except BrokenPipeError:  # it ended before reading: its exit status says why
                pass
            try:
                reader = pa.ipc.open_stream(process.stdout)
            except (pa.ArrowInvalid, OSError):
                raise _failure(process, errors_file) from None
            metadata = reader.schema.metadata or {}
            description = [tuple(d) for d in json.loads(metadata[b"description"])]
            yield CellStream(description, _chunks(reader, process, errors_file))  # type: ignore[arg-type]
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            process.stdout.close()


def _chunks(
    reader: pa.ipc.RecordBatchStreamReader, process: subprocess.Popen[bytes], errors: IO[bytes]
) -> Iterator[pa.Array]:
    try:
        for batch in reader:
            yield batch.column(0)
    except (pa.ArrowInvalid, OSError):  # the stream broke off: the process died mid-way
        raise _failure(process, errors) from None
    if process.wait() != 0:
        raise _failure(process, errors)


def _failure(process: subprocess.Popen[bytes], errors: IO[bytes]) -> Exception:
    """The driver error the reader process reported, or one naming how it ended."""
    status = process.wait()
    if status == mysql_reader_process.EXIT_NO_C_EXTENSION:
        _ReaderState.unavailable = True
        return CExtensionUnavailable()
    errors.seek(0)
    text = errors.read().decode("utf-8", "replace")
    marker = mysql_reader_process.ERROR_MARKER
    if marker in text:
        detail = json.loads(text.rsplit(marker, 1)[1].splitlines()[0])
        return mysql_errors.get_mysql_exception(detail["errno"], detail["msg"], detail["sqlstate"])
    last_line = text.strip().splitlines()[-1] if text.strip() else "no message"
    how = f"was killed by signal {-status}" if status < 0 else f"exited with status {status}"
    return mysql_errors.InterfaceError(msg=f"the MySQL reader process {how} before the end of the result: {last_line}")
