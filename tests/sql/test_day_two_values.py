"""Values nobody here wrote, loaded as a daily DAG loads them: into a new table, then `replace`
over the table the load created, then `append` into it, on SQLite, PostgreSQL and MariaDB.

The fixtures are small Parquet files of the shapes real files have (parquet-testing's
list_columns, nested_lists, nested_maps, null_list, repeated_*; nanosecond and far-future
timestamps; NaN), read back through the filesystem connector as a DAG would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_etl_provider.exceptions import LoadError, SourceError
from airflow_etl_provider.hooks.filesystem import FilesystemConnectorHook
from airflow_etl_provider.hooks.mysql import MySqlConnectorHook
from airflow_etl_provider.hooks.postgres import PostgresConnectorHook
from airflow_etl_provider.hooks.sql_base import SqlConnectorHook
from airflow_etl_provider.hooks.sqlite import SQLiteConnectorHook

DESTINATIONS = ["sqlite", "postgres", "mysql"]
#: The day-two sequence: a new table, `replace` over the table the first load made, `append`.
DAYS = ["replace", "replace", "append"]


@pytest.fixture(params=DESTINATIONS)
def destination(request: pytest.FixtureRequest) -> SqlConnectorHook:
    hooks: dict[str, type[SqlConnectorHook]] = {
        "sqlite": SQLiteConnectorHook,
        "postgres": PostgresConnectorHook,
        "mysql": MySqlConnectorHook,
    }
    return hooks[request.param](request.getfixturevalue(f"{request.param}_conn_id"))


@pytest.fixture
def parquet(filesystem_conn_id: str) -> Callable[[pa.Table], Iterator[pa.RecordBatch]]:
    """Write `table` as a Parquet file and return its chunks as the filesystem connector reads them."""
    files = FilesystemConnectorHook(filesystem_conn_id)
    with files:
        base = Path(files.config["base_path"])

    def read(table: pa.Table, int96: bool = False, **read_options: Any) -> Iterator[pa.RecordBatch]:
        pq.write_table(table, base / "values.parquet", use_deprecated_int96_timestamps=int96)
        return files.extract("values.parquet", chunk_size=2, **read_options)

    return read


def load_days(hook: SqlConnectorHook, read: Callable[[], Iterator[pa.RecordBatch]], **options: Any) -> pa.Table:
    """Run the day-two sequence into table `t` and return what the table holds after it."""
    for mode in DAYS:
        result = hook.load(read(), "t", mode=mode, **options)
        assert result.rows > 0
    return pa.Table.from_batches(list(hook.extract("SELECT * FROM t ORDER BY id")))


def as_json(value: Any) -> Any:
    """A stored nested value as Python: JSON text parsed, native arrays (PostgreSQL) as they are."""
    return json.loads(value) if isinstance(value, str) else value


# -- 1. nested columns ---------------------------------------------------------------------

STAMP = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
NESTED = {
    "list": (pa.list_(pa.int64()), [[1, 2, 3], []], [[1, 2, 3], []]),
    "nested_list": (pa.list_(pa.list_(pa.int64())), [[[1], [2, 3]], [[]]], [[[1], [2, 3]], [[]]]),
    "map": (pa.map_(pa.string(), pa.int64()), [[("a", 1), ("b", 2)], None, []], [{"a": 1, "b": 2}, None, {}]),
    "struct": (
        pa.struct([("a", pa.int64()), ("b", pa.string()), ("at", pa.timestamp("us", tz="UTC"))]),
        [{"a": 1, "b": "é", "at": STAMP}, None],
        [{"a": 1, "b": "é", "at": "2026-01-02 03:04:05.000006Z"}, None],
    ),
    "null_list": (pa.list_(pa.string()), [None, ["x", None], []], [None, ["x", None], []]),
    "repeated": (
        pa.list_(pa.struct([("n", pa.int64()), ("s", pa.string())])),
        [[{"n": 1, "s": "a"}, {"n": 2, "s": None}], []],
        [[{"n": 1, "s": "a"}, {"n": 2, "s": None}], []],
    ),
}


@pytest.mark.parametrize("kind", NESTED)
def test_nested_columns_load_every_day(destination: SqlConnectorHook, parquet: Callable, kind: str) -> None:
    arrow_type, values, expected = NESTED[kind]
    table = pa.table({"id": list(range(len(values))), "v": pa.array(values, arrow_type)})

    stored = load_days(destination, lambda: parquet(table))

    assert stored.column("id").to_pylist() == sorted(list(range(len(values))) * 2)
    assert [as_json(v) for v in stored.column("v").to_pylist()] == [item for item in expected for _ in (0, 1)]


# -- 4. nanoseconds ------------------------------------------------------------------------

NS = 1_767_323_045_123_456_789  # 2026-01-02 03:04:05.123456789


@pytest.mark.parametrize("tz", [None, "UTC"])
def test_nanoseconds_are_refused_unless_truncation_is_asked(
    destination: SqlConnectorHook, parquet: Callable, tz: str | None
) -> None:
    table = pa.table({"id": [1, 2], "t": pa.array([NS - 789, NS], pa.timestamp("ns", tz=tz))})

    with pytest.raises(LoadError, match=r"row 2, column 't'.*timestamp_truncation"):
        destination.load(parquet(table), "t", mode="replace")

    stored = load_days(destination, lambda: parquet(table), timestamp_truncation=True)
    as_micros = stored.column("t").cast(pa.int64()).to_pylist()
    assert as_micros == [(NS - 789) // 1000] * 2 + [NS // 1000] * 2  # digits beyond the microsecond dropped
    with pytest.raises(LoadError, match=r"row 2, column 't'"):  # and into the existing table too
        destination.load(parquet(table), "t", mode="append")


def test_nanosecond_columns_of_whole_microseconds_load_without_the_option(
    destination: SqlConnectorHook, parquet: Callable
) -> None:
    table = pa.table({"id": [1], "t": pa.array([NS - 789], pa.timestamp("ns"))})

    stored = load_days(destination, lambda: parquet(table))

    assert stored.column("t").cast(pa.int64()).to_pylist() == [(NS - 789) // 1000] * 2


def test_unknown_timestamp_truncation_value_is_refused(sqlite_conn_id: str, parquet: Callable) -> None:
    table = pa.table({"id": [1], "t": pa.array([NS], pa.timestamp("ns"))})
    with pytest.raises(LoadError, match="timestamp_truncation"):
        SQLiteConnectorHook(sqlite_conn_id).load(parquet(table), "t", timestamp_truncation="yes")


# -- 5. timestamps outside years 1..9999 ---------------------------------------------------

YEAR_1 = int(datetime(1, 1, 1).replace(tzinfo=timezone.utc).timestamp() * 1_000_000)
YEAR_9999_END = int(datetime(9999, 12, 31, 23, 59, 59).replace(tzinfo=timezone.utc).timestamp()) * 1_000_000 + 999_999
FAR_FUTURE = 400_000_000_000_000_000  # year 14645
FAR_PAST = -200_000_000_000_000_000  # year -4368 (4369 BC)
BEFORE_POSTGRES = -300_000_000_000_000_000  # year 7537 BC, before PostgreSQL's 4714-11-24 BC


@pytest.mark.parametrize("tz", [None, "UTC"])
def test_timestamps_in_years_1_to_9999_load_everywhere(
    destination: SqlConnectorHook, parquet: Callable, tz: str | None
) -> None:
    table = pa.table({"id": [1, 2], "t": pa.array([YEAR_1, YEAR_9999_END], pa.timestamp("us", tz=tz))})

    stored = load_days(destination, lambda: parquet(table))

    assert stored.column("t").cast(pa.int64()).to_pylist() == [YEAR_1, YEAR_1, YEAR_9999_END, YEAR_9999_END]


@pytest.mark.parametrize("tz", [None, "UTC"])
def test_far_timestamps_are_stored_exactly_by_postgres(
    postgres_conn_id: str, parquet: Callable, tz: str | None
) -> None:
    values = [FAR_PAST, -1, FAR_FUTURE]
    table = pa.table({"id": [1, 2, 3], "t": pa.array(values, pa.timestamp("us", tz=tz))})

    stored = load_days(PostgresConnectorHook(postgres_conn_id), lambda: parquet(table))

    assert stored.column("t").cast(pa.int64()).to_pylist() == sorted(values * 2)


def test_far_timestamps_inside_postgres_arrays_are_stored_exactly(postgres_conn_id: str, parquet: Callable) -> None:
    values = [[FAR_FUTURE, 0, None], [YEAR_9999_END]]
    table = pa.table({"id": [1, 2], "v": pa.array(values, pa.list_(pa.timestamp("us", tz="UTC")))})

    stored = load_days(PostgresConnectorHook(postgres_conn_id), lambda: parquet(table))

    assert stored.column("v").type == pa.list_(pa.timestamp("us", tz="UTC"))
    as_micros = stored.column("v").cast(pa.list_(pa.int64())).to_pylist()
    assert as_micros == [values[0], values[0], values[1], values[1]]


@pytest.mark.parametrize(
    ("name", "value"), [("sqlite", FAR_FUTURE), ("mysql", FAR_PAST), ("postgres", BEFORE_POSTGRES)]
)
def test_timestamps_a_destination_cannot_hold_are_refused_naming_row_and_column(
    request: pytest.FixtureRequest, parquet: Callable, name: str, value: int
) -> None:
    hook = {"sqlite": SQLiteConnectorHook, "postgres": PostgresConnectorHook, "mysql": MySqlConnectorHook}[name](
        request.getfixturevalue(f"{name}_conn_id")
    )
    table = pa.table({"id": [1, 2], "t": pa.array([0, value], pa.timestamp("us"))})
    for mode in ("replace", "append"):
        with pytest.raises(LoadError, match=r"row 2, column 't': value '-?\d{4,6}-\d\d-\d\d .*' is outside"):
            hook.load(parquet(table), "t", mode=mode)
    hook.load(parquet(table.slice(0, 1)), "t")  # the day-one table, then the same refusal into it
    with pytest.raises(LoadError, match=r"row 2, column 't'"):
        hook.load(parquet(table), "t", mode="replace")


def test_far_int96_timestamps_load_where_they_fit_and_are_refused_where_not(
    destination: SqlConnectorHook, parquet: Callable
) -> None:
    """INT96 (Impala, Spark): read in microseconds when asked, else refused, never wrapped."""
    table = pa.table({"id": [1, 2], "t": pa.array([0, FAR_FUTURE], pa.timestamp("us"))})
    with pytest.raises(SourceError, match=r"row 2, column 't': INT96 timestamp '14645-06-30"):
        destination.load(parquet(table, int96=True), "t", mode="replace")

    def read() -> Iterator[pa.RecordBatch]:
        return parquet(table, int96=True, int96_timestamp_unit="us")

    if isinstance(destination, PostgresConnectorHook):
        stored = load_days(destination, read)
        assert stored.column("t").cast(pa.int64()).to_pylist() == [0, 0, FAR_FUTURE, FAR_FUTURE]
    else:
        with pytest.raises(LoadError, match=r"row 2, column 't': value '14645-06-30 .*' is outside"):
            destination.load(read(), "t", mode="replace")


def test_far_timestamps_inside_structs_are_kept_as_json_text(destination: SqlConnectorHook, parquet: Callable) -> None:
    struct = pa.struct([("at", pa.timestamp("us"))])
    table = pa.table({"id": [1, 2], "v": pa.array([{"at": FAR_FUTURE}, {"at": FAR_PAST}], struct)})

    stored = load_days(destination, lambda: parquet(table))

    texts = [as_json(v)["at"] for v in stored.column("v").to_pylist()]
    assert texts == ["14645-06-30 15:06:40.000000"] * 2 + ["-4368-04-02 04:26:40.000000"] * 2


# -- 6. NaN ----------------------------------------------------------------------------------


def test_nan_is_refused_where_it_cannot_be_stored(destination: SqlConnectorHook, parquet: Callable) -> None:
    table = pa.table({"id": [1, 2], "x": pa.array([1.5, float("nan")])})
    if isinstance(destination, PostgresConnectorHook):  # double precision holds NaN
        stored = load_days(destination, lambda: parquet(table))
        assert [str(x) for x in stored.column("x").to_pylist()] == ["1.5", "1.5", "nan", "nan"]
        return
    for mode in ("replace", "append"):
        with pytest.raises(LoadError, match=r"row 2, column 'x': value nan .*cannot store NaN"):
            destination.load(parquet(table), "t", mode=mode)
    destination.load(parquet(table.slice(0, 1)), "t")
    with pytest.raises(LoadError, match=r"row 2, column 'x'"):
        destination.load(parquet(table), "t", mode="replace")


def test_infinity_is_refused_by_mysql_and_stored_by_the_others(
    destination: SqlConnectorHook, parquet: Callable
) -> None:
    table = pa.table({"id": [1, 2, 3], "x": pa.array([1.5, float("inf"), float("-inf")])})
    if isinstance(destination, MySqlConnectorHook):  # DOUBLE has no infinity
        with pytest.raises(LoadError, match=r"row 2, column 'x': value inf .*cannot store infinity"):
            destination.load(parquet(table), "t", mode="replace")
        return
    stored = load_days(destination, lambda: parquet(table))
    assert stored.column("x").to_pylist() == [1.5, 1.5, float("inf"), float("inf"), float("-inf"), float("-inf")]


def test_nan_inside_nested_values_is_refused_naming_row_and_column(
    destination: SqlConnectorHook, parquet: Callable
) -> None:
    struct = pa.struct([("x", pa.float64())])
    table = pa.table({"id": [1, 2], "v": pa.array([{"x": 1.0}, {"x": float("nan")}], struct)})
    with pytest.raises(LoadError, match=r"row 2, column 'v'.*NaN"):
        destination.load(parquet(table), "t", mode="replace")
