"""Throughput and peak memory of the embedded path: CSV -> SQLite -> Parquet.

    python benchmarks/run.py --rows 1000000 --rows 4000000

Every direction runs through ExtractLoadOperator in a fresh process; the pandas baseline
(read_csv + to_sql) runs on the same file. Peak RSS staying flat as rows grow is the memory
bound. The connector benchmarks (bench_postgres.py, bench_mysql.py, bench_files.py,
bench_rest_api.py) add the other directions.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.embedded import generate_csv  # noqa: E402
from benchmarks.harness import measure, print_table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, action="append", help="rows to move (repeatable); default 1,000,000")
    parser.add_argument("--skip-pandas", action="store_true", help="skip the pandas read_csv + to_sql baseline")
    args = parser.parse_args()
    results = []
    baseline = {}
    for rows in args.rows or [1_000_000]:
        with tempfile.TemporaryDirectory(prefix="etl-bench-") as workdir:
            generate_csv(workdir, rows)
            size_mb = (Path(workdir) / "orders.csv").stat().st_size / 1e6
            print(f"{rows:,} rows, CSV {size_mb:,.0f} MB", flush=True)
            label = f"{rows // 1000}k"
            results.append(
                measure(
                    f"csv -> sqlite ({label})",
                    "benchmarks.embedded:csv_to_sqlite",
                    rows=rows,
                    workdir=workdir,
                )
            )
            results.append(
                measure(
                    f"sqlite -> parquet ({label})",
                    "benchmarks.embedded:sqlite_to_parquet",
                    rows=rows,
                    workdir=workdir,
                )
            )
            if not args.skip_pandas:
                name = f"pandas read_csv+to_sql ({label})"
                results.append(measure(name, "benchmarks.pandas_baseline:csv_to_sqlite", rows=rows, workdir=workdir))
                baseline[f"csv -> sqlite ({label})"] = name
    print_table(results, baseline)


if __name__ == "__main__":
    main()
