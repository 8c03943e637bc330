"""A MySQL reader process: mysql-connector's C extension streaming raw rows as Arrow IPC.

mysql-connector's wheel ships its C extension with its own OpenSSL, newer than the one many
Pythons link. Once Python's `ssl` module is loaded (as it is in every Airflow task process) the
extension cannot load any more and the driver falls back to its pure-Python protocol, several
times slower. This file runs as a fresh interpreter, `python -P <this file>`, that imports the
extension before anything else, reads one query and writes each chunk to stdout as one Arrow
record batch: a single binary column holding the row-major raw cells, which the task process
splits into typed columns (`mysql_read.cells_batch`). It imports nothing of the provider (nor
Airflow), so it starts in a fraction of a second.

Protocol (`mysql_cext.read_in_process` is the other end):
- exit status 4 at once when the C extension cannot load here (the task process imports this
  module for its constants only, so the import above runs in the reader process alone);
- stdin: one pickled request `{"connect": {...}, "select": str, "parameters": ..., "chunk_size": int}`
  (the password travels only this way, never in argv or the environment);
- stdout: an Arrow IPC stream; the schema's metadata holds the cursor description as JSON;
- a failure: one JSON line `{"errno", "msg", "sqlstate"}` on stderr after `ERROR_MARKER`, exit 3.
The read runs in `START TRANSACTION READ ONLY`; the process ends with its task process
(PR_SET_PDEATHSIG on Linux, and a closed pipe otherwise).
"""

if __name__ == "__main__":
    try:
        import _mysql_connector  # noqa: F401  (first: its OpenSSL must load before Python's)
    except ImportError:
        raise SystemExit(4) from None

import contextlib
import ctypes
import json
import pickle
import signal
import sys
from itertools import chain

#: What precedes the JSON error line on stderr.
ERROR_MARKER = "\x1eetl-mysql-reader-error "
#: Exit statuses the task process tells apart.
EXIT_FAILED = 3
EXIT_NO_C_EXTENSION = 4


def _die_with_parent() -> None:
    # Not on Linux: the closed stdout pipe ends the process instead.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _stream(request: dict) -> None:  # type: ignore[type-arg]
    import mysql.connector
    import pyarrow as pa

    if not mysql.connector.HAVE_CEXT:
        raise SystemExit(EXIT_NO_C_EXTENSION)
    db = mysql.connector.connect(**{**request["connect"], "use_pure": False})
    try:
        db.cmd_query("START TRANSACTION READ ONLY")
        cursor = db.cursor(raw=True)
        cursor.execute(request["select"], request["parameters"] or ())
        description = [[d[0], d[1], d[7], d[8] if len(d) > 8 else None] for d in cursor.description or ()]
        schema = pa.schema([pa.field("cells", pa.binary())], metadata={"description": json.dumps(description)})
        with pa.ipc.new_stream(sys.stdout.buffer, schema) as writer:
            while rows := cursor.fetchmany(request["chunk_size"]):
                cells = pa.array(list(chain.from_iterable(rows)), type=pa.binary())
                writer.write_batch(pa.record_batch([cells], schema=schema))
        cursor.close()
        db.rollback()
    finally:
        db.close()


def main() -> None:
    _die_with_parent()
    request = pickle.load(sys.stdin.buffer)
    from mysql.connector import errors

    try:
        _stream(request)
    except errors.Error as error:
        detail = {"errno": error.errno, "msg": error.msg, "sqlstate": error.sqlstate}
        sys.stderr.write(ERROR_MARKER + json.dumps(detail) + "\n")
        raise SystemExit(EXIT_FAILED) from None
    except BrokenPipeError:  # the task process stopped reading: nothing more to do
        sys.stderr.close()
        raise SystemExit(0) from None


if __name__ == "__main__":
    main()
