from __future__ import annotations

import contextlib
import math
import os
import socket
import struct
import subprocess
import threading
import time

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_etl_provider.exceptions import ConnectorConfigError, LoadError, SourceError
from airflow_etl_provider.hooks.s3 import S3ConnectorHook


@pytest.fixture
def client(moto_server):
    return boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def make_hook(moto_server, airflow_connection):
    def make(**extra) -> S3ConnectorHook:
        conn_id = airflow_connection(
            "aws",
            login="testing",
            password="testing",
            extra={"endpoint_url": moto_server, "region_name": "us-east-1", **extra},
        )
        return S3ConnectorHook(conn_id)

    return make


@pytest.fixture
def hook(make_hook, s3_bucket) -> S3ConnectorHook:
    return make_hook(bucket=s3_bucket, prefix="landing")


def read_all(hook, source, chunk_size=1000, **options) -> pa.Table:
    return pa.Table.from_batches(list(hook.extract(source, chunk_size=chunk_size, **options)))


def big_table(rows: int) -> pa.Table:
    """Incompressible text, so the object size is known: about 100 bytes a row."""
    return pa.table(
        {"id": pa.array(range(rows), pa.int64()), "blob": pa.array([os.urandom(48).hex() for _ in range(rows)])}
    )


def keys(client, bucket, prefix=""):
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def test_the_amazon_providers_connection_works_as_it_is(aws_conn_id, s3_bucket):
    hook = S3ConnectorHook(aws_conn_id)  # no bucket in the extra: URIs name it
    assert hook.test_connection()[0] is True
    hook.load(pa.table({"a": [1]}).to_batches(), f"s3://{s3_bucket}/x.parquet", mode="replace")
    assert read_all(hook, f"s3://{s3_bucket}/x.parquet").to_pylist() == [{"a": 1}]
    with pytest.raises(ConnectorConfigError, match="'bucket'.*no default bucket"):
        hook.extract("x.parquet", chunk_size=10)
    with pytest.raises(ConnectorConfigError, match="'bucket'.*no default bucket"):
        hook.load(pa.table({"a": [1]}).to_batches(), "x.parquet", mode="replace")


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz", "t.parquet", "t.json", "t.jsonl.gz", "t.xlsx"])
def test_round_trip_of_every_format_under_the_prefix(hook, client, s3_bucket, name):
    table = pa.table({"id": pa.array([1, None, 3], pa.int64()), "s": ['a,"b"\nc', None, "ü"]})
    result = hook.load(table.to_batches(max_chunksize=2), name, mode="replace")
    assert result.rows == 3 and result.details["files"] == [f"s3://{s3_bucket}/landing/{name}"]
    assert keys(client, s3_bucket) == [f"landing/{name}"]
    back = read_all(hook, name, chunk_size=2)
    assert back.column("id").to_pylist() == [1, None, 3]
    assert back.column("s").to_pylist()[0] == 'a,"b"\nc'


