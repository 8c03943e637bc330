"""File formats (CSV, JSON, JSON Lines, Parquet, XLSX) shared by the file connectors.

Importing this package registers every built-in format; see `base.py` for the contract.
"""

from airflow_etl_provider.formats import csv, json, jsonl, parquet, xlsx  # noqa: F401  (registers the formats)
from airflow_etl_provider.formats.base import (
    FileFormat,
    FileSource,
    format_for_extension,
    get_format,
    known_formats,
    register_format,
)

__all__ = [
    "FileFormat",
    "FileSource",
    "format_for_extension",
    "get_format",
    "known_formats",
    "register_format",
]
