"""What the file connectors (local filesystem, S3) share: streaming through a `FileStore`.

A file connector only says where its files live (`store`); reading, writing, formats,
globs and atomic writes are the same code for every store (`airflow_etl_provider.files`).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import pyarrow as pa

from airflow_etl_provider.files import FileStore, read_files, write_files
from airflow_etl_provider.formats import get_format, known_formats
from airflow_etl_provider.hooks.base import DEFAULT_CHUNK_SIZE, ConnectorHook
from airflow_etl_provider.lineage.datasets import LineageDataset, glob_root
from airflow_etl_provider.types import LoadMode, LoadResult, Operation


class FileConnectorHook(ConnectorHook):
    """A connector whose sources and destinations are files in a `FileStore`."""

    load_modes: ClassVar[tuple[LoadMode, ...]] = (LoadMode.APPEND, LoadMode.REPLACE)
    #: Options of every file read; each format adds its own `FileFormat.read_options`.
    extract_options: ClassVar[Mapping[str, str]] = {
        "format": "the file format, when the name's extension does not say it (csv, json, ...)",
        "compression": '"gzip" or "none", when the name does not say it',
        "file_name_column": "add each row's file name as a column of this name",
        "column_types": 'Arrow types of columns, e.g. {"amount": "decimal128(12, 2)"}',
        "names_from": "read only the files whose name sorts at or after this one",
        "names_after": "read only the files whose name sorts after this one",
        "names_before": "read only the files whose name sorts before this one",
    }
    #: Options of every file write; each format adds its own `FileFormat.write_options`.
    load_options: ClassVar[Mapping[str, str]] = {
        "format": "the file format, when the name's extension does not say it (default for a folder: parquet)",
        "compression": '"gzip" or "none", when the name does not say it',
        "max_rows_per_file": "split a folder or pattern destination into files of at most this many rows",
    }
    #: Options of `load` meant for the store's writer (e.g. S3 upload arguments), not the format.
    store_options: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def known_options(cls, operation: Operation) -> dict[str, str]:
        """The connector's own options, the store's, and those of every registered file format."""
        writing = operation is Operation.LOAD
        known = {**super().known_options(operation), **(cls.store_options if writing else {})}
        by_format: dict[str, list[str]] = {}
        for name in known_formats():
            for option in get_format(name).write_options if writing else get_format(name).read_options:
                by_format.setdefault(option, []).append(name)
        for option, formats in sorted(by_format.items()):
            known.setdefault(option, f"option of the {', '.join(formats)} format{'s' if len(formats) > 1 else ''}")
        return known

    @property
    @abstractmethod
    def store(self) -> FileStore:
        """Where this connection's files live."""

    def extract(self, source: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE, **options: Any) -> Iterator[pa.RecordBatch]:
        self.require(Operation.EXTRACT)
        return read_files(self.store, source, chunk_size=chunk_size, options=options)

    def load(
        self,
        chunks: Iterable[pa.RecordBatch],
        destination: str,
        *,
        mode: LoadMode | str = LoadMode.APPEND,
        keys: Sequence[str] | None = None,
        **options: Any,
    ) -> LoadResult:
        """Write `chunks` to the file(s) at `destination`; format options go to the writer."""
        self.require(Operation.LOAD)
        store_options = {name: options.pop(name) for name in self.store_options if name in options}
        store = self.store
        result = write_files(store, chunks, destination, mode=mode, options=options, store_options=store_options)
        self.describe_write(store, result)
        return result

    def lineage_dataset(self, target: str) -> LineageDataset | None:
        """The file, or the folder / prefix a glob or a multi-file write covers."""
        return self.file_dataset(glob_root(target))

    def file_dataset(self, name: str) -> LineageDataset | None:
        """The store's file or folder `name` as a lineage dataset."""
        return None

    def describe_write(self, store: FileStore, result: LoadResult) -> None:
        """Add store-specific facts of a finished write to `result.details`."""
