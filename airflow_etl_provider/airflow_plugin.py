"""The Airflow plugin of this package (entry point `airflow.plugins`): api-server additions only."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_etl_provider.connection_test import ConnectionTestMiddleware


class EtlProviderPlugin(AirflowPlugin):
    """Lets the UI's Test button work for our connection types that have no port."""

    name = "airflow_etl_provider"
    fastapi_root_middlewares = [  # noqa: RUF012 (Airflow reads this class attribute)
        {"middleware": ConnectionTestMiddleware, "args": [], "kwargs": {}, "name": "ETL connection test"},
    ]
