"""What the file connectors (local filesystem, S3) share: many files as one stream, and writes.

A `FileStore` says where bytes live (a directory, a bucket); everything else -- picking the
format from the name, decompressing, adding a file-name column, keeping one schema across
files, splitting output into files, naming new files for append, staging them in a hidden
run folder and publishing them at the end, removing old ones on replace, and cleaning up
after a failure or after an earlier load that was killed -- is written once here. Reading a
directory, prefix or glob skips hidden names (`_x`, `.x`) below it, as Spark, Hive and Arrow do.

Common read options: `format` (override the extension), `compression` ("gzip" / "none"),
`file_name_column` (add each row's file name as a column), `column_types`, `names_from` /
`names_after` / `names_before` (only the files whose name sorts in that range: incremental
reads); the rest go to
the format. Common write options: `format`, `compression`, `max_rows_per_file`; the rest go
to the format.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import posixpath
import re
import socket
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, BinaryIO, NoReturn

import pyarrow as pa

from airflow_etl_provider.arrow_batches import rebatch
from airflow_etl_provider.arrow_kinds import describe_columns
from airflow_etl_provider.exceptions import ConnectorConfigError, FormatOptionError, LoadError, SourceError
from airflow_etl_provider.formats import FileFormat, FileSource, format_for_extension, get_format, known_formats
from airflow_etl_provider.formats.arrow_types import parse_column_types
from airflow_etl_provider.formats.compression import compressing, decompressing, parse_compression, split_compression
from airflow_etl_provider.types import ColumnInfo, LoadMode, LoadResult, TableInfo

log = logging.getLogger(__name__)

GLOB_CHARS = frozenset("*?[")
DEFAULT_WRITE_FORMAT = "parquet"
SAMPLE_ROWS = 1000
APPEND_READ_ROWS = 50_000


def has_glob(path: str) -> bool:
    return any(ch in path for ch in GLOB_CHARS)


def glob_root(pattern: str) -> str:
    """The folder part of a glob before its first wildcard ("in/**/x*.csv" -> "in")."""
    fixed = pattern[: min(pattern.index(ch) for ch in GLOB_CHARS if ch in pattern)]
    return fixed.rpartition("/")[0]


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A shell glob as a regex, as local paths match: `*` and `?` stay within one folder, `**` crosses folders."""
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            parts.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            parts.append(".*")
            i += 2
        elif pattern[i] == "*":
            parts.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            parts.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end]
            parts.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
        else:
            parts.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(parts) + r"\Z")


class FileStore(ABC):
    """Where files live. Names are store-relative paths (local) or keys (S3), '/'-separated."""

    @abstractmethod
    def expand(self, source: str) -> list[str]:
        """The files `source` means: one file, every file under a directory/prefix, or a glob.

        Raises `SourceError` when nothing matches.
        """

    @abstractmethod
    def is_container(self, name: str) -> bool:
        """Whether `name` is a directory / prefix that files are written into."""

    @abstractmethod
    def exists(self, name: str) -> bool: ...

    @abstractmethod
    def open_read(self, name: str) -> BinaryIO:
        """A sequential byte stream of the file."""

    @abstractmethod
    def open_seekable(self, name: str) -> BinaryIO:
        """A random-access byte stream of the file."""

    @abstractmethod
    def staged_writer(
        self, name: str, options: dict[str, Any], folder: str, *, deferred: bool
    ) -> AbstractContextManager[Staged]:
        """A sink for the file `name`, staged under the hidden run folder `folder`.

        Nothing is visible under `name` until the file is published: on a clean exit when not
        `deferred`, else by `publish(staged.record)`. After an exception, what it wrote is
        discarded (or, when that is impossible, the error says what is left and where).
        """

    @abstractmethod
    def publish(self, record: dict[str, Any]) -> None:
        """Make a deferred staged file visible under its name; doing it again is harmless."""

    @abstractmethod
    def run_folders(self, directory: str) -> dict[str, list[str]]:
        """The run folders (`_etl-tmp-<run>`) in `directory`, each with the names stored under it."""

    @abstractmethod
    def remove_run(self, folder: str, names: list[str], protected: Collection[str]) -> None:
        """Remove the run folder `folder` (holding `names`) and what its run staged elsewhere.

        `protected` are the names in folders of runs still alive: what they claim is kept.
        """

    @abstractmethod
    def delete(self, names: Iterable[str]) -> None: ...

    @abstractmethod
    def copy(self, source: str, name: str) -> None:
        """Make `name` a complete copy of the file `source` at once (never half there); repeating it is harmless."""

    @abstractmethod
    def remove_tree(self, folder: str) -> None:
        """Delete `folder` and everything below it, hidden names included."""

    @abstractmethod
    def folders_starting(self, directory: str, prefix: str) -> list[str]:
        """Names of the folders (prefixes) right in `directory` that start with `prefix`, hidden ones included."""

    @abstractmethod
    def display(self, name: str) -> str:
        """How a file is named in messages (relative path, s3:// URI)."""


