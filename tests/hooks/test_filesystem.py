from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_etl_provider.exceptions import ConnectorConfigError, EtlError, LoadError, SourceError
from airflow_etl_provider.formats import base as formats_base
from airflow_etl_provider.formats import register_format
from airflow_etl_provider.formats.jsonl import JsonLinesFormat
from airflow_etl_provider.hooks.filesystem import FilesystemConnectorHook

DEMO_TYPES = {"amount": "decimal128(18,2)", "at": "timestamp[us, tz=UTC]"}


def demo_table(rows: int = 5) -> pa.Table:
    return pa.table(
        {
            "id": pa.array([i if i % 3 else None for i in range(rows)], pa.int64()),
            "amount": pa.array([Decimal(f"{i}.{i % 100:02d}") for i in range(rows)], pa.decimal128(18, 2)),
            "at": pa.array(
                [dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=i) for i in range(rows)],
                pa.timestamp("us", tz="UTC"),
            ),
            "note": pa.array([f'row {i}, "quoted"\nnext ✓' for i in range(rows)], pa.string()),
        }
    )


@pytest.fixture
def hook(filesystem_conn_id: str) -> FilesystemConnectorHook:
    return FilesystemConnectorHook(filesystem_conn_id)


@pytest.fixture
def base(hook: FilesystemConnectorHook) -> Path:
    return Path(hook.config["base_path"])


def read_all(hook, source, chunk_size=1000, **options) -> pa.Table:
    return pa.Table.from_batches(list(hook.extract(source, chunk_size=chunk_size, **options)))


@pytest.mark.parametrize(
    "name", ["out/t.csv", "out/t.csv.gz", "out/t.parquet", "out/t.json", "out/t.jsonl.gz", "out/t.xlsx"]
)
def test_round_trip_keeps_demo_types(hook, name):
    table = demo_table(7)
    result = hook.load(table.to_batches(max_chunksize=3), name, mode="replace")
    assert (result.rows, result.chunks) == (7, 3)
    assert result.bytes > 0
    back = read_all(hook, name, column_types=None if name.endswith(".parquet") else DEMO_TYPES)
    assert back.equals(table)


def test_gzip_files_are_really_compressed(hook, base):
    hook.load(demo_table(100).to_batches(), "t.jsonl.gz", mode="replace")
    assert (base / "t.jsonl.gz").read_bytes()[:2] == b"\x1f\x8b"


def test_csv_without_declared_types_keeps_ints_with_nulls(hook):
    hook.load(demo_table().to_batches(), "t.csv", mode="replace")
    back = read_all(hook, "t.csv")
    assert back.schema.field("id").type == pa.int64()
    assert back.column("id").to_pylist() == [None, 1, 2, None, 4]


def test_format_option_overrides_the_extension(hook, base):
    (base / "data.dat").write_text("a,b\n1,x\n")
    assert read_all(hook, "data.dat", format="csv").to_pylist() == [{"a": 1, "b": "x"}]
    with pytest.raises(SourceError, match="Cannot tell the format of data.dat"):
        read_all(hook, "data.dat")


class _Ledger(JsonLinesFormat):
    """A format registered by a third party: the errors must offer it too."""

    name = "ledger"
    extensions = (".ledger",)


@pytest.fixture
def ledger_format():
    register_format(_Ledger())
    yield
    del formats_base._FORMATS["ledger"]


def test_unknown_format_errors_list_the_registered_formats(hook, base, ledger_format):
    (base / "data.dat").write_text("{}\n")
    with pytest.raises(SourceError, match=r"one of: csv, json, jsonl, ledger, parquet, xlsx\)"):
        read_all(hook, "data.dat")
    extensions = r"known extension \(.csv, .csv.gz, .tsv.*\.ledger, \.ledger\.gz, .*\.pq, \.xlsx\)"
    with pytest.raises(LoadError, match=extensions):
        hook.load([pa.record_batch({"a": [1]})], "out.dat")


def test_a_glob_is_one_stream_of_exact_chunks_with_the_file_name(hook, base):
    (base / "in").mkdir()
    for part in range(3):
        (base / "in" / f"p{part}.csv").write_text("n\n" + "".join(f"{part * 10 + i}\n" for i in range(7)))
    batches = list(hook.extract("in/*.csv", chunk_size=5, file_name_column="source_file"))
    assert [b.num_rows for b in batches] == [5, 5, 5, 5, 1]
    table = pa.Table.from_batches(batches)
    assert table.column("n").to_pylist() == [p * 10 + i for p in range(3) for i in range(7)]
    assert table.column("source_file").to_pylist()[6:8] == ["in/p0.csv", "in/p1.csv"]


