"""Amazon S3 (and S3-compatible stores such as MinIO): CSV, JSON, JSON Lines, Parquet, XLSX objects.

Works with existing Airflow `aws` connections: credentials, session token, region, endpoint
URL and assume-role all come from the amazon provider's S3Hook / AwsBaseHook; this module adds
only the `bucket` and `prefix` defaults to the extra. Objects are read as streams (Parquet and
XLSX with ranged GETs), and written with a multipart upload whose parts leave as the data
arrives; a failure aborts the upload (retried), so no partial object ever becomes visible. The
objects of a multi-object load are completed only once all are written, and each pending
upload is named by a lease object in the load's hidden run folder, so that the next load can
abort the uploads of a load that was killed (see `airflow_etl_provider.files`).
"""

from __future__ import annotations

import contextlib
import io
import posixpath
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import cached_property
from typing import Any, BinaryIO, ClassVar

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from airflow_etl_provider.exceptions import ConnectorConfigError, EtlError, SourceError
from airflow_etl_provider.files import (
    RUN_FOLDER_PREFIX,
    FileStore,
    LeftBehind,
    Staged,
    file_kind,
    glob_regex,
    glob_root,
    has_glob,
    is_hidden,
    sample_table,
)
from airflow_etl_provider.hooks.file_base import FileConnectorHook
from airflow_etl_provider.lineage.datasets import LineageDataset, s3_object
from airflow_etl_provider.types import LoadResult, Operation, SchemaInfo, TableInfo

MIB = 1 << 20
MIN_PART_SIZE = 5 * MIB
DEFAULT_PART_SIZE = 8 * MIB
#: Parts uploading at once: two keep the network busy while the next part fills (1M orders rows
#: as Parquet into moto: 0.25 s faster than one at a time); each holds one part in memory.
PARTS_IN_FLIGHT = 2
READ_BUFFER = 1 * MIB
DELETE_BATCH = 1000
#: Parts are doubled in size every this many parts (8 MiB parts reach ~8 TB within 10,000).
PARTS_PER_SIZE_STEP = 1000
#: Attempts at aborting a failed upload (each after botocore's own retries), waiting 0.5 s, 1 s, 2 s between.
ABORT_ATTEMPTS = 4
ABORT_BACKOFF = 0.5
#: Names, in a run folder, the upload the run has pending on `<dir>/<file>` (see `S3Store.staged_writer`).
LEASE_SUFFIX = ".upload"


def _hidden_below(key: str, prefix: str) -> bool:
    """Whether `key`, under the listed `prefix`, has a part readers skip (a run folder, `_SUCCESS`)."""
    return is_hidden(key[len(prefix) :] if key.startswith(prefix) else key)


def split_uri(uri: str) -> tuple[str, str]:
    """("bucket", "key") of "s3://bucket/key"."""
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class _BodyReader(io.RawIOBase):
    """A GET response body as a raw stream (botocore's body lacks `readinto`)."""

    def __init__(self, body: Any):
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


class _RangedReader(io.RawIOBase):
    """Random access to one object through ranged GETs (Parquet footers, XLSX directories)."""

    def __init__(self, client: Any, bucket: str, key: str):
        self._client, self._bucket, self._key = client, bucket, key
        self._size = client.head_object(Bucket=bucket, Key=key)["ContentLength"]
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        if self._pos >= self._size or not len(buffer):
            return 0
        end = min(self._pos + len(buffer), self._size) - 1
        body = self._client.get_object(Bucket=self._bucket, Key=self._key, Range=f"bytes={self._pos}-{end}")["Body"]
        data = body.read()
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


