"""Plugins in a real Airflow: a plugins-folder file and an installed plugin distribution.

One throw-away Airflow home serves every test here (each `airflow` command costs seconds):
its plugins folder holds the numbers plugin and a file with a syntax error, and the example
package under tests/example_plugin_package/ is pip-installed into a temp directory that is
put on PYTHONPATH for the subprocesses only, so the shared venv is left as it was.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.airflow_cli import AirflowCli, logged_summary

pytestmark = pytest.mark.airflow_cli

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent / "example_plugin_package"
AIRFLOW_ETL = str(Path(sys.executable).with_name("airflow-etl"))
DAG_ID = "etl_plugins"
DAG = f'''
from datetime import datetime

from airflow.sdk import DAG

from airflow_etl_provider.operators.extract_load import ExtractLoadOperator

with DAG("{DAG_ID}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    ExtractLoadOperator(
        task_id="numbers_to_lake", source_conn_id="numbers", source="numbers",
        destination_conn_id="lake", destination="squares", mode="replace", chunk_size=4,
    )
'''


@dataclass
class Setup:
    cli: AirflowCli
    lake: Path
    plugins: Path


def _install_example_package(tmp: Path) -> Path:
    """pip-install the example package into `tmp/site`; builds offline when `wheel` is present."""
    source = tmp / "src"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    offline = ["--no-build-isolation"] if importlib.util.find_spec("wheel") else []
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            *offline,
            "--target",
            str(tmp / "site"),
            str(source),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return tmp / "site"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    tmp = tmp_path_factory.mktemp("plugins_in_airflow")
    site = _install_example_package(tmp)
    plugins, dags, lake = tmp / "plugins", tmp / "dags", tmp / "lake"
    for folder in (plugins, dags, lake):
        folder.mkdir()
    shutil.copy(HERE / "plugin_files" / "numbers_plugin.py", plugins)
    (plugins / "broken_plugin.py").write_text("def oops(:\n")
    (dags / "etl_plugins.py").write_text(DAG)
    (tmp / "home").mkdir()
    cli = AirflowCli(
        tmp / "home",
        connections={
            "numbers": {"conn_type": "etl_numbers", "extra": {"count": 10}},
            "lake": {"conn_type": "jsonl_folder", "extra": {"folder": str(lake)}},
        },
        env={
            "PYTHONPATH": str(site),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        },
    )
    return Setup(cli, lake, plugins)


def _airflow_etl(setup: Setup, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AIRFLOW_ETL, *args],
        env=setup.cli.env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=setup.cli.home,
    )


def test_cli_lists_the_dropped_file_and_the_package_and_reports_the_broken_file(setup: Setup) -> None:
    done = _airflow_etl(setup, "connectors", "--json")
    assert done.returncode == 0, done.stderr
    origins = {c["conn_type"]: c["origin"] for c in json.loads(done.stdout)}
    assert origins["etl_numbers"] == "plugins folder"
    assert origins["jsonl_folder"] == "entry point"
    assert origins["sqlite"] == "built-in"
    assert f"Skipping plugin file {setup.plugins / 'broken_plugin.py'}: SyntaxError" in done.stderr

    done = _airflow_etl(setup, "plugins")
    assert done.returncode == 1  # one plugin file was skipped
    assert "Numbers (test plugin)  1.2.3" in done.stdout
    assert "JSON Lines folder" in done.stdout and "0.3.0" in done.stdout and "Example Plugin Authors" in done.stdout
    assert "broken_plugin.py: SyntaxError" in done.stderr


def test_cli_reads_connections_from_the_metadata_database(setup: Setup) -> None:
    database = setup.cli.home / "db_conn.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        db.executemany("INSERT INTO t VALUES (?, ?)", [(1, "ada"), (2, "grace")])
    setup.cli.run("connections", "add", "db_sqlite", "--conn-type", "sqlite", "--conn-host", str(database))
    done = _airflow_etl(setup, "preview", "db_sqlite", "t", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"id": 1, "name": "ada"}, {"id": 2, "name": "grace"}]


def test_dag_moves_data_from_the_dropped_file_into_the_package(setup: Setup) -> None:
    done = setup.cli.tasks_test(DAG_ID, "numbers_to_lake")
    summary = logged_summary(done.stdout)
    assert (summary["rows"], summary["chunks"]) == (10, 3)
    lines = (setup.lake / "squares.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines[:2]] == [{"n": 1, "square": 1}, {"n": 2, "square": 4}]
    assert len(lines) == 10
    assert "broken_plugin.py" in done.stdout + done.stderr  # Airflow reports it, the task still ran


def test_shipped_provider_info_matches_the_connector_schema(setup: Setup) -> None:
    done = _airflow_etl(
        setup,
        "provider-info",
        "etl_example_plugin.connector:JsonLinesFolderConnector",
        "--package-name",
        "airflow-etl-example-plugin",
        "--version",
        "0.3.0",
        "--name",
        "JSON Lines folder (example ETL plugin)",
    )
    assert done.returncode == 0, done.stderr
    shipped = json.loads((PACKAGE / "etl_example_plugin" / "provider_info.json").read_text())
    assert json.loads(done.stdout) == shipped, "re-render provider_info.json (see etl_example_plugin/provider.py)"


def test_package_is_an_airflow_connection_type_with_a_form(setup: Setup) -> None:
    hooks = json.loads(setup.cli.run("providers", "hooks", "--output", "json").stdout)
    [hook] = [h for h in hooks if h["connection_type"] == "jsonl_folder"]
    assert hook["package_name"] == "airflow-etl-example-plugin"
    assert hook["class"] == "etl_example_plugin.connector.JsonLinesFolderConnector"

    with setup.cli.api_server() as base_url:
        response = requests.get(f"{base_url}/ui/connections/hook_meta", timeout=30)
    assert response.status_code == 200, response.text[:500]
    [meta] = [m for m in response.json() if m["connection_type"] == "jsonl_folder"]
    assert meta["hook_name"] == "JSON Lines folder"
    fields = meta["extra_fields"]
    assert {"folder", "encoding", "timeout", "retry_count"} <= set(fields)
    assert "Directory holding the .jsonl files." in json.dumps(fields["folder"])
    assert '"enum": ["utf-8", "latin-1"]' in json.dumps(fields["encoding"])
    hidden = {name for name, field in meta["standard_fields"].items() if field and field.get("hidden")}
    assert {"host", "port", "login", "password"} <= hidden
