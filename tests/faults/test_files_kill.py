"""SIGKILL a real load into local files or S3 and check what readers, and the next load, see.

Killed while its source blocks (in the middle of a part; after its last chunk, every part
written and nothing published), a load leaves the destination reading exactly as before: none
of it is visible to a reader that skips hidden names (`_x`, `.x`, as Spark, Hive and Arrow
datasets do). The next load of the destination removes what the killed one left (hidden
parts and temporary files, pending multipart uploads), and the two read as one clean load: no
row lost, none duplicated. A multi-file load is also killed inside its publish step (its store
is instrumented in the child to block there): the next load undoes a publish that had not
begun deleting old files, so that the retry does not duplicate rows, and finishes one that had.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pyarrow as pa
import pytest

from airflow_etl_provider.hooks.registry import hook_for
from tests.faults.harness import run_and_kill, sample_batch

TOTAL_ROWS = 300_000
CHUNK_ROWS = 10_000
ROWS_PER_FILE = 50_000
CHUNKS = TOTAL_ROWS // CHUNK_ROWS
OLD_IDS = list(range(10_000_000, 10_001_000))
NEW_IDS = list(range(TOTAL_ROWS))


@dataclass
class Store:
    """One connection and how to look at its raw contents."""

    conn_id: str
    visible: Callable[[], list[str]]  # names a reader that skips hidden names sees
    leftovers: Callable[[], list[str]]  # hidden names and pending uploads

    def read_ids(self, source: str) -> list[int]:
        with hook_for(self.conn_id) as hook:
            return sorted(i for batch in hook.extract(source, chunk_size=100_000) for i in batch["id"].to_pylist())

    def load(self, destination: str, mode: str, options: dict, rows: int = TOTAL_ROWS, start: int = 0) -> None:
        with hook_for(self.conn_id) as hook:
            hook.load(_batches(start, rows), destination, mode=mode, **options)


def _batches(start: int, rows: int) -> Iterator[pa.RecordBatch]:
    for first in range(start, start + rows, CHUNK_ROWS):
        yield sample_batch(first, min(CHUNK_ROWS, start + rows - first))


def _hidden(relative: str) -> bool:
    return any(part.startswith(("_", ".")) for part in relative.split("/"))


@pytest.fixture
def local_store(filesystem_conn_id: str) -> Store:
    with hook_for(filesystem_conn_id) as hook:
        base = Path(hook.config["base_path"])

    def names() -> list[str]:
        return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())

    def leftovers() -> list[str]:
        return sorted({str(p.relative_to(base)) for p in base.rglob("*") if _hidden(str(p.relative_to(base)))})

    return Store(filesystem_conn_id, lambda: [n for n in names() if not _hidden(n)], leftovers)


@pytest.fixture
def s3_store(moto_server: str, s3_bucket: str, airflow_connection) -> Store:
    conn_id = airflow_connection(
        "aws",
        login="testing",
        password="testing",
        extra={"endpoint_url": moto_server, "region_name": "us-east-1", "bucket": s3_bucket},
    )
    client = boto3.client(
        "s3", endpoint_url=moto_server, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )

    def keys() -> list[str]:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=s3_bucket)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def leftovers() -> list[str]:
        uploads = client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])
        return [k for k in keys() if _hidden(k)] + [f"pending upload of {u['Key']}" for u in uploads]

    return Store(conn_id, lambda: [k for k in keys() if not _hidden(k)], leftovers)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest) -> Store:
    return request.getfixturevalue(f"{request.param}_store")


SHAPES = {
    # name: (destination, options); the single CSV file is big enough for a multipart upload
    "single": ("out/orders.csv", {}),
    "multi": ("out/", {"max_rows_per_file": ROWS_PER_FILE}),
}
#: Where the source blocks: in the middle of the third part, and after its very last chunk.
KILL_POINTS = {
    "mid-part": f"killable_chunks({TOTAL_ROWS}, {CHUNK_ROWS}, marker, 12)",
    "all-parts-written": f"chunks_then_block({TOTAL_ROWS}, {CHUNK_ROWS}, marker)",
}


def _load_body(conn_id: str, destination: str, mode: str, options: dict, marker: Path, source: str) -> str:
    return f"""
    from airflow_etl_provider.hooks.registry import hook_for
    from tests.faults.harness import chunks_then_block
    marker = {str(marker)!r}
    with hook_for({conn_id!r}) as hook:
        hook.load({source}, {destination!r}, mode={mode!r}, **{options!r})
    """


@pytest.mark.parametrize("kill_point", KILL_POINTS)
@pytest.mark.parametrize("mode", ["append", "replace"])
@pytest.mark.parametrize("shape", SHAPES)
def test_a_killed_load_is_invisible_and_the_next_load_reads_as_one_clean_run(
    store: Store, shape: str, mode: str, kill_point: str, tmp_path: Path
) -> None:
    destination, options = SHAPES[shape]
    store.load(destination, "append", options, rows=len(OLD_IDS), start=OLD_IDS[0])
    before = store.visible()
    marker = tmp_path / "marker"

    run_and_kill(_load_body(store.conn_id, destination, mode, options, marker, KILL_POINTS[kill_point]), marker)

    assert store.visible() == before
    assert store.read_ids(destination) == OLD_IDS
    assert store.leftovers(), "the kill left nothing to clean up: it did not land inside the write"

    store.load(destination, mode, options)
    expected = sorted(OLD_IDS + NEW_IDS) if mode == "append" else NEW_IDS
    assert store.read_ids(destination) == expected
    assert store.leftovers() == []
    if shape == "multi":
        new_files = [n for n in store.visible() if n not in before or mode == "replace"]
        assert len(new_files) == TOTAL_ROWS // ROWS_PER_FILE


# -- killed inside the publish step ----------------------------------------------------------

DESTINATION = "out/"
OPTIONS = {"max_rows_per_file": ROWS_PER_FILE}
FILES = TOTAL_ROWS // ROWS_PER_FILE

#: Child-process code that makes the store block, after writing the marker, at one point of the publish.
BLOCK_AFTER_FIRST_PUBLISH = """
    original = store_class.publish
    def publish(self, record):
        original(self, record)
        if "_publish.json" not in str(record):  # a data file, not the journal
            block()
    store_class.publish = publish
