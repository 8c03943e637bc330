"""`airflow-etl state show|set|reset DAG_ID TASK_ID`: an incremental transfer's watermark.

Like Airflow's own CLI this reads and writes the metadata database. The destination's Asset is
found from the task's latest incremental Asset event; the watermark is the asset state store's
value, or, while Airflow has none yet, the one that event carries. A write makes sure the Asset
is active (what the scheduler does for an Asset an alias produced), so the next run reads it.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from airflow_etl_provider.exceptions import EtlError
from airflow_etl_provider.incremental.spec import display, from_json, parse_cursor_value, to_json
from airflow_etl_provider.incremental.state import STATE_KEY

#: Recent events of the task searched for its destination.
EVENTS_SEARCHED = 100


def _destination(session: Any, dag_id: str, task_id: str) -> tuple[Any, dict[str, Any] | None]:
    """The destination's AssetModel and the state its latest stateful event carries."""
    from airflow.models.asset import AssetEvent
    from sqlalchemy import select

    events = session.scalars(
        select(AssetEvent)
        .where(AssetEvent.source_dag_id == dag_id, AssetEvent.source_task_id == task_id)
        .order_by(AssetEvent.timestamp.desc())
        .limit(EVENTS_SEARCHED)
    )
    for event in events:
        incremental = (event.extra or {}).get("incremental")
        if isinstance(incremental, dict):
            state = incremental.get("state") if incremental.get("stateful") else None
            return event.asset, state if isinstance(state, dict) else None
    raise EtlError(
        f"Task {dag_id}.{task_id} has no incremental run on record (no Asset event with an 'incremental' extra): "
        "run it once first."
    )


def _stored(session: Any, asset: Any) -> dict[str, Any] | None:
    from airflow._shared.state import AssetScope
    from airflow.state.metastore import MetastoreBackend

    text = MetastoreBackend().get(AssetScope(asset_id=asset.id), STATE_KEY, session=session)
    value = json.loads(text) if text else None
    return value if isinstance(value, dict) else None


def _write(session: Any, asset: Any, state: dict[str, Any]) -> None:
    from airflow._shared.state import AssetScope, AssetStateStoreWriterKind
    from airflow.models.asset import AssetActive
    from airflow.state.metastore import MetastoreBackend
    from sqlalchemy import select

    if session.scalar(select(AssetActive).where(AssetActive.uri == asset.uri)) is None:
        session.add(AssetActive.for_asset(asset))
    MetastoreBackend().set_asset_state_store(
        AssetScope(asset_id=asset.id),
        STATE_KEY,
        json.dumps(state),
        kind=AssetStateStoreWriterKind.API,
        session=session,
    )


def state(args: argparse.Namespace, files: list[Any]) -> int:
    from airflow.utils.session import create_session

    if (args.action == "set") != (args.value is not None):
        raise ValueError("`state set` takes the new watermark as its last argument; show and reset take none.")
    with create_session() as session:
        asset, from_event = _destination(session, args.dag_id, args.task_id)
        stored = _stored(session, asset)
        current = stored if stored is not None else from_event
        where = "asset state store" if stored is not None else "latest Asset event"
        if args.action == "set":
            value = parse_cursor_value(args.value, "the watermark")
            cursor = (current or {}).get("cursor")
            _write(session, asset, {"cursor": cursor, "watermark": to_json(value), "boundary": []})
            current, where = {"cursor": cursor, "watermark": to_json(value)}, "asset state store"
        elif args.action == "reset":
            _write(session, asset, {"cursor": (current or {}).get("cursor"), "reset": True})
            current, where = {"cursor": (current or {}).get("cursor")}, "asset state store"
    watermark = (current or {}).get("watermark")
    result = {
        "dag_id": args.dag_id,
        "task_id": args.task_id,
        "asset": asset.uri,
        "cursor": (current or {}).get("cursor"),
        "watermark": display(from_json(watermark)) if isinstance(watermark, dict) else None,
        "from": where,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value if value is not None else '(none: the next run loads from initial)'}")
    return 0
