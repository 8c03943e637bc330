"""What a task process pays at import: pandas (~50 MB resident) only when a preview or a
pandas transform asks for it, never for moving data."""

from __future__ import annotations

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
