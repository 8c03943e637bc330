"""`airflow-etl`: tables, JSON, exit codes and error messages without tracebacks."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from airflow_etl_provider.cli import main
from airflow_etl_provider.hooks.registry import registry

NUMBERS_PLUGIN = Path(__file__).parent / "sdk" / "plugin_files" / "numbers_plugin.py"
SEED_PLUGIN = Path(__file__).parent / "sdk" / "seed_plugin_files" / "legacy_crm_plugin.py"


@pytest.fixture(autouse=True)
def empty_airflow_plugins_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "airflow_plugins"
    folder.mkdir()
    monkeypatch.setenv("AIRFLOW__CORE__PLUGINS_FOLDER", str(folder))
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")  # what main() sets, undone after the test


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Iterator[Path]:
    """The numbers plugin and a file with a syntax error; both forgotten afterwards."""
    directory = tmp_path / "plugins"
    directory.mkdir()
    shutil.copy(NUMBERS_PLUGIN, directory)
    (directory / "broken_plugin.py").write_text("def oops(:\n")
    yield directory
    registry.unregister("etl_numbers")
    sys.modules.pop("numbers_plugin", None)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    return run


@pytest.fixture
def people_conn_id(sqlite_conn_id: str, tmp_path: Path) -> str:
    with sqlite3.connect(tmp_path / "test.db") as db:
        db.execute("CREATE TABLE teams (id INTEGER PRIMARY KEY, name TEXT UNIQUE)")
        db.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, team REFERENCES teams(id))")
        db.executemany("INSERT INTO people VALUES (?, ?, NULL)", [(1, "ada"), (2, "grace"), (3, "linus")])
    return sqlite_conn_id


def test_connectors_lists_built_ins_and_plugins(run: Callable[..., tuple[int, str, str]], plugin_dir: Path) -> None:
    code, out, _ = run("connectors", "--plugin-dir", str(plugin_dir))
    assert code == 0
    header, rule, *rows = out.splitlines()
    assert header.split() == ["TYPE", "NAME", "ORIGIN", "OPERATIONS"]
    assert set(rule) <= {"-", " "}
    assert any(r.startswith("sqlite ") and "built-in" in r for r in rows)
    [numbers] = [r for r in rows if r.startswith("etl_numbers")]
    assert "plugin directory" in numbers and "extract, get_schema, preview, test_connection" in numbers

    code, out, _ = run("connectors", "--json", "--plugin-dir", str(plugin_dir))
    by_type = {c["conn_type"]: c for c in json.loads(out)}
    assert by_type["etl_numbers"]["class_path"] == "numbers_plugin.NumbersConnector"
    assert by_type["sqlite"]["origin"] == "built-in"


def test_plugins_lists_metadata_and_reports_broken_files(
    run: Callable[..., tuple[int, str, str]], plugin_dir: Path
) -> None:
    code, out, err = run("plugins", "--plugin-dir", str(plugin_dir))
    assert code == 1  # a plugin file was skipped
    assert out.splitlines()[0].split() == ["NAME", "VERSION", "AUTHOR", "TYPE", "ORIGIN"]
    assert "Numbers (test plugin)  1.2.3    Test Author  etl_numbers  plugin directory" in out
    assert f"{plugin_dir / 'broken_plugin.py'}: SyntaxError" in err

    code, out, _ = run("plugins", "--json", "--plugin-dir", str(plugin_dir))
    report = json.loads(out)
    [plugin] = report["plugins"]
    assert (plugin["version"], plugin["author"], plugin["origin"]) == (
        "1.2.3",
        "Test Author",
        "plugin directory",
    )
    assert report["errors"][0]["path"].endswith("broken_plugin.py")


def test_plugins_without_third_party_connectors(run: Callable[..., tuple[int, str, str]]) -> None:
    code, out, _ = run("plugins")
    assert code == 0
    assert out.splitlines()[-1] == "(none)"


def test_test_command_exit_codes(
    run: Callable[..., tuple[int, str, str]], sqlite_conn_id: str, airflow_connection: Callable[..., str]
) -> None:
    code, out, _ = run("test", sqlite_conn_id)
    assert code == 0 and out.startswith("OK: Connected to")

    broken = airflow_connection("sqlite", host="/nonexistent/dir/x.db")
    code, out, _ = run("test", broken, "--json")
    assert code == 1
    assert json.loads(out) | {"message": ""} == {
        "conn_id": broken,
        "conn_type": "sqlite",
        "ok": False,
        "message": "",
    }


def test_user_mistakes_are_usage_errors_without_traceback(
    run: Callable[..., tuple[int, str, str]], airflow_connection: Callable[..., str], plugin_dir: Path
) -> None:
    code, _, err = run("test", "no_such_connection")
    assert code == 2
    assert "connection 'no_such_connection' is not defined" in err and "AIRFLOW_CONN_NO_SUCH_CONNECTION" in err

    unknown = airflow_connection("zork", host="x")
    code, _, err = run("schema", unknown)
    assert code == 2 and "No connector is registered for connection type 'zork'. Known types:" in err

    invalid = airflow_connection("etl_numbers", extra={"count": -1})
    code, _, err = run("preview", invalid, "numbers", "--plugin-dir", str(plugin_dir))
    assert code == 2 and f"Connection {invalid!r}, field 'count'" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["preview", "x", "t", "--limit", "0"], "must be at least 1"), (["load-it-all"], "invalid choice")],
)
def test_parser_rejects_bad_usage(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_schema_shows_columns_and_constraints(run: Callable[..., tuple[int, str, str]], people_conn_id: str) -> None:
    code, out, _ = run("schema", people_conn_id, "--table", "people")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "people (table)"
    assert lines[1].split() == ["COLUMN", "TYPE", "NULLABLE", "DEFAULT", "CONSTRAINTS"]
    assert lines[3].split() == ["id", "INTEGER", "yes", "PK"]
    assert lines[4].split() == ["name", "TEXT", "no"]
    assert "FK -> teams(id)" in out and "teams (table)" not in out

    code, out, _ = run("schema", people_conn_id, "--json")
    assert sorted(t["name"] for t in json.loads(out)["tables"]) == ["people", "teams"]


def test_schema_shows_partitions_generated_and_identity_columns(
    run: Callable[..., tuple[int, str, str]], postgres_database: Any, postgres_conn_id: str
) -> None:
    import psycopg

    db = postgres_database
    with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE payment (id int GENERATED ALWAYS AS IDENTITY, d date NOT NULL, amount numeric(5,2), "
            "doubled numeric GENERATED ALWAYS AS (amount * 2) STORED) PARTITION BY RANGE (d)"
        )
        conn.execute("CREATE TABLE payment_rest PARTITION OF payment DEFAULT")
    code, out, _ = run("schema", postgres_conn_id)
    assert code == 0
    lines = out.splitlines()
    assert "payment (partitioned table by RANGE (d); partitions: payment_rest)" in lines
    assert "payment_rest (partition of payment: DEFAULT)" in lines
    assert "IDENTITY ALWAYS" in out and "GENERATED STORED AS ((amount * (2)::numeric))" in out


def test_preview_prints_rows_and_json(run: Callable[..., tuple[int, str, str]], people_conn_id: str) -> None:
    code, out, _ = run("preview", people_conn_id, "people", "--limit", "2")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["id", "name", "team"]
    assert [line.split()[:2] for line in lines[2:4]] == [["1", "ada"], ["2", "grace"]]
    assert lines[-1] == "(2 rows)"

    code, out, _ = run("preview", people_conn_id, "people", "--limit", "1", "--json")
    assert json.loads(out) == [{"id": 1, "name": "ada", "team": None}]


def test_failed_read_exits_1(run: Callable[..., tuple[int, str, str]], people_conn_id: str) -> None:
    code, _, err = run("preview", people_conn_id, "no_such_table")
    assert code == 1 and "airflow-etl: preview failed:" in err and "no_such_table" in err


def test_console_script_is_installed(sqlite_conn_id: str) -> None:
    script = Path(sys.executable).parent / "airflow-etl"
    done = subprocess.run(
        [str(script), "test", sqlite_conn_id, "--json"],
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True


def test_disabling_plugins_hides_them(
    run: Callable[..., tuple[int, str, str]], plugin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_ETL_DISABLE_PLUGINS", "true")
    code, out, _ = run("connectors", "--json", "--plugin-dir", str(plugin_dir))
    types = {c["conn_type"] for c in json.loads(out)}
    assert code == 0 and "sqlite" in types and "etl_numbers" not in types


def _cli_json(*argv: str) -> tuple[Any, str]:
    """Run the installed `airflow-etl` in a subprocess: (stdout parsed as JSON, stderr)."""
    script = Path(sys.executable).parent / "airflow-etl"
    done = subprocess.run([str(script), *argv, "--json"], capture_output=True, text=True, env=os.environ, timeout=120)
    assert done.returncode == 0, done.stderr
    try:
        return json.loads(done.stdout), done.stderr
    except json.JSONDecodeError as error:
        raise AssertionError(f"stdout is not only JSON ({error}):\n{done.stdout}") from None


def test_json_stdout_holds_only_json_for_mysql(mysql_conn_id: str) -> None:
    result, logs = _cli_json("test", mysql_conn_id)
    assert result["ok"] is True
    assert "mysql.connector" in logs  # the driver's log lines are kept, on stderr


def test_json_stdout_holds_only_json_for_aws(aws_conn_id: str) -> None:
    result, logs = _cli_json("test", aws_conn_id)
    assert result["conn_type"] == "aws" and result["ok"] is True
    assert "credentials retrieved from login and password" in logs


def test_json_stdout_holds_only_json_for_rest(httpserver: HTTPServer, airflow_connection: Callable[..., str]) -> None:
    httpserver.expect_request("/items").respond_with_json([{"id": 1, "name": "ada"}, {"id": 2, "name": "grace"}])
    conn_id = airflow_connection("rest_api", host=httpserver.url_for("/"))
    rows = [{"id": 1, "name": "ada"}, {"id": 2, "name": "grace"}]
    result, logs = _cli_json("preview", conn_id, "items", "--limit", "5")
    assert result == rows
    assert "Read 2 records in 1 pages" in logs


@pytest.fixture
def seed_plugin_dir(tmp_path: Path) -> Iterator[Path]:
    """The numbers plugin beside a seed-style plugin file; both forgotten afterwards."""
    directory = tmp_path / "seed_plugins"
    directory.mkdir()
    shutil.copy(NUMBERS_PLUGIN, directory)
    shutil.copy(SEED_PLUGIN, directory)
    yield directory
    for conn_type, module in (("etl_numbers", "numbers_plugin"), ("legacy_crm", "legacy_crm_plugin")):
        registry.unregister(conn_type)
        sys.modules.pop(module, None)


def test_load_plugins_prints_the_seed_summary(run: Callable[..., tuple[int, str, str]], seed_plugin_dir: Path) -> None:
    code, out, err = run("load-plugins", "--plugin-dir", str(seed_plugin_dir))
    assert code == 0, err
    assert out.splitlines() == ["Loaded 2 plugins:", "- legacy_crm v2.1.0", "- Numbers (test plugin) v1.2.3"]

    code, out, _ = run("load_plugins", "--plugin-dir", str(seed_plugin_dir), "--json")
    report = json.loads(out)
    assert [(p["conn_type"], p["version"]) for p in report["plugins"]] == [
        ("legacy_crm", "2.1.0"),
        ("etl_numbers", "1.2.3"),
    ]
    assert report["errors"] == []


def test_load_plugins_reports_an_unported_seed_file(run: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    (tmp_path / "old_sales.py").write_text(
        "class SalesforcePlugin:\n    PLUGIN_NAME = 'salesforce'\n\n    def create_connector(self, config):\n"
        "        return None\n"
    )
    try:
        code, out, err = run("load-plugins", "--plugin-dir", str(tmp_path))
    finally:
        sys.modules.pop("old_sales", None)
    assert code == 1
    assert out.splitlines() == ["Loaded 0 plugins:"]
    assert "old_sales.py: SalesforcePlugin looks like a seed-style plugin" in err
    assert "airflow_etl_provider.sdk.compat.ConnectorPlugin" in err


def test_options_lists_what_extract_and_load_accept(run: Callable[..., tuple[int, str, str]], plugin_dir: Path) -> None:
    code, out, _ = run("options", "postgres")
    header, _, *rows = out.splitlines()
    assert code == 0 and header.split() == ["OPERATION", "OPTION", "WHAT", "IT", "DOES"]
    assert [row.split()[:2] for row in rows] == [
        ["extract", "parameters"],
        ["extract", "snapshot"],
        ["load", "decimal_rounding"],
        ["load", "timestamp_truncation"],
    ]

    code, out, _ = run("options", "aws", "--json")
    declared = json.loads(out)
    assert declared["extract"]["delimiter"] == "option of the csv format" and "file_name_column" in declared["extract"]
    assert "part_size_mb" in declared["load"] and "part_size_mb" not in declared["extract"]

    code, out, _ = run("options", "etl_numbers", "--json", "--plugin-dir", str(plugin_dir))
    assert code == 0 and json.loads(out) == {"conn_type": "etl_numbers", "extract": {}}  # it does not load

    code, _, err = run("options", "zork")
    assert code == 2 and "Known types:" in err
