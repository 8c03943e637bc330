"""ExtractLoadOperator end to end between real SQLite databases."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from airflow_etl_provider.exceptions import ConnectorNotFoundError, EtlError, UnknownOptionError
from airflow_etl_provider.hooks.registry import hook_for
from airflow_etl_provider.operators.extract_load import ExtractLoadOperator


@pytest.fixture
def source_conn_id(sqlite_conn_id: str) -> str:
    with hook_for(sqlite_conn_id) as hook:
        batch = pa.RecordBatch.from_pydict(
            {
                "id": pa.array(range(1, 1001), pa.int64()),
                "qty": pa.array([None if i % 4 == 0 else i for i in range(1, 1001)]),
            }
        )
        hook.load([batch], "items")
    return sqlite_conn_id


@pytest.fixture
def destination_conn_id(tmp_path, airflow_connection: Callable[..., str]) -> str:
    return airflow_connection("sqlite", host=str(tmp_path / "destination.db"))


def run(**kwargs) -> dict:
    operator = ExtractLoadOperator(task_id="move", **kwargs)
    return operator.execute(context={})


def rows(conn_id: str, query: str) -> list[tuple]:
    with hook_for(conn_id) as hook:
        return hook.db.execute(query).fetchall()


def test_moves_every_row_in_chunks_and_reports(source_conn_id: str, destination_conn_id: str, capsys) -> None:
    summary = run(
        source_conn_id=source_conn_id,
        source="items",
        destination_conn_id=destination_conn_id,
        destination="copy",
        chunk_size=300,
    )
    assert summary["rows"] == 1000 and summary["chunks"] == 4
    assert summary["load"]["rows"] == 1000 and summary["mode"] == "append"
    assert summary["bytes"] > 0 and summary["seconds"] >= 0
    assert rows(destination_conn_id, "SELECT count(*), count(qty), sum(id) FROM copy") == [(1000, 750, 500500)]
    progress = [line for line in capsys.readouterr().out.splitlines() if "] chunk " in line or " chunk " in line]
    assert len(progress) == 4 and "1000 so far" in progress[-1]


def test_arrow_transform_and_dropping_chunks(source_conn_id: str, destination_conn_id: str) -> None:
    def only_even(batch: pa.RecordBatch) -> pa.RecordBatch | None:
        kept = batch.filter(pc.equal(pc.bit_wise_and(batch.column("id"), 1), 0))
        return kept if kept.column("id")[0].as_py() < 600 else None

    summary = run(
        source_conn_id=source_conn_id,
        source="items",
        destination_conn_id=destination_conn_id,
        destination="even",
        chunk_size=200,
        transform=only_even,
    )
    assert summary["rows"] == 300
    assert rows(destination_conn_id, "SELECT min(id), max(id) FROM even") == [(2, 600)]


def test_pandas_transform_gets_a_dataframe(source_conn_id: str, destination_conn_id: str) -> None:
    def doubled(frame: pd.DataFrame) -> pd.DataFrame:
        frame["qty"] = frame["qty"] * 2
        return frame

    run(
        source_conn_id=source_conn_id,
        source="SELECT id, qty FROM items WHERE id <= 4",
        destination_conn_id=destination_conn_id,
        destination="doubled",
        transform=doubled,
    )
    assert rows(destination_conn_id, "SELECT id, qty FROM doubled ORDER BY id") == [
        (1, 2),
        (2, 4),
        (3, 6),
        (4, None),
    ]


def test_upsert_twice_is_idempotent(source_conn_id: str, destination_conn_id: str) -> None:
    for _ in range(2):
        summary = run(
            source_conn_id=source_conn_id,
            source="items",
            destination_conn_id=destination_conn_id,
            destination="items",
            mode="upsert",
            keys=["id"],
            chunk_size=250,
        )
    assert summary["rows"] == 1000
    assert rows(destination_conn_id, "SELECT count(*) FROM items") == [(1000,)]


@pytest.mark.parametrize(
    ("bad_argument", "message"),
    [
        ({"mode": "upsert"}, "keys"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"mode": "merge"}, "append, replace, upsert"),
        ({"read_ahead": -1}, "read_ahead"),
    ],
)
def test_bad_arguments_are_refused_when_the_dag_is_parsed(bad_argument: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ExtractLoadOperator(
            task_id="t", source_conn_id="a", source="s", destination_conn_id="b", destination="d", **bad_argument
        )


def test_init_does_no_io() -> None:
    operator = ExtractLoadOperator(
        task_id="t",
        source_conn_id="does_not_exist",
        source="s",
        destination_conn_id="nor_this",
        destination="d",
    )
    assert set(operator.template_fields) == {"source", "destination", "source_options", "destination_options"}


def test_unknown_connection_type_lists_known_types(airflow_connection, destination_conn_id: str) -> None:
    conn_id = airflow_connection("teradata", host="h")
    with pytest.raises(ConnectorNotFoundError, match="Known types: .*sqlite"):
        run(source_conn_id=conn_id, source="t", destination_conn_id=destination_conn_id, destination="d")


def test_bad_transform_result_is_explained(source_conn_id: str, destination_conn_id: str) -> None:
    with pytest.raises(EtlError, match="returned list"):
        run(
            source_conn_id=source_conn_id,
            source="items",
            destination_conn_id=destination_conn_id,
            destination="x",
            transform=lambda batch: [1, 2],
        )
    assert rows(destination_conn_id, "SELECT count(*) FROM sqlite_master WHERE name = 'x'") == [(0,)]


def test_load_mode_the_destination_lacks_is_refused_before_reading(
    source_conn_id: str, filesystem_conn_id: str
) -> None:
    from airflow_etl_provider.exceptions import UnsupportedOperationError

    with pytest.raises(UnsupportedOperationError, match="load mode upsert"):
        run(
            source_conn_id=source_conn_id,
            source="items",
            destination_conn_id=filesystem_conn_id,
            destination="items.parquet",
            mode="upsert",
            keys=["id"],
        )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"source_options": {"paramters": [1]}}, r"'extract options'.*paramters for extract of 'no_such_table'"),
        ({"destination_options": {"compresion": "gzip"}}, r"'load options'.*compresion for load of 'out.csv'"),
    ],
)
def test_unknown_options_are_refused_before_reading(
    source_conn_id: str, filesystem_conn_id: str, options: dict, message: str
) -> None:
    """The source does not exist: reading it first would fail with another error."""
    with pytest.raises(UnknownOptionError, match=message):
        run(
            source_conn_id=source_conn_id,
            source="no_such_table",
            destination_conn_id=filesystem_conn_id,
            destination="out.csv",
            **options,
        )


def test_large_file_streams_in_chunks_never_larger_than_chunk_size(
    filesystem_conn_id: str, destination_conn_id: str
) -> None:
    with hook_for(filesystem_conn_id) as files:
        generated = (
            pa.RecordBatch.from_pydict(
                {"id": pa.array(range(start, start + 25_000), pa.int64()), "text": ["x" * 40] * 25_000}
            )
            for start in range(0, 250_000, 25_000)
        )
        files.load(generated, "big.csv", mode="replace")
    seen: list[int] = []

    def record(batch: pa.RecordBatch) -> pa.RecordBatch:
        seen.append(batch.num_rows)
        return batch

    summary = run(
        source_conn_id=filesystem_conn_id,
        source="big.csv",
        destination_conn_id=destination_conn_id,
        destination="big",
        chunk_size=7_000,
        transform=record,
    )
    assert summary["rows"] == 250_000 and len(seen) == 36
    assert max(seen) == 7_000 and seen[-1] == 250_000 - 35 * 7_000


def test_a_source_failing_mid_stream_leaves_the_destination_as_it_was(
    filesystem_conn_id: str, destination_conn_id: str, capsys
) -> None:
    """The source runs ahead on a worker thread: its error still stops the load and rolls it back."""
    import threading

    with hook_for(destination_conn_id) as destination:
        destination.load([pa.RecordBatch.from_pydict({"id": [1, 2, 3], "text": ["a", "b", "c"]})], "target")
    with hook_for(filesystem_conn_id) as files:
        base = files.config["base_path"]
    lines = ["id,text"] + [f"{i},row {i}" for i in range(1, 20_001)]
    lines[15_000] = '15000,"broken'  # an unterminated quote: the reader fails well after chunk 2
    with open(f"{base}/broken.csv", "w") as handle:
        handle.write("\n".join(lines) + "\n")

    with pytest.raises(EtlError, match=r"broken\.csv.*line 15001"):
        run(
            source_conn_id=filesystem_conn_id,
            source="broken.csv",
            destination_conn_id=destination_conn_id,
            destination="target",
            mode="replace",
            chunk_size=1_000,
        )
    loaded_before_failing = [line for line in capsys.readouterr().out.splitlines() if " chunk " in line]
    assert len(loaded_before_failing) >= 2
    assert rows(destination_conn_id, "SELECT id, text FROM target ORDER BY id") == [(1, "a"), (2, "b"), (3, "c")]
    assert not any(thread.name == "move-extract" for thread in threading.enumerate())


@pytest.mark.parametrize(("read_ahead", "reader_thread"), [(0, "MainThread"), (1, "move-extract"), (2, "move-extract")])
def test_read_ahead_chooses_where_the_source_is_read(
    source_conn_id: str, destination_conn_id: str, read_ahead: int, reader_thread: str, monkeypatch
) -> None:
    import threading

    from airflow_etl_provider.hooks.sqlite import SQLiteConnectorHook

    threads: set[str] = set()
    original = SQLiteConnectorHook.extract

    def extract(self, *args, **kwargs):
        for batch in original(self, *args, **kwargs):
            threads.add(threading.current_thread().name)
            yield batch

    monkeypatch.setattr(SQLiteConnectorHook, "extract", extract)
    summary = run(
        source_conn_id=source_conn_id,
        source="items",
        destination_conn_id=destination_conn_id,
        destination="copy",
        chunk_size=300,
        read_ahead=read_ahead,
    )
    assert threads == {reader_thread}
    assert summary["rows"] == 1000
    assert rows(destination_conn_id, "SELECT count(*), sum(id) FROM copy") == [(1000, 500500)]


def test_the_memory_pool_gives_back_what_it_keeps_after_each_chunk_on_both_threads(
    source_conn_id: str, destination_conn_id: str, monkeypatch
) -> None:
    """mimalloc keeps each thread's freed pages for reuse: tens of MB over a transfer unless handed back."""
    import threading

    released: list[str] = []

    class Pool:
        def release_unused(self) -> None:
            released.append(threading.current_thread().name)

    monkeypatch.setattr(pa, "default_memory_pool", Pool)
    summary = run(
        source_conn_id=source_conn_id,
        source="items",
        destination_conn_id=destination_conn_id,
        destination="copy",
        chunk_size=300,
    )
    assert summary["chunks"] == 4
    assert released.count("move-extract") >= 4  # the read-ahead worker, where the source's chunks are built
    assert released.count(threading.current_thread().name) >= 4  # where the destination writes them
