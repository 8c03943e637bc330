"""REST API extract: rows/s and peak RSS for 20,000 and 200,000 records (100 per page).

A fake API runs in its own process on loopback (cursor pagination, keep-alive); each
extract runs in a fresh interpreter (benchmarks/harness.py) so its peak RSS is its own.
Memory should stay flat: 10x the records must not mean 10x the peak RSS.

    python -m benchmarks.bench_rest_api
"""

from __future__ import annotations

import json
import multiprocessing
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from airflow_etl_provider.hooks.rest_api import RestApiConnectorHook
from benchmarks.harness import measure, print_table

PAGE_SIZE = 100
CHUNK_SIZE = 10_000
#: The first size is the baseline: one page, so its peak RSS is mostly the import footprint.
SIZES = (PAGE_SIZE, 20_000, 200_000)


def _record(i: int) -> dict:
    return {
        "id": i,
        "name": f"user {i}",
        "email": f"user{i}@example.com",
        "score": i * 0.37,
        "active": i % 3 == 0,
        "created_at": f"2026-01-{1 + i % 28:02d}T10:{i % 60:02d}:00Z",
        "address": {"city": f"city {i % 500}", "zip": f"{i % 99999:05d}"},
    }


class _Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real APIs do
    disable_nagle_algorithm = True  # else headers and body wait on delayed ACKs (40 ms a page)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        query = parse_qs(urlsplit(self.path).query)
        total = int(query["total"][0])
        start = int(query.get("cursor", ["0"])[0])
        end = min(start + PAGE_SIZE, total)
        body = json.dumps(
            {
                "data": [_record(i) for i in range(start + 1, end + 1)],
                "meta": {"next_cursor": end if end < total else None},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet: one line per request would dominate the benchmark."""


def _serve(port_queue: multiprocessing.Queue) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    port_queue.put(server.server_address[1])
    server.serve_forever()


def extract(base_url: str, total: int) -> int:
    """Runs in the measured process: stream every record, keep none."""
    os.environ["AIRFLOW_CONN_BENCH_API"] = json.dumps(
        {
            "conn_type": "rest_api",
            "host": base_url,
            "extra": {
                "paginator": "cursor",
                "cursor_path": "meta.next_cursor",
                "records_path": "data",
                "max_pages": 10_000,
            },
        }
    )
    rows = 0
    with RestApiConnectorHook("bench_api") as hook:
        for batch in hook.extract("records", chunk_size=CHUNK_SIZE, params={"total": total}):
            rows += batch.num_rows
    return rows


def main() -> None:
    ports: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve, args=(ports,), daemon=True)
    server.start()
    try:
        base_url = f"http://127.0.0.1:{ports.get(timeout=30)}/"
        results = [
            measure(
                f"rest_api extract {n:,} ({n // PAGE_SIZE:,} pages)",
                "benchmarks.bench_rest_api:extract",
                rows=n,
                base_url=base_url,
                total=n,
            )
            for n in SIZES
        ]
    finally:
        server.terminate()
        server.join()
    baseline, small, large = results
    print_table(results, baseline={large.name: small.name})
    print(f"peak RSS ratio {large.peak_rss_mb / small.peak_rss_mb:.2f} for {SIZES[2] // SIZES[1]}x the records")
    for m in (small, large):
        print(f"{m.name}: {m.peak_rss_mb - baseline.peak_rss_mb:+.1f} MB over the one-page run")


if __name__ == "__main__":
    main()
