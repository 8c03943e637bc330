"""What a connector declares about itself, and the early checks run before it is registered.

A third-party connector is a `ConnectorHook` subclass; `ConnectorPlugin` only adds who made
it (`version`, `author`). Everything else (type, name, description, config schema,
operations) is the contract's own class metadata, so built-ins and plugins are described the
same way.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from typing import Any, ClassVar

import jsonschema
from jsonschema.exceptions import best_match

from airflow_etl_provider.exceptions import PluginError
from airflow_etl_provider.hooks.base import ConnectorHook
from airflow_etl_provider.types import LoadMode, Operation


class ConnectorPlugin(ConnectorHook):
    """Base class of a third-party connector: the connector contract plus its authorship.

    Set `conn_type`, `hook_name`, `description`, `config_schema`, `operations`,
    `load_modes`, `version` and `author` as class attributes, implement the contract, and
    register the class (see `register_connector`) or expose it through the
    `airflow_etl_provider.connectors` entry-point group.
    """

    #: The plugin's own version; defaults to its distribution's version when installed.
    version: ClassVar[str] = ""
    author: ClassVar[str] = ""


@dataclass(frozen=True)
class PluginMetadata:
    """Everything the CLI and docs report about one connector."""

    conn_type: str
    name: str
    version: str
    author: str
    description: str
    operations: tuple[str, ...]
    load_modes: tuple[str, ...]
    config_schema: dict[str, Any]
    class_path: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "conn_type": self.conn_type,
            "name": self.name,
            "version": self.version,
            "author": self.author,
            "description": self.description,
            "operations": list(self.operations),
            "load_modes": list(self.load_modes),
            "config_schema": self.config_schema,
            "class_path": self.class_path,
        }


def class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _distribution_field(cls: type, field: str) -> str:
    """`Version` / `Author` of the installed distribution that ships `cls`, if any."""
    top_level = cls.__module__.split(".")[0]
    for dist_name in packages_distributions().get(top_level, []):
        try:
            meta = distribution(dist_name).metadata
        except PackageNotFoundError:
            continue
        names = [field, "Author-email"] if field == "Author" else [field]
        for value in (v for name in names for v in meta.get_all(name) or [] if v):
            return str(value)
    return ""


def _summary(cls: type[ConnectorHook]) -> str:
    if cls.description:
        return cls.description
    doc = inspect.getdoc(cls) or ""
    return doc.splitlines()[0] if doc else ""


def plugin_metadata(cls: type[ConnectorHook]) -> PluginMetadata:
    """Metadata of a connector class; version and author fall back to its distribution's."""
    return PluginMetadata(
        conn_type=cls.conn_type,
        name=cls.hook_name,
        version=getattr(cls, "version", "") or _distribution_field(cls, "Version"),
        author=getattr(cls, "author", "") or _distribution_field(cls, "Author"),
        description=_summary(cls),
        operations=tuple(sorted(op.value for op in cls.operations)),
        load_modes=tuple(mode.value for mode in cls.load_modes),
        config_schema=cls.full_config_schema(),
        class_path=class_path(cls),
    )


def connector_problems(cls: object) -> list[str]:
    """Every reason `cls` is not a usable connector class (empty when it is)."""
    if not (isinstance(cls, type) and issubclass(cls, ConnectorHook)):
        return [f"{cls!r} is not a subclass of airflow_etl_provider.sdk.ConnectorHook"]
    problems: list[str] = []
    for attribute in ("conn_type", "hook_name"):
        value = getattr(cls, attribute, None)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"class attribute `{attribute}` must be a non-empty string")
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        problems.append(f"it does not implement: {missing}")
    if not isinstance(cls.operations, (frozenset, set)) or not all(isinstance(op, Operation) for op in cls.operations):
        problems.append("`operations` must be a frozenset of airflow_etl_provider.sdk.Operation")
    if not all(isinstance(mode, LoadMode) for mode in cls.load_modes):
        problems.append("`load_modes` must be a tuple of airflow_etl_provider.sdk.LoadMode")
    problems.extend(_schema_problems(cls.config_schema))
    return problems


def _schema_problems(schema: object) -> list[str]:
    if not isinstance(schema, dict):
        return ["`config_schema` must be a JSON Schema object (a dict)"]
    invalid = _meta_schema_errors(schema)
    if invalid:
        return invalid
    problems = []
    if schema and schema.get("type", "object") != "object":
        problems.append("`config_schema` must describe an object (the connection's extra)")
    for name, spec in schema.get("properties", {}).items():
        if isinstance(spec, dict) and not (spec.get("title") or spec.get("description")):
            problems.append(f"`config_schema` property {name!r} needs a `title` or `description` for its form field")
    return problems


def _meta_schema_errors(schema: dict[str, Any]) -> list[str]:
    """Every place where `schema` breaks the draft 2020-12 meta-schema, in path order.

    `check_schema` stops at the first; an author fixing a schema wants them all at once.
    """
    meta = jsonschema.Draft202012Validator
    validator = meta(meta.META_SCHEMA, format_checker=meta.FORMAT_CHECKER)
    problems = []
    for error in sorted(validator.iter_errors(schema), key=lambda e: [str(part) for part in e.absolute_path]):
        detail = best_match([error])  # the precise branch of an anyOf / allOf
        where = ".".join(map(str, error.absolute_path)) or "(root)"
        problems.append(f"`config_schema` is not a valid JSON Schema at {where}: {detail.message}")
    return problems


def check_connector(cls: object) -> None:
    """Raise `PluginError` listing every problem with `cls`, before it reaches the registry."""
    problems = connector_problems(cls)
    if problems:
        name = class_path(cls) if isinstance(cls, type) else repr(cls)
        raise PluginError(f"Connector {name} cannot be registered: " + "; ".join(problems) + ".")
