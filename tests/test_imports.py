"""What a task process pays at import: pandas (~50 MB resident) only when a preview or a
pandas transform asks for it, never for moving data."""

from __future__ import annotations

import json
import subprocess
import sys

MODULES = (
    "airflow_etl_provider.operators.extract_load",
    "airflow_etl_provider.hooks.postgres",
    "airflow_etl_provider.hooks.mysql",
    "airflow_etl_provider.hooks.sqlite",
    "airflow_etl_provider.hooks.filesystem",
    "airflow_etl_provider.hooks.s3",
    "airflow_etl_provider.hooks.rest_api",
    "airflow_etl_provider.formats",
)


def test_importing_the_operator_and_connectors_does_not_import_pandas() -> None:
    script = "import sys\n" + "".join(f"import {name}\n" for name in MODULES) + "print('pandas' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "False", completed.stderr


# Makes the OpenLineage provider and client look uninstalled, and records every attempt to find
# them. Airflow itself is imported first: its provider discovery reads every installed provider's
# metadata at start-up (OpenLineage's too, here), which is Airflow's cost, not the operator's.
_WITHOUT_OPENLINEAGE = '''
import sys
import airflow.sdk

already = sorted(m for m in sys.modules if "openlineage" in m)
looked_up = []

def _importer():
    """The file of the first frame outside the import machinery: who asked for the module."""
    frame = sys._getframe(2)
    while frame.f_code.co_filename.startswith("<frozen") or "importlib" in frame.f_code.co_filename:
        frame = frame.f_back
    return frame.f_code.co_filename

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "openlineage" or name.startswith("airflow.providers.openlineage"):
            # Airflow's plugin manager asks for the provider's plugin because its metadata is
            # installed here; without the distribution it would not know the name.
            if "airflow_etl_provider" in _importer():
                looked_up.append(name)
            raise ModuleNotFoundError(name)
        return None

sys.meta_path.insert(0, NotInstalled())
'''

_TRANSFER = """
import json, os, sqlite3, tempfile

folder = tempfile.mkdtemp()
database = os.path.join(folder, "shop.db")
with sqlite3.connect(database) as db:
    db.execute("CREATE TABLE orders (id INTEGER, note TEXT)")
    db.executemany("INSERT INTO orders VALUES (?, ?)", [(i, f"n{i}") for i in range(100)])
os.environ["AIRFLOW_CONN_SHOP"] = json.dumps({"conn_type": "sqlite", "host": database})
os.environ["AIRFLOW_CONN_LAKE"] = json.dumps({"conn_type": "filesystem", "extra": {"base_path": folder}})

from airflow_etl_provider.operators.extract_load import ExtractLoadOperator

summary = ExtractLoadOperator(
    task_id="t", source_conn_id="shop", source=SOURCE, destination_conn_id="lake", destination="orders.parquet"
).execute({})
assert summary["rows"] == 100, summary
imported = sorted(m for m in sys.modules if "openlineage" in m and m not in already)
print(json.dumps({"looked_up": looked_up, "imported": imported}))
"""


def _transfer_without_openlineage(source: str) -> dict[str, list[str]]:
    script = _WITHOUT_OPENLINEAGE + f"SOURCE = {source!r}\n" + _TRANSFER
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_a_transfer_without_the_openlineage_extra_never_looks_for_it() -> None:
    assert _transfer_without_openlineage("orders") == {"looked_up": [], "imported": []}


def test_a_query_transfer_without_the_openlineage_extra_only_asks_for_its_sql_parser() -> None:
    result = _transfer_without_openlineage("SELECT id, note FROM orders")
    assert result["imported"] == []
    assert result["looked_up"], "a query's tables come from the OpenLineage SQL parser, so it is asked for"
    assert all(name.startswith("airflow.providers.openlineage") for name in result["looked_up"]), result