def test_test_connection_tells_missing_bucket_from_unreachable(make_hook, airflow_connection):
    assert make_hook(bucket="no-such-bucket-here").test_connection() == (
        False,
        "Bucket 'no-such-bucket-here' does not exist (or is in another account / region).",
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    unreachable = S3ConnectorHook(
        airflow_connection(
            "aws",
            login="testing",
            password="testing",
            extra={
                "endpoint_url": f"http://127.0.0.1:{port}",
                "region_name": "us-east-1",
                "bucket": "b",
                "retry_count": 0,
                "timeout": 1,
            },
        )
    )
    ok, message = unreachable.test_connection()
    assert not ok and "unreachable" in message


def test_list_files_pages_past_1000_objects(hook, client, s3_bucket):
    for i in range(1005):
        client.put_object(Bucket=s3_bucket, Key=f"landing/many/{i:04d}.csv", Body=b"a\n1\n")
    client.put_object(Bucket=s3_bucket, Key="landing/many/readme.txt", Body=b"x")
    files = hook.list_files("many/", extension=".csv")
    assert len(files) == 1005
    assert files[0]["uri"] == f"s3://{s3_bucket}/landing/many/0000.csv" and files[0]["size"] == 4


def test_a_glob_reads_many_objects_as_one_stream(hook, client, s3_bucket):
    for part in range(3):
        body = "n\n" + "".join(f"{part * 10 + i}\n" for i in range(4))
        client.put_object(Bucket=s3_bucket, Key=f"landing/in/p{part}.csv", Body=body.encode())
    client.put_object(Bucket=s3_bucket, Key="landing/in/other.json", Body=b"[]")
    batches = list(hook.extract("in/p*.csv", chunk_size=5, file_name_column="file"))
    assert [b.num_rows for b in batches] == [5, 5, 2]
    table = pa.Table.from_batches(batches)
    assert table.column("file").to_pylist()[3:5] == [
        f"s3://{s3_bucket}/landing/in/p0.csv",
        f"s3://{s3_bucket}/landing/in/p1.csv",
    ]


def test_malformed_csv_names_the_object_and_line(hook, client, s3_bucket):
    client.put_object(Bucket=s3_bucket, Key="landing/bad.csv", Body=b'a,b\n1,"x\ny"\n2,3\n4,5,6\n')
    with pytest.raises(SourceError, match=rf"s3://{s3_bucket}/landing/bad.csv, line 5: expected 2 columns, got 3"):
        read_all(hook, "bad.csv")


def test_a_big_write_is_a_multipart_upload_and_reads_back(hook, client, s3_bucket):
    table = big_table(130_000)  # ~13 MB of Parquet
    result = hook.load(table.to_batches(max_chunksize=20_000), "big.parquet", mode="replace", part_size_mb=5)
    assert result.details["multipart_parts"] >= 3
    head = client.head_object(Bucket=s3_bucket, Key="landing/big.parquet")
    assert head["ETag"].strip('"').endswith(f"-{result.details['multipart_parts']}")
    assert pq.ParquetFile(hook.store.open_seekable("big.parquet")).metadata.num_rows == 130_000
    assert read_all(hook, "big.parquet", chunk_size=50_000).column("id").equals(table.column("id"))


def test_a_failure_mid_upload_leaves_no_object_and_no_open_upload(hook, client, s3_bucket):
    def failing():
        yield from big_table(80_000).to_batches(max_chunksize=20_000)  # > one 5 MiB part uploaded
        raise RuntimeError("source connection lost")

    with pytest.raises(LoadError, match="nothing was left behind: source connection lost"):
        hook.load(failing(), "half.csv", mode="replace", part_size_mb=5)
    assert keys(client, s3_bucket) == []
    assert client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


def test_upload_arguments_are_passed_through(hook, client, s3_bucket):
    args = {"ServerSideEncryption": "AES256", "StorageClass": "STANDARD_IA"}
    hook.load(pa.table({"a": [1]}).to_batches(), "small.csv", mode="replace", extra_args=args)
    hook.load(big_table(60_000).to_batches(), "large.csv", mode="replace", extra_args=args, part_size_mb=5)
    for key in ("landing/small.csv", "landing/large.csv"):
        head = client.head_object(Bucket=s3_bucket, Key=key)
        assert (head["ServerSideEncryption"], head["StorageClass"]) == ("AES256", "STANDARD_IA")


def test_max_rows_per_file_splits_and_replace_removes_old_objects(hook, client, s3_bucket):
    hook.load(pa.table({"a": [0]}).to_batches(), "out/", mode="append", format="jsonl")
    result = hook.load(
        pa.table({"a": list(range(5))}).to_batches(), "out/", mode="replace", format="jsonl", max_rows_per_file=2
    )
    assert len(result.details["files"]) == 3
    assert keys(client, s3_bucket) == sorted(uri.split("/", 3)[3] for uri in result.details["files"])
    assert sorted(read_all(hook, "out/").column("a").to_pylist()) == [0, 1, 2, 3, 4]


def test_append_names_new_objects_or_rewrites_a_single_one(hook, client, s3_bucket):
    for _ in range(2):
        hook.load(pa.table({"a": [1]}).to_batches(), "daily/part-*.csv.gz", mode="append")
        hook.load(pa.table({"a": [1]}).to_batches(), "one.parquet", mode="append")
    assert len(keys(client, s3_bucket, "landing/daily/")) == 2
    assert read_all(hook, "one.parquet").num_rows == 2


def test_get_schema_groups_objects_by_folder_and_format(hook, client, s3_bucket):
    for i in range(3):
        client.put_object(Bucket=s3_bucket, Key=f"landing/orders/{i}.csv", Body=b"id,total\n1,2.5\n")
    hook.load(pa.table({"x": ["a"]}).to_batches(), "users.parquet", mode="replace")
    schema = hook.get_schema()
    orders = schema.table(f"s3://{s3_bucket}/landing/orders/*.csv")
    assert orders.kind == "csv (3 objects)"
    assert [(c.name, c.type) for c in orders.columns] == [("id", "int64"), ("total", "double")]
    assert schema.table(f"s3://{s3_bucket}/landing/users.parquet").columns[0].type == "string"


def test_preview_reads_only_what_it_shows(hook, client, s3_bucket):
    client.put_object(Bucket=s3_bucket, Key="landing/p.csv", Body=b"n\n" + b"".join(b"%d\n" % i for i in range(1000)))
    assert hook.preview("p.csv", limit=3)["n"].tolist() == [0, 1, 2]


def test_the_extra_schema_keeps_the_amazon_providers_keys_and_checks_its_own(make_hook, s3_bucket, moto_server):
    hook = make_hook(bucket=s3_bucket, aws_session_token="token-value", verify=False)
    assert hook.config["endpoint_url"] == moto_server and hook.config["prefix"] == ""
    with pytest.raises(ConnectorConfigError, match="field 'bucket'"):
        _ = make_hook(bucket=5).config


def test_a_part_that_fails_to_upload_fails_the_load_and_leaves_no_object(hook, client, s3_bucket):
    def chunks_then_lose_the_upload():
        yield from big_table(60_000).to_batches(max_chunksize=20_000)  # over one 5 MiB part
        deadline = time.monotonic() + 20
        while not (uploads := client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])):
            assert time.monotonic() < deadline, "the writer never started the multipart upload"
            time.sleep(0.05)
        for upload in uploads:
            client.abort_multipart_upload(Bucket=s3_bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        yield from big_table(120_000).to_batches(max_chunksize=20_000)

    # The part's own error is reported, not the NoSuchUpload that aborting the lost upload answers.
    with pytest.raises(LoadError, match="nothing was left behind: .*UploadPart"):
        hook.load(chunks_then_lose_the_upload(), "lost.csv", mode="replace", part_size_mb=5)
    assert keys(client, s3_bucket) == []


def test_glob_stars_stay_in_one_folder_unless_doubled(hook, client, s3_bucket):
    for key in ("g/a.csv", "g/sub/b.csv", "g/sub/deeper/c.csv"):
        client.put_object(Bucket=s3_bucket, Key=f"landing/{key}", Body=b"n\n1\n")
    assert [f.rsplit("/", 1)[1] for f in hook.store.expand("g/*.csv")] == ["a.csv"]
    assert len(hook.store.expand("g/**/*.csv")) == 3


def test_replace_into_a_prefix_leaves_objects_in_sub_prefixes(hook, client, s3_bucket):
    client.put_object(Bucket=s3_bucket, Key="landing/out/keep/other.parquet", Body=b"x")
    hook.load(pa.table({"a": [1]}).to_batches(), "out/", mode="replace")
    hook.load(pa.table({"a": [2]}).to_batches(), "out/", mode="replace")
    names = keys(client, s3_bucket, "landing/out/")
    assert "landing/out/keep/other.parquet" in names and len(names) == 2


def test_botocore_settings_of_the_connection_are_kept(make_hook, s3_bucket):
    botocore = {"s3": {"addressing_style": "path"}, "read_timeout": 7}
    hook = make_hook(bucket=s3_bucket, timeout=12, config_kwargs=botocore)
    config = hook.client.meta.config
    assert config.s3 == {"addressing_style": "path"}
    assert (config.read_timeout, config.connect_timeout) == (7, 12)
    assert hook.test_connection()[0] is True


def test_assume_role_goes_through_the_amazon_providers_session(make_hook, s3_bucket, moto_server):
    hook = make_hook(
        bucket=s3_bucket,
        role_arn="arn:aws:iam::123456789012:role/etl-writer",
        service_config={"sts": {"endpoint_url": moto_server}},
    )
    hook.load(pa.table({"a": [1]}).to_batches(), "assumed.csv", mode="replace")
    credentials = hook.s3_hook.get_session().get_credentials().get_frozen_credentials()
    assert credentials.access_key != "testing" and credentials.token  # temporary ones from STS, not the login
    assert read_all(hook, "assumed.csv").to_pylist() == [{"a": 1}]


def test_parts_grow_so_big_objects_stay_within_the_part_limit(hook, client, s3_bucket, monkeypatch):
    from airflow_etl_provider.hooks import s3 as s3_module

    monkeypatch.setattr(s3_module, "PARTS_PER_SIZE_STEP", 2)
    payload = os.urandom(30 * 1024 * 1024)
    with hook.store.staged_writer("grown.bin", {"part_size_mb": 5}, "_etl-tmp-test", deferred=False) as staged:
        for start in range(0, len(payload), 1 << 20):
            staged.sink.write(payload[start : start + (1 << 20)])
    sizes = [
        client.head_object(Bucket=s3_bucket, Key="landing/grown.bin", PartNumber=n)["ContentLength"]
        for n in (1, 2, 3, 4)
    ]
    assert sizes == [5 << 20, 5 << 20, 10 << 20, 10 << 20]
    assert client.get_object(Bucket=s3_bucket, Key="landing/grown.bin")["Body"].read() == payload


def test_two_parts_upload_at_once_and_the_object_keeps_their_order(hook, client, s3_bucket):
    from airflow_etl_provider.hooks.s3 import PARTS_IN_FLIGHT

    uploading, most = [0], [0]
    lock = threading.Lock()

    def started(**_):
        with lock:
            uploading[0] += 1
            most[0] = max(most[0], uploading[0])
        time.sleep(0.2)  # a slow network: the next part is ready before this one is answered

    def answered(**_):
        with lock:
            uploading[0] -= 1

    events = hook.store.client.meta.events
    events.register("before-send.s3.UploadPart", started)
    events.register("after-call.s3.UploadPart", answered)
    payload = os.urandom(30 * 1024 * 1024)
    with hook.store.staged_writer("parallel.bin", {"part_size_mb": 5}, "_etl-tmp-test", deferred=False) as staged:
        staged.sink.write(payload)
    assert most[0] == PARTS_IN_FLIGHT == 2
    assert client.get_object(Bucket=s3_bucket, Key="landing/parallel.bin")["Body"].read() == payload


def test_reading_a_prefix_skips_hidden_names_below_it(hook, client, s3_bucket):
    for key in ("out/a.csv", "out/_SUCCESS", "out/.a.csv.crc", "out/_etl-tmp-x/b.csv", "out/sub/_tmp/c.csv"):
        client.put_object(Bucket=s3_bucket, Key=f"landing/{key}", Body=b"n\n1\n")
    client.put_object(Bucket=s3_bucket, Key="landing/_staging/d.csv", Body=b"n\n2\n")
    expected = [f"s3://{s3_bucket}/landing/out/a.csv"]
    assert hook.store.expand("out/") == hook.store.expand("out") == hook.store.expand("out/**/*.csv") == expected
    assert read_all(hook, "_staging/*.csv").to_pylist() == [{"n": 2}]  # a hidden folder named by the source is read
    assert read_all(hook, "out/_etl-tmp-x/b.csv").to_pylist() == [{"n": 1}]  # so is a hidden object named exactly


def _pending(client, bucket):
    return [u["Key"] for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def _fake_run_folder(pid: int, host: str | None = None, hours_ago: float = 0) -> str:
    from airflow_etl_provider.files import RUN_FOLDER_PREFIX, _host

    started = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - hours_ago * 3600))
    return f"{RUN_FOLDER_PREFIX}{started}-{host or _host()}-{pid}-0123abcd"