@dataclass(frozen=True)
class FileKind:
    """The format and compression of one file."""

    format: FileFormat
    compression: str | None

    @property
    def extension(self) -> str:
        return self.format.extensions[0] + (".gz" if self.compression == "gzip" else "")


def file_kind(name: str, options: dict[str, Any]) -> FileKind | None:
    """Format and compression from the options, else from the name; None when unknown."""
    stem, detected = split_compression(name)
    compression = parse_compression(options["compression"]) if options.get("compression") else detected
    fmt = get_format(options["format"]) if options.get("format") else format_for_extension(stem)
    if fmt is None:
        return None
    if compression and not fmt.compressible:
        raise LoadError(f"{fmt.name} files compress internally; gzip does not apply to {name!r}.")
    return FileKind(fmt, compression)


def _require_kind(store: FileStore, name: str, options: dict[str, Any]) -> FileKind:
    kind = file_kind(name, options)
    if kind is None:
        raise SourceError(
            f"Cannot tell the format of {store.display(name)} from its name; pass the `format` option "
            f"(one of: {', '.join(known_formats())})."
        )
    return kind


def file_source(store: FileStore, name: str, kind: FileKind) -> FileSource:
    return FileSource(
        name=store.display(name),
        open=lambda: decompressing(store.open_read(name), kind.compression),
        open_seekable=None if kind.compression else (lambda: store.open_seekable(name)),
    )


# -- reading ----------------------------------------------------------------------------------


def read_files(store: FileStore, source: str, *, chunk_size: int, options: dict[str, Any]) -> Iterator[pa.RecordBatch]:
    """Every file `source` means, in name order, as one stream of `chunk_size`-row batches.

    Later files are read with the first file's column types, so type inference happens once.
    """
    options = dict(options)
    names = _named_between(
        store,
        store.expand(source),
        options.pop("names_from", None),
        options.pop("names_after", None),
        options.pop("names_before", None),
    )
    return rebatch(_read_each(store, names, chunk_size, options), chunk_size)


def _named_between(
    store: FileStore, names: list[str], start: str | None, after: str | None, before: str | None
) -> list[str]:
    """The files whose name (as `display` spells it, e.g. an s3:// URI) sorts from `start` (or
    after `after`) and before `before`: an incremental read by key order opens no file it loaded before."""
    kept = []
    for name in names:
        shown = store.display(name)
        if (
            (start is None or shown >= start)
            and (after is None or shown > after)
            and (before is None or shown < before)
        ):
            kept.append(name)
    return kept


