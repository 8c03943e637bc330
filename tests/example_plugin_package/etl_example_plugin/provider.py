"""Airflow provider info: the `jsonl_folder` connection type and its form.

Airflow calls this while `import airflow` is still initialising, so it must not import the
connector (an Airflow hook). It returns `provider_info.json`, rendered from the connector's
config schema with:

    airflow-etl provider-info etl_example_plugin.connector:JsonLinesFolderConnector \\
        --package-name airflow-etl-example-plugin --version 0.3.0 \\
        --name "JSON Lines folder (example ETL plugin)" > etl_example_plugin/provider_info.json
"""

from __future__ import annotations

from typing import Any

from airflow_etl_provider.sdk import packaged_provider_info


def get_provider_info() -> dict[str, Any]:
    return packaged_provider_info(__package__)