"""
BLOCK_AFTER_FIRST_DELETE = """
    original = store_class.delete
    def delete(self, names):
        names = list(names)
        original(self, names[:1])
        block()
    store_class.delete = delete
"""


def _body(store: Store, mode: str, marker: Path, instrument: str) -> str:
    return f"""
    import time
    from pathlib import Path
    from airflow_etl_provider.hooks.registry import hook_for
    from tests.faults.test_files_kill import _batches

    def block():
        Path({str(marker)!r}).write_text("publishing")
        while True:
            time.sleep(3600)

    with hook_for({store.conn_id!r}) as hook:
        store_class = type(hook.store)
        {textwrap.indent(textwrap.dedent(instrument), " " * 8).strip()}
        hook.load(_batches(0, {TOTAL_ROWS}), {DESTINATION!r}, mode={mode!r}, **{OPTIONS!r})
    """


@pytest.mark.parametrize("mode", ["append", "replace"])
def test_a_load_killed_while_publishing_its_files_is_undone_by_the_next_load(
    store: Store, mode: str, tmp_path: Path
) -> None:
    store.load(DESTINATION, "append", OPTIONS, rows=len(OLD_IDS), start=OLD_IDS[0])
    before = store.visible()
    marker = tmp_path / "marker"

    run_and_kill(_body(store, mode, marker, BLOCK_AFTER_FIRST_PUBLISH), marker)

    # The one documented window: a reader sees the old files and the part published so far.
    assert len(store.visible()) == len(before) + 1
    assert store.read_ids(DESTINATION) == sorted(OLD_IDS + NEW_IDS[:ROWS_PER_FILE])

    store.load(DESTINATION, mode, OPTIONS)  # the retry
    assert store.read_ids(DESTINATION) == (sorted(OLD_IDS + NEW_IDS) if mode == "append" else NEW_IDS)
    assert store.leftovers() == []


def test_a_replace_killed_while_deleting_the_old_files_is_finished_by_the_next_load(
    store: Store, tmp_path: Path
) -> None:
    for start in (OLD_IDS[0], OLD_IDS[0] + 1000, OLD_IDS[0] + 2000):
        store.load(DESTINATION, "append", OPTIONS, rows=1000, start=start)
    marker = tmp_path / "marker"

    run_and_kill(_body(store, "replace", marker, BLOCK_AFTER_FIRST_DELETE), marker)

    assert len(store.visible()) == 2 + FILES  # every new file, and two old ones not deleted yet

    store.load(DESTINATION, "append", OPTIONS, rows=1000, start=20_000_000)
    assert store.read_ids(DESTINATION) == NEW_IDS + list(range(20_000_000, 20_001_000))
    assert store.leftovers() == []
