"""Fixtures for plugin tests: plugin files in a temp directory, registry cleaned up after."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from airflow_etl_provider.hooks.registry import registry

PLUGIN_FILES = Path(__file__).parent / "plugin_files"


@pytest.fixture
def clean_registry() -> Iterator[None]:
    """Forget connectors and modules that a test registered or imported."""
    types_before = set(registry.available_types())
    modules_before = set(sys.modules)
    path_before = list(sys.path)
    yield
    for conn_type in set(registry.available_types()) - types_before:
        registry.unregister(conn_type)
    for name in set(sys.modules) - modules_before:
        del sys.modules[name]
    sys.path[:] = path_before


@pytest.fixture
def plugin_dir(tmp_path: Path, clean_registry: None) -> Callable[..., Path]:
    """A directory of plugin files: copies of `plugin_files/<name>` or given source text."""
    directory = tmp_path / "plugins"
    directory.mkdir()

    def add(name: str, text: str | None = None) -> Path:
        target = directory / name
        if text is None:
            shutil.copy(PLUGIN_FILES / name, target)
        else:
            target.write_text(text)
        return directory

    return add
