"""The standard test suite every connector passes, built-in or plugin.

A plugin author subclasses `ConnectorConformance` in a test module (named `Test...` so
pytest collects it), sets `connector_class`, and overrides the `conn_id` and `source`
fixtures (and `destination` when the connector loads); the inherited tests then run against
the live connection:

    class TestMyConnector(ConnectorConformance):
        connector_class = MyConnector

        @pytest.fixture
        def conn_id(self, airflow_connection):  # fixture of the SDK's pytest plugin
            return airflow_connection("my_api", host="http://127.0.0.1:8080")

        @pytest.fixture
        def source(self, conn_id):
            return "customers"  # holds at least `min_source_rows` rows
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pandas as pd
import pyarrow as pa
import pytest

from airflow_etl_provider.exceptions import EtlError, UnknownOptionError, UnsupportedOperationError
from airflow_etl_provider.hooks.base import ConnectorHook
from airflow_etl_provider.hooks.registry import registry
from airflow_etl_provider.sdk._metadata import connector_problems, plugin_metadata
from airflow_etl_provider.types import (
    ColumnInfo,
    LoadMode,
    LoadResult,
    Operation,
    SchemaInfo,
    TableInfo,
)

#: What the load tests write: small, with the types every destination must keep apart.
SAMPLE = pa.record_batch(
    {
        "id": pa.array([1, 2, 3], pa.int64()),
        "name": pa.array(["ada", "grace", "linus"], pa.string()),
        "amount": pa.array([1.5, 2.25, -3.0], pa.float64()),
    }
)

# Methods an undeclared operation must refuse, with arguments that would otherwise work.
_CALLS = {
    Operation.GET_SCHEMA: lambda hook: hook.get_schema(),
    Operation.EXTRACT: lambda hook: list(hook.extract("conformance_undeclared", chunk_size=2)),
    Operation.LOAD: lambda hook: hook.load(iter([SAMPLE]), "conformance_undeclared"),
    Operation.PREVIEW: lambda hook: hook.preview("conformance_undeclared", limit=2),
}


def _rows(hook: ConnectorHook, name: str) -> list[tuple[int, str]]:
    """Every `(id, name)` row of `name`, sorted, read back through the connector itself.

    A list, not a dict: a row written twice (an "upsert" that appends) must show up twice.
    """
    table = pa.Table.from_batches(list(hook.extract(name, chunk_size=1000)))
    ids, names = table.column("id").to_pylist(), table.column("name").to_pylist()
    return sorted((int(i), str(n)) for i, n in zip(ids, names, strict=True))


def _single_row_chunks(batch: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
    return (batch.slice(i, 1) for i in range(batch.num_rows))


class ConnectorConformance:
    """Inherit to run the standard connector tests; override the fixtures below."""

    #: The connector class under test; the connection's type must resolve to it.
    connector_class: ClassVar[type[ConnectorHook]]
    #: Load modes to expect (the others must be refused); None: the class's `load_modes`.
    load_modes: ClassVar[tuple[LoadMode, ...] | None] = None
    #: The `source` fixture must hold at least this many rows.
    min_source_rows: ClassVar[int] = 3

    # -- fixtures the author overrides ---------------------------------------------------

    @pytest.fixture
    def conn_id(self) -> str:
        pytest.fail(f"{type(self).__name__} must override the `conn_id` fixture (a live connection id).")

    @pytest.fixture
    def source(self, conn_id: str) -> str:
        pytest.fail(f"{type(self).__name__} must override the `source` fixture (a data set with rows).")

    @pytest.fixture
    def destination(self, conn_id: str) -> str | None:
        """A fresh destination name the load tests may write; None skips them."""
        return None

    # -- helpers -------------------------------------------------------------------------

    @pytest.fixture
    def hook(self, conn_id: str) -> Iterator[ConnectorHook]:
        hook = registry.hook_for(conn_id)
        with hook:
            yield hook

    def _declares(self, operation: Operation) -> None:
        if operation not in self.connector_class.operations:
            pytest.skip(f"{self.connector_class.conn_type} does not declare {operation.value}")

    # -- metadata ------------------------------------------------------------------------

    def test_class_declares_the_contract(self) -> None:
        assert connector_problems(self.connector_class) == []

    def test_metadata_is_complete(self) -> None:
        meta = plugin_metadata(self.connector_class)
        assert meta.name and meta.description, "set hook_name and description (or a docstring)"
        assert set(meta.operations) <= {op.value for op in Operation}
        assert meta.config_schema["type"] == "object"

    def test_connection_type_resolves_to_the_class(self, hook: ConnectorHook) -> None:
        assert isinstance(hook, self.connector_class), (
            f"connection type {self.connector_class.conn_type!r} is served by {type(hook).__qualname__}; "
            "is the connector registered?"
        )

    # -- declared operations work, undeclared ones are refused ----------------------------

    def test_connection_test_returns_ok_and_message(self, hook: ConnectorHook) -> None:
        self._declares(Operation.TEST_CONNECTION)
        result = hook.test_connection()
        assert isinstance(result, tuple) and len(result) == 2
        ok, message = result
        assert isinstance(ok, bool) and isinstance(message, str) and message
        assert ok, f"test_connection failed on a live connection: {message}"

    def test_undeclared_operations_are_refused(self, hook: ConnectorHook) -> None:
        undeclared = [op for op in _CALLS if op not in self.connector_class.operations]
        if not undeclared:
            pytest.skip("every operation is declared")
        for operation in undeclared:
            with pytest.raises(UnsupportedOperationError):
                _CALLS[operation](hook)

    def test_schema_is_typed(self, hook: ConnectorHook, source: str) -> None:
        self._declares(Operation.GET_SCHEMA)
        for schema in (hook.get_schema(), hook.get_schema(source)):
            assert isinstance(schema, SchemaInfo)
            assert all(isinstance(table, TableInfo) for table in schema.tables)
            for column in (col for table in schema.tables for col in table.columns):
                assert isinstance(column, ColumnInfo)
                assert isinstance(column.name, str) and isinstance(column.type, str) and column.type
                assert isinstance(column.nullable, bool)
        assert hook.get_schema(source).tables, f"get_schema({source!r}) found no table"

    def test_extract_streams_batches_within_chunk_size(self, hook: ConnectorHook, source: str) -> None:
        self._declares(Operation.EXTRACT)
        batches = list(hook.extract(source, chunk_size=2))
        assert all(isinstance(batch, pa.RecordBatch) for batch in batches)
        assert all(batch.num_rows <= 2 for batch in batches), [b.num_rows for b in batches]
        assert sum(b.num_rows for b in batches) >= self.min_source_rows, "the source fixture holds too few rows"
        assert len({batch.schema for batch in batches}) == 1, "every chunk must have the same schema"

    @pytest.mark.parametrize("limit", [1, 2])
    def test_preview_respects_limit(self, hook: ConnectorHook, source: str, limit: int) -> None:
        self._declares(Operation.PREVIEW)
        frame = hook.preview(source, limit=limit)
        assert isinstance(frame, pd.DataFrame)
        assert len(frame) == limit

    @pytest.mark.parametrize("operation", [Operation.EXTRACT, Operation.PREVIEW], ids=lambda op: op.value)
    def test_unknown_options_are_refused(self, hook: ConnectorHook, source: str, operation: Operation) -> None:
        """A misspelt option must fail naming the known ones, never be ignored."""
        self._declares(operation)
        with pytest.raises(UnknownOptionError, match="conformance_typo.*known: "):
            if operation is Operation.EXTRACT:
                hook.extract(source, chunk_size=2, conformance_typo=1)
            else:
                hook.preview(source, limit=1, conformance_typo=1)

    def test_unknown_load_options_are_refused(self, loadable: tuple[ConnectorHook, str]) -> None:
        hook, destination = loadable
        with pytest.raises(UnknownOptionError, match="conformance_typo.*known: "):
            hook.load(iter([SAMPLE]), destination, conformance_typo=1)

    # -- load modes ----------------------------------------------------------------------

    @pytest.fixture
    def loadable(self, hook: ConnectorHook, destination: str | None) -> tuple[ConnectorHook, str]:
        self._declares(Operation.LOAD)
        if destination is None:
            pytest.skip("no `destination` fixture given")
        return hook, destination

    @pytest.mark.parametrize("mode", list(LoadMode), ids=lambda mode: mode.value)
    def test_load_mode(self, loadable: tuple[ConnectorHook, str], mode: LoadMode) -> None:
        hook, destination = loadable
        if mode not in (self.load_modes or self.connector_class.load_modes):
            with pytest.raises((EtlError, ValueError)):
                hook.load(iter([SAMPLE]), destination, mode=mode, keys=["id"])
            return
        # Upsert creates the table with its key, so the first load uses the mode under test.
        keys = ["id"] if mode is LoadMode.UPSERT else None
        first = hook.load(_single_row_chunks(SAMPLE), destination, mode=mode, keys=keys)
        assert isinstance(first, LoadResult) and first.rows == SAMPLE.num_rows
        self._expect(hook, destination, {1: "ada", 2: "grace", 3: "linus"})
        getattr(self, f"_check_{mode.value}")(hook, destination)

    def _check_append(self, hook: ConnectorHook, destination: str) -> None:
        extra = pa.record_batch({"id": [4], "name": ["margaret"], "amount": [4.0]}, schema=SAMPLE.schema)
        assert hook.load(iter([extra]), destination, mode=LoadMode.APPEND).rows == 1
        self._expect(hook, destination, {1: "ada", 2: "grace", 3: "linus", 4: "margaret"})

    def _check_replace(self, hook: ConnectorHook, destination: str) -> None:
        assert hook.load(iter([SAMPLE.slice(0, 1)]), destination, mode=LoadMode.REPLACE).rows == 1
        self._expect(hook, destination, {1: "ada"})

    def _check_upsert(self, hook: ConnectorHook, destination: str) -> None:
        changes = pa.record_batch(
            {"id": [2, 4], "name": ["hopper", "margaret"], "amount": [0.0, 4.0]}, schema=SAMPLE.schema
        )
        assert hook.load(iter([changes]), destination, mode=LoadMode.UPSERT, keys=["id"]).rows == 2
        self._expect(hook, destination, {1: "ada", 2: "hopper", 3: "linus", 4: "margaret"})

    def _expect(self, hook: ConnectorHook, destination: str, rows: dict[int, Any]) -> None:
        if Operation.EXTRACT not in self.connector_class.operations:
            return
        found = _rows(hook, destination)
        ids = [i for i, _ in found]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        assert not repeated, (
            f"{destination!r} holds id {', '.join(map(str, repeated))} more than once: {found}; "
            "an upsert must update the rows whose keys exist, not add them again"
        )
        assert found == sorted(rows.items())