class _MultipartWriter(io.RawIOBase):
    """A write-only stream uploading parts of `part_size` bytes as soon as they fill.

    Up to `PARTS_IN_FLIGHT` parts upload on background threads while the next one fills, so
    producing and sending overlap, and at most that many parts plus the filling one are in
    memory. Nothing is visible until the upload is completed (`finish`, or later
    `complete_upload` of the record a deferred `finish` returns); `abort()` discards every
    uploaded part. `on_start` runs just before the upload is created.
    A published object smaller than one part is sent with a single PUT instead.
    """

    def __init__(
        self,
        client: Any,
        bucket: str,
        key: str,
        *,
        part_size: int,
        extra_args: dict[str, Any],
        on_start: Callable[[], None],
    ):
        self._client, self._bucket, self._key = client, bucket, key
        self._part_size = part_size
        self._extra_args = extra_args
        self._on_start = on_start
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []
        self.upload_id: str | None = None
        self._written = 0
        self._executor: ThreadPoolExecutor | None = None
        self._in_flight: deque[Future[None]] = deque()

    @property
    def parts(self) -> int:
        return len(self._parts)

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._written

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._buffer += view
        self._written += len(view)
        while len(self._buffer) >= self._part_size:
            with memoryview(self._buffer) as whole:
                part = bytes(whole[: self._part_size])  # one copy (slicing the bytearray would make two)
            del self._buffer[: self._part_size]
            self._send(part)
            if len(self._parts) % PARTS_PER_SIZE_STEP == 0:
                self._part_size *= 2  # S3 takes 10,000 parts: growing them keeps any size in reach
        return len(view)

    def _send(self, part: bytes) -> None:
        """Upload `part` in the background once fewer than `PARTS_IN_FLIGHT` parts are in flight."""
        if self.upload_id is None:
            self._on_start()
            created = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key, **self._extra_args)
            self.upload_id = created["UploadId"]
            self._executor = ThreadPoolExecutor(max_workers=PARTS_IN_FLIGHT, thread_name_prefix="s3-part")
        while len(self._in_flight) >= PARTS_IN_FLIGHT:
            self._in_flight.popleft().result()
        number = len(self._parts) + 1
        self._parts.append({"PartNumber": number})
        assert self._executor is not None
        self._in_flight.append(self._executor.submit(self._upload_part, number, part))

    def _upload_part(self, number: int, part: bytes) -> None:
        response = self._client.upload_part(
            Bucket=self._bucket, Key=self._key, UploadId=self.upload_id, PartNumber=number, Body=part
        )
        self._parts[number - 1]["ETag"] = response["ETag"]

    def _wait(self) -> None:
        """Wait for the parts in flight; the first failure is raised here."""
        while self._in_flight:
            self._in_flight.popleft().result()

    def finish(self, *, deferred: bool) -> dict[str, Any]:
        """Send the rest; complete the upload unless `deferred`. Returns how to complete it later."""
        if self.upload_id is None and not deferred:
            self._client.put_object(Bucket=self._bucket, Key=self._key, Body=bytes(self._buffer), **self._extra_args)
            self._shutdown()
            return {}
        if self._buffer or self.upload_id is None:
            self._send(bytes(self._buffer))
        self._wait()
        self._shutdown()
        record = {"bucket": self._bucket, "key": self._key, "upload_id": self.upload_id, "parts": self._parts}
        if not deferred:
            complete_upload(self._client, record)
        return record

    def abort(self) -> None:
        """Discard every part sent, retrying the abort; an error names the upload it leaves pending."""
        with contextlib.suppress(Exception):  # the abort below discards that part anyway
            self._wait()
        self._shutdown()
        if self.upload_id is not None:
            abort_upload(self._client, self._bucket, self._key, self.upload_id)
            self.upload_id = None

    def _shutdown(self) -> None:
        self._buffer = bytearray()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def complete_upload(client: Any, record: dict[str, Any]) -> None:
    """Complete the upload a deferred write staged; done already (by a run that was then killed) is fine."""
    bucket, key = record["bucket"], record["key"]
    try:
        client.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=record["upload_id"], MultipartUpload={"Parts": record["parts"]}
        )
    except ClientError as error:
        if _error_code(error) != "NoSuchUpload":
            raise
        try:
            client.head_object(Bucket=bucket, Key=key)
        except ClientError:
            raise EtlError(
                f"The staged upload {record['upload_id']} of s3://{bucket}/{key} is gone (aborted, e.g. by a "
                "lifecycle rule) before it was published."
            ) from error


