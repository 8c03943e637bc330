"""The plugin examples of docs/plugins.md, copied out of the page, run as written.

Each ```python block whose first line is `# <file>.py ...` is written to a fresh folder;
pytest then runs the page's conformance test there in a subprocess, as a plugin author would,
with no conftest.py of this repository in reach.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
BLOCK = re.compile(r"^```python\n# (?P<name>[\w/.-]+\.py)\b[^\n]*\n(?P<code>.*?)^```$", re.MULTILINE | re.DOTALL)

#: Appended to the page's connector: it still declares upsert, but adds the new rows after
#: the old ones (reporting only the new ones), like an INSERT without ON CONFLICT.
APPEND_ONLY_UPSERT = """

import itertools

_load = InventoryConnector.load


def _append_only(self, chunks, destination, *, mode=LoadMode.APPEND, keys=None, **options):
    if LoadMode.parse(mode) is not LoadMode.UPSERT or not self._file(destination).exists():
        return _load(self, chunks, destination, mode=mode, keys=keys, **options)
    old = list(self.extract(destination))
    result = _load(self, itertools.chain(old, chunks), destination, mode=LoadMode.REPLACE)
    result.rows -= sum(batch.num_rows for batch in old)
    return result


InventoryConnector.load = _append_only
"""


def _doc_files() -> dict[str, str]:
    files = {match["name"]: f"# {match['name']}\n{match['code']}" for match in BLOCK.finditer(DOCS.read_text())}
    assert {"inventory.py", "test_inventory.py"} <= set(files), f"docs/plugins.md names only {sorted(files)}"
    return files


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A fresh folder holding the page's connector and its conformance test."""
    plugins = {entry.value for entry in entry_points(group="pytest11")}
    if "airflow_etl_provider.sdk.pytest_plugin" not in plugins:
        pytest.fail("The installed metadata lacks the pytest11 entry point; reinstall: pip install -e .")
    files = _doc_files()
    for name in ("inventory.py", "test_inventory.py"):
        (tmp_path / name).write_text(files[name])
    return tmp_path


def _pytest(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", "test_inventory.py"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_conformance_example_runs_as_written(example: Path) -> None:
    done = _pytest(example)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    assert re.search(r"\b14 passed\b", summary) and "failed" not in summary and "error" not in summary, summary


def test_conformance_example_fails_an_upsert_that_appends(example: Path) -> None:
    with (example / "inventory.py").open("a") as connector:
        connector.write(APPEND_ONLY_UPSERT)
    done = _pytest(example)
    assert done.returncode == 1, done.stdout + done.stderr
    failed = re.findall(r"^FAILED (\S+)", done.stdout, re.MULTILINE)
    assert failed == ["test_inventory.py::TestInventory::test_load_mode[upsert]"], done.stdout
    assert "'conformance_out' holds id 2 more than once" in done.stdout