def _read_each(
    store: FileStore, names: list[str], chunk_size: int, options: dict[str, Any]
) -> Iterator[pa.RecordBatch]:
    file_name_column = options.pop("file_name_column", None)
    declared = parse_column_types(options.pop("column_types", None))
    kind_options: dict[str, Any] = {k: options.pop(k) for k in ("format", "compression") if k in options}
    first_schema: pa.Schema | None = None
    for name in names:
        kind = _require_kind(store, name, kind_options)
        types = {**({f.name: f.type for f in first_schema} if first_schema else {}), **declared}
        if file_name_column:
            types.pop(file_name_column, None)
        source = file_source(store, name, kind)
        for batch in kind.format.read(source, chunk_size=chunk_size, column_types=types or None, **options):
            if first_schema is None:
                first_schema = batch.schema
                _check_declared(declared, first_schema, source.name)
            elif batch.schema != first_schema:
                raise SourceError(
                    f"{source.name} has columns {describe_columns(batch.schema)} but the first file has "
                    f"{describe_columns(first_schema)}; files read as one stream must share their columns."
                )
            if file_name_column:
                names_column = pa.repeat(pa.scalar(source.name, pa.string()), batch.num_rows)
                batch = batch.append_column(file_name_column, names_column)
            yield batch


def _check_declared(declared: dict[str, pa.DataType], schema: pa.Schema, name: str) -> None:
    missing = sorted(set(declared) - set(schema.names))
    if missing:
        raise SourceError(
            f"column_types names columns that {name} does not have: {', '.join(missing)}; "
            f"its columns are: {', '.join(schema.names)}."
        )


def sample_table(store: FileStore, name: str, *, label: str, kind_label: str) -> TableInfo:
    """A `TableInfo` with the columns inferred from the first rows of `name`."""
    stream = read_files(store, name, chunk_size=SAMPLE_ROWS, options={})
    try:
        batch = next(stream, None)
    finally:
        stream.close()  # type: ignore[attr-defined]
    schema = batch.schema if batch is not None else pa.schema([])
    columns = tuple(ColumnInfo(name=f.name, type=str(f.type), nullable=f.nullable) for f in schema)
    return TableInfo(name=label, columns=columns, kind=kind_label)


# -- writing ----------------------------------------------------------------------------------


class _Parts:
    """Splits one stream of batches into consecutive parts of at most `max_rows` rows each."""

    def __init__(self, chunks: Iterable[pa.RecordBatch], max_rows: int | None):
        self._chunks = iter(chunks)
        self._max_rows = max_rows
        self._carry: pa.RecordBatch | None = None

    def __iter__(self) -> Iterator[Iterator[pa.RecordBatch]]:
        first = True
        while True:
            if self._carry is None:
                self._carry = next(self._chunks, None)
            # An empty batch only matters as the very first one (it carries the schema).
            while not first and self._carry is not None and self._carry.num_rows == 0:
                self._carry = next(self._chunks, None)
            if self._carry is None:
                return
            first = False
            yield self._part()

    def _part(self) -> Iterator[pa.RecordBatch]:
        remaining = self._max_rows
        while True:
            batch = self._carry if self._carry is not None else next(self._chunks, None)
            self._carry = None
            if batch is None:
                return
            if remaining is not None and batch.num_rows > remaining:
                yield batch.slice(0, remaining)
                self._carry = batch.slice(remaining)
                return
            yield batch
            if remaining is not None:
                remaining -= batch.num_rows
                if remaining == 0:
                    return


@dataclass(frozen=True)
class _Target:
    """Where a load writes: one named file, or new files named from a pattern."""

    single: str | None
    pattern: str | None  # its "*" is replaced by a unique token per file
    kind: FileKind
    replaces: tuple[str, ...]  # names that replace-mode deletes after success
    appends: bool = False  # the single file exists and its rows come first

    @property
    def directory(self) -> str:
        """Where the files go, and so where the load stages them."""
        return posixpath.dirname(self.single or self.pattern or "")


