"""Where a transfer reads and writes, named once for both Airflow Assets and OpenLineage.

OpenLineage names a dataset by a namespace (the server or store) and a name inside it
(https://openlineage.io/docs/spec/naming). Airflow's Asset URI for the same dataset is the one
the official providers normalise (AIP-60): `postgres://host:port/db/schema/table`,
`mysql://host:port/db/table`, `s3://bucket/key`, `file:///path`. Both come from one
`LineageDataset`, so an Asset event and an OpenLineage event always name the same thing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

POSTGRES_PORT = 5432
MYSQL_PORT = 3306


@dataclass(frozen=True)
class LineageDataset:
    """One data set: its OpenLineage `namespace` and `name`, and its Airflow Asset `uri`."""

    namespace: str
    name: str
    uri: str


def _authority(host: str | None, port: int | None, default_port: int) -> str:
    return f"{host or 'localhost'}:{port or default_port}"


def postgres_table(host: str | None, port: int | None, database: str, schema: str, table: str) -> LineageDataset:
    """`postgres://host:port` / `db.schema.table`; Asset `postgres://host:port/db/schema/table`."""
    authority = _authority(host, port, POSTGRES_PORT)
    return LineageDataset(
        namespace=f"postgres://{authority}",
        name=f"{database}.{schema}.{table}",
        uri=f"postgres://{authority}/{_segment(database)}/{_segment(schema)}/{_segment(table)}",
    )


def mysql_table(host: str | None, port: int | None, database: str, table: str) -> LineageDataset:
    """`mysql://host:port` / `db.table`; Asset `mysql://host:port/db/table` (without a
    database, which a connection may leave to the query, just the table)."""
    authority = _authority(host, port, MYSQL_PORT)
    parts = [database, table] if database else [table]
    return LineageDataset(
        namespace=f"mysql://{authority}",
        name=".".join(parts),
        uri=f"mysql://{authority}/" + "/".join(map(_segment, parts)),
    )


def sqlite_table(database_path: str, table: str) -> LineageDataset:
    """`sqlite://localhost/abs/file.db` / `table`; Asset `sqlite://localhost/abs/file.db/table`.

    The host is spelled out because Airflow's URI normalisation turns an empty one
    (`sqlite:///x`) into `sqlite:/x`, which would no longer match what a DAG writes.
    """
    namespace = f"sqlite://localhost{os.path.abspath(database_path)}"
    return LineageDataset(namespace=namespace, name=table, uri=f"{quote(namespace, safe=':/')}/{_segment(table)}")


def s3_object(bucket: str, key: str) -> LineageDataset:
    """`s3://bucket` / `key` (an object, or the prefix a folder of objects shares)."""
    key = key.strip("/")
    return LineageDataset(namespace=f"s3://{bucket}", name=key or "/", uri=f"s3://{bucket}/{quote(key)}")


def local_file(path: str) -> LineageDataset:
    """`file` / `/abs/path` (a file or a folder of files); Asset `file:///abs/path`."""
    path = os.path.abspath(path).rstrip("/") or "/"
    return LineageDataset(namespace="file", name=path, uri=f"file://{quote(path)}")


def http_endpoint(url: str) -> LineageDataset:
    """`https://host[:port]` / `/path`: the endpoint without credentials, query or fragment
    (they may hold API keys and say which page, not which data set)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    path = parts.path.rstrip("/") or "/"
    namespace = urlunsplit((parts.scheme, netloc, "", "", ""))
    return LineageDataset(namespace=namespace, name=path, uri=f"{namespace}{path}")


def _segment(text: str) -> str:
    """One path segment of an Asset URI: a '/' or space in a name cannot split or break it."""
    return quote(text, safe="")


_WILDCARDS = frozenset("*?[")


def glob_root(name: str) -> str:
    """The folder a glob reads from (`exports/*.csv` -> `exports`); a plain name as it is."""
    parts = name.split("/")
    for index, part in enumerate(parts):
        if _WILDCARDS & set(part):
            return "/".join(parts[:index])
    return name
