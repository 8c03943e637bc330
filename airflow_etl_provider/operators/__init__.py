"""Operators of airflow-etl-provider."""
