# Sourced by the demo: an Airflow home inside the repository (git-ignored), the repo's dags/
# and plugins/ folders, and the demo's connections in JSON form.
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
export AIRFLOW_HOME="$ROOT/airflow_home"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$ROOT/plugins"
export AIRFLOW__CORE__PARALLELISM=4
export DEMO_OUTPUT="$ROOT/output/demo"
export AIRFLOW_CONN_ETL_DEMO_FILES="{\"conn_type\": \"filesystem\", \"extra\": {\"base_path\": \"$DEMO_OUTPUT\"}}"
export AIRFLOW_CONN_ETL_DEMO_SQLITE="{\"conn_type\": \"sqlite\", \"host\": \"$DEMO_OUTPUT/warehouse.db\"}"
