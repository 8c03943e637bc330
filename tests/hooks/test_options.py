"""Every connector refuses an extract / preview / load option it does not declare, naming the known ones.

The check runs when the method is called, before a connection is opened or a chunk consumed,
for built-in connectors and third-party ones (`ConnectorPlugin`) alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pytest
from airflow.sdk import Connection

from airflow_etl_provider.exceptions import UnknownOptionError
from airflow_etl_provider.hooks.base import ConnectorHook
from airflow_etl_provider.hooks.registry import hook_for
from airflow_etl_provider.sdk import ConnectorPlugin, LoadMode, LoadResult, SchemaInfo
from airflow_etl_provider.types import Operation

SQL_LOAD = "decimal_rounding, timestamp_truncation"

#: connector -> (connection fixture, source, destination, known extract options, known load options)
CASES = {
    "sqlite": ("sqlite_conn_id", "items", "items", "parameters", SQL_LOAD),
    "postgres": ("postgres_conn_id", "items", "items", "parameters", SQL_LOAD),
    "mysql": ("mysql_conn_id", "items", "items", "parameters", SQL_LOAD),
    "filesystem": ("filesystem_conn_id", "in.csv", "out.csv", "column_types, .*delimiter", "compression, .*header"),
    "aws": ("aws_conn_id", "s3://bucket/in.csv", "s3://bucket/out.csv", "column_types, .*delimiter", "extra_args"),
    "rest_api": ("rest_conn_id", "people", "people", "column_types, detect_timestamps", "batch_size, decimals"),
}


@pytest.fixture
def rest_conn_id(airflow_connection) -> str:
    return airflow_connection("rest_api", host="http://127.0.0.1:9")


class _NoChunks:
    """Chunks that fail the test when a load starts reading them."""

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        raise AssertionError("the load read its chunks before refusing the option")


@pytest.fixture(params=list(CASES))
def case(request: pytest.FixtureRequest) -> tuple[ConnectorHook, str, str, str, str]:
    fixture, source, destination, extract_known, load_known = CASES[request.param]
    hook = hook_for(request.getfixturevalue(fixture))
    assert hook.conn_type == request.param
    return hook, source, destination, extract_known, load_known


def test_unknown_extract_option_is_refused_naming_the_known_ones(case) -> None:
    hook, source, _, known, _ = case
    pattern = rf"Connection '{hook.conn_id}', field 'extract options': unknown option\(s\) chunksize for extract of "
    with pytest.raises(UnknownOptionError, match=rf"{pattern}'{source}'; known: .*{known}"):
        hook.extract(source, chunksize=10)  # not iterated: refused at the call


def test_unknown_preview_option_is_refused_naming_the_known_ones(case) -> None:
    hook, source, _, known, _ = case
    with pytest.raises(UnknownOptionError, match=rf"'preview options': unknown option\(s\) lmit .*known: .*{known}"):
        hook.preview(source, lmit=5)


def test_unknown_load_option_is_refused_naming_the_known_ones(case) -> None:
    hook, _, destination, _, known = case
    refused = rf"unknown option\(s\) mod, rounding for load of '{destination}'"
    with pytest.raises(UnknownOptionError, match=refused) as error:
        hook.load(_NoChunks(), destination, rounding="half_even", mod="replace")
    assert error.value.unknown == ["mod", "rounding"]
    assert error.value.known == sorted(hook.known_options(Operation.LOAD))
    assert re.search(known, ", ".join(error.value.known)), error.value.known


def test_file_connectors_accept_the_options_of_their_formats(filesystem_conn_id: str, tmp_path: Path) -> None:
    (tmp_path / "files" / "in.csv").write_text("a;b\n1;x\n", encoding="utf-8")
    hook = hook_for(filesystem_conn_id)
    table = pa.Table.from_batches(list(hook.extract("in.csv", delimiter=";", column_types={"a": "int32"})))
    assert table.to_pydict() == {"a": [1], "b": ["x"]} and table.schema.field("a").type == pa.int32()
    known = hook.known_options(Operation.EXTRACT)
    assert known["delimiter"] == "option of the csv format" and "sheet" in known and "file_name_column" in known
    assert "extra_args" not in hook.known_options(Operation.LOAD)  # S3's upload options are S3's own


class Notes(ConnectorPlugin):
    """A third-party connector declaring one extract option and one load option."""

    conn_type = "etl_notes_options"
    hook_name = "Notes"
    extract_options: ClassVar[dict[str, str]] = {"since": "only notes written after this date"}
    load_options: ClassVar[dict[str, str]] = {"author": "who the notes are signed by"}
    seen: ClassVar[list[dict[str, Any]]] = []

    def test_connection(self) -> tuple[bool, str]:
        return True, "ok"

    def get_schema(self, source: str | None = None) -> SchemaInfo:
        return SchemaInfo(tables=())

    def extract(self, source: str, *, chunk_size: int = 10, **options: Any) -> Iterator[pa.RecordBatch]:
        self.seen.append(options)
        yield pa.record_batch({"id": [1]})

    def load(self, chunks, destination, *, mode=LoadMode.APPEND, keys=None, **options: Any) -> LoadResult:
        self.seen.append(options)
        return LoadResult(destination=destination, mode=LoadMode.parse(mode).value)


def test_plugin_connectors_get_the_same_check() -> None:
    hook = Notes("notes", connection=Connection(conn_id="notes", conn_type="etl_notes_options"))
    refused = r"'notes'.*unknown option\(s\) sinse for extract of 'inbox'; known: since"
    with pytest.raises(UnknownOptionError, match=refused):
        hook.extract("inbox", sinse="2026-01-01")
    with pytest.raises(UnknownOptionError, match=r"unknown option\(s\) autor for load of 'outbox'; known: author"):
        hook.load(_NoChunks(), "outbox", autor="me")
    with pytest.raises(UnknownOptionError, match="preview options.*known: since"):
        hook.preview("inbox", limit=1, sinse="2026-01-01")
    assert Notes.seen == []
    assert len(list(hook.extract("inbox", since="2026-01-01"))) == 1
    hook.load(iter([]), "outbox", author="me")
    assert Notes.seen == [{"since": "2026-01-01"}, {"author": "me"}]


def test_connectors_with_unusual_signatures_still_register_and_check() -> None:
    class Loose(Notes):
        conn_type = "etl_loose_options"

        def extract(self, *args: Any, **options: Any) -> Iterator[pa.RecordBatch]:
            yield pa.record_batch({"id": [1]})

    hook = Loose("loose", connection=Connection(conn_id="loose", conn_type="etl_loose_options"))
    with pytest.raises(UnknownOptionError, match=r"unknown option\(s\) sinse for extract of ''; known: since"):
        hook.extract("inbox", sinse=1)
    assert len(list(hook.extract("inbox", since=1))) == 1
