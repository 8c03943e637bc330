"""The public plugin SDK of airflow-etl-provider: everything a third-party connector needs.

Only names in `__all__` are public; they change additively. See docs/plugins.md.

    from airflow_etl_provider.sdk import ConnectorPlugin, Operation, register_connector

    @register_connector
    class MyConnector(ConnectorPlugin):
        conn_type = "my_api"
        hook_name = "My API"
        version = "1.0.0"
        author = "Me"
        config_schema = {"type": "object", "properties": {...}}
        operations = frozenset({Operation.TEST_CONNECTION, Operation.EXTRACT, ...})
        ...

`ConnectorConformance` (the standard test suite for a connector) needs pytest and is
imported on first use.
"""

from __future__ import annotations

from typing import Any

from airflow_etl_provider.config import validate_config
from airflow_etl_provider.exceptions import (
    ConnectorConfigError,
    EtlError,
    LoadError,
    SourceError,
    UnsupportedOperationError,
)
from airflow_etl_provider.hooks.base import DEFAULT_CHUNK_SIZE, ConnectorHook, batches_to_dataframe, take_rows
from airflow_etl_provider.hooks.registry import DISABLE_PLUGINS_ENV, ENTRY_POINT_GROUP
from airflow_etl_provider.sdk._discovery import (
    ORIGIN_DIRECTORY,
    PluginFile,
    load_plugins_folder,
    load_plugins_from_directory,
    register_connector,
)
from airflow_etl_provider.sdk._metadata import (
    ConnectorPlugin,
    PluginError,
    PluginMetadata,
    check_connector,
    plugin_metadata,
)
from airflow_etl_provider.sdk._provider_info import provider_info
from airflow_etl_provider.types import (
    ColumnInfo,
    ForeignKey,
    LoadMode,
    LoadResult,
    Operation,
    SchemaInfo,
    TableInfo,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DISABLE_PLUGINS_ENV",
    "ENTRY_POINT_GROUP",
    "ORIGIN_DIRECTORY",
    "ColumnInfo",
    "ConnectorConfigError",
    "ConnectorConformance",
    "ConnectorHook",
    "ConnectorPlugin",
    "EtlError",
    "ForeignKey",
    "LoadError",
    "LoadMode",
    "LoadResult",
    "Operation",
    "PluginError",
    "PluginFile",
    "PluginMetadata",
    "SchemaInfo",
    "SourceError",
    "TableInfo",
    "UnsupportedOperationError",
    "batches_to_dataframe",
    "check_connector",
    "load_plugins_folder",
    "load_plugins_from_directory",
    "plugin_metadata",
    "provider_info",
    "register_connector",
    "take_rows",
    "validate_config",
]


def __getattr__(name: str) -> Any:
    if name == "ConnectorConformance":
        from airflow_etl_provider.sdk._conformance import ConnectorConformance

        return ConnectorConformance
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
