"""The plugin API of the design this project grew from, as a thin layer over the SDK.

A plugin in that style is a factory: a `ConnectorPlugin` subclass with `PLUGIN_NAME`,
`PLUGIN_VERSION`, `PLUGIN_AUTHOR`, `PLUGIN_DESCRIPTION`, `get_config_schema()` and
`create_connector(config)`. Defining such a class registers it: the layer builds an SDK
connector class for it (connection type `PLUGIN_NAME`, config schema, operations) whose
methods call the object `create_connector` returns. Nothing here keeps its own registry:
`PluginManager` and `ConnectorRegistry` are views of the SDK's. New plugins should subclass
`airflow_etl_provider.sdk.ConnectorPlugin` directly (docs/plugins.md, "Porting").

    from airflow_etl_provider.sdk.compat import ConnectorPlugin
"""

from __future__ import annotations

import copy
import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pyarrow as pa

from airflow_etl_provider.config import validate_config
from airflow_etl_provider.exceptions import ConnectorConfigError, PluginError
from airflow_etl_provider.hooks.base import DEFAULT_CHUNK_SIZE, ConnectorHook
from airflow_etl_provider.hooks.registry import ORIGIN_BUILT_IN, registry
from airflow_etl_provider.rest.batching import ArrowBatcher
from airflow_etl_provider.sdk._discovery import PORTING_HINT, PluginFile, register_connector
from airflow_etl_provider.sdk._discovery import load_plugins_from_directory as _load_directory
from airflow_etl_provider.sdk._metadata import ConnectorPlugin as SdkConnectorPlugin
from airflow_etl_provider.sdk._metadata import plugin_metadata
from airflow_etl_provider.types import LoadMode, LoadResult, Log, Operation, SchemaInfo

__all__ = ["ConnectorPlugin", "ConnectorRegistry", "PluginManager", "SeedPluginConnector"]

#: `Connection` fields a `ConnectorRegistry.create` config may set; other keys form the extra.
CONNECTION_FIELDS = ("host", "port", "login", "password", "schema")

H = TypeVar("H", bound=type)


class ConnectorPlugin(ABC):
    """A seed-style plugin: metadata, a config schema, and a factory of connector objects.

    Every concrete subclass with a `PLUGIN_NAME` is registered when it is defined (a file in
    Airflow's plugins folder needs nothing else); one whose constructor takes arguments is
    registered by `PluginManager().register_plugin(instance)`. The connector `create_connector` returns
    offers the contract's methods: `test_connection()` (a bool or `(ok, message)`),
    `get_schema(source)`, `extract(source, chunk_size=...)` yielding RecordBatches, Tables,
    DataFrames or lists of dicts, and `load(chunks, destination, mode=..., keys=...)`
    returning a `LoadResult`, a row count, or None (rows are then counted as they pass).
    """

    PLUGIN_NAME: ClassVar[str] = ""
    PLUGIN_VERSION: ClassVar[str] = ""
    PLUGIN_AUTHOR: ClassVar[str] = ""
    PLUGIN_DESCRIPTION: ClassVar[str] = ""
    #: Not in the seed: the load modes the connector's `load` honours (append only by default).
    LOAD_MODES: ClassVar[tuple[str, ...]] = (LoadMode.APPEND.value,)
    #: Not in the seed: options the connector's `extract` / `load` take (name -> what it does);
    #: any other is refused before the connector is called.
    EXTRACT_OPTIONS: ClassVar[Mapping[str, str]] = {}
    LOAD_OPTIONS: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # ABCMeta sets __abstractmethods__ only after this hook returns: look at the methods.
        abstract = [name for name in ("get_config_schema", "create_connector") if _is_abstract(cls, name)]
        own_name = "PLUGIN_NAME" in vars(cls)  # a subclass that keeps its parent's name is not another plugin
        if own_name and cls.PLUGIN_NAME and not abstract and not _needs_arguments(cls):
            register_connector(connector_class_for(cls))

    @abstractmethod
    def get_config_schema(self) -> dict[str, Any]:
        """JSON Schema of the connection's extra."""

    @abstractmethod
    def create_connector(self, config: dict[str, Any]) -> Any:
        """A connector object for `config` (the connection's extra, validated)."""

    def validate_config(self, config: dict[str, Any]) -> bool:
        """Checks beyond the schema; return False (or raise) to refuse `config`."""
        return True

    def get_supported_operations(self) -> list[str]:
        return [op.value for op in Operation]

    def get_plugin_info(self) -> dict[str, Any]:
        return {
            "name": self.PLUGIN_NAME,
            "version": self.PLUGIN_VERSION,
            "author": self.PLUGIN_AUTHOR,
            "description": self.PLUGIN_DESCRIPTION,
            "operations": self.get_supported_operations(),
            "config_schema": self.get_config_schema(),
        }


def _needs_arguments(cls: type) -> bool:
    """True when `cls()` cannot work: such a plugin is registered with `register_plugin(instance)`."""
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    parameters = inspect.signature(cls).parameters.values()
    return any(p.default is p.empty and p.kind not in variadic for p in parameters)


