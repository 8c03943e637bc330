"""Provider info for a plugin distribution, so Airflow shows its connection types with a form.

A plugin packaged as a distribution exposes `provider_info(...)` through the
`apache_airflow_provider` entry point; the connection form is generated from the connector's
config schema by the same code that builds the built-in connectors' forms.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from typing import TYPE_CHECKING, Any

from airflow_etl_provider.exceptions import PluginError
from airflow_etl_provider.sdk._metadata import check_connector
from airflow_etl_provider.ui_fields import connection_type_entry

if TYPE_CHECKING:
    from airflow_etl_provider.hooks.base import ConnectorHook


def _distribution_of(cls: type) -> str:
    top_level = cls.__module__.split(".")[0]
    names = packages_distributions().get(top_level, [])
    if not names:
        raise PluginError(
            f"Cannot tell which installed distribution ships {cls.__module__}; pass package_name= to provider_info()."
        )
    return names[0]


def provider_info(
    *connectors: type[ConnectorHook],
    package_name: str | None = None,
    name: str | None = None,
    description: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """The `get_provider_info()` dict of a plugin distribution: one connection type per connector.

    `package_name` must equal the distribution name (Airflow refuses a mismatch); it and
    `version` default to those of the installed distribution that ships the first connector.
    """
    if not connectors:
        raise PluginError("provider_info() needs at least one connector class.")
    for cls in connectors:
        check_connector(cls)
    package_name = package_name or _distribution_of(connectors[0])
    if version is None:
        try:
            version = distribution(package_name).version
        except PackageNotFoundError as error:
            raise PluginError(f"Distribution {package_name!r} is not installed; pass version=.") from error
    name = name or ", ".join(cls.hook_name for cls in connectors)
    integration = name
    return {
        "package-name": package_name,
        "name": name,
        "description": description or " ".join(cls.description for cls in connectors if cls.description) or name,
        "versions": [version],
        "integrations": [{"integration-name": integration, "tags": ["software"]}],
        "hooks": [
            {
                "integration-name": integration,
                "python-modules": sorted({cls.__module__ for cls in connectors}),
            }
        ],
        "connection-types": [connection_type_entry(cls) for cls in connectors],
    }