def test_the_next_load_aborts_the_uploads_of_dead_runs_only(hook, client, s3_bucket):
    """A load killed mid-upload leaves a pending upload and its lease; a live run's are not touched."""
    with subprocess.Popen(["sleep", "60"]) as alive, subprocess.Popen(["true"]) as dead:
        dead.wait()
        runs = {
            "dead": _fake_run_folder(dead.pid),
            "alive": _fake_run_folder(alive.pid),
            "other host, recent": _fake_run_folder(1, host="worker-7", hours_ago=1),
            "other host, stale": _fake_run_folder(1, host="worker-7", hours_ago=25),
        }
        for number, folder in enumerate(runs.values()):
            client.put_object(Bucket=s3_bucket, Key=f"landing/out/{folder}/f{number}.csv.upload", Body=b"")
            client.create_multipart_upload(Bucket=s3_bucket, Key=f"landing/out/f{number}.csv")
        client.create_multipart_upload(Bucket=s3_bucket, Key="landing/out/someone-elses.csv")
        hook.load(pa.table({"a": [1]}).to_batches(), "out/", mode="append")
        # A multipart write of the very key the live run has an upload pending on leaves that upload alone.
        hook.load(big_table(60_000).to_batches(), "out/f1.csv", mode="replace", part_size_mb=5)
        alive.kill()
    assert sorted(_pending(client, s3_bucket)) == [
        "landing/out/f1.csv",
        "landing/out/f2.csv",
        "landing/out/someone-elses.csv",
    ]
    hidden = [k for k in keys(client, s3_bucket) if "/_etl-tmp-" in k]
    assert hidden == sorted(
        f"landing/out/{runs[label]}/f{n}.csv.upload" for n, label in ((1, "alive"), (2, "other host, recent"))
    )


