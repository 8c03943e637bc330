"""The `airflow-etl` subcommands: each prints its result and returns the exit code."""

from __future__ import annotations

import argparse
import sys
from importlib import import_module
from typing import Any

from airflow_etl_provider.cli._render import as_json, table
from airflow_etl_provider.hooks.registry import ORIGIN_BUILT_IN, registry
from airflow_etl_provider.sdk import (
    PluginError,
    PluginFile,
    load_plugins_folder,
    load_plugins_from_directory,
    plugin_metadata,
    provider_info,
)
from airflow_etl_provider.types import Operation

OK = 0
FAILED = 1


def discover(plugin_dirs: list[str]) -> list[PluginFile]:
    """Every connector this process can see: entry points, Airflow's plugins folder, given dirs."""
    registry.discover()
    files = load_plugins_folder()
    for directory in plugin_dirs:
        files.extend(load_plugins_from_directory(directory))
    return files


def connectors(args: argparse.Namespace, files: list[PluginFile]) -> int:
    infos = [registry.connector_info(conn_type) for conn_type in registry.available_types()]
    if args.json:
        as_json(
            [
                {
                    "conn_type": i.conn_type,
                    "name": i.name,
                    "description": i.description,
                    "origin": i.origin,
                    "operations": list(i.operations),
                    "load_modes": list(i.load_modes),
                    "class_path": i.class_path,
                }
                for i in infos
            ]
        )
    else:
        table(
            ["TYPE", "NAME", "ORIGIN", "OPERATIONS"],
            [(i.conn_type, i.name, i.origin, i.operations) for i in infos],
        )
    return OK


def plugins(args: argparse.Namespace, files: list[PluginFile]) -> int:
    """Third-party connectors and plugin files that failed; exit 1 when one failed."""
    third_party = [t for t in registry.available_types() if registry.origin(t) != ORIGIN_BUILT_IN]
    found = [(plugin_metadata(registry.connector_class(t)), registry.origin(t)) for t in third_party]
    broken = [f for f in files if f.error]
    if args.json:
        as_json(
            {
                "plugins": [{**meta.to_dict(), "origin": origin} for meta, origin in found],
                "errors": [{"path": str(f.path), "error": f.error} for f in broken],
            }
        )
    else:
        table(
            ["NAME", "VERSION", "AUTHOR", "TYPE", "ORIGIN"],
            [(m.name, m.version, m.author, m.conn_type, origin) for m, origin in found],
        )
        _print_broken(broken)
    return FAILED if broken else OK


def _print_broken(broken: list[PluginFile]) -> None:
    if broken:
        print("\nSkipped plugin files:", file=sys.stderr)
        for f in broken:
            print(f"  {f.path}: {f.error}", file=sys.stderr)


def load_plugins(args: argparse.Namespace, files: list[PluginFile]) -> int:
    """What the plugin files (Airflow's plugins folder, --plugin-dir) registered, in the seed's words."""
    loaded = [(plugin_metadata(registry.connector_class(t)), f) for f in files for t in f.conn_types]
    broken = [f for f in files if f.error]
    if args.json:
        as_json(
            {
                "plugins": [{**meta.to_dict(), "path": str(f.path)} for meta, f in loaded],
                "errors": [{"path": str(f.path), "error": f.error} for f in broken],
            }
        )
    else:
        print(f"Loaded {len(loaded)} plugins:")
        for meta, _ in loaded:
            print(f"- {meta.name} v{meta.version}" if meta.version else f"- {meta.name}")
        _print_broken(broken)
    return FAILED if broken else OK


def test(args: argparse.Namespace, files: list[PluginFile]) -> int:
    hook = registry.hook_for(args.conn_id)
    ok, message = hook.test_connection()
    if args.json:
        as_json({"conn_id": args.conn_id, "conn_type": hook.conn_type, "ok": ok, "message": message})
    else:
        print(f"{'OK' if ok else 'FAILED'}: {message}")
    return OK if ok else FAILED


