"""Drivers are extras: a connector whose driver is missing says which extra to install, and
connectors that need no driver work without any of them."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points, metadata, requires
from pathlib import Path

#: Importing any of these fails in the child process, as if no extra were installed.
_WITHOUT_DRIVERS = """
import sys
for name in ("mysql", "psycopg", "adbc_driver_postgresql", "adbc_driver_manager", "boto3", "botocore", "openpyxl"):
    sys.modules[name] = None
"""


def _run(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_DRIVERS + script], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )


def test_a_connector_without_its_driver_names_the_extra_to_install(tmp_path: Path) -> None:
    completed = _run(
        """
import json
from airflow_etl_provider.exceptions import ConnectorNotFoundError
from airflow_etl_provider.hooks.registry import registry
types = registry.available_types()
messages = {}
for conn_type in ("mysql", "postgres", "aws"):
    try:
        registry.connector_class(conn_type)
    except ConnectorNotFoundError as error:
        messages[conn_type] = str(error)
print(json.dumps({"types": types, "messages": messages}))
""",
        tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.splitlines()[-1])
    assert "mysql" not in result["types"] and "postgres" not in result["types"] and "aws" not in result["types"]
    assert {"sqlite", "filesystem", "rest_api"} <= set(result["types"])
    messages = result["messages"]
    assert "module 'mysql.connector' is missing: pip install 'airflow-etl-provider[mysql]'" in messages["mysql"]
    assert "module 'psycopg' is missing: pip install 'airflow-etl-provider[postgres]'" in messages["postgres"]
    assert "pip install 'airflow-etl-provider[s3]'" in messages["aws"]


def test_an_sqlite_to_csv_transfer_needs_no_driver_extra(tmp_path: Path) -> None:
    completed = _run(
        f"""
import json, os, sqlite3
db = os.path.join({str(tmp_path)!r}, "src.db")
with sqlite3.connect(db) as conn:
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"n{{i}}") for i in range(1000)])
os.environ["AIRFLOW_CONN_SRC"] = json.dumps({{"conn_type": "sqlite", "host": db}})
os.environ["AIRFLOW_CONN_OUT"] = json.dumps({{"conn_type": "filesystem", "extra": {{"base_path": {str(tmp_path)!r}}}}})
from airflow_etl_provider.operators.extract_load import ExtractLoadOperator
summary = ExtractLoadOperator(
    task_id="t", source_conn_id="src", source="t", destination_conn_id="out", destination="t.csv"
).execute(context={{}})
print(json.dumps({{"rows": summary["rows"]}}))
""",
        tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout.splitlines()[-1]) == {"rows": 1000}
    assert (tmp_path / "t.csv").read_text().count("\n") == 1001


def test_every_extra_a_connector_names_is_declared() -> None:
    declared = set(metadata("airflow-etl-provider").get_all("Provides-Extra") or ())
    named = {extra for ep in entry_points(group="airflow_etl_provider.connectors") for extra in ep.extras}
    assert named == {"postgres", "mysql", "s3"}
    assert named <= declared
    (everything,) = [r for r in requires("airflow-etl-provider") or () if r.endswith('extra == "all"')]
    assert all(extra in everything for extra in declared - {"all", "test", "dev"}), everything


def test_an_xlsx_file_without_openpyxl_names_the_extra(tmp_path: Path) -> None:
    completed = _run(
        f"""
import json, os
os.environ["AIRFLOW_CONN_OUT"] = json.dumps({{"conn_type": "filesystem", "extra": {{"base_path": {str(tmp_path)!r}}}}})
import pyarrow as pa
from airflow_etl_provider.exceptions import EtlError
from airflow_etl_provider.hooks.registry import hook_for
try:
    hook_for("out").load(iter([pa.record_batch({{"id": [1]}})]), "t.xlsx")
except EtlError as error:
    print(json.dumps({{"message": str(error)}}))
""",
        tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    message = json.loads(completed.stdout.splitlines()[-1])["message"]
    assert "pip install 'airflow-etl-provider[xlsx]'" in message
    assert not (tmp_path / "t.xlsx").exists()
