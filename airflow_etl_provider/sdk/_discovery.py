"""Finding third-party connectors: entry points, Airflow's plugins folder, a given directory.

Plugin files register their connectors at import (`register_connector`). Airflow imports
every `*.py` of its plugins folder as a top-level module named after the file, possibly twice
in one process; `load_plugins_from_directory` imports files under the same names, so a class
is always known by the same `module.Class` path and registering it again is a no-op.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_etl_provider.hooks.registry import (
    ORIGIN_CODE,
    ORIGIN_PLUGINS_FOLDER,
    plugins_disabled,
    registry,
)
from airflow_etl_provider.sdk._metadata import check_connector

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_etl_provider.hooks.base import ConnectorHook

log = logging.getLogger(__name__)

#: Origin of connectors loaded with `load_plugins_from_directory` from a directory that is
#: not Airflow's plugins folder.
ORIGIN_DIRECTORY = "plugin directory"

C = TypeVar("C", bound="type[ConnectorHook]")

#: What a plugin file in the seed's style (PLUGIN_NAME, create_connector) is told to do.
PORTING_HINT = (
    "subclass airflow_etl_provider.sdk.compat.ConnectorPlugin to keep that style, or port the class to "
    "airflow_etl_provider.sdk.ConnectorPlugin (docs/plugins.md, 'Porting a seed-style plugin')"
)
#: Names that mark a class, or a file's text, as written for the seed's plugin API.
SEED_MARKERS = ("PLUGIN_NAME", "create_connector")

_loading_origin: ContextVar[str | None] = ContextVar("airflow_etl_loading_origin", default=None)


def airflow_plugins_folder() -> Path | None:
    """Airflow's `[core] plugins_folder`, or None when Airflow's configuration is unavailable."""
    try:
        from airflow.configuration import conf

        folder = conf.get("core", "plugins_folder", fallback=None)
    except ImportError:
        return None
    return Path(folder).expanduser().resolve() if folder else None


def _origin_of(cls: type) -> str:
    loading = _loading_origin.get()
    if loading:
        return loading
    module_file = getattr(sys.modules.get(cls.__module__), "__file__", None)
    folder = airflow_plugins_folder()
    if module_file and folder and Path(module_file).resolve().is_relative_to(folder):
        return ORIGIN_PLUGINS_FOLDER
    return ORIGIN_CODE


def register_connector(cls: C) -> C:
    """Class decorator for a plugin file: check the class and register it (idempotently).

    Built-in connectors are discovered first, so a plugin cannot take over their types.
    With AIRFLOW_ETL_DISABLE_PLUGINS set the class is left unregistered.
    """
    if plugins_disabled():
        log.info("Third-party connectors are disabled; not registering %s.", cls.__qualname__)
        return cls
    check_connector(cls)
    registry.discover()
    return registry.register(cls, origin=_origin_of(cls))


@dataclass
class PluginFile:
    """What loading one plugin file gave: the connection types it registered, or its error."""

    path: Path
    conn_types: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "conn_types": self.conn_types, "error": self.error}


@contextmanager
def _origin(origin: str) -> Iterator[None]:
    token = _loading_origin.set(origin)
    try:
        yield
    finally:
        _loading_origin.reset(token)


def _registered_types_of(module_name: str) -> list[str]:
    return sorted(
        conn_type
        for conn_type in registry.available_types()
        if registry.connector_class(conn_type).__module__ == module_name
    )


def _seed_style_classes(module_name: str) -> list[str]:
    """Classes defined in `module_name` that carry the seed's plugin attributes."""
    module = sys.modules.get(module_name)
    return sorted(
        name
        for name, value in vars(module or object()).items()
        if isinstance(value, type)
        and value.__module__ == module_name
        and all(hasattr(value, marker) for marker in SEED_MARKERS)
    )


def _import_file(path: Path) -> None:
    """Import `path` as Airflow does: a top-level module named after the file."""
    name = path.stem
    loaded_file = getattr(sys.modules.get(name), "__file__", None)
    if loaded_file and Path(loaded_file).resolve() == path:
        return
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None  # a SourceFileLoader always yields a spec
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise


def load_plugins_from_directory(path: str | Path) -> list[PluginFile]:
    """Import every `*.py` under `path` (as Airflow does) and report what each registered.

    A file that fails (syntax error, import error, refused duplicate type) is skipped with a
    warning naming the file and the error; the others still load.
    """
    directory = Path(path).expanduser().resolve()
    if plugins_disabled():
        log.info("Third-party connectors are disabled; not loading %s.", directory)
        return []
    if not directory.is_dir():
        raise FileNotFoundError(f"Plugin directory {str(directory)!r} does not exist or is not a directory.")
    registry.discover()
    origin = ORIGIN_PLUGINS_FOLDER if directory == airflow_plugins_folder() else ORIGIN_DIRECTORY
    if str(directory) not in sys.path:
        sys.path.append(str(directory))  # Airflow does the same, so plugin files can import helpers
    results = []
    for file in sorted(p for p in directory.rglob("*.py") if "__pycache__" not in p.parts):
        result = PluginFile(file)
        try:
            with _origin(origin):
                _import_file(file)
        except Exception as error:  # a broken plugin must never stop the others
            result.error = f"{type(error).__name__}: {error}"
            if all(marker in file.read_text(errors="replace") for marker in SEED_MARKERS):
                result.error += f". It looks like a seed-style plugin: {PORTING_HINT}"
            log.warning("Skipping plugin file %s: %s", file, result.error)
        else:
            result.conn_types = _registered_types_of(file.stem)
            unported = [] if result.conn_types else _seed_style_classes(file.stem)
            if unported:
                result.error = (
                    f"{', '.join(unported)} look{'s' if len(unported) == 1 else ''} like a seed-style plugin "
                    f"({', '.join(SEED_MARKERS)}) but registered no connector: {PORTING_HINT}."
                )
                log.warning("Plugin file %s: %s", file, result.error)
        results.append(result)
    return results


def load_plugins_folder() -> list[PluginFile]:
    """Load Airflow's configured plugins folder, if it exists (as every Airflow process does)."""
    folder = airflow_plugins_folder()
    if folder is None or not folder.is_dir():
        return []
    return load_plugins_from_directory(folder)
