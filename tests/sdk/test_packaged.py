"""A plugin distribution's get_provider_info runs while Airflow initialises: no Airflow import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import airflow_etl_provider.sdk as sdk

PACKAGE = Path(__file__).resolve().parent.parent / "example_plugin_package"


def test_every_public_name_resolves() -> None:
    assert sdk.__all__ == sorted(sdk._EXPORTS)
    assert all(getattr(sdk, name) is not None for name in sdk.__all__)


def test_packaged_provider_info_does_not_import_airflow() -> None:
    code = (
        "import sys\n"
        "from etl_example_plugin.provider import get_provider_info\n"
        "info = get_provider_info()\n"
        "assert 'airflow' not in sys.modules, sorted(m for m in sys.modules if m.startswith('airflow'))\n"
        "print(info['connection-types'][0]['connection-type'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PACKAGE, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "jsonl_folder"
