"""MySQL reads at C speed: the C extension in a reader process, against the real MariaDB.

The test process has loaded Python's `ssl` (as every Airflow task process has), so the C
extension of mysql-connector's wheel cannot load here: a read must take the reader process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator

import mysql.connector
import psutil
import pyarrow as pa
import pytest

from airflow_etl_provider.exceptions import SourceError
from airflow_etl_provider.hooks.mysql import MySqlConnectorHook
from airflow_etl_provider.sql.mysql_cext import IN_PROCESS_C, PURE_PYTHON, READER_PROCESS_C
from tests.hooks.test_mysql import TYPES_DDL, TYPES_ROWS

ROWS = 20_000


@pytest.fixture
def hook(mysql_conn_id: str) -> Iterator[MySqlConnectorHook]:
    hook = MySqlConnectorHook(mysql_conn_id)
    with hook:
        hook._query("SET time_zone = '+02:00'")
        for statement in (TYPES_DDL, TYPES_ROWS):
            hook._query(statement)
        hook._query("SET time_zone = '+00:00'")
        hook._query("CREATE TABLE big (id INT PRIMARY KEY, note VARCHAR(200))")
        hook._query(
            "INSERT INTO big SELECT seq, CONCAT('row ', seq, ' ', REPEAT('x', 100)) FROM seq_1_to_%s",
            (ROWS,),
        )
        yield hook


def _pure(airflow_connection: Callable[..., str], hook: MySqlConnectorHook) -> MySqlConnectorHook:
    conn = hook.connection
    conn_id = airflow_connection(
        "mysql", host=conn.host, port=conn.port, login=conn.login, schema=conn.schema, extra={"c_extension": False}
    )
    return MySqlConnectorHook(conn_id)


def _reader_processes() -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process().children(recursive=True)
        if any("mysql_reader_process" in part for part in child.cmdline())
    ]


def test_the_c_extension_cannot_load_after_ssl_here() -> None:
    """The premise of the reader process: as installed, the wheel's C extension does not load here."""
    assert "ssl" in sys.modules
    assert mysql.connector.HAVE_CEXT is False


def test_a_read_takes_the_c_extension_and_gives_what_the_pure_protocol_gives(
    hook: MySqlConnectorHook, airflow_connection: Callable[..., str]
) -> None:
    fast = pa.Table.from_batches(list(hook.extract("typed", chunk_size=2)))
    assert hook.read_path in (IN_PROCESS_C, READER_PROCESS_C)
    assert hook.read_path == READER_PROCESS_C  # this process loaded ssl first
    pure_hook = _pure(airflow_connection, hook)
    pure = pa.Table.from_batches(list(pure_hook.extract("typed", chunk_size=2)))
    assert pure_hook.read_path == PURE_PYTHON
    assert fast.num_rows == 3
    assert fast.equals(pure), (fast.to_pylist(), pure.to_pylist())
    assert fast.to_pylist()[0]["txt"] == 'tab\tnew\nline "q" \\ 😀'


def test_every_row_arrives_in_chunks_with_parameters(hook: MySqlConnectorHook) -> None:
    batches = list(hook.extract("SELECT id, note FROM big WHERE id > %s", chunk_size=1_000, parameters=(500,)))
    assert hook.read_path == READER_PROCESS_C
    ids = pa.Table.from_batches(batches).column("id").to_pylist()
    assert ids == list(range(501, ROWS + 1))
    assert [len(b) for b in batches] == [1_000] * 19 + [500]


def test_an_empty_result_still_carries_its_schema(hook: MySqlConnectorHook) -> None:
    batches = list(hook.extract("SELECT id, note FROM big WHERE id < 0"))
    assert hook.read_path == READER_PROCESS_C
    assert [len(b) for b in batches] == [0]
    assert batches[0].schema.names == ["id", "note"]


def test_a_server_error_mid_result_names_the_source(hook: MySqlConnectorHook) -> None:
    # The subquery returns two rows only for id 3000: the server fails in the middle of the result.
    query = "SELECT id FROM big WHERE id = IF(id = 3000, (SELECT 1 UNION SELECT 2), id)"
    with pytest.raises(SourceError, match=r"Subquery returns more than 1 row") as raised:
        list(hook.extract(query, chunk_size=500))
    assert "big" in str(raised.value) and hook.conn_id in str(raised.value)
    assert hook.read_path == READER_PROCESS_C


def test_a_killed_reader_process_is_an_error_not_a_short_read(hook: MySqlConnectorHook) -> None:
    chunks = hook.extract("big", chunk_size=100)
    got = len(next(chunks))
    (reader,) = _reader_processes()
    reader.send_signal(signal.SIGKILL)
    with pytest.raises(SourceError, match="killed by signal 9"):
        for chunk in chunks:
            got += len(chunk)
    assert got < ROWS


def test_stopping_early_ends_the_reader_process(hook: MySqlConnectorHook) -> None:
    chunks = hook.extract("big", chunk_size=100)
    next(chunks)
    (reader,) = _reader_processes()
    chunks.close()
    assert not reader.is_running() or reader.status() == psutil.STATUS_ZOMBIE
    assert _reader_processes() == []


def test_a_killed_task_process_takes_its_reader_process_along(mysql_conn_id: str, hook: MySqlConnectorHook) -> None:
    """kill -9 of the task process leaves neither a reader process nor its server session."""
    script = textwrap.dedent(
        f"""
        import sys, time
        from airflow_etl_provider.hooks.mysql import MySqlConnectorHook
        chunks = MySqlConnectorHook({mysql_conn_id!r}).extract("big", chunk_size=100)
        next(chunks)
        print("reading", flush=True)
        time.sleep(60)
        """
    )
    task = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=os.environ)
    try:
        assert task.stdout is not None
        assert "reading" in (line.strip() for line in iter(task.stdout.readline, ""))  # after the log lines
        (reader,) = [
            child
            for child in psutil.Process(task.pid).children()
            if any("mysql_reader_process" in part for part in child.cmdline())
        ]
        task.send_signal(signal.SIGKILL)
        task.wait(10)
        reader.wait(10)  # raises TimeoutExpired if the reader outlived its task process
    finally:
        task.kill()
        task.wait()
    database = hook.connection.schema
    for _ in range(50):
        sessions = hook._query("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = %s", (database,))
        if sessions[0][0] == 1:  # this test's own session only
            break
        time.sleep(0.1)
    assert sessions[0][0] == 1
