"""Example plugin distribution for airflow-etl-provider."""
