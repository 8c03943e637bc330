"""The four tasks of a partitioned transfer: plan, parts (mapped), publish, cleanup.

plan     splits the source (`plan.py`), holds one PostgreSQL snapshot for all parts, makes
         each part's staging, and returns the parts' arguments, which the parts map over.
parts    `ExtractLoadOperator` mapped over those arguments: each replaces its own staging,
         so a retried part leaves no duplicate.
publish  moves all parts into the destination at once (one transaction, or one journaled
         multi-file write), after checking each part's staging holds what its task loaded.
cleanup  a teardown (runs however the others ended): drops what the parts staged and ends
         the snapshot. A failed part never reaches publish, so the destination is unchanged.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import AssetAlias, BaseOperator

from airflow_etl_provider.exceptions import EtlError, LoadError
from airflow_etl_provider.files import clean_up_interrupted_loads, publish_copies
from airflow_etl_provider.hooks.base import ConnectorHook
from airflow_etl_provider.hooks.file_base import FileConnectorHook
from airflow_etl_provider.hooks.postgres import PostgresConnectorHook
from airflow_etl_provider.hooks.registry import hook_for
from airflow_etl_provider.hooks.sql_base import SqlConnectorHook
from airflow_etl_provider.operators.extract_load import ExtractLoadOperator, outlet_alias_name
from airflow_etl_provider.partitioned.plan import FILE_RANGE_OPTIONS, Partition, partition_select, plan_partitions
from airflow_etl_provider.partitioned.snapshot import DEFAULT_HOLD_SECONDS
from airflow_etl_provider.partitioned.staging import (
    part_destination,
    part_table,
    parts_folder,
    staged_tokens,
    token_of,
    transfer_prefix,
)
from airflow_etl_provider.types import LoadMode, Operation

if TYPE_CHECKING:
    from airflow.sdk import Context


class _TransferTask(BaseOperator):
    """What plan, publish and cleanup share: the transfer's connections, names and run token."""

    template_fields: Sequence[str] = ("source", "destination")

    def __init__(
        self,
        *,
        transfer_id: str,
        source_conn_id: str,
        source: str,
        destination_conn_id: str,
        destination: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.transfer_id = transfer_id
        self.source_conn_id = source_conn_id
        self.source = source
        self.destination_conn_id = destination_conn_id
        self.destination = destination

    def _staged(self, hook: ConnectorHook, context: Context) -> dict[str, list[str]]:
        """Every run of this transfer that has staging at the destination: token -> its tables or folder."""
        with hook:
            return staged_tokens(hook, self.destination, transfer_prefix(context["dag"].dag_id, self.transfer_id))

    def _drop_staging(self, hook: ConnectorHook, places: list[str]) -> None:
        """Remove part tables, or parts folders (first aborting what their dead parts left pending)."""
        with hook:
            if isinstance(hook, SqlConnectorHook):
                loader = hook.loader()
                for name in places:
                    loader.drop_table(hook.table_name(name))
            elif isinstance(hook, FileConnectorHook):
                store = hook.store
                for folder in places:
                    for part in store.folders_starting(folder, "part-"):
                        clean_up_interrupted_loads(store, posixpath.join(folder, part))
                    store.remove_tree(folder)

    def _release_snapshot(self, token: str) -> None:
        source_hook = hook_for(self.source_conn_id)
        if isinstance(source_hook, PostgresConnectorHook):
            ended = source_hook.release_snapshot(token)
            if ended:
                self.log.info("Snapshot of run %s released (%d holder session ended)", token, ended)


class PlanPartitionsOperator(_TransferTask):
    """Split the source into partitions and prepare each part's staging; returns each part's arguments."""

    template_fields: Sequence[str] = ("source", "destination", "source_options", "destination_options")
    ui_color = "#fdf3e8"

    def __init__(
        self,
        *,
        partitions: int,
        partition_by: str | None,
        method: str = "even",
        mode: str = LoadMode.APPEND.value,
        source_options: dict[str, Any] | None = None,
        destination_options: dict[str, Any] | None = None,
        snapshot: bool = True,
        snapshot_hold_seconds: int = DEFAULT_HOLD_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.partitions = partitions
        self.partition_by = partition_by
        self.method = method
        self.mode = LoadMode.parse(mode).value
        self.source_options = source_options or {}
        self.destination_options = destination_options or {}
        self.snapshot = snapshot
        self.snapshot_hold_seconds = snapshot_hold_seconds

    def execute(self, context: Context) -> list[dict[str, Any]]:
        token = token_of(context, self.transfer_id)
        source_hook, destination_hook = hook_for(self.source_conn_id), hook_for(self.destination_conn_id)
        source_hook.require(Operation.EXTRACT)
        destination_hook.require(Operation.LOAD)
        destination_hook.require_load_mode(self.mode)
        source_hook.check_options(Operation.EXTRACT, self.source, self.source_options)
        destination_hook.check_options(Operation.LOAD, self.destination, self.destination_options)
        self._check_options(source_hook)
        self._check_destination(destination_hook)
        # A retried plan starts clean: an earlier attempt's staging and snapshot go first.
        staged = self._staged(destination_hook, context)
        self._release_snapshot(token)
        self._drop_staging(destination_hook, staged.pop(token, []))
        self._remove_abandoned(destination_hook, staged, self._held_snapshots(context, token), context)
        with source_hook:  # open for the whole plan: the partitions' SQL is quoted on its connection
            partitions = plan_partitions(
                source_hook, self.source, self.partition_by, self.partitions, method=self.method
            )
            self._prepare_staging(destination_hook, token, len(partitions))
            snapshot = None
            if self.snapshot and isinstance(source_hook, PostgresConnectorHook):
                # Last: nothing after it may fail and leave the holder (cleanup runs only after plan succeeded).
                snapshot = source_hook.hold_snapshot(token, self.snapshot_hold_seconds).snapshot
                self.log.info("Every part reads snapshot %s (held as run %s)", snapshot, token)
            elif isinstance(source_hook, SqlConnectorHook):
                self.log.warning(
                    "Parts of %s read %s each in its own transaction: rows written at the source while they run may "
                    "be seen by some parts and not others (only PostgreSQL sources share one snapshot).",
                    token,
                    self.source,
                )
            parts = [self._part_arguments(source_hook, destination_hook, token, p, snapshot) for p in partitions]
        for partition in partitions:
            self.log.info("Part %d: %s", partition.index, partition.label)
        self.log.info("Plan of run %s: %s", token, json.dumps(parts, default=str))
        return parts

    def _held_snapshots(self, context: Context, token: str) -> list[str]:
        """Other runs of this transfer whose snapshot is still held (PostgreSQL sources)."""
        source_hook = hook_for(self.source_conn_id)
        if not isinstance(source_hook, PostgresConnectorHook):
            return []
        tokens = source_hook.held_snapshots(transfer_prefix(context["dag"].dag_id, self.transfer_id))
        return [held for held in tokens if held != token]

    def _remove_abandoned(
        self, hook: ConnectorHook, staged: dict[str, list[str]], held: list[str], context: Context
    ) -> None:
        """Staging and snapshots of other runs of this transfer whose cleanup never ran (a run deleted
        or marked failed midway, a plan run alone by `tasks test`): removed when no other run of the
        DAG is active, else left for a later plan."""
        if not staged and not held:
            return
        active = context["ti"].get_dr_count(context["dag"].dag_id, states=["queued", "running"])
        if active > 1:
            self.log.warning(
                "Staging or snapshots of %d other run(s) of this transfer are left: %d other run(s) of the DAG are "
                "active and may be using them; the first plan that runs alone removes them.",
                len(set(staged) | set(held)),
                active - 1,
            )
            return
        for token in sorted(set(held) | set(staged)):
            self._release_snapshot(token)
        for token, places in staged.items():
            self.log.info("Removing %s, left by run %s of this transfer, which has ended", ", ".join(places), token)
            self._drop_staging(hook, places)

    def _check_destination(self, hook: ConnectorHook) -> None:
        if not isinstance(hook, SqlConnectorHook | FileConnectorHook):
            raise EtlError(
                f"Connection {self.destination_conn_id!r} ({hook.conn_type}) cannot take a partitioned transfer: "
                "its destination must be a SQL table or a folder of files."
            )
        if isinstance(hook, FileConnectorHook) and not self.destination.endswith("/"):
            with hook:
                if not hook.store.is_container(self.destination):
                    raise ValueError(
                        f"destination {self.destination!r}: the parts of a partitioned transfer are files, published "
                        "together into a folder; end the destination with '/'."
                    )

    def _check_options(self, source_hook: ConnectorHook) -> None:
        parameters = self.source_options.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise ValueError(
                "A partitioned transfer adds its own named parameters to the query: give source_options "
                "parameters as a dict with named placeholders (%(name)s), not as a list."
            )
        given = [name for name in FILE_RANGE_OPTIONS if name in self.source_options]
        if given and isinstance(source_hook, FileConnectorHook):
            raise ValueError(
                f"source_options {', '.join(given)} select files by name, and so do the partitions; narrow the "
                "source with a glob instead."
            )

    def _prepare_staging(self, hook: ConnectorHook, token: str, count: int) -> None:
        """Empty part tables with the destination's columns, when it exists: each part then conforms
        its rows to the destination's types (and fails on a misfit) before anything is published."""
        if not isinstance(hook, SqlConnectorHook):
            return
        with hook:
            loader = hook.loader()
            target = hook.table_name(self.destination)
            if loader.table_schema(target) is None:
                return
            loader.begin()
            for index in range(count):
                loader.create_staging_like(part_table(hook, self.destination, token, index), target)
            loader.commit()

    def _part_arguments(
        self,
        source_hook: ConnectorHook,
        destination_hook: ConnectorHook,
        token: str,
        partition: Partition,
        snapshot: str | None,
    ) -> dict[str, Any]:
        """One mapped part's `ExtractLoadOperator` arguments."""
        options = {**self.source_options, **partition.options}
        source = self.source
        if isinstance(source_hook, SqlConnectorHook):
            source = partition_select(source_hook, self.source, partition)
            if partition.parameters:
                options["parameters"] = {**options.get("parameters", {}), **partition.parameters}
        if snapshot is not None:
            options["snapshot"] = snapshot
        return {
            "source": source,
            "source_options": options,
            "destination": part_destination(destination_hook, self.destination, token, partition.index),
            "destination_options": self.destination_options,
        }


class PartTransferOperator(ExtractLoadOperator):
    """One part: its share of the source, replacing its own staging (so a retry never duplicates).

    With `incremental`, a stateless range (`end=` or the data interval) is read within the part.
    """

    announces_destination = False
    ui_color = "#e8f4fd"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("mode", None)
        super().__init__(**kwargs)  # as an append: what an incremental range allows ...
        self.mode = LoadMode.REPLACE.value  # ... but into the part's own staging, replaced whole


class PublishPartitionsOperator(_TransferTask):
    """Put every part's rows into the destination at once, or nothing; announce the destination."""

    template_fields: Sequence[str] = ("destination", "plan", "part_results", "destination_options")
    ui_color = "#e8fde9"

    def __init__(
        self,
        *,
        plan: Any,
        part_results: Any,
        mode: str = LoadMode.APPEND.value,
        keys: Sequence[str] | None = None,
        destination_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.part_results = part_results
        self.mode = LoadMode.parse(mode).value
        self.keys = list(keys) if keys else None
        self.destination_options = destination_options or {}
        self.outlets = [AssetAlias(name=outlet_alias_name(self.destination_conn_id, self.destination))]

    def execute(self, context: Context) -> dict[str, Any]:
        token = token_of(context, self.transfer_id)
        staging = [part["destination"] for part in self.plan]
        results = list(self.part_results or [])
        if len(results) != len(staging):
            raise LoadError(
                f"Publishing {self.destination!r}: {len(results)} of {len(staging)} parts reported a result; "
                "the destination is unchanged."
            )
        loaded = [int(result["rows"]) for result in results]
        hook = hook_for(self.destination_conn_id)
        if isinstance(hook, SqlConnectorHook):
            published = self._publish_tables(hook, staging, loaded)
        elif isinstance(hook, FileConnectorHook):
            published = self._publish_files(hook, token, results)
        else:
            raise EtlError(f"{hook.conn_type} connections cannot take a partitioned transfer.")
        self._release_snapshot(token)
        summary = {
            "rows": sum(loaded),
            "parts": len(results),
            "rows_per_part": loaded,
            "destination_conn_id": self.destination_conn_id,
            "destination": self.destination,
            "mode": self.mode,
            "load": published,
        }
        self.log.info("Published %d rows from %d parts into %s", sum(loaded), len(results), self.destination)
        self._announce(context, hook, summary)
        return summary

    def _publish_tables(self, hook: SqlConnectorHook, staging: list[str], loaded: list[int]) -> dict[str, Any]:
        with hook:
            result = hook.loader().publish_parts(
                [hook.table_name(name) for name in staging],
                hook.table_name(self.destination),
                mode=self.mode,
                keys=self.keys,
                expected_rows=loaded,
            )
        return result.to_dict()

    def _publish_files(self, hook: FileConnectorHook, token: str, results: list[dict[str, Any]]) -> dict[str, Any]:
        sources = [name for result in results for name in result["load"]["details"].get("files", [])]
        with hook:
            store = hook.store
            missing = [name for name in sources if not store.exists(name)]
            if missing:
                raise LoadError(
                    f"Publishing {self.destination!r}: {len(missing)} part file(s) are gone (first: {missing[0]}); "
                    "the destination is unchanged. Clear the parts and run them again."
                )
            result = publish_copies(store, sources, self.destination, mode=self.mode, options=self.destination_options)
            store.remove_tree(parts_folder(self.destination, token))
        return result.to_dict()

    def _announce(self, context: Context, hook: ConnectorHook, summary: dict[str, Any]) -> None:
        from airflow.sdk import Asset

        dataset = hook.lineage_dataset(self.destination)
        outlet_events = context.get("outlet_events")
        if dataset is None or outlet_events is None:
            return
        extra = {"rows": summary["rows"], "parts": summary["parts"], "mode": self.mode}
        outlet_events[self.outlets[0]].add(Asset(uri=dataset.uri), extra=extra)


class CleanupPartitionsOperator(_TransferTask):
    """Teardown: drop what the parts staged and end the snapshot, however the run went."""

    ui_color = "#f0f0f0"

    def execute(self, context: Context) -> None:
        token = token_of(context, self.transfer_id)
        self._release_snapshot(token)
        hook = hook_for(self.destination_conn_id)
        places = self._staged(hook, context).get(token, [])
        self._drop_staging(hook, places)
        self.log.info("Staging of run %s removed: %s", token, ", ".join(places) or "none was left")