class DroppingProxy:
    """A TCP proxy in front of moto that can reset the connections it carries, as a failing endpoint does."""

    def __init__(self, upstream: str):
        host, port = upstream.rsplit("/", 1)[-1].split(":")
        self._upstream = (host, int(port))
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._lock = threading.Lock()
        self._drops = 0.0
        self.dropped = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def drop(self, requests: float) -> None:
        """Reset the next `requests` requests (math.inf: all of them, until told otherwise)."""
        with self._lock:
            self._drops = requests

    def close(self) -> None:
        self._server.close()

    def _take_drop(self) -> bool:
        with self._lock:
            if self._drops <= 0:
                return False
            self._drops -= 1
            self.dropped += 1
            return True

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._upstream)
            threading.Thread(target=self._pump, args=(downstream, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, downstream, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, requests: bool) -> None:
        try:
            while data := source.recv(1 << 16):
                if requests and self._take_drop():
                    for sock in (source, sink):  # SO_LINGER 0: close with a RST, as a dropped connection
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        sock.close()
                    return
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def proxy(moto_server):
    proxy = DroppingProxy(moto_server)
    yield proxy
    proxy.close()


@pytest.fixture
def proxied_hook(proxy, s3_bucket, airflow_connection) -> S3ConnectorHook:
    """A hook whose requests go through `proxy`; botocore does not retry, so what is retried is ours."""
    extra = {"endpoint_url": proxy.url, "region_name": "us-east-1", "bucket": s3_bucket, "prefix": "landing"}
    conn_id = airflow_connection("aws", login="testing", password="testing", extra={**extra, "retry_count": 0})
    return S3ConnectorHook(conn_id)


def _fail_after_one_part(client, bucket, proxy, drops):
    """Send one 5 MiB part and more, then let `proxy` drop `drops` requests and fail the source."""
    yield from big_table(60_000).to_batches(max_chunksize=20_000)  # ~6 MB: one part sent, the rest buffered
    deadline = time.monotonic() + 20
    while not (uploads := client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])) or not client.list_parts(
        Bucket=bucket, Key=uploads[0]["Key"], UploadId=uploads[0]["UploadId"]
    ).get("Parts"):
        assert time.monotonic() < deadline, "the writer never sent its first part"
        time.sleep(0.05)
    proxy.drop(drops)
    raise RuntimeError("source connection lost")


