"""Connection forms of the connectors in Airflow's plugins folder, for the provider info.

Airflow builds its connection-type list (the UI's dropdown, the forms, the Test endpoint's
hook lookup) only from providers' metadata, so a connector registered from a plugins-folder
file would have no form. `get_provider_info` therefore adds those connectors' entries.

It runs while `import airflow` is still reading its configuration, where importing plugin
files (which import Airflow, pyarrow, drivers) is not possible. The entries are rendered by
the SDK's own discovery (`load_plugins_from_directory`) in a child process instead, and
cached per set of plugin files (path, size, mtime), so only the first Airflow process after
a plugin file changes pays for it.
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Set in the child process: its own `get_provider_info` must not start another child.
RENDERING_ENV = "AIRFLOW_ETL_RENDERING_PLUGIN_FORMS"
#: Same switch as `hooks.registry.DISABLE_PLUGINS_ENV` (not imported: that pulls in the hooks).
DISABLE_PLUGINS_ENV = "AIRFLOW_ETL_DISABLE_PLUGINS"
#: Text every plugins-folder connector file contains (the SDK's registration decorator).
REGISTRATION_MARKER = "register_connector"
RENDER_TIMEOUT_SECONDS = 180


def _airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME") or "~/airflow").expanduser()


def plugins_folder() -> Path | None:
    """`[core] plugins_folder` as Airflow resolves it, read without importing Airflow."""
    folder = os.environ.get("AIRFLOW__CORE__PLUGINS_FOLDER")
    if not folder:
        config_file = Path(os.environ.get("AIRFLOW_CONFIG") or _airflow_home() / "airflow.cfg").expanduser()
        parser = configparser.ConfigParser(interpolation=None)
        with contextlib.suppress(OSError, configparser.Error):  # unreadable: Airflow's default applies
            parser.read(config_file, encoding="utf-8")
        folder = parser.get("core", "plugins_folder", fallback="") or str(_airflow_home() / "plugins")
        folder = folder.replace("{AIRFLOW_HOME}", str(_airflow_home()))
    path = Path(folder).expanduser()
    return path.resolve() if path.is_dir() else None


def connector_files(folder: Path) -> list[Path]:
    """Plugin files that register connectors (Airflow imports every `*.py` of the folder)."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        try:
            if REGISTRATION_MARKER in path.read_text(encoding="utf-8", errors="replace"):
                found.append(path)
        except OSError:
            continue
    return found


def _cache_key(folder: Path, files: list[Path]) -> str:
    from airflow_etl_provider.get_provider_info import VERSION

    digest = hashlib.sha256(f"{VERSION}\0{sys.executable}\0{folder}".encode())
    for path in files:
        stat = path.stat()
        digest.update(f"\0{path}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:32]


def cache_dir() -> Path:
    return _airflow_home() / ".airflow-etl-provider"


def plugins_folder_connection_types() -> list[dict[str, Any]]:
    """`connection-types` entries of the connectors in the plugins folder (cached)."""
    disabled = os.environ.get(DISABLE_PLUGINS_ENV, "").strip().lower() in {"1", "true", "yes", "on"}
    if disabled or os.environ.get(RENDERING_ENV):
        return []
    folder = plugins_folder()
    files = connector_files(folder) if folder else []
    if not folder or not files:
        return []
    cache = cache_dir() / f"plugin-forms-{_cache_key(folder, files)}.json"
    try:
        cached: dict[str, Any] = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cached = _render_in_child(folder)
        _write_atomically(cache, cached)
    for problem in cached.get("errors", []):
        # A broken file is already reported where plugins load ("Skipping plugin file ...",
        # Airflow's plugin import errors); at this point Airflow may log to stdout.
        log.debug("Plugins-folder connector has no connection form: %s", problem)
    if cached.get("failure"):
        log.warning("Plugins-folder connectors have no connection forms: %s", cached["failure"])
    return list(cached.get("connection-types", []))


def _render_in_child(folder: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="airflow-etl-forms-") as work:
        target = Path(work) / "forms.json"
        try:
            process = subprocess.run(
                [sys.executable, "-m", __name__, str(folder), str(target)],
                env={**os.environ, RENDERING_ENV: "1"},
                capture_output=True,
                text=True,
                timeout=RENDER_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return {"connection-types": [], "failure": f"rendering the forms of {folder} failed: {error}"}
        if process.returncode != 0 or not target.exists():
            tail = (process.stderr or process.stdout).strip().splitlines()[-1:] or ["no output"]
            return {
                "connection-types": [],
                "failure": f"rendering the forms of {folder} exited {process.returncode}: {tail[0]}",
            }
        rendered: dict[str, Any] = json.loads(target.read_text(encoding="utf-8"))
        return rendered


def _write_atomically(path: Path, content: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False, encoding="utf-8") as out:
            json.dump(content, out)
        os.replace(out.name, path)
    except OSError as error:  # a read-only home only costs a re-render next time
        log.info("Cannot cache plugin connection forms in %s: %s", path.parent, error)


def render_plugins_folder(folder: Path) -> dict[str, Any]:
    """Import `folder` with the SDK's discovery; the forms of what it registered, and errors."""
    from airflow_etl_provider.hooks.registry import registry
    from airflow_etl_provider.sdk import load_plugins_from_directory
    from airflow_etl_provider.ui_fields import connection_type_entry

    entries: list[dict[str, Any]] = []
    errors: list[str] = []
    for result in load_plugins_from_directory(folder):
        if result.error:
            errors.append(f"{result.path}: {result.error}")
        for conn_type in result.conn_types:
            entries.append(connection_type_entry(registry.connector_class(conn_type)))
    return {"connection-types": entries, "errors": errors}


if __name__ == "__main__":
    rendered = render_plugins_folder(Path(sys.argv[1]))
    Path(sys.argv[2]).write_text(json.dumps(rendered), encoding="utf-8")
