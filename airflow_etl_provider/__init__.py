"""airflow-etl-provider."""