def abort_upload(client: Any, bucket: str, key: str, upload_id: str) -> None:
    """Abort a multipart upload, retried: a pending upload is invisible but billed until aborted."""
    for attempt in range(1, ABORT_ATTEMPTS + 1):
        try:
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            return
        except ClientError as error:
            if _error_code(error) == "NoSuchUpload":
                return  # aborted already
            if attempt == ABORT_ATTEMPTS or not _retriable(error):
                raise _not_aborted(bucket, key, upload_id, attempt, error) from error
        except BotoCoreError as error:  # the connection dropped, timed out, was refused
            if attempt == ABORT_ATTEMPTS:
                raise _not_aborted(bucket, key, upload_id, attempt, error) from error
        time.sleep(ABORT_BACKOFF * 2 ** (attempt - 1))


def _retriable(error: ClientError) -> bool:
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return status >= 500 or status == 429 or "Throttl" in _error_code(error) or _error_code(error) == "SlowDown"


def _not_aborted(bucket: str, key: str, upload_id: str, attempts: int, error: Exception) -> EtlError:
    return EtlError(
        f"the multipart upload {upload_id} of s3://{bucket}/{key} could not be aborted ({attempts} attempt"
        f"{'s' * (attempts > 1)}; last error: {error}) and stays pending: invisible, but billed until the next "
        "load of this destination, or a lifecycle rule (AbortIncompleteMultipartUpload), aborts it"
    )


