"""MySQL loading against the real MariaDB: key collation of created tables, tables created
under a staging name, and leftovers of killed loads."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyarrow as pa
import pytest

from airflow_etl_provider.exceptions import LoadError
from airflow_etl_provider.hooks.mysql import MySqlConnectorHook
from airflow_etl_provider.sql.mysql import created_table_collation


@pytest.fixture
def hook(mysql_conn_id: str) -> Iterator[MySqlConnectorHook]:
    hook = MySqlConnectorHook(mysql_conn_id)
    with hook:
        yield hook


def keyed(*keys: str) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({"k": pa.array(list(keys)), "n": pa.array(range(len(keys)), pa.int64())})


def keys_of(hook: MySqlConnectorHook, table: str) -> list[str]:
    return sorted(row[0] for row in hook._query(f"SELECT k FROM `{table}`"))


def collations(hook: MySqlConnectorHook, table: str) -> set[str]:
    """The table's default collation and that of each of its text columns."""
    (table_collation,) = hook._query(
        "SELECT TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
        (table,),
    )[0]
    columns = hook._query(
        "SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s "
        "AND COLLATION_NAME IS NOT NULL",
        (table,),
    )
    return {table_collation, *(collation for (collation,) in columns)}


# -- key collation of created tables -------------------------------------------------------


def test_upsert_keys_differing_by_case_accent_or_trailing_space_stay_apart(hook: MySqlConnectorHook) -> None:
    """The test database's default is utf8mb4_general_ci, where all four keys are equal."""
    for key in ["cafe", "Café", "CAFE", "cafe "]:
        hook.load([keyed(key)], "words", mode="upsert", keys=["k"])
    assert keys_of(hook, "words") == ["CAFE", "Café", "cafe", "cafe "]
    assert collations(hook, "words") == {"utf8mb4_nopad_bin"}


@pytest.mark.parametrize("mode", ["append", "replace"])
def test_created_tables_compare_text_byte_for_byte(hook: MySqlConnectorHook, mode: str) -> None:
    hook.load([keyed("cafe", "Café", "CAFE")], "words", mode=mode)
    assert collations(hook, "words") == {"utf8mb4_nopad_bin"}
    assert hook._query("SELECT COUNT(*) FROM words WHERE k = 'cafe'") == [(1,)]


