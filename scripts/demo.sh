#!/usr/bin/env bash
# Runs the embedded demo DAG end to end (no server needed) and prints where the rows went.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/airflow_env.sh
source "$ROOT/scripts/airflow_env.sh"
export PATH="$ROOT/.venv/bin:$PATH"
mkdir -p "$DEMO_OUTPUT" "$AIRFLOW_HOME"
rm -f "$DEMO_OUTPUT/summary.json"

echo "demo: migrating the Airflow metadata database in $AIRFLOW_HOME"
airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || { cat "$AIRFLOW_HOME/db-migrate.log"; exit 1; }

echo "demo: running DAG etl_embedded_demo (log: $AIRFLOW_HOME/demo-run.log)"
if ! airflow dags test etl_embedded_demo 2026-01-01 >"$AIRFLOW_HOME/demo-run.log" 2>&1; then
  tail -n 60 "$AIRFLOW_HOME/demo-run.log"
  echo "demo: FAILED, see $AIRFLOW_HOME/demo-run.log" >&2
  exit 1
fi
grep -E "chunk [0-9]+:|Done:" "$AIRFLOW_HOME/demo-run.log" | sed -E 's/^.*\] (chunk|Done)/  \1/; s/ \[airflow.*$//' | tail -n 8

python - "$DEMO_OUTPUT/summary.json" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
print("\ndemo: finished. Output directory:", summary["output_dir"])
print("  SQLite database:", summary["database"])
for where, rows in summary["rows"].items():
    print(f"  {where:<24} {rows:>9,} rows")
PY