def _is_abstract(cls: type, name: str) -> bool:
    return bool(getattr(getattr(cls, name, None), "__isabstractmethod__", False))


def _parse(kind: type[Operation] | type[LoadMode], names: Iterable[str], plugin: type) -> list[Any]:
    try:
        return [kind(name) for name in names]
    except ValueError as error:
        known = ", ".join(member.value for member in kind)
        raise PluginError(f"Seed-style plugin {plugin.__qualname__}: {error}; known: {known}.") from None


def _titled(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with a `title` on every property (the form's label), from its name if absent."""
    schema = copy.deepcopy(schema)
    for name, spec in schema.get("properties", {}).items():
        if isinstance(spec, dict) and not (spec.get("title") or spec.get("description")):
            spec["title"] = name.replace("_", " ").capitalize()
    return schema


def connector_class_for(
    plugin_cls: type[ConnectorPlugin], plugin: ConnectorPlugin | None = None
) -> type[SeedPluginConnector]:
    """The SDK connector class serving `plugin_cls` (through `plugin`, or a new instance)."""
    plugin = plugin or plugin_cls()
    operations = set(_parse(Operation, plugin.get_supported_operations(), plugin_cls))
    if Operation.EXTRACT in operations:
        operations.add(Operation.PREVIEW)  # preview reads through extract
    name = f"{plugin_cls.__name__}Connector"
    attributes = {
        "__module__": plugin_cls.__module__,
        "__qualname__": f"{plugin_cls.__qualname__}Connector",
        "__doc__": plugin_cls.__doc__ or plugin_cls.PLUGIN_DESCRIPTION,
        "conn_type": plugin_cls.PLUGIN_NAME,
        "hook_name": plugin_cls.PLUGIN_NAME,
        "description": plugin_cls.PLUGIN_DESCRIPTION,
        "version": plugin_cls.PLUGIN_VERSION,
        "author": plugin_cls.PLUGIN_AUTHOR,
        "config_schema": _titled(plugin.get_config_schema()),
        "operations": frozenset(operations),
        "load_modes": tuple(_parse(LoadMode, plugin_cls.LOAD_MODES, plugin_cls)),
        "extract_options": dict(plugin_cls.EXTRACT_OPTIONS),
        "load_options": dict(plugin_cls.LOAD_OPTIONS),
        "plugin": plugin,
    }
    return type(name, (SeedPluginConnector,), attributes)


def _batches(pieces: Iterable[Any], chunk_size: int, log: Log) -> Iterator[pa.RecordBatch]:
    """Whatever a seed connector's extract yields, as RecordBatches of at most `chunk_size` rows.

    Lists of dicts go through the REST connector's batcher, which keeps one running schema
    (a column of nulls only waits for its type), so every chunk agrees with the first.
    """
    rows = ArrowBatcher(chunk_size, log)
    for piece in pieces:
        if isinstance(piece, list):
            yield from rows.add(piece)
            continue
        yield from rows.flush()
        if isinstance(piece, pa.RecordBatch):
            table = pa.Table.from_batches([piece])
        elif isinstance(piece, pa.Table):
            table = piece
        elif hasattr(piece, "to_dict") and hasattr(piece, "columns"):  # a pandas DataFrame
            table = pa.Table.from_pandas(piece, preserve_index=False)
        else:
            raise TypeError(
                f"extract yielded {type(piece).__name__}; yield RecordBatches, Tables, DataFrames or lists of dicts."
            )
        yield from table.to_batches(max_chunksize=chunk_size)
    yield from rows.flush()


class SeedPluginConnector(SdkConnectorPlugin):
    """An SDK connector whose work is done by a seed-style plugin's connector object."""

    plugin: ClassVar[ConnectorPlugin]

    @cached_property
    def config(self) -> dict[str, Any]:
        config = validate_config(self.conn_id, self.full_config_schema(), self.connection.extra_dejson)
        if self.plugin.validate_config(config) is False:
            raise ConnectorConfigError(
                self.conn_id, "extra", f"refused by {type(self.plugin).__qualname__}.validate_config."
            )
        return config

    @cached_property
    def connector(self) -> Any:
        return self.plugin.create_connector(self.config)

    def open(self) -> None:
        """`with hook:` opens the seed connector once, when it has a `connect()`."""
        connect = getattr(self.connector, "connect", None)
        if callable(connect):
            connect()

    def close(self) -> None:
        """... and releases it with its `close()` or `disconnect()`."""
        for name in ("close", "disconnect"):
            release = getattr(self.connector, name, None)
            if callable(release):
                release()
                return

    def test_connection(self) -> tuple[bool, str]:
        self.require(Operation.TEST_CONNECTION)
        result = self.connector.test_connection()
        if isinstance(result, tuple):
            return bool(result[0]), str(result[1])
        ok = bool(result)
        return ok, f"{self.conn_type} connection {self.conn_id!r} {'works' if ok else 'failed its test'}."

    def get_schema(self, source: str | None = None) -> SchemaInfo:
        self.require(Operation.GET_SCHEMA)
        schema = self.connector.get_schema(source)
        if not isinstance(schema, SchemaInfo):
            raise TypeError(f"{type(self.connector).__qualname__}.get_schema must return a SchemaInfo.")
        return schema

    def extract(self, source: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE, **options: Any) -> Iterator[pa.RecordBatch]:
        self.require(Operation.EXTRACT)
        return _batches(self.connector.extract(source, chunk_size=chunk_size, **options), chunk_size, self.log)

    def load(
        self,
        chunks: Iterable[pa.RecordBatch],
        destination: str,
        *,
        mode: LoadMode | str = LoadMode.APPEND,
        keys: Sequence[str] | None = None,
        **options: Any,
    ) -> LoadResult:
        self.require(Operation.LOAD)
        parsed = self.require_load_mode(mode)
        counted = LoadResult(destination, parsed.value)

        def counting() -> Iterator[pa.RecordBatch]:
            for chunk in chunks:
                counted.rows += chunk.num_rows
                counted.chunks += 1
                yield chunk

        result = self.connector.load(counting(), destination, mode=parsed.value, keys=keys, **options)
        if isinstance(result, LoadResult):
            return result
        if isinstance(result, int) and not isinstance(result, bool):
            counted.rows = result
        return counted


class PluginManager:
    """The seed's plugin manager, over the SDK's registry and loaders."""

    def register_plugin(self, plugin: ConnectorPlugin | type[ConnectorPlugin]) -> type[SeedPluginConnector]:
        """Register a plugin (class or instance); classes defined in a file register themselves."""
        plugin_cls = plugin if isinstance(plugin, type) else type(plugin)
        if not (isinstance(plugin_cls, type) and issubclass(plugin_cls, ConnectorPlugin)):
            raise PluginError(f"{plugin!r} is not a seed-style ConnectorPlugin; {PORTING_HINT}.")
        instance = None if isinstance(plugin, type) else plugin
        return register_connector(connector_class_for(plugin_cls, instance))

    def load_plugins_from_directory(self, directory: str | Path) -> list[PluginFile]:
        """Import every `*.py` under `directory`; one `PluginFile` per file, errors included."""
        return _load_directory(directory)

    def get_available_plugins(self) -> list[dict[str, Any]]:
        """`get_plugin_info()`-like dicts of every third-party connector, seed-style or not."""
        plugins = []
        for conn_type in registry.available_types():
            if registry.origin(conn_type) == ORIGIN_BUILT_IN:
                continue
            meta = plugin_metadata(registry.connector_class(conn_type))
            plugins.append(
                {
                    "name": meta.name,
                    "version": meta.version,
                    "author": meta.author,
                    "description": meta.description,
                    "operations": list(meta.operations),
                    "config_schema": meta.config_schema,
                    "conn_type": meta.conn_type,
                }
            )
        return plugins


class ConnectorRegistry:
    """The seed's connector registry: class-level calls on the SDK's one registry."""

    @staticmethod
    def register(conn_type: str) -> Callable[[H], H]:
        """Decorator registering an SDK connector class for `conn_type`."""

        def decorate(cls: H) -> H:
            if not (isinstance(cls, type) and issubclass(cls, SdkConnectorPlugin)):
                raise PluginError(
                    f"ConnectorRegistry.register({conn_type!r}) needs an airflow_etl_provider.sdk.ConnectorPlugin "
                    f"subclass, not {cls!r}; a connector object made by a plugin's create_connector is registered "
                    "through its seed-style ConnectorPlugin."
                )
            declared = getattr(cls, "conn_type", None)
            if declared not in (None, conn_type):
                raise PluginError(f"{cls.__qualname__}.conn_type is {declared!r}; it is registered as {conn_type!r}.")
            cls.conn_type = conn_type
            register_connector(cls)
            return cls

        return decorate

    @staticmethod
    def create(conn_type: str, config: dict[str, Any], conn_id: str | None = None) -> ConnectorHook:
        """A connector hook for `config`, without a stored Airflow connection.

        `host`, `port`, `login`, `password` and `schema` keys become the connection's fields;
        the other keys its extra.
        """
        from airflow.sdk import Connection

        cls = registry.connector_class(conn_type)
        fields = {name: config[name] for name in CONNECTION_FIELDS if name in config}
        extra = {name: value for name, value in config.items() if name not in CONNECTION_FIELDS}
        conn_id = conn_id or f"{conn_type}_config"
        connection = Connection(conn_id=conn_id, conn_type=conn_type, extra=json.dumps(extra), **fields)
        return cls(conn_id=conn_id, connection=connection)

    @staticmethod
    def get_available_types() -> list[str]:
        return registry.available_types()

    @staticmethod
    def get_connector_info(conn_type: str) -> dict[str, Any]:
        return asdict(registry.connector_info(conn_type))