def _target(store: FileStore, destination: str, mode: LoadMode, options: dict[str, Any]) -> _Target:
    if store.is_container(destination) or destination.endswith("/"):
        part_kind = _kind_from_options(options)
        prefix = destination.rstrip("/")
        pattern = posixpath.join(prefix, "part-*" + part_kind.extension) if prefix else "part-*" + part_kind.extension
        return _Target(None, pattern, part_kind, _existing(store, pattern.replace("part-*", "*"), mode))
    kind = file_kind(destination, options)
    if kind is None:
        raise LoadError(
            f"Cannot tell the format of destination {destination!r} from its name; pass the `format` option "
            f"or end the name with a known extension ({_known_extensions()})."
        )
    if "*" in posixpath.basename(destination):
        return _Target(None, destination, kind, _existing(store, destination, mode))
    if options.get("max_rows_per_file"):
        raise LoadError(
            f"max_rows_per_file needs several file names; write to a directory ('{posixpath.dirname(destination)}/') "
            f"or a pattern such as '{destination.replace(kind.extension, '-*' + kind.extension)}'."
        )
    return _Target(destination, None, kind, (), appends=mode is LoadMode.APPEND and store.exists(destination))


def _known_extensions() -> str:
    """Every registered format's extensions, with `.gz` after those that compress (`.csv, .csv.gz`)."""
    endings = []
    for fmt in map(get_format, known_formats()):
        for ext in fmt.extensions:
            endings += [ext, f"{ext}.gz"] if fmt.compressible else [ext]
    return ", ".join(endings)


def _kind_from_options(options: dict[str, Any]) -> FileKind:
    """The kind of files written into a directory: `format` (default Parquet) and `compression`."""
    fmt = get_format(options.get("format") or DEFAULT_WRITE_FORMAT)
    compression = parse_compression(options.get("compression"))
    if compression and not fmt.compressible:
        raise LoadError(f"{fmt.name} files compress internally; gzip does not apply.")
    return FileKind(fmt, compression)


def _existing(store: FileStore, pattern: str, mode: LoadMode) -> tuple[str, ...]:
    if mode is not LoadMode.REPLACE:
        return ()
    try:
        return tuple(store.expand(pattern))
    except SourceError:
        return ()


def write_files(
    store: FileStore,
    chunks: Iterable[pa.RecordBatch],
    destination: str,
    *,
    mode: LoadMode | str,
    options: dict[str, Any],
    store_options: dict[str, Any] | None = None,
) -> LoadResult:
    """Write the stream to `destination`: every file appears at the end, or none does.

    append: a directory or pattern gets new file names; an existing single file is rewritten
    as its old rows followed by the new ones (streamed into a new file that then replaces it,
    so it costs one read of the old file: prefer a directory for frequent appends).
    replace: the single file is overwritten atomically; for a directory or pattern the new
    files are published first and the files that were there before are deleted afterwards.
    Files are staged in a hidden run folder of the destination's directory and published at
    the end; what an earlier, killed load left there is cleaned up first.
    """
    mode = LoadMode.parse(mode)
    if mode is LoadMode.UPSERT:
        raise LoadError("Files cannot be upserted (no keys to match rows on); use mode 'append' or 'replace'.")
    options = dict(options)
    max_rows = options.pop("max_rows_per_file", None)
    format_options = {k: v for k, v in options.items() if k not in ("format", "compression")}
    store_options = store_options or {}
    result = LoadResult(destination=destination, mode=mode.value)
    try:
        target = _target(store, destination, mode, {**options, "max_rows_per_file": max_rows})
        target.kind.format.check_options(format_options, writing=True)
    except (LoadError, FormatOptionError, ConnectorConfigError):
        raise
    except Exception as error:
        raise LoadError(f"Writing {store.display(destination)} failed, nothing was written: {error}") from error
    clean_up_interrupted_loads(store, target.directory)
    with _Run(target.directory) as run:
        journal: dict[str, Any] | None = None
        try:
            if target.appends:
                chunks = carried = _AfterExisting(store, destination, target.kind, chunks, format_options)
            parts = _Parts(chunks, int(max_rows) if max_rows else None)
            written, records = _stage(store, run, target, parts, format_options, store_options, result)
            if target.single is None:
                replaced = [n for n in target.replaces if n not in written]
                journal = {"run": run.id, "files": written, "records": records, "replaces": replaced}
                _write_journal(store, run.folder, journal, store_options)
                _publish(store, journal)
                _remove_run(store, run, published=True)  # with the journal gone, no later load undoes this one
        except Exception as error:
            _fail(store, run, destination, journal, error)
        if target.single is not None:
            _tidy(store, run)
    result.details = {"files": [store.display(n) for n in written], "format": target.kind.format.name}
    if target.appends:
        result.rows -= carried.old_rows
        result.chunks -= carried.old_chunks
        result.details["rows_rewritten"] = carried.old_rows
    return result


