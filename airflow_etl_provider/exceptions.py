"""One root error for the provider, with a branch per kind of failure.

Every message is written for the person who filled the connection form or wrote the DAG:
it names the connection, the field and the fix, and never carries a secret.
"""

from __future__ import annotations

from collections.abc import Iterable

from airflow.exceptions import AirflowException


class EtlError(AirflowException):
    """Root of every error raised by airflow-etl-provider."""


class ConnectorConfigError(EtlError):
    """A connection's settings (standard fields or extra) are missing or invalid."""

    def __init__(self, conn_id: str, field: str, problem: str) -> None:
        self.conn_id = conn_id
        self.field = field
        self.problem = problem
        super().__init__(f"Connection {conn_id!r}, field {field!r}: {problem}")


class ConnectorNotFoundError(EtlError):
    """No connector is registered for a connection type."""

    def __init__(self, conn_type: str, known: Iterable[str], *, missing_driver: str | None = None) -> None:
        self.conn_type = conn_type
        self.known = sorted(known)
        if missing_driver:
            message = f"The connector for connection type {conn_type!r} cannot load: {missing_driver}."
        else:
            message = f"No connector is registered for connection type {conn_type!r}."
        super().__init__(f"{message} Known types: {', '.join(self.known) or '(none)'}.")


class UnsupportedOperationError(EtlError):
    """A connector was asked for an operation it does not declare."""

    def __init__(self, connector: str, operation: str, supported: Iterable[str]) -> None:
        super().__init__(
            f"Connector {connector!r} does not support {operation!r}; it supports: {', '.join(sorted(supported))}."
        )


class SourceError(EtlError):
    """Reading from a source failed (missing table or file, malformed data, driver error)."""


class LoadError(EtlError):
    """Writing to a destination failed; the destination was left as it was."""