def test_a_binary_database_default_is_kept(hook: MySqlConnectorHook) -> None:
    """A database that already compares bytes keeps its own collation, so its tables join ours."""
    hook._query("ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    hook.load([keyed("cafe", "Café", "CAFE")], "words", mode="upsert", keys=["k"])
    assert collations(hook, "words") == {"utf8mb4_bin"}
    assert keys_of(hook, "words") == ["CAFE", "Café", "cafe"]


def test_collation_choice_off_this_server() -> None:
    """MySQL 8 offers utf8mb4_0900_bin; a server with neither NO PAD collation gets utf8mb4_bin."""
    assert created_table_collation("utf8mb4_0900_ai_ci", ["utf8mb4_0900_bin"]) == "utf8mb4_0900_bin"
    assert created_table_collation("utf8mb4_0900_bin", ["utf8mb4_0900_bin"]) == "utf8mb4_0900_bin"
    assert created_table_collation("utf8mb4_unicode_ci", []) == "utf8mb4_bin"
    assert created_table_collation("latin1_bin", ["utf8mb4_nopad_bin"]) == "utf8mb4_nopad_bin"


# -- a table the load creates appears only once its rows are in ------------------------------


def batch(start: int, count: int, label: str) -> pa.RecordBatch:
    ids = list(range(start, start + count))
    return pa.RecordBatch.from_pydict({"id": pa.array(ids, pa.int64()), "label": pa.array([label] * count)})


def work_tables(hook: MySqlConnectorHook) -> list[str]:
    return sorted(name for (name,) in hook._query("SHOW TABLES") if name.startswith("_etl_"))


def interleaved(first: pa.RecordBatch, meanwhile: Callable[[], None], last: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
    """Two chunks, with `meanwhile` (another session's work) run while the load waits for the second."""
    yield first
    meanwhile()
    yield last


def test_a_table_being_created_is_not_visible_until_the_load_ends(hook: MySqlConnectorHook, mysql_conn_id: str) -> None:
    seen: list[list[str]] = []
    with MySqlConnectorHook(mysql_conn_id) as other:

        def look() -> None:
            seen.append([name for (name,) in other._query("SHOW TABLES") if not name.startswith("_etl_")])

        hook.load(interleaved(batch(0, 10, "a"), look, batch(10, 10, "a")), "t", mode="append")
    assert seen == [[]]
    assert hook._query("SELECT COUNT(*) FROM t") == [(20,)]


def test_concurrent_appends_creating_one_table_keep_the_rows_of_both(
    hook: MySqlConnectorHook, mysql_conn_id: str
) -> None:
    """Mapped tasks appending to a table that does not exist yet: both create it, the second
    rename finds the first one's table there and appends its staged rows to it."""
    other = MySqlConnectorHook(mysql_conn_id)

    def other_load() -> None:
        other.load([batch(100, 5, "b")], "t", mode="append")

    result = hook.load(interleaved(batch(0, 10, "a"), other_load, batch(10, 10, "a")), "t", mode="append")
    assert result.rows == 20
    assert hook._query("SELECT label, COUNT(*), SUM(id) FROM t GROUP BY label ORDER BY label") == [
        ("a", 20, sum(range(20))),
        ("b", 5, sum(range(100, 105))),
    ]
    assert work_tables(hook) == []


def test_concurrent_upserts_creating_one_table_merge_on_the_keys(hook: MySqlConnectorHook, mysql_conn_id: str) -> None:
    other = MySqlConnectorHook(mysql_conn_id)

    def other_load() -> None:
        other.load([batch(5, 10, "b")], "t", mode="upsert", keys=["id"])

    hook.load(interleaved(batch(0, 5, "a"), other_load, batch(5, 5, "a")), "t", mode="upsert", keys=["id"])
    assert hook._query("SELECT label, COUNT(*) FROM t GROUP BY label ORDER BY label") == [("a", 10), ("b", 5)]
    assert hook._query("SELECT MIN(id), MAX(id) FROM t WHERE label = 'b'") == [(10, 14)]
    assert work_tables(hook) == []


def test_a_table_created_meanwhile_with_other_columns_fails_the_load_and_keeps_none_of_its_rows(
    hook: MySqlConnectorHook, mysql_conn_id: str
) -> None:
    other = MySqlConnectorHook(mysql_conn_id)

    def create() -> None:
        with other:
            other._query("CREATE TABLE t (id BIGINT, remark TEXT)")
            other._query("INSERT INTO t VALUES (1, 'theirs')")

    with pytest.raises(LoadError, match=r"Append into t: another session created t .*nothing of this load was kept"):
        hook.load(interleaved(batch(0, 10, "a"), create, batch(10, 10, "a")), "t", mode="append")
    assert hook._query("SELECT * FROM t") == [(1, "theirs")]
    assert work_tables(hook) == []


# -- LOAD DATA files ------------------------------------------------------------------------


def test_a_chunk_written_in_pieces_loads_every_row_once(hook: MySqlConnectorHook, monkeypatch) -> None:
    """The LOAD DATA file of a chunk is written a few rows at a time; the pieces join into whole lines."""
    import airflow_etl_provider.sql.mysql as mysql_sql

    monkeypatch.setattr(mysql_sql, "INFILE_PIECE_BYTES", 64)  # a piece of a few rows
    texts = [f"row {i}\twith a tab\nand a newline \\ {'é' * (i % 5)}" for i in range(500)]
    batch = pa.RecordBatch.from_pydict({"n": pa.array(range(500), pa.int64()), "t": pa.array(texts)})
    hook.load([batch], "pieces")
    assert hook._query("SELECT n, t FROM pieces ORDER BY n") == list(zip(range(500), texts, strict=True))
