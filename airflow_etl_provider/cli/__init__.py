"""`airflow-etl`: list connectors, plugins and options, test a connection, show a schema, preview data,
show or change an incremental transfer's watermark.

Exit codes: 0 success; 1 the operation ran and failed (a connection test failed, a source
could not be read, a plugin file was skipped); 2 a usage or configuration mistake (unknown
connection id or type, invalid connection settings, unsupported operation).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from airflow_etl_provider.cli import _commands, _state
from airflow_etl_provider.exceptions import (
    ConnectorConfigError,
    ConnectorNotFoundError,
    EtlError,
    UnsupportedOperationError,
)
from airflow_etl_provider.sdk import PluginError

USAGE_ERROR = 2
#: How the Task SDK tells where it runs; "server" includes the metadata database in lookups.
SERVER_CONTEXT_ENV = "_AIRFLOW_PROCESS_CONTEXT"

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON for scripts instead of a table")
    common.add_argument(
        "--plugin-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="also load plugin files from DIR (repeatable); Airflow's plugins folder is always loaded",
    )
    common.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")

    summary, exit_codes = __doc__.split("\n\n", 1)
    parser = argparse.ArgumentParser(
        prog="airflow-etl",
        description=summary.replace("`", ""),
        epilog=exit_codes,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, run: Callable[..., int], help_text: str, **options: Any) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=help_text, description=help_text, **options)
        sub.set_defaults(run=run)
        return sub

    add("connectors", _commands.connectors, "list connection types: type, name, origin, operations")
    add("plugins", _commands.plugins, "list third-party connectors (name, version, author, origin) and broken files")
    add(
        "load-plugins",
        _commands.load_plugins,
        "load plugin files (--plugin-dir DIR, Airflow's plugins folder) and list what they registered",
        aliases=["load_plugins"],
    )
    add("test", _commands.test, "test an Airflow connection (exit 1 when the test fails)").add_argument("conn_id")
    schema = add("schema", _commands.schema, "show tables, columns and constraints of a connection")
    schema.add_argument("conn_id")
    schema.add_argument("--table", help="only this table (or file, endpoint)")
    preview = add("preview", _commands.preview, "show the first rows of a source")
    preview.add_argument("conn_id")
    preview.add_argument("source", help="table, query, file or endpoint, as the connector names it")
    preview.add_argument("--limit", type=_positive, default=20, help="rows to show (default 20)")
    state = add("state", _state.state, "show, set or reset an incremental transfer's watermark")
    state.add_argument("action", choices=["show", "set", "reset"])
    state.add_argument("dag_id")
    state.add_argument("task_id")
    state.add_argument("value", nargs="?", help="for set: the new watermark (ISO 8601 timestamp or date, or a number)")
    add("options", _commands.options, "list the options a connection type's extract and load accept").add_argument(
        "conn_type"
    )
    info = add(
        "provider-info",
        _commands.provider_info_command,
        "render a plugin distribution's provider info (JSON) from its connector classes",
    )
    info.add_argument("connectors", nargs="+", metavar="MODULE:CLASS")
    info.add_argument("--package-name", help="the distribution name (default: the installed one's)")
    info.add_argument("--version", help="the distribution version (default: the installed one's)")
    info.add_argument("--name", help="the provider's display name (default: the connectors' names)")
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _usage_errors() -> tuple[type[BaseException], ...]:
    from airflow.sdk.exceptions import AirflowNotFoundException

    return (
        AirflowNotFoundException,
        ConnectorConfigError,
        ConnectorNotFoundError,
        UnsupportedOperationError,
        FileNotFoundError,
        PluginError,
    )


def _explain(error: BaseException, args: argparse.Namespace) -> str:
    from airflow.sdk.exceptions import AirflowNotFoundException

    if isinstance(error, AirflowNotFoundException):
        conn_id = getattr(args, "conn_id", "")
        return (
            f"connection {conn_id!r} is not defined; add it with `airflow connections add` "
            f"or set AIRFLOW_CONN_{conn_id.upper()}."
        )
    return str(error)


class _Stderr:
    """Whatever `sys.stderr` is when a line is written (it may be replaced after set-up)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _log_to_stderr() -> None:
    """Send every log line to stderr, so stdout holds only the result (`--json`).

    Airflow configures two paths to stdout when it is imported: the root logger's handler
    (stdlib loggers: drivers, boto) and structlog's logger factory, which writes the
    `self.log` lines of hooks (ours and Airflow's providers') straight to `sys.stdout`.
    """
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(_Stderr())  # type: ignore[arg-type]
    import structlog

    factory: Any = structlog.get_config().get("logger_factory")
    if hasattr(factory, "io") and factory.io in (None, sys.stdout):
        factory.io = _Stderr()  # Airflow's LoggerFactory; None means sys.stdout
    elif isinstance(factory, (structlog.PrintLoggerFactory, structlog.WriteLoggerFactory)):
        structlog.configure(logger_factory=type(factory)(_Stderr()))  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _log_to_stderr()
    # Like Airflow's own CLI this runs beside the metadata database, not inside a task: look
    # connections up in the server chain (environment, secrets backends, metadata database).
    os.environ.setdefault(SERVER_CONTEXT_ENV, "server")
    try:
        files = _commands.discover(args.plugin_dir)
        return args.run(args, files)
    except _usage_errors() as error:
        print(f"airflow-etl: error: {_explain(error, args)}", file=sys.stderr)
        return USAGE_ERROR
    except Exception as error:  # an operation failed: say why, without a traceback unless asked
        if args.debug:
            traceback.print_exc()
        kind = "" if isinstance(error, EtlError) else f"{type(error).__name__}: "
        print(f"airflow-etl: {args.command} failed: {kind}{error}", file=sys.stderr)
        return _commands.FAILED


if __name__ == "__main__":
    sys.exit(main())
