"""Statements run on a test's PostgreSQL database, outside the code under test."""

from __future__ import annotations

from typing import Any

import psycopg


def execute(db: Any, *statements: str) -> list[tuple]:
    """Run `statements` in autocommit on `db` (a `tests.conftest.Database`); the last one's rows."""
    with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name, autocommit=True) as conn:
        result: list[tuple] = []
        for statement in statements:
            cursor = conn.execute(statement)
            result = cursor.fetchall() if cursor.description else []
        return result
