"""Incremental loads: move only the rows past the last run's watermark (docs/incremental.md)."""

from __future__ import annotations

from airflow_etl_provider.incremental.spec import CursorRange, Incremental

__all__ = ["CursorRange", "Incremental"]