class S3Store(FileStore):
    """Objects addressed by `s3://bucket/key` names; relative names use the default bucket and prefix."""

    def __init__(self, client: Any, conn_id: str, bucket: str | None, prefix: str):
        self.client = client
        self.conn_id = conn_id
        self.bucket = bucket
        self.prefix = prefix
        self.uploads: list[_MultipartWriter] = []

    def uri(self, name: str) -> str:
        if name.startswith("s3://"):
            return name
        if not self.bucket:
            raise ConnectorConfigError(
                self.conn_id,
                "bucket",
                f"{name!r} names no bucket and the connection has no default bucket; "
                "use an s3://bucket/key URI or set `bucket` in the extra.",
            )
        return f"s3://{self.bucket}/{posixpath.join(self.prefix, name) if self.prefix else name}"

    def list_objects(self, uri: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """(key, listing entry) of every object under the prefix `uri`, page by page."""
        bucket, prefix = split_uri(uri)
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for entry in page.get("Contents", ()):
                    if not entry["Key"].endswith("/"):
                        yield entry["Key"], entry
        except ClientError as error:
            raise SourceError(f"Cannot list {uri} (connection {self.conn_id!r}): {error}") from error

    def expand(self, source: str) -> list[str]:
        uri = self.uri(source)
        bucket, key = split_uri(uri)
        if has_glob(key):
            fixed = key[: min(key.index(ch) for ch in "*?[" if ch in key)]
            root = glob_root(key)
            matcher = glob_regex(key)
            listed = self.list_objects(f"s3://{bucket}/{fixed}")
            found = [k for k, _ in listed if matcher.match(k) and not _hidden_below(k, root + "/" if root else "")]
        elif key == "" or key.endswith("/"):
            found = [k for k, _ in self.list_objects(uri) if not _hidden_below(k, key)]
        elif self.exists(uri):
            found = [key]
        else:
            found = [k for k, _ in self.list_objects(uri + "/") if not _hidden_below(k, key + "/")]
        if not found:
            raise SourceError(f"No object matches {uri} (connection {self.conn_id!r}).")
        return sorted(f"s3://{bucket}/{k}" for k in found)

    def is_container(self, name: str) -> bool:
        bucket, key = split_uri(self.uri(name))
        if key == "" or key.endswith("/"):
            return True
        if self.exists(name):
            return False
        return next(iter(self.list_objects(self.uri(name) + "/")), None) is not None

    def exists(self, name: str) -> bool:
        bucket, key = split_uri(self.uri(name))
        try:
            self.client.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if _error_code(error) in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise EtlError(f"Cannot look up {self.uri(name)} (connection {self.conn_id!r}): {error}") from error
        return True

    def open_read(self, name: str) -> BinaryIO:
        bucket, key = split_uri(self.uri(name))
        try:
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
        except ClientError as error:
            raise SourceError(f"Cannot read {self.uri(name)} (connection {self.conn_id!r}): {error}") from error
        return io.BufferedReader(_BodyReader(body), buffer_size=READ_BUFFER)  # type: ignore[return-value]

    def open_seekable(self, name: str) -> BinaryIO:
        bucket, key = split_uri(self.uri(name))
        try:
            raw = _RangedReader(self.client, bucket, key)
        except ClientError as error:
            raise SourceError(f"Cannot read {self.uri(name)} (connection {self.conn_id!r}): {error}") from error
        return io.BufferedReader(raw, buffer_size=READ_BUFFER)  # type: ignore[return-value]

    @contextmanager
    def staged_writer(self, name: str, options: dict[str, Any], folder: str, *, deferred: bool) -> Iterator[Staged]:
        """A multipart upload straight to `name`, invisible until completed.

        Before the upload is created, an empty lease object `<folder>/<file name>.upload` says
        whose it is, so that the next load can abort it if this run dies; it goes when the
        upload is completed or aborted and the run folder is removed.
        """
        bucket, key = split_uri(self.uri(name))
        extra_args = dict(options.get("extra_args") or {})
        lease_bucket, lease_key = split_uri(self.uri(posixpath.join(folder, posixpath.basename(name) + LEASE_SUFFIX)))
        writer = _MultipartWriter(
            self.client,
            bucket,
            key,
            part_size=max(MIN_PART_SIZE, int(options.get("part_size_mb", DEFAULT_PART_SIZE // MIB) * MIB)),
            extra_args=extra_args,
            on_start=lambda: self.client.put_object(Bucket=lease_bucket, Key=lease_key, Body=b"", **extra_args),
        )
        self.uploads.append(writer)
        staged = Staged(writer)  # type: ignore[arg-type]
        try:
            yield staged
            staged.record = writer.finish(deferred=deferred)
        except BaseException as error:
            try:
                writer.abort()
            except EtlError as not_aborted:
                raise LeftBehind(str(not_aborted)) from error
            raise

    def publish(self, record: dict[str, Any]) -> None:
        complete_upload(self.client, record)

    def run_folders(self, directory: str) -> dict[str, list[str]]:
        bucket, prefix = split_uri(self.uri(posixpath.join(directory, RUN_FOLDER_PREFIX)))
        start = len(prefix) - len(RUN_FOLDER_PREFIX)
        folders: dict[str, list[str]] = {}
        for key, _ in self.list_objects(f"s3://{bucket}/{prefix}"):
            folder, slash, rest = key[start:].partition("/")
            if slash:
                folder_name = posixpath.join(directory, folder)
                folders.setdefault(folder_name, []).append(posixpath.join(folder_name, rest))
        return folders

    def remove_run(self, folder: str, names: list[str], protected: Collection[str]) -> None:
        """Abort the pending uploads the run's leases name (unless a live run leases the same key), then delete."""
        leased = {self._leased(name) for name in names if name.endswith(LEASE_SUFFIX)}
        kept = {self._leased(name) for name in protected if name.endswith(LEASE_SUFFIX)}
        for bucket, key in sorted(leased - kept):
            pages = self.client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=key)
            for upload in (u for page in pages for u in page.get("Uploads", ()) if u["Key"] == key):
                abort_upload(self.client, bucket, key, upload["UploadId"])
        self.delete(names)

    def _leased(self, lease: str) -> tuple[str, str]:
        """(bucket, key) of the upload a lease `<dir>/_etl-tmp-<run>/<file>.upload` stands for."""
        directory = posixpath.dirname(posixpath.dirname(lease))
        return split_uri(self.uri(posixpath.join(directory, posixpath.basename(lease)[: -len(LEASE_SUFFIX)])))

    def delete(self, names: Iterable[str]) -> None:
        by_bucket: dict[str, list[str]] = {}
        for name in names:
            bucket, key = split_uri(self.uri(name))
            by_bucket.setdefault(bucket, []).append(key)
        for bucket, keys in by_bucket.items():
            for start in range(0, len(keys), DELETE_BATCH):
                batch = [{"Key": k} for k in keys[start : start + DELETE_BATCH]]
                self.client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})

    def copy(self, source: str, name: str) -> None:
        """A server-side copy (multipart for large objects): the object appears whole or not at all."""
        source_bucket, source_key = split_uri(self.uri(source))
        bucket, key = split_uri(self.uri(name))
        try:
            self.client.copy({"Bucket": source_bucket, "Key": source_key}, bucket, key)
        except ClientError as error:
            raise EtlError(
                f"Cannot copy {self.uri(source)} to {self.uri(name)} (connection {self.conn_id!r}): {error}"
            ) from error

    def folders_starting(self, directory: str, prefix: str) -> list[str]:
        bucket, key = split_uri(self.uri(posixpath.join(directory, prefix)))
        start = len(key) - len(prefix)
        return sorted(
            {k[start:].partition("/")[0] for k, _ in self.list_objects(f"s3://{bucket}/{key}") if "/" in k[start:]}
        )

    def remove_tree(self, folder: str) -> None:
        uri = self.uri(folder.rstrip("/") + "/")
        bucket, _ = split_uri(uri)
        self.delete([f"s3://{bucket}/{key}" for key, _ in self.list_objects(uri)])

    def display(self, name: str) -> str:
        return self.uri(name)


class S3ConnectorHook(FileConnectorHook):
    """Reads and writes CSV, JSON, JSON Lines, Parquet and XLSX objects in S3 through an `aws` connection."""

    conn_type = "aws"
    hook_name = "Amazon S3 (ETL)"
    default_conn_name = "aws_default"
    description = "Objects in S3 or an S3-compatible store: CSV, JSON, JSON Lines, Parquet, XLSX (gzip for text)."
    form_owner_distribution = "apache-airflow-providers-amazon"
    store_options: ClassVar[Mapping[str, str]] = {
        "extra_args": 'upload arguments, e.g. {"ServerSideEncryption": "AES256", "StorageClass": "STANDARD_IA"}',
        "part_size_mb": "multipart upload part size in MiB (at least 5)",
    }
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        # The same extra carries the amazon provider's keys (region_name, endpoint_url, role_arn...).
        "additionalProperties": True,
        "properties": {
            "bucket": {
                "type": "string",
                "examples": ["analytics-landing"],
                "title": "Default bucket",
                "description": "Bucket used when a source or destination is a key rather than an s3:// URI.",
            },
            "prefix": {
                "type": "string",
                "default": "",
                "title": "Key prefix",
                "description": "Prefix put before relative keys, e.g. 'landing/'.",
            },
        },
    }

    # -- client --------------------------------------------------------------------------

    @cached_property
    def s3_hook(self) -> Any:
        """The amazon provider's hook: it owns credentials, region, endpoint and assume-role.

        `timeout` and `retry_count` become botocore's timeouts and retries, so every request
        (not only connecting) is retried on throttling and dropped connections. A botocore
        setting given in the connection's `config_kwargs` wins over them: passing a config to
        the hook would otherwise replace that extra entirely.
        """
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook
        from botocore import UNSIGNED
        from botocore.config import Config

        given = dict(self.connection.extra_dejson.get("config_kwargs") or {})
        if given.get("signature_version") == "unsigned":
            given["signature_version"] = UNSIGNED
        own = {
            "connect_timeout": self.timeout,
            "read_timeout": self.timeout,
            "retries": {"max_attempts": self.retry_count + 1, "mode": "standard"},
        }
        return S3Hook(aws_conn_id=self.conn_id, config=Config(**{**own, **given}))

    def open(self) -> None:
        self.__dict__.pop("client", None)

    def close(self) -> None:
        self.__dict__.pop("client", None)

    @cached_property
    def client(self) -> Any:
        return self.s3_hook.get_conn()

    @property
    def store(self) -> S3Store:
        prefix = self.config.get("prefix") or ""
        return S3Store(self.client, self.conn_id, self.config.get("bucket"), prefix)

    def file_dataset(self, name: str) -> LineageDataset:
        return s3_object(*split_uri(self.store.uri(name)))

    # -- the contract --------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        bucket = self.config.get("bucket")
        try:
            if bucket:
                self.client.head_bucket(Bucket=bucket)
                return True, f"Bucket {bucket!r} is reachable."
            self.client.list_buckets()
            return True, "Connected to S3 (no default bucket set in the extra)."
        except ClientError as error:
            code = _error_code(error)
            if code in {"404", "NoSuchBucket", "NotFound"}:
                return False, f"Bucket {bucket!r} does not exist (or is in another account / region)."
            if code in {"403", "AccessDenied", "Forbidden"}:
                return False, f"Access to bucket {bucket!r} is denied; check the credentials and the bucket policy."
            return False, f"S3 refused the request ({code or 'error'}): {error}"
        except NoCredentialsError:
            return False, "No AWS credentials found; set login/password or a role in the connection."
        except EndpointConnectionError as error:
            return False, f"The S3 endpoint is unreachable: {error}"
        except BotoCoreError as error:
            return False, f"Could not reach S3: {error}"

    def list_files(self, prefix: str = "", extension: str | None = None) -> list[dict[str, Any]]:
        """Objects under `prefix` (relative to the default prefix, or an s3:// URI), every page.

        `extension` (".csv", ".parquet"...) keeps only keys ending with it.
        """
        store = self.store
        bucket, _ = split_uri(store.uri(prefix))
        files = []
        for key, entry in store.list_objects(store.uri(prefix)):
            if extension and not key.lower().endswith(extension.lower()):
                continue
            files.append(
                {
                    "uri": f"s3://{bucket}/{key}",
                    "key": key,
                    "size": entry["Size"],
                    "last_modified": entry["LastModified"].isoformat(),
                }
            )
        return files

    def get_schema(self, source: str | None = None) -> SchemaInfo:
        """Objects grouped by folder and format, with the columns of the first object of each group."""
        self.require(Operation.GET_SCHEMA)
        store = self.store
        try:
            names = store.expand(source or "")
        except SourceError:
            return SchemaInfo(())
        groups: dict[tuple[str, str], list[str]] = {}
        for name in names:
            kind = file_kind(name, {})
            if kind is not None:
                groups.setdefault((posixpath.dirname(name), kind.extension), []).append(name)
        tables: list[TableInfo] = []
        for (folder, extension), members in sorted(groups.items()):
            kind_name = file_kind(members[0], {}).format.name  # type: ignore[union-attr]
            label = members[0] if len(members) == 1 else f"{folder}/*{extension}"
            try:
                tables.append(
                    sample_table(
                        store,
                        members[0],
                        label=label,
                        kind_label=f"{kind_name} ({len(members)} object{'s' * (len(members) > 1)})",
                    )
                )
            except SourceError as error:
                self.log.warning("Skipping %s in the schema of connection %r: %s", label, self.conn_id, error)
        return SchemaInfo(tuple(tables))

    def describe_write(self, store: FileStore, result: LoadResult) -> None:
        assert isinstance(store, S3Store)
        result.details["multipart_parts"] = sum(upload.parts for upload in store.uploads)