def test_files_with_different_columns_are_refused_naming_the_file(hook, base):
    (base / "a.csv").write_text("n\n1\n")
    (base / "b.csv").write_text("m\n1\n")
    with pytest.raises(SourceError, match="b.csv has columns"):
        read_all(hook, "*.csv")


@pytest.mark.parametrize("path", ["../outside.csv", "/etc/passwd", "a/../../x.csv"])
def test_paths_outside_base_path_are_refused(hook, path):
    with pytest.raises(EtlError, match="outside the base directory"):
        hook.extract(path, chunk_size=10)
    with pytest.raises(EtlError, match="outside the base directory"):
        hook.load(demo_table().to_batches(), path, mode="replace")


def test_a_symlink_out_of_base_path_is_refused(hook, base, tmp_path):
    (tmp_path / "secret.csv").write_text("a\n1\n")
    os.symlink(tmp_path / "secret.csv", base / "link.csv")
    with pytest.raises(EtlError, match="outside the base directory"):
        hook.extract("link.csv", chunk_size=10)


def test_malformed_csv_names_file_and_line(hook, base):
    (base / "bad.csv").write_text('a,b\n1,"multi\nline"\n2,ok\n3,too,many\n')
    with pytest.raises(SourceError, match=r"bad.csv, line 5: expected 2 columns, got 3"):
        read_all(hook, "bad.csv")


@pytest.mark.parametrize("name", ["t.parquet", "t.csv.gz"])
def test_append_to_an_existing_single_file_rewrites_it_with_old_then_new_rows(hook, base, name):
    table = demo_table(6)
    hook.load(table.slice(0, 4).to_batches(), name, mode="append")
    result = hook.load(table.slice(4).to_batches(), name, mode="append")
    assert (result.rows, result.details["rows_rewritten"]) == (2, 4)
    back = read_all(hook, name, column_types=DEMO_TYPES if ".csv" in name else None)
    assert back.equals(table)
    assert sorted(os.listdir(base)) == [name]


def test_append_with_other_columns_is_refused_and_keeps_the_file(hook, base):
    hook.load(demo_table().to_batches(), "t.parquet", mode="append")
    before = (base / "t.parquet").read_bytes()
    with pytest.raises(LoadError, match="Cannot append to t.parquet: it has columns id int64"):
        hook.load(pa.table({"other": [1]}).to_batches(), "t.parquet", mode="append")
    assert (base / "t.parquet").read_bytes() == before


def test_append_to_a_directory_or_pattern_adds_new_files(hook, base):
    for _ in range(2):
        hook.load(demo_table().to_batches(), "dir/", mode="append")
        hook.load(demo_table().to_batches(), "pat/orders-*.csv", mode="append")
    assert len(list((base / "dir").glob("part-*.parquet"))) == 2
    assert len(list((base / "pat").glob("orders-*.csv"))) == 2
    assert read_all(hook, "dir").num_rows == 10


def test_replace_of_a_directory_keeps_only_the_new_files(hook, base):
    hook.load(demo_table().to_batches(), "dir/", mode="append")
    result = hook.load(demo_table(9).to_batches(), "dir/", mode="replace", max_rows_per_file=4)
    files = sorted(p.name for p in (base / "dir").iterdir())
    assert len(files) == 3 and [f"dir/{f}" for f in files] == result.details["files"]
    assert [pq.read_metadata(base / "dir" / f).num_rows for f in files] == [4, 4, 1]
    assert read_all(hook, "dir/").equals(demo_table(9))


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(hook, base):
    hook.load(demo_table().to_batches(), "t.parquet", mode="replace")
    before = (base / "t.parquet").read_bytes()

    def failing():
        yield demo_table().to_batches()[0]
        raise RuntimeError("source broke")

    with pytest.raises(LoadError, match="nothing was left behind: source broke"):
        hook.load(failing(), "t.parquet", mode="replace")
    assert (base / "t.parquet").read_bytes() == before
    assert sorted(os.listdir(base)) == ["t.parquet"]


def test_a_failed_multi_file_write_removes_the_files_it_wrote(hook, base):
    def failing():
        yield from demo_table(8).to_batches(max_chunksize=2)
        raise RuntimeError("boom")

    with pytest.raises(LoadError):
        hook.load(failing(), "dir/", mode="append", max_rows_per_file=2)
    assert list((base / "dir").iterdir()) == []


def test_upsert_is_refused(hook):
    with pytest.raises(LoadError, match="cannot be upserted"):
        hook.load(demo_table().to_batches(), "t.csv", mode="upsert", keys=["id"])


