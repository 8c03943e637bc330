"""Connectors in Airflow's plugins folder get connection forms through the provider info."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_etl_provider import plugin_forms
from airflow_etl_provider.get_provider_info import get_provider_info

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "plugins" / "salesforce_connector.py"


@pytest.fixture
def plugins_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A plugins folder holding the example connector and an unrelated plugin file."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / EXAMPLE.name)
    (folder / "unrelated.py").write_text("VALUE = 1\n")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AIRFLOW__CORE__PLUGINS_FOLDER", str(folder))
    monkeypatch.delenv(plugin_forms.DISABLE_PLUGINS_ENV, raising=False)
    return folder


def _forms() -> dict[str, dict]:
    return {entry["connection-type"]: entry for entry in get_provider_info()["connection-types"]}


def test_plugins_folder_connector_is_a_connection_type_with_its_form(plugins_folder: Path) -> None:
    salesforce = _forms()["salesforce"]
    assert salesforce["hook-class-name"] == "salesforce_connector.SalesforceConnectorHook"
    assert salesforce["hook-name"] == "Salesforce"
    fields = salesforce["conn-fields"]
    assert fields["api_version"]["schema"]["default"] == "62.0"
    assert fields["auth_type"]["schema"]["default"] == "oauth2"
    assert "port" in salesforce["ui-field-behaviour"]["hidden-fields"]
    assert {"sqlite", "filesystem", "rest_api"} <= set(_forms())  # built-ins still there


def test_forms_are_cached_until_a_plugin_file_changes(plugins_folder: Path) -> None:
    _forms()
    [cache] = plugin_forms.cache_dir().glob("plugin-forms-*.json")
    cached = json.loads(cache.read_text())
    cached["connection-types"][0]["hook-name"] = "Salesforce (from the cache)"
    cache.write_text(json.dumps(cached))
    assert _forms()["salesforce"]["hook-name"] == "Salesforce (from the cache)"
    plugin = plugins_folder / EXAMPLE.name
    plugin.write_text(plugin.read_text().replace('hook_name = "Salesforce"', 'hook_name = "Salesforce (edited)"'))
    assert _forms()["salesforce"]["hook-name"] == "Salesforce (edited)"


def test_a_broken_plugin_file_is_reported_and_the_others_keep_their_forms(
    plugins_folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (plugins_folder / "broken_connector.py").write_text(
        "from airflow_etl_provider.sdk import register_connector\nraise RuntimeError('boom')\n"
    )
    with caplog.at_level(logging.DEBUG, logger=plugin_forms.__name__):
        assert "salesforce" in _forms()
    assert any("broken_connector.py" in r.getMessage() and "boom" in r.getMessage() for r in caplog.records)


def test_a_failing_render_is_a_warning_not_an_error(plugins_folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    (plugins_folder / "exits_connector.py").write_text("# register_connector\nimport os\nos._exit(3)\n")
    assert "salesforce" not in _forms()  # the whole child failed: no plugin forms, Airflow still starts
    assert any(r.levelno == logging.WARNING and "exited 3" in r.getMessage() for r in caplog.records)


def test_no_child_process_without_connector_files(plugins_folder: Path) -> None:
    (plugins_folder / EXAMPLE.name).unlink()
    assert "salesforce" not in _forms()
    assert not plugin_forms.cache_dir().exists()


def test_disabled_plugins_get_no_forms(plugins_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(plugin_forms.DISABLE_PLUGINS_ENV, "1")
    assert "salesforce" not in _forms()


def test_plugins_folder_from_airflow_cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    (home / "my_plugins").mkdir(parents=True)
    (home / "airflow.cfg").write_text("[core]\nplugins_folder = {AIRFLOW_HOME}/my_plugins\n")
    monkeypatch.setenv("AIRFLOW_HOME", str(home))
    monkeypatch.delenv("AIRFLOW__CORE__PLUGINS_FOLDER", raising=False)
    monkeypatch.delenv("AIRFLOW_CONFIG", raising=False)
    assert plugin_forms.plugins_folder() == (home / "my_plugins").resolve()


def test_provider_info_imports_neither_airflow_nor_plugin_code(plugins_folder: Path) -> None:
    """Airflow calls it while its configuration is loading: plugin files are rendered elsewhere."""
    _forms()  # fill the cache
    probe = (
        "import sys\n"
        "from airflow_etl_provider.get_provider_info import get_provider_info\n"
        "types = [e['connection-type'] for e in get_provider_info()['connection-types']]\n"
        "heavy = sorted(m for m in ('airflow', 'pyarrow', 'requests', 'salesforce_connector') if m in sys.modules)\n"
        "print(types, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], env=os.environ, capture_output=True, text=True, check=True)
    assert "'salesforce'" in out.stdout and out.stdout.rstrip().endswith("[]"), out.stdout + out.stderr
