"""Reading a plugin distribution's rendered provider info, without importing Airflow.

Airflow calls `get_provider_info` while `import airflow` is still initialising, so a plugin
cannot import its connector (an Airflow hook) there. It ships the provider info rendered
from the connector's schema (`airflow-etl provider-info ... > provider_info.json`) and
returns it with this function.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

PROVIDER_INFO_FILE = "provider_info.json"


def packaged_provider_info(package: str, resource: str = PROVIDER_INFO_FILE) -> dict[str, Any]:
    """The provider info rendered into `resource` inside `package` (pass `__package__`)."""
    info: dict[str, Any] = json.loads(files(package).joinpath(resource).read_text("utf-8"))
    return info