def publish_copies(
    store: FileStore, sources: list[str], destination: str, *, mode: LoadMode | str, options: dict[str, Any]
) -> LoadResult:
    """Publish the finished files `sources` into the folder `destination` as one multi-file write.

    Each appears under its own file name in `destination`, copied at once (S3 server-side
    copy, a hard link locally); in replace mode the files that were there before are deleted
    after. The same journal as `write_files` makes a killed publish complete or undone by the
    next load of that folder, so a retry never doubles the rows. `sources` stay as they were.
    """
    mode = LoadMode.parse(mode)
    if not store.is_container(destination) and not destination.endswith("/"):
        raise LoadError(f"Parts are published into a folder; {store.display(destination)} is a file: end it with '/'.")
    target = _target(store, destination, mode, options)
    names = [posixpath.join(target.directory, posixpath.basename(source)) for source in sources]
    clean_up_interrupted_loads(store, target.directory)
    result = LoadResult(destination=destination, mode=mode.value, chunks=len(sources))
    with _Run(target.directory) as run:
        journal: dict[str, Any] | None = None
        try:
            records = [{"copy_from": source, "name": name} for source, name in zip(sources, names, strict=True)]
            replaced = [name for name in target.replaces if name not in names]
            journal = {"run": run.id, "files": names, "records": records, "replaces": replaced}
            _write_journal(store, run.folder, journal, {})
            _publish(store, journal)
            _remove_run(store, run, published=True)
        except Exception as error:
            _fail(store, run, destination, journal, error)
    result.details = {"files": [store.display(name) for name in names], "replaced": len(target.replaces)}
    return result


def _stage(
    store: FileStore,
    run: _Run,
    target: _Target,
    parts: _Parts,
    format_options: dict[str, Any],
    store_options: dict[str, Any],
    result: LoadResult,
) -> tuple[list[str], list[dict[str, Any]]]:
    """Write every part into the run folder: (names, publish records). A single file is published as it closes."""
    written: list[str] = []
    records: list[dict[str, Any]] = []
    # Unique across concurrent loads (mapped tasks writing into one folder), sortable by time.
    token = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{uuid.uuid4().hex[:8]}"
    for number, part in enumerate(parts):
        name = target.single or target.pattern.replace("*", f"{token}-{number:05d}", 1)  # type: ignore[union-attr]
        counted = _Counted(part)
        with store.staged_writer(name, store_options, run.folder, deferred=target.single is None) as staged:
            sink = compressing(staged.sink, target.kind.compression)
            target.kind.format.write(counted, sink, **format_options)
            if sink is not staged.sink:
                sink.close()
            result.bytes += staged.sink.tell()
        records.append(staged.record)
        written.append(name)
        result.rows += counted.rows
        result.chunks += counted.chunks
    return written, records


def _fail(store: FileStore, run: _Run, destination: str, journal: dict[str, Any] | None, error: Exception) -> NoReturn:
    """Undo the failed load (as the next load would after a kill), then raise with what is left, if anything."""
    cause = error.__cause__ if isinstance(error, LeftBehind) and error.__cause__ is not None else error
    try:
        if journal is not None:
            _settle(store, journal)
        _remove_run(store, run, published=False)
    except Exception as cleanup_error:
        left = error if isinstance(error, LeftBehind) else cleanup_error
        raise LoadError(
            f"Writing {store.display(destination)} failed: {cause}. Cleaning up failed too: {left}; what the load "
            f"staged stays in {store.display(run.folder)} (hidden from readers) until the next load of this "
            "destination removes it."
        ) from cause
    if isinstance(cause, (LoadError, FormatOptionError, ConnectorConfigError)):
        raise cause
    raise LoadError(f"Writing {store.display(destination)} failed, nothing was left behind: {cause}") from cause