def test_the_abort_of_a_failed_upload_is_retried_when_the_endpoint_drops_connections(
    proxied_hook, proxy, client, s3_bucket
):
    with pytest.raises(LoadError, match="nothing was left behind: source connection lost") as failure:
        proxied_hook.load(_fail_after_one_part(client, s3_bucket, proxy, 2), "lost.csv", part_size_mb=5)
    assert isinstance(failure.value.__cause__, RuntimeError)
    assert proxy.dropped == 2
    assert _pending(client, s3_bucket) == [] and keys(client, s3_bucket) == []


def test_an_upload_that_cannot_be_aborted_is_named_and_the_next_load_aborts_it(proxied_hook, proxy, client, s3_bucket):
    with pytest.raises(LoadError) as failure:
        proxied_hook.load(_fail_after_one_part(client, s3_bucket, proxy, math.inf), "lost.csv", part_size_mb=5)
    [upload] = client.list_multipart_uploads(Bucket=s3_bucket)["Uploads"]
    message = str(failure.value)
    assert "nothing was left behind" not in message
    assert f"Writing s3://{s3_bucket}/landing/lost.csv failed: source connection lost." in message
    assert f"multipart upload {upload['UploadId']} of s3://{s3_bucket}/landing/lost.csv could not be aborted" in message
    assert "4 attempts" in message
    assert isinstance(failure.value.__cause__, RuntimeError)  # the original cause, not the abort's error

    proxy.drop(0)
    proxied_hook.load(pa.table({"a": [1]}).to_batches(), "lost.csv", mode="replace")
    assert _pending(client, s3_bucket) == []
    assert keys(client, s3_bucket) == ["landing/lost.csv"]
