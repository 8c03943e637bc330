"""A folder of JSON Lines files as a source and destination: `<source>.jsonl` per data set."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import pyarrow as pa

from airflow_etl_provider.sdk import (
    ColumnInfo,
    ConnectorConfigError,
    ConnectorPlugin,
    LoadMode,
    LoadResult,
    SchemaInfo,
    SourceError,
    TableInfo,
)


class JsonLinesFolderConnector(ConnectorPlugin):
    """Data sets stored as JSON Lines files in one folder."""

    conn_type = "jsonl_folder"
    hook_name = "JSON Lines folder"
    description = "A folder of JSON Lines files: one file per data set."
    author = "Example Plugin Authors"
    load_modes = (LoadMode.APPEND, LoadMode.REPLACE)
    config_schema = {
        "type": "object",
        "required": ["folder"],
        "properties": {
            "folder": {
                "type": "string",
                "title": "Folder",
                "description": "Directory holding the .jsonl files.",
            },
            "encoding": {
                "type": "string",
                "enum": ["utf-8", "latin-1"],
                "default": "utf-8",
                "title": "Encoding",
                "description": "Text encoding of the files.",
            },
        },
    }
    ui_field_behaviour = {"hidden-fields": ["host", "port", "login", "password", "schema"]}

    @property
    def folder(self) -> Path:
        return Path(self.config["folder"]).expanduser()

    def _file(self, name: str) -> Path:
        if not name or "/" in name or name.startswith("."):
            raise ConnectorConfigError(self.conn_id, "source", f"{name!r} is not a data set name (a file stem).")
        return self.folder / f"{name}.jsonl"

    def test_connection(self) -> tuple[bool, str]:
        try:
            files = sorted(self.folder.glob("*.jsonl"))
        except ConnectorConfigError as error:
            return False, str(error)
        if not self.folder.is_dir():
            return False, f"Folder {str(self.folder)!r} does not exist."
        return True, f"Folder {self.folder} holds {len(files)} data sets."

    def get_schema(self, source: str | None = None) -> SchemaInfo:
        names = [source] if source else sorted(p.stem for p in self.folder.glob("*.jsonl"))
        tables = []
        for name in names:
            sample = pa.Table.from_batches(list(islice(self.extract(name, chunk_size=100), 1)))
            columns = tuple(ColumnInfo(f.name, str(f.type), f.nullable) for f in sample.schema)
            tables.append(TableInfo(name, columns, kind="file"))
        return SchemaInfo(tuple(tables))

    def extract(self, source: str, *, chunk_size: int = 50_000, **options: Any) -> Iterator[pa.RecordBatch]:
        path = self._file(source)
        if not path.is_file():
            raise SourceError(f"Connection {self.conn_id!r}: no data set {source!r} ({path} does not exist).")
        return self._read(path, chunk_size)

    def _read(self, path: Path, chunk_size: int) -> Iterator[pa.RecordBatch]:
        schema = None
        with path.open(encoding=self.config["encoding"]) as lines:
            while rows := [json.loads(line) for line in islice(lines, chunk_size) if line.strip()]:
                batch = pa.RecordBatch.from_pylist(rows, schema=schema)
                schema = batch.schema
                yield batch

    def load(
        self,
        chunks: Iterable[pa.RecordBatch],
        destination: str,
        *,
        mode: Any = "append",
        keys: Any = None,
        **options: Any,
    ) -> LoadResult:
        mode = self.require_load_mode(mode)
        path = self._file(destination)
        result = LoadResult(destination, mode.value)
        handle, temp = tempfile.mkstemp(dir=self.folder, prefix=f".{destination}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding=self.config["encoding"]) as out:
                if mode is LoadMode.APPEND and path.exists():
                    with path.open(encoding=self.config["encoding"]) as old:
                        shutil.copyfileobj(old, out)
                for chunk in chunks:
                    out.writelines(json.dumps(row, default=str) + "\n" for row in chunk.to_pylist())
                    result.rows += chunk.num_rows
                    result.chunks += 1
            os.replace(temp, path)  # readers see the old file or the new one, never half of it
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return result
