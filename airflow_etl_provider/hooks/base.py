"""The connector contract every source and destination implements.

A connector is an Airflow hook: it gets its credentials from an Airflow Connection, is
built from a connection id, and the UI's Test button calls its `test_connection`. On top of
that it streams data as pyarrow RecordBatches so types survive and memory stays bounded.
"""

from __future__ import annotations

import inspect
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cached_property, wraps
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import pyarrow as pa
from airflow.sdk import BaseHook

from airflow_etl_provider.config import full_config_schema, validate_config
from airflow_etl_provider.connection_test import tested_connection_id
from airflow_etl_provider.exceptions import UnknownOptionError, UnsupportedOperationError
from airflow_etl_provider.lineage.datasets import LineageDataset
from airflow_etl_provider.types import LoadMode, LoadResult, Operation, SchemaInfo

if TYPE_CHECKING:
    import pandas as pd
    from airflow.sdk import Connection

T = TypeVar("T")

DEFAULT_CHUNK_SIZE = 50_000


class ConnectorHook(BaseHook, ABC):
    """Base class of every connector (built-in or plugin).

    Subclasses set the class metadata below and implement the abstract methods. Used as a
    context manager the hook opens its connection once and reuses it for every chunk.
    """

    conn_name_attr = "conn_id"
    default_conn_name: ClassVar[str] = "etl_default"
    conn_type: ClassVar[str]
    hook_name: ClassVar[str]
    description: ClassVar[str] = ""
    #: JSON Schema of the connection's extra; drives validation and the UI form.
    config_schema: ClassVar[dict[str, Any]] = {}
    #: Standard form fields: `hidden-fields`, `relabeling`, `placeholders`.
    ui_field_behaviour: ClassVar[dict[str, Any]] = {}
    operations: ClassVar[frozenset[Operation]] = frozenset(Operation)
    #: Load modes `load` accepts; the operator refuses others before reading anything.
    load_modes: ClassVar[tuple[LoadMode, ...]] = tuple(LoadMode)
    #: Options `extract` and `preview` accept (name -> what it does); any other is refused.
    extract_options: ClassVar[Mapping[str, str]] = {}
    #: Options `load` accepts besides `mode` and `keys` (name -> what it does); any other is refused.
    load_options: ClassVar[Mapping[str, str]] = {}
    #: Distribution that already owns this connection type's UI form (e.g. the official
    #: postgres provider); when it is installed we serve its connections but leave its form.
    form_owner_distribution: ClassVar[str | None] = None
    #: Errors worth retrying (`retry_count` extra); connectors add their driver's ones.
    transient_errors: ClassVar[tuple[type[BaseException], ...]] = (ConnectionError, TimeoutError)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Make every `extract`, `load` and `preview` a subclass defines refuse undeclared options."""
        super().__init_subclass__(**kwargs)
        for name, operation in _CHECKED_METHODS.items():
            method = vars(cls).get(name)
            if callable(method) and not getattr(method, "__isabstractmethod__", False):
                setattr(cls, name, _refusing_unknown_options(method, operation))

    def __init__(self, conn_id: str | None = None, *, connection: Connection | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self._lookup_conn_id = conn_id or self.default_conn_name
        #: The id messages name: the user's one also when Airflow's Test uses a temporary id.
        self.conn_id = tested_connection_id(self._lookup_conn_id)
        self._given_connection = connection
        self._open_depth = 0

    # -- configuration -------------------------------------------------------------------

    @cached_property
    def connection(self) -> Connection:
        return self._given_connection or self.get_connection(self._lookup_conn_id)

    @classmethod
    def full_config_schema(cls) -> dict[str, Any]:
        return full_config_schema(cls.config_schema)

    @cached_property
    def config(self) -> dict[str, Any]:
        """The connection's extra, validated against the schema, defaults filled in."""
        return validate_config(self.conn_id, self.full_config_schema(), self.connection.extra_dejson)

    @property
    def timeout(self) -> float:
        return float(self.config["timeout"])

    @property
    def retry_count(self) -> int:
        return int(self.config["retry_count"])

    # -- lifecycle -----------------------------------------------------------------------

    def open(self) -> None:
        """Open the underlying connection; called once when entering the context."""

    def close(self) -> None:
        """Release the underlying connection; called once when leaving the context."""

    def __enter__(self) -> ConnectorHook:
        if self._open_depth == 0:
            self.open()
        self._open_depth += 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._open_depth -= 1
        if self._open_depth == 0:
            self.close()

    def with_retries(self, action: Callable[[], T], what: str) -> T:
        """Run `action`, retrying `transient_errors` up to `retry_count` times with backoff."""
        attempt = 0
        while True:
            try:
                return action()
            except self.transient_errors as error:
                if attempt >= self.retry_count:
                    raise
                attempt += 1
                delay = min(0.5 * 2 ** (attempt - 1), 10.0)
                self.log.warning(
                    "%s failed on connection %r (%s); retry %d of %d in %.1f s",
                    what,
                    self.conn_id,
                    type(error).__name__,
                    attempt,
                    self.retry_count,
                    delay,
                )
                time.sleep(delay)

    # -- the contract --------------------------------------------------------------------

    def require(self, operation: Operation) -> None:
        """Raise a clear error when this connector does not declare `operation`."""
        if operation not in self.operations:
            raise UnsupportedOperationError(self.conn_type, operation.value, [op.value for op in self.operations])

    def require_load_mode(self, mode: LoadMode | str) -> LoadMode:
        """The parsed mode, or a clear error when this connector cannot load that way."""
        parsed = LoadMode.parse(mode)
        if parsed not in self.load_modes:
            raise UnsupportedOperationError(
                self.conn_type, f"load mode {parsed.value}", [m.value for m in self.load_modes]
            )
        return parsed

    @classmethod
    def known_options(cls, operation: Operation) -> dict[str, str]:
        """The options `operation` (extract, preview or load) accepts: name -> what it does."""
        return dict(cls.load_options if operation is Operation.LOAD else cls.extract_options)

    def check_options(self, operation: Operation, target: str, options: Mapping[str, Any]) -> None:
        """Refuse options this connector does not declare for `operation`, naming the known ones."""
        known = self.known_options(operation)
        unknown = set(options) - set(known)
        if unknown:
            raise UnknownOptionError(self.conn_id, operation.value, target, unknown, known)

    @abstractmethod
    def test_connection(self) -> tuple[bool, str]:
        """What the UI Test button calls: (ok, a plain message without secrets)."""

    @abstractmethod
    def get_schema(self, source: str | None = None) -> SchemaInfo:
        """Tables (or files, endpoints) with columns, types and constraints."""

    @abstractmethod
    def extract(self, source: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE, **options: Any) -> Iterator[pa.RecordBatch]:
        """Stream `source` as RecordBatches of at most `chunk_size` rows."""

    @abstractmethod
    def load(
        self,
        chunks: Iterable[pa.RecordBatch],
        destination: str,
        *,
        mode: LoadMode | str = LoadMode.APPEND,
        keys: Sequence[str] | None = None,
        **options: Any,
    ) -> LoadResult:
        """Write every chunk to `destination`; on failure the destination is left as it was."""

    def load_from(
        self,
        source_hook: ConnectorHook,
        source: str,
        source_options: Mapping[str, Any],
        destination: str,
        *,
        mode: LoadMode | str = LoadMode.APPEND,
        keys: Sequence[str] | None = None,
        **options: Any,
    ) -> tuple[LoadResult, pa.Schema] | None:
        """Move `source` from `source_hook` into `destination` without Arrow chunks, when this
        connector has a faster way for that source (the load's result and the schema moved);
        None, having written nothing, when it has not and the chunks must flow (the default)."""
        return None

    def lineage_dataset(self, target: str) -> LineageDataset | None:
        """How `target` (a source or destination of this connection) is named as an Airflow Asset
        and an OpenLineage dataset; None when this connector cannot name it (the default)."""
        return None

    def preview(self, source: str, limit: int = 100, **options: Any) -> pd.DataFrame:
        """The first `limit` rows of `source` as a DataFrame; reads no more than it shows.

        Connectors that can push the limit down (SQL `LIMIT`) override this.
        """
        self.require(Operation.PREVIEW)
        self.check_options(Operation.PREVIEW, source, options)
        with self:
            stream = self.extract(source, chunk_size=max(1, min(limit, DEFAULT_CHUNK_SIZE)), **options)
            return batches_to_dataframe(take_rows(stream, limit))


