"""airflow-etl-provider."""

from airflow_etl_provider.incremental import Incremental

__all__ = ["Incremental"]
