"""One PostgreSQL snapshot that every part of a partitioned transfer reads.

`pg_export_snapshot()` names the snapshot of an open transaction; other sessions can adopt it
(`SET TRANSACTION SNAPSHOT`) for as long as that transaction stays open. The plan task ends
long before the parts do, so the transaction is held by a small detached process started here
(`python -m airflow_etl_provider.partitioned.snapshot`, credentials on its stdin, never on its
command line). It prints the snapshot id and its backend pid, then waits until its session
ends:

- `release` (the publish and cleanup tasks) terminates that backend, found by the application
  name that carries the transfer's token, so no other session is ever hit;
- `idle_in_transaction_session_timeout` (`hold_seconds`) bounds a holder nobody releases: the
  server ends the session by itself;
- if the process is killed, the server ends the session when the socket closes.

While held, the snapshot keeps VACUUM from removing rows deleted after it: the hold is a cost
paid by the source, for as long as the parts run.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq

APPLICATION_NAME = "airflow-etl-snapshot"
DEFAULT_HOLD_SECONDS = 6 * 3600


@dataclass(frozen=True)
class HeldSnapshot:
    """An exported snapshot and the backend that keeps it alive."""

    snapshot: str
    backend_pid: int
    application_name: str

    def to_dict(self) -> dict[str, Any]:
        return {"snapshot": self.snapshot, "backend_pid": self.backend_pid, "application_name": self.application_name}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HeldSnapshot:
        return cls(str(data["snapshot"]), int(data["backend_pid"]), str(data["application_name"]))


def application_name(token: str) -> str:
    return f"{APPLICATION_NAME} {token}"


def hold(conninfo: str, token: str, hold_seconds: int = DEFAULT_HOLD_SECONDS) -> HeldSnapshot:
    """Start the holder process for `conninfo` and return the snapshot it exported."""
    request = {"conninfo": conninfo, "application_name": application_name(token), "hold_seconds": int(hold_seconds)}
    process = subprocess.Popen(
        [sys.executable, "-m", __name__],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # outlives the plan task's process group
    )
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    process.stdin.write(json.dumps(request).encode())
    process.stdin.close()
    line = process.stdout.readline()
    process.stdout.close()
    if not line:
        process.wait()
        error = process.stderr.read().decode(errors="replace").strip()
        process.stderr.close()
        raise RuntimeError(f"the snapshot holder exited with code {process.returncode}: {error or 'no message'}")
    process.stderr.close()
    return HeldSnapshot.from_dict(json.loads(line))


def release(connection: psycopg.Connection, token: str) -> int:
    """End the holder session(s) of transfer run `token`: how many there were. Harmless to repeat."""
    rows = connection.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = %s AND pid <> pg_backend_pid()",
        (application_name(token),),
    ).fetchall()
    return sum(1 for (terminated,) in rows if terminated)


def held_tokens(connection: psycopg.Connection, prefix: str) -> list[str]:
    """The tokens starting with `prefix` whose snapshot a holder session keeps."""
    rows = connection.execute(
        "SELECT DISTINCT application_name FROM pg_stat_activity WHERE starts_with(application_name, %s)",
        (application_name(prefix),),
    ).fetchall()
    return sorted(name[len(APPLICATION_NAME) + 1 :] for (name,) in rows)


def is_held(connection: psycopg.Connection, token: str) -> bool:
    row = connection.execute(
        "SELECT 1 FROM pg_stat_activity WHERE application_name = %s", (application_name(token),)
    ).fetchone()
    return row is not None


def _serve() -> None:
    """The holder process: export a snapshot, say it, keep the transaction open until the session ends."""
    request = json.loads(sys.stdin.read())
    db = psycopg.connect(request["conninfo"], application_name=request["application_name"], autocommit=True)
    db.execute("SELECT set_config('idle_in_transaction_session_timeout', %s, false)", (f"{request['hold_seconds']}s",))
    db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    snapshot, pid = db.execute("SELECT pg_export_snapshot(), pg_backend_pid()").fetchone()  # type: ignore[misc]
    held = HeldSnapshot(snapshot, pid, request["application_name"])
    sys.stdout.write(json.dumps(held.to_dict()) + "\n")
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the plan task has stopped reading both pipes
    os.dup2(devnull, sys.stderr.fileno())
    # Idle in transaction until the server ends the session (release, timeout, shutdown).
    socket = db.pgconn.socket
    while db.pgconn.status == pq.ConnStatus.OK:
        select.select([socket], [], [])
        try:
            db.pgconn.consume_input()
        except psycopg.OperationalError:
            return


if __name__ == "__main__":
    _serve()
