"""Local files under one base directory: CSV, JSON, JSON Lines, Parquet and XLSX.

Sources and destinations are paths relative to the connection's `base_path`; a path that
would leave it (`../`, an absolute path elsewhere, a symlink out) is refused. A write goes to
a temporary file in the load's hidden run folder (`_etl-tmp-<run>/`) in the destination
directory, is fsynced and then renamed over the final name, so readers see the old file or the
new one, never a half-written one; a multi-file load renames its files only once all are written.
"""

from __future__ import annotations

import contextlib
import glob
import os
import posixpath
import shutil
import uuid
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, ClassVar

from airflow_etl_provider.exceptions import ConnectorConfigError, EtlError, LoadError, SourceError
from airflow_etl_provider.files import (
    RUN_FOLDER_PREFIX,
    FileStore,
    Staged,
    file_kind,
    glob_root,
    has_glob,
    is_hidden,
    sample_table,
)
from airflow_etl_provider.hooks.file_base import FileConnectorHook
from airflow_etl_provider.lineage.datasets import LineageDataset, local_file
from airflow_etl_provider.types import Operation, SchemaInfo, TableInfo

TEMP_MARKER = ".tmp-"
#: What a staged file is called in its run folder until it is renamed to its final name.
TEMP_SUFFIX = ".tmp"


class LocalStore(FileStore):
    """Files under `base`; names are '/'-separated paths relative to it."""

    def __init__(self, base: str, conn_id: str):
        self.base = os.path.realpath(base)
        self.conn_id = conn_id

    def path(self, name: str) -> str:
        """The absolute path of `name`, refused when it escapes the base directory."""
        candidate = os.path.normpath(os.path.join(self.base, name))
        real = os.path.realpath(candidate)
        if real != self.base and not real.startswith(self.base + os.sep):
            raise EtlError(
                f"Path {name!r} is outside the base directory {self.base!r} of connection "
                f"{self.conn_id!r}; use a path relative to it without '..'."
            )
        return candidate

    def name(self, path: str) -> str:
        return os.path.relpath(path, self.base).replace(os.sep, "/")

    def expand(self, source: str) -> list[str]:
        path = self.path(source)
        if has_glob(source):
            root = self.path(glob_root(source))
            found = [
                p
                for p in glob.glob(path, recursive=True)
                if os.path.isfile(p) and not is_hidden(os.path.relpath(p, root).replace(os.sep, "/"))
            ]
            for p in found:
                self.path(self.name(p))  # a glob must not follow a symlink out either
        elif os.path.isdir(path):
            found = []
            for folder, dirs, files in os.walk(path):
                dirs[:] = [d for d in dirs if not is_hidden(d)]
                found.extend(os.path.join(folder, f) for f in files if not is_hidden(f))
        elif os.path.isfile(path):
            found = [path]
        else:
            found = []
        if not found:
            raise SourceError(f"No file matches {source!r} under {self.base!r} (connection {self.conn_id!r}).")
        return sorted(self.name(p) for p in found)

    def is_container(self, name: str) -> bool:
        return os.path.isdir(self.path(name))

    def exists(self, name: str) -> bool:
        return os.path.exists(self.path(name))

    def open_read(self, name: str) -> BinaryIO:
        return open(self.path(name), "rb")  # noqa: SIM115 (closed by the reader)

    def open_seekable(self, name: str) -> BinaryIO:
        return self.open_read(name)

    @contextmanager
    def staged_writer(self, name: str, options: dict[str, Any], folder: str, *, deferred: bool) -> Iterator[Staged]:
        """Write into the run folder, fsync, and rename over `name` when published."""
        if options:
            raise LoadError(f"Local files take no upload options; got {', '.join(sorted(options))}.")
        self.path(name)  # refused here when it leaves the base directory, before anything is written
        temp = posixpath.join(folder, posixpath.basename(name) + TEMP_SUFFIX)
        os.makedirs(self.path(folder), exist_ok=True)
        try:
            with open(self.path(temp), "xb") as handle:
                staged = Staged(handle, {"temp": temp, "name": name})
                yield staged
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path(temp))
            raise
        if not deferred:
            self.publish(staged.record)

    def publish(self, record: dict[str, Any]) -> None:
        final = self.path(record["name"])
        with contextlib.suppress(FileNotFoundError):  # already renamed by the run that staged it
            os.replace(self.path(record["temp"]), final)
        _fsync_directory(os.path.dirname(final))

    def run_folders(self, directory: str) -> dict[str, list[str]]:
        try:
            entries = list(os.scandir(self.path(directory)))
        except (FileNotFoundError, NotADirectoryError):
            return {}
        folders = [e.path for e in entries if e.name.startswith(RUN_FOLDER_PREFIX) and e.is_dir(follow_symlinks=False)]
        return {
            self.name(folder): sorted(self.name(os.path.join(d, f)) for d, _, files in os.walk(folder) for f in files)
            for folder in folders
        }

    def remove_run(self, folder: str, names: list[str], protected: Collection[str]) -> None:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.path(folder))

    def delete(self, names: Iterable[str]) -> None:
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path(name))

    def copy(self, source: str, name: str) -> None:
        """A hard link: instant, no second copy of the bytes, and `name` is whole from the start."""
        final = self.path(name)
        try:
            os.link(self.path(source), final)
        except FileExistsError:
            if not os.path.samefile(self.path(source), final):
                raise
        _fsync_directory(os.path.dirname(final))

    def folders_starting(self, directory: str, prefix: str) -> list[str]:
        try:
            entries = list(os.scandir(self.path(directory)))
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(e.name for e in entries if e.name.startswith(prefix) and e.is_dir(follow_symlinks=False))

    def remove_tree(self, folder: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.path(folder))

    def display(self, name: str) -> str:
        return name


