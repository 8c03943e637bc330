"""Connection type -> connector class.

Built-in connectors register through the same entry-point group third parties use
(`airflow_etl_provider.connectors`); modules in Airflow's plugins folder may also call
`register` at import time, which is idempotent because Airflow can import that folder twice.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_etl_provider.exceptions import ConnectorNotFoundError, EtlError

if TYPE_CHECKING:
    from airflow_etl_provider.hooks.base import ConnectorHook

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "airflow_etl_provider.connectors"
#: Set to a true value to load only the connectors shipped with this package.
DISABLE_PLUGINS_ENV = "AIRFLOW_ETL_DISABLE_PLUGINS"
DISTRIBUTION = "airflow-etl-provider"

ORIGIN_BUILT_IN = "built-in"
ORIGIN_ENTRY_POINT = "entry point"
ORIGIN_PLUGINS_FOLDER = "plugins folder"
ORIGIN_CODE = "code"

C = TypeVar("C", bound="type[ConnectorHook]")


@dataclass(frozen=True)
class ConnectorInfo:
    """What `connector_info` reports about one registered connection type."""

    conn_type: str
    name: str
    description: str
    config_schema: dict[str, Any]
    operations: tuple[str, ...]
    load_modes: tuple[str, ...]
    origin: str
    class_path: str


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _summary(cls: type[ConnectorHook]) -> str:
    if cls.description:
        return cls.description
    doc = (cls.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def _install_hint(entry_point: EntryPoint, dist_name: str, error: ModuleNotFoundError) -> str:
    """What to install for a connector whose entry point names the extras its driver comes in."""
    extras = ",".join(entry_point.extras)
    return f"module {error.name!r} is missing: pip install '{dist_name or DISTRIBUTION}[{extras}]'"


def plugins_disabled() -> bool:
    return os.environ.get(DISABLE_PLUGINS_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


class ConnectorRegistry:
    """Holds the connector class for every known connection type."""

    def __init__(self) -> None:
        self._classes: dict[str, type[ConnectorHook]] = {}
        self._origins: dict[str, str] = {}
        self._pending: dict[str, EntryPoint] = {}
        #: conn_type -> what to install, for connectors whose driver is missing.
        self._missing_drivers: dict[str, str] = {}
        self._discovered = False
        self._lock = threading.RLock()

    def register(self, cls: C, *, origin: str = ORIGIN_CODE) -> C:
        """Register `cls` for its `conn_type`.

        Registering the same class again (same module and name) replaces it quietly; a
        different class for a type already taken is refused, naming both origins.
        """
        conn_type = getattr(cls, "conn_type", None)
        if not isinstance(conn_type, str) or not conn_type:
            raise EtlError(f"Connector {_class_path(cls)} must set a non-empty `conn_type`.")
        with self._lock:
            self._load_pending(conn_type)  # an entry point of the same type must be seen first
            existing = self._classes.get(conn_type)
            if existing is not None and _class_path(existing) != _class_path(cls):
                raise EtlError(
                    f"Connection type {conn_type!r} is already registered by {_class_path(existing)} "
                    f"({self._origins[conn_type]}); refusing {_class_path(cls)} ({origin})."
                )
            self._classes[conn_type] = cls
            self._origins[conn_type] = self._origins.get(conn_type, origin) if existing else origin
        return cls

    def unregister(self, conn_type: str) -> None:
        with self._lock:
            self._classes.pop(conn_type, None)
            self._origins.pop(conn_type, None)

    def discover(self) -> None:
        """Note the connectors of the entry-point group once; each class is imported when first used."""
        with self._lock:
            if self._discovered:
                return
            self._discovered = True
            for entry_point in entry_points(group=ENTRY_POINT_GROUP):
                dist_name = entry_point.dist.name if entry_point.dist else ""
                built_in = dist_name == DISTRIBUTION
                if not built_in and plugins_disabled():
                    continue
                if entry_point.name not in self._classes:
                    self._pending.setdefault(entry_point.name, entry_point)

    def _load_pending(self, conn_type: str) -> None:
        entry_point = self._pending.pop(conn_type, None)
        if entry_point is None:
            return
        dist_name = entry_point.dist.name if entry_point.dist else ""
        try:
            cls = entry_point.load()
            self.register(cls, origin=ORIGIN_BUILT_IN if dist_name == DISTRIBUTION else ORIGIN_ENTRY_POINT)
        except ModuleNotFoundError as error:
            if not entry_point.extras:
                raise
            self._missing_drivers[conn_type] = missing = _install_hint(entry_point, dist_name, error)
            log.warning("Skipping the %r connector: %s.", conn_type, missing)
            return
        except Exception as error:  # a broken plugin must never break the others
            log.warning(
                "Skipping connector entry point %r from %s: %s: %s",
                entry_point.name,
                dist_name or "unknown distribution",
                type(error).__name__,
                error,
            )
            return
        if cls.conn_type != conn_type:
            log.warning(
                "Connector entry point %r from %s registers conn_type %r; name entry points after their "
                "connection type so the connector is found without importing every plugin.",
                entry_point.name,
                dist_name,
                cls.conn_type,
            )

    def _load_all(self) -> None:
        self.discover()
        for conn_type in list(self._pending):
            self._load_pending(conn_type)

    def available_types(self) -> list[str]:
        """Every usable connection type (importing the connectors, so broken ones drop out)."""
        self._load_all()
        return sorted(self._classes)

    def connector_class(self, conn_type: str) -> type[ConnectorHook]:
        self.discover()
        with self._lock:
            self._load_pending(conn_type)
        try:
            return self._classes[conn_type]
        except KeyError:
            self._load_all()
            raise ConnectorNotFoundError(
                conn_type, self._classes, missing_driver=self._missing_drivers.get(conn_type)
            ) from None

    def origin(self, conn_type: str) -> str:
        self.connector_class(conn_type)
        return self._origins[conn_type]

    def connector_info(self, conn_type: str) -> ConnectorInfo:
        cls = self.connector_class(conn_type)
        return ConnectorInfo(
            conn_type=conn_type,
            name=cls.hook_name,
            description=_summary(cls),
            config_schema=cls.full_config_schema(),
            operations=tuple(sorted(op.value for op in cls.operations)),
            load_modes=tuple(mode.value for mode in cls.load_modes),
            origin=self._origins[conn_type],
            class_path=_class_path(cls),
        )

    def hook_for(self, conn_id: str, **hook_kwargs: Any) -> ConnectorHook:
        """The connector hook serving Airflow connection `conn_id`, chosen by its type."""
        from airflow.sdk import BaseHook

        connection = BaseHook.get_connection(conn_id)
        if not connection.conn_type:
            raise EtlError(
                f"Connection {conn_id!r} has no connection type. If it comes from an AIRFLOW_CONN_ "
                "URI, write types with an underscore using a hyphen (rest-api://), or use the JSON form."
            )
        cls = self.connector_class(connection.conn_type)
        return cls(conn_id=conn_id, connection=connection, **hook_kwargs)


#: The process-wide registry used by the operator, the CLI and the provider info.
registry = ConnectorRegistry()


def register(cls: C | None = None, *, origin: str = ORIGIN_CODE) -> Any:
    """Decorator (or plain call) that registers a connector class in the global registry."""
    if cls is None:
        return lambda inner: registry.register(inner, origin=origin)
    return registry.register(cls, origin=origin)


available_types = registry.available_types
connector_class = registry.connector_class
connector_info = registry.connector_info
hook_for = registry.hook_for
