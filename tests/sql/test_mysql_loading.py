"""MySQL loading against the real MariaDB: key collation of created tables, tables created
under a staging name, and leftovers of killed loads."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pytest

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
