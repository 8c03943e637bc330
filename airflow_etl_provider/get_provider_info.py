"""Provider metadata for Airflow's ProvidersManager (entry point `apache_airflow_provider`).

Airflow calls this while `import airflow` is still initialising its configuration, so it
must not import Airflow or any hook module. The connection forms therefore come from
`connection_types.json`, which `python -m airflow_etl_provider.ui_fields` renders from the
connectors' JSON config schemas (a test keeps the two in sync). A connection type whose form
belongs to an installed official provider (e.g. `postgres`) is left to that provider: our
connector still serves those connections. Connectors in Airflow's plugins folder get their
forms from `plugin_forms` (rendered in a child process, cached).
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, distribution
from importlib.resources import files
from typing import Any

from airflow_etl_provider.plugin_forms import plugins_folder_connection_types

PACKAGE_NAME = "airflow-etl-provider"
VERSION = "0.1.0"
#: Fixed so the metadata is reproducible; bump together with VERSION.
SOURCE_DATE_EPOCH = 1795651200
CONNECTION_TYPES_FILE = "connection_types.json"


def _installed(dist_name: str) -> bool:
    try:
        distribution(dist_name)
    except PackageNotFoundError:
        return False
    return True


def rendered_connection_types() -> list[dict[str, Any]]:
    """The rendered form metadata: items of {"entry": ..., "form_owner_distribution": ...}."""
    return json.loads(files("airflow_etl_provider").joinpath(CONNECTION_TYPES_FILE).read_text("utf-8"))


def get_provider_info() -> dict[str, Any]:
    rendered = rendered_connection_types()
    integration = "ETL (Arrow streaming)"
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
                "integration-name": integration,
                "external-doc-url": "https://pypi.org/project/airflow-etl-provider/",
                "tags": ["software"],
            }
        ],
        "operators": [
            {
                "integration-name": integration,
                "python-modules": [
                    "airflow_etl_provider.operators.extract_load",
                    "airflow_etl_provider.partitioned.operators",
                ],
            }
        ],
        "hooks": [
            {
                "integration-name": integration,
                "python-modules": sorted({item["entry"]["hook-class-name"].rsplit(".", 1)[0] for item in rendered}),
            }
        ],
        "connection-types": [
            *(
                item["entry"]
                for item in rendered
                if not (item["form_owner_distribution"] and _installed(item["form_owner_distribution"]))
            ),
            *plugins_folder_connection_types(),
        ],
    }
