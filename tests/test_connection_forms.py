"""The connection forms Airflow's UI shows for our types, read from a real api-server."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from airflow_etl_provider.hooks.sqlite import SQLiteConnectorHook
from tests.airflow_cli import AirflowCli


@pytest.mark.airflow_cli
def test_hook_meta_serves_our_forms_and_the_plugins_folder_connector(tmp_path: Path) -> None:
    cli = AirflowCli(tmp_path, connections={})
    providers = cli.run("providers", "list").stdout
    assert "airflow-etl-provider" in providers
    hooks = cli.run("providers", "hooks").stdout
    assert "airflow_etl_provider.hooks.sqlite.SQLiteConnectorHook" in hooks
    assert "airflow_etl_provider.hooks.filesystem.FilesystemConnectorHook" in hooks
    with cli.api_server() as base_url:
        response = requests.get(f"{base_url}/ui/connections/hook_meta", timeout=30)
    assert response.status_code == 200, response.text[:500]
    forms = {item["connection_type"]: item for item in response.json()}
    sqlite, files = forms["sqlite"], forms["filesystem"]
    assert sqlite["hook_name"] == "SQLite (ETL)"
    assert {"journal_mode", "timeout", "retry_count"} <= set(sqlite["extra_fields"])
    assert "base_path" in files["extra_fields"]
    assert "password" in files["standard_fields"] and files["standard_fields"]["password"]["hidden"] is True
    # the order the form shows: the schema's declared one
    assert list(sqlite["extra_fields"]) == list(SQLiteConnectorHook.full_config_schema()["properties"])
    assert sqlite["extra_fields"]["journal_mode"]["schema"]["type"] == ["string", "null"]
    assert files["extra_fields"]["base_path"]["schema"]["type"] == "string"  # required
    # the example connector of the plugins folder is a connection type with its form
    salesforce = forms["salesforce"]
    assert salesforce["hook_class_name"] == "salesforce_connector.SalesforceConnectorHook"
    assert salesforce["extra_fields"]["api_version"]["value"] == "62.0"
