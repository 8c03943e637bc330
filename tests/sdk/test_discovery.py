"""Plugin discovery: a directory of plugin files, Airflow's own plugins-folder import, safety."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_etl_provider.hooks.registry import DISABLE_PLUGINS_ENV, ORIGIN_PLUGINS_FOLDER, registry
from airflow_etl_provider.sdk import (
    ORIGIN_DIRECTORY,
    PluginError,
    load_plugins_from_directory,
    register_connector,
)

DUPLICATE = (
    (Path(__file__).parent / "plugin_files" / "numbers_plugin.py")
    .read_text()
    .replace("class NumbersConnector", "class OtherNumbersConnector")
)


def test_directory_plugin_is_registered_with_its_origin(plugin_dir: Callable[..., Path]) -> None:
    directory = plugin_dir("numbers_plugin.py")
    [result] = load_plugins_from_directory(directory)
    assert (result.path.name, result.conn_types, result.error) == ("numbers_plugin.py", ["etl_numbers"], None)
    assert registry.origin("etl_numbers") == ORIGIN_DIRECTORY
    hook = registry.connector_class("etl_numbers")(connection=_connection(count=3))
    assert [b.num_rows for b in hook.extract("numbers", chunk_size=2)] == [2, 1]


def test_broken_file_is_skipped_with_a_warning_naming_it(
    plugin_dir: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    plugin_dir("numbers_plugin.py")
    directory = plugin_dir("broken_plugin.py", "def oops(:\n")
    with caplog.at_level(logging.WARNING):
        results = {r.path.name: r for r in load_plugins_from_directory(directory)}
    assert results["numbers_plugin.py"].conn_types == ["etl_numbers"]
    assert results["broken_plugin.py"].error.startswith("SyntaxError")
    assert f"Skipping plugin file {directory / 'broken_plugin.py'}: SyntaxError" in caplog.text
    assert "sqlite" in registry.available_types()


def test_duplicate_type_is_refused_naming_both_origins(
    plugin_dir: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    plugin_dir("numbers_plugin.py")
    directory = plugin_dir("zz_duplicate.py", DUPLICATE)
    with caplog.at_level(logging.WARNING):
        results = {r.path.name: r for r in load_plugins_from_directory(directory)}
    error = results["zz_duplicate.py"].error
    assert "'etl_numbers' is already registered by numbers_plugin.NumbersConnector (plugin directory)" in error
    assert "refusing zz_duplicate.OtherNumbersConnector (plugin directory)" in error
    assert registry.connector_class("etl_numbers").__module__ == "numbers_plugin"


def test_plugin_cannot_take_a_built_in_type(plugin_dir: Callable[..., Path]) -> None:
    directory = plugin_dir("sqlite_thief.py", DUPLICATE.replace('conn_type = "etl_numbers"', 'conn_type = "sqlite"'))
    [result] = load_plugins_from_directory(directory)
    assert "already registered by airflow_etl_provider.hooks.sqlite.SQLiteConnectorHook (built-in)" in result.error
    assert registry.origin("sqlite") == "built-in"


def test_airflow_importing_the_plugins_folder_twice_is_harmless(
    plugin_dir: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow._shared.plugins_manager.plugins_manager import _load_plugins_from_plugin_directory

    directory = plugin_dir("numbers_plugin.py")
    monkeypatch.setenv("AIRFLOW__CORE__PLUGINS_FOLDER", str(directory))
    for _ in range(2):
        _, errors = _load_plugins_from_plugin_directory(str(directory))
        assert errors == {}
    [result] = load_plugins_from_directory(directory)  # and our own loader after Airflow's
    assert result.error is None and result.conn_types == ["etl_numbers"]
    assert registry.origin("etl_numbers") == ORIGIN_PLUGINS_FOLDER


def test_disable_env_var_turns_third_party_discovery_off(
    plugin_dir: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = plugin_dir("numbers_plugin.py")
    monkeypatch.setenv(DISABLE_PLUGINS_ENV, "1")
    assert load_plugins_from_directory(directory) == []
    assert "etl_numbers" not in registry.available_types()


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_plugins_from_directory(tmp_path / "nowhere")


def test_register_connector_refuses_an_incomplete_class() -> None:
    from airflow_etl_provider.sdk import ConnectorPlugin

    class Half(ConnectorPlugin):
        conn_type = "half"
        config_schema = {"type": "object", "properties": {"x": {"type": "nope"}}}

    with pytest.raises(PluginError) as error:
        register_connector(Half)
    message = str(error.value)
    assert "`hook_name` must be a non-empty string" in message
    assert "does not implement: extract, get_schema, load, test_connection" in message
    assert "not a valid JSON Schema at properties.x.type" in message
    assert "half" not in registry.available_types()


def _connection(**extra: object):
    import json

    from airflow.sdk import Connection

    return Connection(conn_id="numbers", conn_type="etl_numbers", extra=json.dumps(extra))
