"""Every error the provider raises: one root, with a branch per kind of failure.

Every message is written for the person who filled the connection form or wrote the DAG:
it names the connection, the field and the fix, and never carries a secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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


class UnknownOptionError(ConnectorConfigError):
    """`source_options` / `destination_options` name an option the connector does not declare."""

    def __init__(
        self, conn_id: str, operation: str, target: str, unknown: Iterable[str], known: Mapping[str, str]
    ) -> None:
        self.unknown = sorted(unknown)
        self.known = sorted(known)
        super().__init__(
            conn_id,
            f"{operation} options",
            f"unknown option(s) {', '.join(self.unknown)} for {operation} of {target!r}; "
            f"known: {', '.join(self.known) or '(none)'}.",
        )


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


class PluginError(EtlError):
    """A connector class or plugin file cannot be registered; the message names it and why."""


class UnsupportedOperationError(EtlError):
    """A connector was asked for an operation (or load mode) it does not declare."""

    def __init__(self, connector: str, operation: str, supported: Iterable[str], hint: str = "") -> None:
        super().__init__(
            f"Connector {connector!r} does not support {operation!r}; it supports: {', '.join(sorted(supported))}."
            + (f" {hint}" if hint else "")
        )


class FormatOptionError(EtlError):
    """A file format option is unknown or has a wrong value."""


class SourceError(EtlError):
    """Reading from a source failed (missing table or file, malformed data, driver error)."""


class RestApiError(SourceError):
    """An HTTP call failed for good: a non-retryable status, or retries ran out.

    Messages carry no secrets: URLs are redacted before they are put in one.
    """

    def __init__(self, message: str, *, status: int | None = None, url: str = "") -> None:
        self.status = status
        self.url = url
        super().__init__(message)


class UntrustedOriginError(RestApiError):
    """Refused before sending: the request would carry the credentials to an origin not trusted with them."""


class PaginationError(SourceError):
    """Pagination cannot go on safely: a repeated page token, or the max-pages guard tripped."""


class LoadError(EtlError):
    """Writing to a destination failed; the destination was left as it was."""
