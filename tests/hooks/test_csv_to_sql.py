"""CSV files read by the file connectors and loaded into real databases: what a bad file leaves behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from airflow_etl_provider.exceptions import EtlError
from airflow_etl_provider.hooks.filesystem import FilesystemConnectorHook
from airflow_etl_provider.hooks.postgres import PostgresConnectorHook
from airflow_etl_provider.hooks.sqlite import SQLiteConnectorHook


@pytest.fixture
def files(filesystem_conn_id: str) -> tuple[FilesystemConnectorHook, Path]:
    hook = FilesystemConnectorHook(filesystem_conn_id)
    with hook:
        base = Path(hook.config["base_path"])
    return hook, base


def write_broken_csv(path: Path) -> None:
    """20,000 rows; the value on line 15,001 opens a quote it never closes (no error from Arrow)."""
    lines = ["id,text"] + [f"{i},row {i}" for i in range(1, 20_001)]
    lines[15_000] = '15000,"broken'
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("mode", ["append", "replace"])
@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_an_unterminated_quote_at_the_end_of_a_file_leaves_the_table_as_it_was(
    files, database: str, mode: str, request: pytest.FixtureRequest
) -> None:
    """The error comes after the last batch; the rows loaded before it are rolled back with it."""
    hook_class: Callable[[str], SQLiteConnectorHook | PostgresConnectorHook] = (
        SQLiteConnectorHook if database == "sqlite" else PostgresConnectorHook
    )
    destination = hook_class(request.getfixturevalue(f"{database}_conn_id"))
    destination.load([pa.RecordBatch.from_pydict({"id": [1, 2], "text": ["a", "b"]})], "target")
    reader, base = files
    write_broken_csv(base / "broken.csv")

    delivered = []

    def chunks():
        for batch in reader.extract("broken.csv", chunk_size=1_000):
            delivered.append(batch.num_rows)
            yield batch

    with pytest.raises(EtlError, match=r"broken.csv, line 15001: .*no closing quote"):
        destination.load(chunks(), "target", mode=mode)
    assert sum(delivered) >= 14_000  # the rows were written before the error came
    after = pa.Table.from_batches(list(destination.extract("SELECT id, text FROM target ORDER BY id")))
    assert after.to_pylist() == [{"id": 1, "text": "a"}, {"id": 2, "text": "b"}]