#: The methods whose keyword options are checked, and the operation each one serves.
_CHECKED_METHODS = {"extract": Operation.EXTRACT, "preview": Operation.PREVIEW, "load": Operation.LOAD}
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _refusing_unknown_options(method: Callable[..., T], operation: Operation) -> Callable[..., T]:
    """`method`, checking first (before a generator starts) the options its `**options` would get."""
    if getattr(method, "__refuses_unknown_options__", False):
        return method
    signature = inspect.signature(method)
    named = {p.name for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD}
    # extract(self, source, ...), preview(self, source, ...), load(self, chunks, destination, ...)
    positional = [p.name for p in signature.parameters.values() if p.kind in _POSITIONAL]
    target_name = dict(enumerate(positional)).get(2 if operation is Operation.LOAD else 1)

    @wraps(method)
    def checked(self: ConnectorHook, *args: Any, **kwargs: Any) -> T:
        options = {name: value for name, value in kwargs.items() if name not in named}
        if options:
            given = {name: value for name, value in kwargs.items() if name in named}
            target = signature.bind_partial(self, *args, **given).arguments.get(target_name or "", "")
            self.check_options(operation, str(target), options)
        return method(self, *args, **kwargs)

    checked.__refuses_unknown_options__ = True  # type: ignore[attr-defined]
    return checked


def take_rows(stream: Iterator[pa.RecordBatch], limit: int) -> list[pa.RecordBatch]:
    """The first `limit` rows of a stream, which is then closed so nothing more is read."""
    taken: list[pa.RecordBatch] = []
    remaining = limit
    try:
        for batch in stream:
            if remaining <= 0:
                break
            taken.append(batch.slice(0, remaining))
            remaining -= min(remaining, batch.num_rows)
            if remaining <= 0:
                break
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return taken


def batches_to_dataframe(batches: list[pa.RecordBatch], schema: pa.Schema | None = None) -> pd.DataFrame:
    """Arrow batches as a pandas DataFrame that keeps Arrow's types (ints with nulls stay ints)."""
    import pandas as pd

    if not batches and schema is None:
        return pd.DataFrame()
    table = pa.Table.from_batches(batches, schema=schema)
    return table.to_pandas(types_mapper=pd.ArrowDtype)