class _AfterExisting:
    """The rows of the existing file `name`, read with the new rows' types, then the new rows.

    Nothing is yielded (so nothing is rewritten) when there are no new batches; `old_rows`
    counts the rows carried over, which the load result does not count as loaded.
    """

    def __init__(
        self,
        store: FileStore,
        name: str,
        kind: FileKind,
        chunks: Iterable[pa.RecordBatch],
        format_options: dict[str, Any],
    ):
        self._store, self._name, self._kind = store, name, kind
        self._chunks = chunks
        self._read_options = {k: v for k, v in format_options.items() if k in kind.format.read_options}
        self.old_rows = 0
        self.old_chunks = 0

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        chunks = iter(self._chunks)
        first = next(chunks, None)
        if first is None:
            return
        source = file_source(self._store, self._name, self._kind)
        options = {**self._read_options, "column_types": first.schema}
        for batch in self._kind.format.read(source, chunk_size=APPEND_READ_ROWS, **options):
            if batch.schema != first.schema:
                raise LoadError(
                    f"Cannot append to {source.name}: it has columns {describe_columns(batch.schema)}, "
                    f"the new rows have {describe_columns(first.schema)}."
                )
            self.old_rows += batch.num_rows
            self.old_chunks += 1
            yield batch
        yield first
        yield from chunks


class _Counted:
    """Passes batches through, counting rows and chunks."""

    def __init__(self, batches: Iterator[pa.RecordBatch]):
        self._batches = batches
        self.rows = 0
        self.chunks = 0

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for batch in self._batches:
            self.rows += batch.num_rows
            self.chunks += 1
            yield batch


# -- runs: staging, publishing, and cleaning up after killed loads ----------------------------
# A load stages its files in a hidden folder of the destination's directory, named after the
# run: `_etl-tmp-<UTC start>-<host>-<pid>-<random>`. Readers (ours, Spark, Hive, Arrow) skip
# it. Before a multi-file load publishes, it writes a journal there naming what it publishes.
# The next load of that directory judges each run folder it finds by its name: the run is dead
# when it is ours (this process) and finished, when its pid is gone (same host), or when it is
# older than STALE_AFTER (another host, whose processes cannot be checked). A dead run is
# undone, unless it was a replace that had begun deleting the old files (then it is finished),
# so that the retry of a killed load never duplicates rows.

RUN_FOLDER_PREFIX = "_etl-tmp-"
JOURNAL = "_publish.json"
STALE_AFTER = dt.timedelta(hours=24)
_RUN_ID = re.compile(r"(?P<started>\d{8}T\d{6}Z)-(?P<host>.+)-(?P<pid>\d+)-[0-9a-f]{8}\Z")
#: Runs of this process still writing (a mapped task's process may run several loads in turn).
_ACTIVE_RUNS: set[str] = set()


@dataclass
class Staged:
    """A file being staged: the `sink` to write, and (once it is closed) the `record` that publishes it."""

    sink: BinaryIO
    record: dict[str, Any] = field(default_factory=dict)


class LeftBehind(Exception):
    """A store could not remove what a failed write staged; the message says what is left, the cause why it failed."""


def is_hidden(relative: str) -> bool:
    """Whether a path below a listed folder has a part readers skip ('_x', '.x'), as Spark and Arrow do."""
    return any(part[:1] in ("_", ".") for part in relative.split("/"))


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", socket.gethostname())[:40] or "host"


