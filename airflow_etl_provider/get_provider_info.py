"""Provider metadata for Airflow's ProvidersManager (entry point `apache_airflow_provider`).

Connection forms are generated from the built-in connectors' JSON config schemas. A
connection type whose form already belongs to an installed official provider (for example
`postgres`) is left to that provider: our connector still serves those connections.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution
from typing import Any

PACKAGE_NAME = "airflow-etl-provider"
VERSION = "0.1.0"
#: Fixed so the metadata is reproducible; bump together with VERSION.
SOURCE_DATE_EPOCH = 1795651200


def _installed(dist_name: str) -> bool:
    try:
        distribution(dist_name)
    except PackageNotFoundError:
        return False
    return True


def _built_in_connectors() -> list[type]:
    from airflow_etl_provider.hooks.registry import ORIGIN_BUILT_IN, registry

    built_in = [t for t in registry.available_types() if registry.origin(t) == ORIGIN_BUILT_IN]
    return [registry.connector_class(t) for t in built_in]


def get_provider_info() -> dict[str, Any]:
    from airflow_etl_provider.ui_fields import connection_type_entry

    connectors = _built_in_connectors()
    return {
        "package-name": PACKAGE_NAME,
        "name": "ETL (Arrow streaming extract/load)",
        "description": "Streams data between databases, REST APIs, S3 and local files as Apache Arrow "
        "chunks with one generic ExtractLoadOperator.",
        "state": "ready",
        "source-date-epoch": SOURCE_DATE_EPOCH,
        "versions": [VERSION],
        "integrations": [
            {
                "integration-name": "ETL (Arrow streaming)",
                "external-doc-url": "https://pypi.org/project/airflow-etl-provider/",
                "tags": ["software"],
            }
        ],
        "operators": [
            {
                "integration-name": "ETL (Arrow streaming)",
                "python-modules": ["airflow_etl_provider.operators.extract_load"],
            }
        ],
        "hooks": [
            {
                "integration-name": "ETL (Arrow streaming)",
                "python-modules": sorted({cls.__module__ for cls in connectors}),
            }
        ],
        "connection-types": [
            connection_type_entry(cls)
            for cls in connectors
            if not (cls.form_owner_distribution and _installed(cls.form_owner_distribution))
        ],
    }
