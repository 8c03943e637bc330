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

Names are imported on first use: Airflow calls a plugin distribution's `get_provider_info`
while `import airflow` is still initialising, so `packaged_provider_info` must be reachable
without importing Airflow, and `ConnectorConformance` needs pytest.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_etl_provider.config import validate_config
    from airflow_etl_provider.exceptions import (
        ConnectorConfigError,
        EtlError,
        LoadError,
        PluginError,
        SourceError,
        UnknownOptionError,
        UnsupportedOperationError,
    )
    from airflow_etl_provider.hooks.base import (
        DEFAULT_CHUNK_SIZE,
        ConnectorHook,
        batches_to_dataframe,
        take_rows,
    )
    from airflow_etl_provider.hooks.registry import DISABLE_PLUGINS_ENV, ENTRY_POINT_GROUP
    from airflow_etl_provider.sdk._conformance import ConnectorConformance
    from airflow_etl_provider.sdk._discovery import (
        ORIGIN_DIRECTORY,
        PluginFile,
        load_plugins_folder,
        load_plugins_from_directory,
        register_connector,
    )
    from airflow_etl_provider.sdk._metadata import (
        ConnectorPlugin,
        PluginMetadata,
        check_connector,
        plugin_metadata,
    )
    from airflow_etl_provider.sdk._packaged import packaged_provider_info
    from airflow_etl_provider.sdk._provider_info import provider_info
    from airflow_etl_provider.types import (
        ColumnInfo,
        ForeignKey,
        IndexInfo,
        LoadMode,
        LoadResult,
        Operation,
        SchemaInfo,
        TableInfo,
        TypeInfo,
    )

#: Public name -> module that defines it.
_EXPORTS = {
    "validate_config": "airflow_etl_provider.config",
    **dict.fromkeys(
        [
            "ConnectorConfigError",
            "EtlError",
            "LoadError",
            "PaginationError",
            "PluginError",
            "SourceError",
            "UnknownOptionError",
            "UnsupportedOperationError",
        ],
        "airflow_etl_provider.exceptions",
    ),
    **dict.fromkeys(
        ["DEFAULT_CHUNK_SIZE", "ConnectorHook", "batches_to_dataframe", "take_rows"],
        "airflow_etl_provider.hooks.base",
    ),
    **dict.fromkeys(["DISABLE_PLUGINS_ENV", "ENTRY_POINT_GROUP"], "airflow_etl_provider.hooks.registry"),
    "ConnectorConformance": "airflow_etl_provider.sdk._conformance",
    **dict.fromkeys(
        ["ORIGIN_DIRECTORY", "PluginFile", "load_plugins_folder", "load_plugins_from_directory", "register_connector"],
        "airflow_etl_provider.sdk._discovery",
    ),
    **dict.fromkeys(
        ["ConnectorPlugin", "PluginMetadata", "check_connector", "plugin_metadata"],
        "airflow_etl_provider.sdk._metadata",
    ),
    "packaged_provider_info": "airflow_etl_provider.sdk._packaged",
    **dict.fromkeys(["BasePaginator", "register_paginator"], "airflow_etl_provider.rest.paginators"),
    **dict.fromkeys(["AuthStrategy", "register_auth"], "airflow_etl_provider.rest.auth"),
    "provider_info": "airflow_etl_provider.sdk._provider_info",
    **dict.fromkeys(
        [
            "ColumnInfo",
            "ForeignKey",
            "IndexInfo",
            "LoadMode",
            "LoadResult",
            "Operation",
            "SchemaInfo",
            "TableInfo",
            "TypeInfo",
        ],
        "airflow_etl_provider.types",
    ),
}

__all__ = [
    "AuthStrategy",
    "BasePaginator",
    "ColumnInfo",
    "ConnectorConfigError",
    "ConnectorConformance",
    "ConnectorHook",
    "ConnectorPlugin",
    "DEFAULT_CHUNK_SIZE",
    "DISABLE_PLUGINS_ENV",
    "ENTRY_POINT_GROUP",
    "EtlError",
    "ForeignKey",
    "IndexInfo",
    "LoadError",
    "LoadMode",
    "LoadResult",
    "ORIGIN_DIRECTORY",
    "Operation",
    "PaginationError",
    "PluginError",
    "PluginFile",
    "PluginMetadata",
    "SchemaInfo",
    "SourceError",
    "TableInfo",
    "TypeInfo",
    "UnknownOptionError",
    "UnsupportedOperationError",
    "batches_to_dataframe",
    "check_connector",
    "load_plugins_folder",
    "load_plugins_from_directory",
    "packaged_provider_info",
    "plugin_metadata",
    "provider_info",
    "register_auth",
    "register_connector",
    "register_paginator",
    "take_rows",
    "validate_config",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