def _fsync_directory(directory: str) -> None:
    """Make the rename durable (POSIX); harmless where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FilesystemConnectorHook(FileConnectorHook):
    """Reads and writes CSV, JSON, JSON Lines, Parquet and XLSX files under a base directory."""

    conn_type = "filesystem"
    hook_name = "Local files (ETL)"
    default_conn_name = "filesystem_default"
    description = "Files under a base directory: CSV, JSON, JSON Lines, Parquet, XLSX (gzip for text)."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "base_path": {
                "type": "string",
                "minLength": 1,
                "title": "Base directory",
                "description": "Absolute path of the directory that sources and destinations are relative to.",
            },
        },
        "required": ["base_path"],
    }
    ui_field_behaviour: ClassVar[dict[str, Any]] = {
        "hidden-fields": ["host", "schema", "login", "password", "port"],
        "relabeling": {},
        "placeholders": {"base_path": "/data/files"},
    }

    @property
    def store(self) -> LocalStore:
        base = self.config["base_path"]
        if not os.path.isabs(base):
            raise ConnectorConfigError(self.conn_id, "base_path", f"{base!r} must be an absolute path.")
        return LocalStore(base, self.conn_id)

    def file_dataset(self, name: str) -> LineageDataset:
        return local_file(self.store.path(name))

    def test_connection(self) -> tuple[bool, str]:
        try:
            base = self.store.base
        except EtlError as error:
            return False, str(error)
        if not os.path.exists(base):
            return False, f"Base directory {base!r} does not exist; create it or fix base_path."
        if not os.path.isdir(base):
            return False, f"Base path {base!r} is not a directory."
        if not os.access(base, os.R_OK | os.X_OK):
            return False, f"Base directory {base!r} is not readable by this process."
        probe = os.path.join(base, f".etl-probe{TEMP_MARKER}{uuid.uuid4().hex[:8]}")
        try:
            with open(probe, "xb"):
                pass
            os.remove(probe)
        except OSError as error:
            return False, f"Base directory {base!r} is not writable: {error.strerror}."
        return True, f"Base directory {base!r} is readable and writable."

    def get_schema(self, source: str | None = None) -> SchemaInfo:
        self.require(Operation.GET_SCHEMA)
        store = self.store
        tables: list[TableInfo] = []
        try:
            names = store.expand(source or ".")
        except SourceError:
            return SchemaInfo(())
        for name in names:
            kind = file_kind(name, {})
            if kind is None:
                continue
            try:
                tables.append(sample_table(store, name, label=name, kind_label=f"{kind.format.name} file"))
            except (SourceError, EtlError) as error:
                self.log.warning("Skipping %s in the schema of connection %r: %s", name, self.conn_id, error)
        return SchemaInfo(tuple(tables))
