"""The watermark of an incremental transfer, in Airflow's asset state store (AIP-103) under the
destination's Asset URI (`airflow_etl_provider.lineage.asset_uri`).

The operator's outlet is an AssetAlias, and Airflow skips aliases when it builds
`context["asset_state_store"]`; so the store is addressed by the destination's URI directly.
Airflow keeps state only for an active Asset, and an Asset first known through an alias is
created by the first run's event and activated by the scheduler afterwards. Until then the
watermark travels in the Asset event's extra (`incremental`), which is recorded only when the
task succeeds, and the next run takes it from the latest such event.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow_etl_provider.incremental.spec import CursorValue, from_json

#: The state store key of a transfer's watermark (one per destination Asset).
STATE_KEY = "etl_incremental"

log = logging.getLogger(__name__)


class WatermarkStore:
    """Reads and writes one destination's watermark; a no-op outside the task runner."""

    def __init__(self, uri: str, *, in_task: bool) -> None:
        self.uri = uri
        self.in_task = in_task

    def _accessor(self) -> Any:
        from airflow.sdk.execution_time.context import AssetStateStoreAccessor

        return AssetStateStoreAccessor(uri=self.uri)

    def load(self) -> dict[str, Any] | None:
        """The stored state: from the asset state store, else the latest stateful Asset event."""
        if not self.in_task:
            return None
        state = self._accessor().get(STATE_KEY)
        if isinstance(state, dict):
            return state
        return self._from_events()

    def _from_events(self) -> dict[str, Any] | None:
        from airflow.sdk.execution_time.comms import AssetEventsResult, GetAssetEventByAsset
        from airflow.sdk.execution_time.task_runner import SUPERVISOR_COMMS

        # name and uri both: Airflow then finds the Asset whether or not it is active yet.
        response = SUPERVISOR_COMMS.send(GetAssetEventByAsset(name=self.uri, uri=self.uri, ascending=False, limit=50))
        if not isinstance(response, AssetEventsResult):
            return None
        for event in response.asset_events:
            extra = event.extra or {}
            state = extra.get("incremental")
            stored = state.get("state") if isinstance(state, dict) and state.get("stateful") else None
            if isinstance(stored, dict):
                return stored
        return None

    def save(self, state: dict[str, Any]) -> bool:
        """Store `state`; False (with a warning) while Airflow has no active Asset for the URI."""
        if not self.in_task:
            return False
        from airflow.sdk.api.client import ServerResponseError
        from airflow.sdk.exceptions import AirflowRuntimeError

        try:
            self._accessor().set(STATE_KEY, state)
        # In a worker the supervisor answers with an error; `airflow dags test` runs the API in
        # process and raises the server's 404 itself.
        except (AirflowRuntimeError, ServerResponseError) as error:
            log.warning(
                "The asset state store has no active Asset %s yet (%s); the watermark is kept in this run's "
                "Asset event until the scheduler activates the Asset.",
                self.uri,
                error,
            )
            return False
        return True


def watermark_of(state: dict[str, Any] | None) -> CursorValue | None:
    if not state or not isinstance(state.get("watermark"), dict):
        return None
    return from_json(state["watermark"])
