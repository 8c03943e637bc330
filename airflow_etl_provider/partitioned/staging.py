"""Where the parts of one partitioned transfer run put their rows before the publish step.

Every name carries the run's token, derived from the DAG, the group and the run id: the same
for every attempt of one run (a retried part or plan finds its own staging), different between
runs, and starting with the transfer's own prefix, so that the next run finds what an abandoned
run of the same transfer left. SQL parts fill `_etl_part_<token>_<n>_<table>` beside the destination table; file parts
write under the hidden folder `<destination>/_etl-parts-<token>/part-<n>/`, which readers of
the destination skip, as they skip every `_` name.
"""

from __future__ import annotations

import hashlib
import posixpath
from typing import Any

from airflow_etl_provider.hooks.base import ConnectorHook
from airflow_etl_provider.hooks.file_base import FileConnectorHook
from airflow_etl_provider.hooks.sql_base import SqlConnectorHook
from airflow_etl_provider.sql.names import TableName

PART_TABLE_PREFIX = "_etl_part_"
PART_FOLDER_PREFIX = "_etl-parts-"
TOKEN_LENGTH = 12
#: The shortest identifier limit of the SQL destinations (PostgreSQL's 63 bytes).
IDENTIFIER_LIMIT = 63


def transfer_prefix(dag_id: str, group_id: str) -> str:
    """Seven characters naming one partitioned transfer (a letter, then hex): every run's token starts so."""
    return "t" + _hex(f"{dag_id}\0{group_id}")[:6]


def run_token(dag_id: str, group_id: str, run_id: str) -> str:
    """Twelve characters naming one run of one partitioned transfer."""
    return transfer_prefix(dag_id, group_id) + _hex(f"{dag_id}\0{group_id}\0{run_id}")[:5]


def token_of(context: Any, group_id: str) -> str:
    return run_token(context["dag"].dag_id, group_id, context["run_id"])


def _hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def staged_tokens(hook: ConnectorHook, destination: str, prefix: str) -> dict[str, list[str]]:
    """The runs (tokens starting with `prefix`) that have staging at `destination`, each with its
    part tables or its parts folder. The hook must be open."""
    found: dict[str, list[str]] = {}
    if isinstance(hook, SqlConnectorHook):
        target = hook.table_name(destination)
        for name in hook.loader().tables_starting(target, PART_TABLE_PREFIX + prefix):
            token = name[len(PART_TABLE_PREFIX) :][:TOKEN_LENGTH]
            found.setdefault(token, []).append(str(target.with_name(name)))
    elif isinstance(hook, FileConnectorHook):
        directory = destination.rstrip("/")
        for name in hook.store.folders_starting(directory, PART_FOLDER_PREFIX + prefix):
            token = name[len(PART_FOLDER_PREFIX) :][:TOKEN_LENGTH]
            found.setdefault(token, []).append(posixpath.join(directory, name))
    return found


def part_table(hook: SqlConnectorHook, destination: str, token: str, index: int) -> TableName:
    target = hook.table_name(destination)
    return target.with_name(f"{PART_TABLE_PREFIX}{token}_{index}_{target.name}"[:IDENTIFIER_LIMIT])


def parts_folder(destination: str, token: str) -> str:
    return posixpath.join(destination.rstrip("/"), f"{PART_FOLDER_PREFIX}{token}")


def part_folder(destination: str, token: str, index: int) -> str:
    return posixpath.join(parts_folder(destination, token), f"part-{index:05d}") + "/"


def part_destination(hook: ConnectorHook, destination: str, token: str, index: int) -> str:
    """Where part `index` loads: its own table, or its own hidden folder."""
    if isinstance(hook, SqlConnectorHook):
        return str(part_table(hook, destination, token, index))
    if isinstance(hook, FileConnectorHook):
        return part_folder(destination, token, index)
    raise TypeError(f"{hook.conn_type} connections cannot take a partitioned transfer's parts")