def _constraints(table_info: Any, column: str) -> list[str]:
    info = table_info.column(column)
    marks = ["PK"] if column in table_info.primary_key else []
    marks += ["UNIQUE" for unique in table_info.unique if unique == (column,)]
    marks += [
        f"FK -> {fk.referred_table}({', '.join(fk.referred_columns)})"
        for fk in table_info.foreign_keys
        if column in fk.columns
    ]
    if info.generated is not None:
        marks.append(f"GENERATED {(info.generated_storage or '').upper()} AS ({info.generated})")
    if info.identity is not None:
        marks.append("AUTO_INCREMENT" if info.identity == "auto_increment" else f"IDENTITY {info.identity.upper()}")
    if info.on_update is not None:
        marks.append(f"ON UPDATE {info.on_update}")
    return marks


def _heading(t: Any) -> str:
    """`name (kind)`, with a partitioned table's key and partitions, or a partition's parent and bound."""
    if t.partition_of is not None:
        return f"{t.name} ({t.kind} of {t.partition_of}: {t.partition_bound})"
    if t.partitions:
        return f"{t.name} ({t.kind} by {t.partition_key}; partitions: {', '.join(t.partitions)})"
    return f"{t.name} ({t.kind})"


def schema(args: argparse.Namespace, files: list[PluginFile]) -> int:
    info = registry.hook_for(args.conn_id).get_schema(args.table)
    if args.json:
        as_json(info.to_dict())
        return OK
    if not info.tables:
        print(f"No tables found{f' named {args.table!r}' if args.table else ''}.")
    for number, t in enumerate(info.tables):
        print(f"{'' if number == 0 else chr(10)}{_heading(t)}")
        rows = [(c.name, c.type, "yes" if c.nullable else "no", c.default, _constraints(t, c.name)) for c in t.columns]
        table(["COLUMN", "TYPE", "NULLABLE", "DEFAULT", "CONSTRAINTS"], rows)
        for unique in (u for u in t.unique if len(u) > 1):
            print(f"unique ({', '.join(unique)})")
    return OK


def preview(args: argparse.Namespace, files: list[PluginFile]) -> int:
    frame = registry.hook_for(args.conn_id).preview(args.source, limit=args.limit)
    if args.json:
        as_json(frame.astype(object).where(frame.notna(), None).to_dict(orient="records"))
    else:
        table(list(map(str, frame.columns)), frame.astype(object).where(frame.notna(), None).values.tolist())
        print(f"({len(frame)} row{'s' if len(frame) != 1 else ''})")
    return OK


def options(args: argparse.Namespace, files: list[PluginFile]) -> int:
    """The options a connection type's extract (and preview) and load accept, from its declaration."""
    cls = registry.connector_class(args.conn_type)
    declared = {op.value: cls.known_options(op) for op in (Operation.EXTRACT, Operation.LOAD) if op in cls.operations}
    if args.json:
        as_json({"conn_type": args.conn_type, **declared})
    else:
        rows = [(op, name, text) for op, known in declared.items() for name, text in sorted(known.items())]
        table(["OPERATION", "OPTION", "WHAT IT DOES"], rows, cut=False)
    return OK


def _connector_class(path: str) -> type:
    module, _, name = path.replace(":", ".").rpartition(".")
    try:
        return getattr(import_module(module), name)  # type: ignore[no-any-return]
    except (ImportError, AttributeError, ValueError) as error:
        raise PluginError(f"Cannot import connector class {path!r}: {type(error).__name__}: {error}") from error


def provider_info_command(args: argparse.Namespace, files: list[PluginFile]) -> int:
    """Render a plugin distribution's provider info (always JSON) to ship as provider_info.json."""
    classes = [_connector_class(path) for path in args.connectors]
    as_json(provider_info(*classes, package_name=args.package_name, name=args.name, version=args.version))
    return OK