def run_alive(run_id: str) -> bool:
    """Whether the run named `run_id` may still be writing (a name not of this form always may)."""
    match = _RUN_ID.match(run_id)
    if match is None:
        return True
    if match["host"] != _host():
        started = dt.datetime.strptime(match["started"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
        return dt.datetime.now(dt.timezone.utc) - started < STALE_AFTER
    pid = int(match["pid"])
    if pid == os.getpid():
        return run_id in _ACTIVE_RUNS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        return True
    return True


class _Run:
    """One load's run folder in `directory`; the run counts as alive while the `with` block runs."""

    def __init__(self, directory: str):
        started = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self.id = f"{started}-{_host()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.directory = directory
        self.folder = posixpath.join(directory, RUN_FOLDER_PREFIX + self.id)

    def __enter__(self) -> _Run:
        _ACTIVE_RUNS.add(self.id)
        return self

    def __exit__(self, *exc: object) -> None:
        _ACTIVE_RUNS.discard(self.id)


def clean_up_interrupted_loads(store: FileStore, directory: str) -> None:
    """Undo (or, for a replace that had begun deleting old files, finish) every dead run in `directory`."""
    current = posixpath.join(directory, RUN_FOLDER_PREFIX + "*")  # what is being cleaned up, for the error
    try:
        runs = store.run_folders(directory)
        alive = {folder: _alive(folder) for folder in runs}
        protected = [name for folder, names in runs.items() if alive[folder] for name in names]
        for current, names in runs.items():
            if not alive[current]:
                _undo(store, current, names, protected)
    except Exception as error:
        raise LoadError(
            f"Cannot clean up {store.display(current)}, left by an interrupted load: {error}. Nothing was written: "
            "a load there waits until that is cleaned up, as the interrupted load's files could be duplicated."
        ) from error


def _undo(store: FileStore, folder: str, names: list[str], protected: list[str]) -> None:
    """Settle the dead run of `folder` by its journal, if it had one, then remove its folder and uploads."""
    journal = posixpath.join(folder, JOURNAL)
    if journal in names:
        with store.open_read(journal) as stream:
            _settle(store, json.loads(stream.read()))
    store.remove_run(folder, names, protected)


def _write_journal(store: FileStore, folder: str, journal: dict[str, Any], options: dict[str, Any]) -> None:
    """The commit point of a multi-file load: from here the next load knows what to undo or finish."""
    with store.staged_writer(posixpath.join(folder, JOURNAL), options, folder, deferred=False) as staged:
        staged.sink.write(json.dumps(journal).encode())


def _publish(store: FileStore, journal: dict[str, Any]) -> None:
    """Publish every staged (or copied) file, then delete the files the load replaces."""
    for record in journal["records"]:
        if "copy_from" in record:
            store.copy(record["copy_from"], record["name"])
        else:
            store.publish(record)
    store.delete(journal["replaces"])


def _settle(store: FileStore, journal: dict[str, Any]) -> None:
    """Undo a load that stopped while publishing, or finish it if it had begun deleting the files it replaces."""
    if journal["replaces"] and not all(store.exists(name) for name in journal["replaces"]):
        _publish(store, journal)
    else:
        store.delete(journal["files"])


def _remove_run(store: FileStore, run: _Run, *, published: bool) -> None:
    """Remove the run's folder; unless its files were all published, also abort what its leases name.

    Uploads to the same keys by other live runs (two loads of one object at once) are kept.
    """
    runs = store.run_folders(run.directory)
    names = runs.get(run.folder, [])
    others = [
        n for folder, folder_names in runs.items() if folder != run.folder and _alive(folder) for n in folder_names
    ]
    store.remove_run(run.folder, names, names if published else others)


def _alive(folder: str) -> bool:
    return run_alive(posixpath.basename(folder)[len(RUN_FOLDER_PREFIX) :])


def _tidy(store: FileStore, run: _Run) -> None:
    """Remove the run folder of a published single file; what stays (a lease) the next load removes."""
    try:
        _remove_run(store, run, published=True)
    except Exception as error:  # the file is published: its load succeeded
        log.warning("Could not remove %s (the next load there will): %s", store.display(run.folder), error)