def test_get_schema_lists_files_with_sampled_columns(hook):
    hook.load(demo_table().to_batches(), "a/t.parquet", mode="replace")
    hook.load(demo_table().to_batches(), "b/t.csv", mode="replace")
    schema = hook.get_schema()
    assert [t.name for t in schema.tables] == ["a/t.parquet", "b/t.csv"]
    assert schema.table("a/t.parquet").column("amount").type == "decimal128(18, 2)"
    assert schema.table("b/t.csv").column("id").type == "int64"
    assert schema.table("b/t.csv").kind == "csv file"


def test_preview_reads_only_the_rows_it_shows(hook, base):
    (base / "big.csv").write_text("n\n" + "".join(f"{i}\n" for i in range(5000)))
    frame = hook.preview("big.csv", limit=3)
    assert frame["n"].tolist() == [0, 1, 2]


def test_test_connection_reports_each_problem(tmp_path, airflow_connection):
    ok = FilesystemConnectorHook(airflow_connection("filesystem", extra={"base_path": str(tmp_path)}))
    assert ok.test_connection()[0] is True
    missing = FilesystemConnectorHook(airflow_connection("filesystem", extra={"base_path": str(tmp_path / "nope")}))
    assert missing.test_connection() == (
        False,
        f"Base directory {str(tmp_path / 'nope')!r} does not exist; create it or fix base_path.",
    )
    (tmp_path / "f").write_text("x")
    a_file = FilesystemConnectorHook(airflow_connection("filesystem", extra={"base_path": str(tmp_path / "f")}))
    assert "is not a directory" in a_file.test_connection()[1]


def test_base_path_is_required(airflow_connection):
    hook = FilesystemConnectorHook(airflow_connection("filesystem", extra={}))
    with pytest.raises(ConnectorConfigError, match="'base_path'"):
        hook.extract("x.csv", chunk_size=1)


def test_a_writer_failure_stops_pulling_from_the_source_and_leaves_nothing(hook, base):
    pulled = []

    def source():
        for i in range(100):
            pulled.append(i)
            yield pa.record_batch({"nested": pa.array([{"a": i}])})  # CSV cannot hold a struct

    with pytest.raises(LoadError, match="nothing was left behind"):
        hook.load(source(), "t.csv", mode="replace")
    assert len(pulled) < 10
    assert os.listdir(base) == []


def test_reading_a_directory_skips_hidden_names_below_it(hook, base):
    for name in ("dir/a.csv", "dir/_SUCCESS", "dir/.a.csv.crc", "dir/_etl-tmp-x/b.csv", "dir/sub/_tmp/c.csv"):
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_text("n\n1\n")
    (base / "_staging").mkdir()
    (base / "_staging" / "d.csv").write_text("n\n2\n")
    assert hook.store.expand("dir") == hook.store.expand("dir/") == hook.store.expand("dir/**/*.csv") == ["dir/a.csv"]
    assert read_all(hook, "_staging/*.csv").to_pylist() == [{"n": 2}]  # a hidden folder named by the source is read
    assert read_all(hook, "dir/_etl-tmp-x/b.csv").to_pylist() == [{"n": 1}]  # so is a hidden file named exactly


def _run_folder(pid: int, host: str | None = None, hours_ago: float = 0) -> str:
    from airflow_etl_provider.files import RUN_FOLDER_PREFIX, _host

    started = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - hours_ago * 3600))
    return f"{RUN_FOLDER_PREFIX}{started}-{host or _host()}-{pid}-0123abcd"


def test_the_next_load_removes_what_dead_runs_left_and_nothing_else(hook, base):
    with subprocess.Popen(["sleep", "60"]) as alive, subprocess.Popen(["true"]) as dead:
        dead.wait()
        folders = {
            "dead": _run_folder(dead.pid),
            "alive": _run_folder(alive.pid),
            "other host, recent": _run_folder(1, host="worker-7", hours_ago=1),
            "other host, stale": _run_folder(1, host="worker-7", hours_ago=25),
            "not ours": "_etl-tmp-made-by-someone-else",
        }
        for folder in folders.values():
            (base / "out" / folder).mkdir(parents=True)
            (base / "out" / folder / "part-1.parquet.tmp").write_bytes(b"half a file")
        (base / "out" / "_mine").mkdir()
        (base / "out" / ".keep").write_text("")
        hook.load(demo_table().to_batches(), "out/", mode="append")
        alive.kill()
    left = sorted(p.name for p in (base / "out").iterdir() if p.name.startswith(("_", ".")))
    kept = [folders["alive"], folders["other host, recent"], folders["not ours"]]
    assert left == sorted([".keep", "_mine", *kept])
