"""Our connection forms in Airflow's real UI: headless Chromium against `airflow api-server`.

For every connection type whose form we own, and for the example plugins-folder connector,
the test opens Add Connection, checks the extra fields (declared order, only required ones
marked required), fills what a person would fill, saves, presses the list's Test button
and reads the message the UI shows. Every target is on loopback.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from airflow_etl_provider.hooks.base import ConnectorHook
from airflow_etl_provider.hooks.registry import registry
from tests.airflow_cli import REPO, AirflowCli
from tests.conftest import Database

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the dev extra")
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = [pytest.mark.airflow_cli, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--window-size=1400,2400",
)
WAIT_SECONDS = 30
SALESFORCE_API = "/services/data/v62.0"
PLUGINS = REPO / "plugins"


@pytest.fixture(scope="session")
def airflow_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One api-server for the session: all users admins, the Test button enabled."""
    home = tmp_path_factory.mktemp("airflow_ui_home")
    cli = AirflowCli(home, connections={}, env={"AIRFLOW__CORE__TEST_CONNECTION": "Enabled"})
    with cli.api_server() as base_url:
        yield base_url


@pytest.fixture(scope="session")
def browser() -> Iterator[WebDriver]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: run scripts/services.sh (installs chromium and chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in CHROMIUM_ARGS:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


class ConnectionsPage:
    """The Admin > Connections page, driven the way a person uses it."""

    def __init__(self, driver: WebDriver, base_url: str):
        self.driver = driver
        self.base_url = base_url

    def wait(self, condition: Callable[[WebDriver], Any], what: str) -> Any:
        try:
            return WebDriverWait(self.driver, WAIT_SECONDS).until(condition)
        except TimeoutException:
            raise AssertionError(f"timed out waiting for {what}") from None

    def open(self) -> None:
        self.driver.get(f"{self.base_url}/connections")
        self.wait(lambda d: d.find_elements(By.XPATH, "//button[normalize-space()='Add Connection']"), "the list")

    def add(self, hook_name: str) -> WebElement:
        """Open Add Connection and choose the type by its name; returns the dialog."""
        self.open()
        self.driver.find_element(By.XPATH, "//button[normalize-space()='Add Connection']").click()
        dialog = self.wait(lambda d: d.find_element(By.CSS_SELECTOR, "[role=dialog]"), "the Add Connection dialog")
        combobox = dialog.find_element(By.CSS_SELECTOR, "input[role=combobox]")
        combobox.send_keys(hook_name)
        option = self.wait(
            lambda d: d.find_element(By.XPATH, f"//*[@role='option'][normalize-space()={_xpath_literal(hook_name)}]"),
            f"the type {hook_name!r} in the dropdown",
        )
        option.click()
        section = ".//button[.//*[normalize-space()={}]]"
        self.wait(lambda d: dialog.find_elements(By.XPATH, section.format("'Extra Fields JSON'")), "the form")
        for trigger in dialog.find_elements(By.XPATH, section.format("'Extra Fields'")):
            if trigger.get_attribute("aria-expanded") != "true":
                trigger.click()
        return dialog

    @staticmethod
    def extra_field_names(dialog: WebElement) -> list[str]:
        """The extra fields in the order the form shows them (each widget is `element_<name>`)."""
        xpath = ".//*[starts-with(@name, 'element_') or starts-with(@id, 'element_')]"
        names = [e.get_attribute("name") or e.get_attribute("id") or "" for e in dialog.find_elements(By.XPATH, xpath)]
        return list(dict.fromkeys(n.removeprefix("element_") for n in names))

    @staticmethod
    def required_extra_fields(dialog: WebElement) -> set[str]:
        """Extra fields whose label carries the required mark."""
        required = set()
        for root in dialog.find_elements(By.XPATH, ".//*[@data-part='root'][.//label[@data-required]]"):
            widgets = root.find_elements(
                By.XPATH, ".//*[starts-with(@name, 'element_') or starts-with(@id, 'element_')]"
            )
            if widgets:
                required.add((widgets[0].get_attribute("name") or widgets[0].get_attribute("id") or "")[8:])
        return required

    @staticmethod
    def fill(dialog: WebElement, name: str, value: str) -> None:
        element = dialog.find_element(By.NAME, name)
        if not element.is_displayed():  # its accordion section is closed: open it
            section = element.find_element(By.XPATH, "./ancestor::*[@data-part='item'][1]")
            section.find_element(By.CSS_SELECTOR, "button[data-part=item-trigger]").click()
            WebDriverWait(dialog.parent, WAIT_SECONDS).until(lambda d: element.is_displayed())
        for _ in range(3):  # a re-render can swallow a keystroke: type until the value is right
            element.send_keys(Keys.CONTROL, "a")
            element.send_keys(Keys.DELETE)
            for char in value:  # one key at a time, as a person types
                element.send_keys(char)
                time.sleep(0.01)
            if element.get_attribute("value") == value:
                break
        assert element.get_attribute("value") == value, f"could not type {name!r}"
        element.send_keys(Keys.TAB)

    def save(self, dialog: WebElement, conn_id: str) -> None:
        save = dialog.find_element(By.XPATH, ".//button[normalize-space()='Save']")
        self.wait(lambda d: save.is_enabled(), f"Save to be enabled for {conn_id!r}")
        save.click()
        self.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, "[role=dialog]"), "the dialog to close")
        self.row(conn_id)

    def row(self, conn_id: str) -> WebElement:
        return self.wait(
            lambda d: d.find_element(By.XPATH, f"//tbody/tr[td[normalize-space()={_xpath_literal(conn_id)}]]"),
            f"the row of {conn_id!r}",
        )

    def test(self, conn_id: str) -> str:
        """Press the row's Test button; the title and message of the toast the UI shows."""
        self.open()
        self.row(conn_id).find_element(By.CSS_SELECTOR, "button[aria-label='Test Connection']").click()
        toast = self.wait(
            lambda d: next(
                (t for t in d.find_elements(By.CSS_SELECTOR, "[data-scope=toast][data-part=root]") if t.text.strip()),
                None,
            ),
            f"the test result of {conn_id!r}",
        )
        time.sleep(0.3)  # the message renders just after the title
        return " ".join(toast.text.split())


def _xpath_literal(text: str) -> str:
    return f"'{text}'" if "'" not in text else f'"{text}"'


@dataclass
class Case:
    """One connection a person adds through the form."""

    hook_name: str
    conn_type: str
    standard: dict[str, str]
    extra: dict[str, str] = field(default_factory=dict)
    expect_in_message: tuple[str, ...] = ()


@pytest.fixture
def page(airflow_ui: str, browser: WebDriver) -> ConnectionsPage:
    return ConnectionsPage(browser, airflow_ui)


def _check_form(page: ConnectionsPage, dialog: WebElement, case: Case, declared: list[str], required: set[str]) -> None:
    shown = page.extra_field_names(dialog)
    assert shown == declared, f"{case.conn_type}: the form's field order differs from the schema's"
    assert page.required_extra_fields(dialog) == required, f"{case.conn_type}: wrong fields marked required"


def _add_save_and_test(page: ConnectionsPage, case: Case, declared: list[str], required: set[str]) -> str:
    conn_id = f"ui_{case.conn_type}_{uuid.uuid4().hex[:6]}"
    dialog = page.add(case.hook_name)
    _check_form(page, dialog, case, declared, required)
    page.fill(dialog, "connection_id", conn_id)
    for name, value in case.standard.items():
        page.fill(dialog, name, value)
    for name, value in case.extra.items():
        page.fill(dialog, f"element_{name}", value)
    page.save(dialog, conn_id)
    message = page.test(conn_id)
    assert message.startswith("Test Connection Successful"), f"{case.conn_type}: {message}"
    for expected in case.expect_in_message:
        assert expected in message, f"{case.conn_type}: {message}"
    return message


def _declared(conn_type: str | type[ConnectorHook]) -> tuple[list[str], set[str]]:
    """The connector's extra fields in schema order, and the ones its schema requires."""
    cls = registry.connector_class(conn_type) if isinstance(conn_type, str) else conn_type
    schema = cls.full_config_schema()
    return list(schema["properties"]), set(schema.get("required", ()))


def test_sqlite_form_saves_with_only_the_file_and_passes_test(page: ConnectionsPage, tmp_path: Path) -> None:
    database = tmp_path / "warehouse.db"
    sqlite3.connect(database).execute("CREATE TABLE t (x INTEGER)").connection.close()
    case = Case("SQLite (ETL)", "sqlite", {"host": str(database)}, expect_in_message=(str(database), "1 tables"))
    _add_save_and_test(page, case, *_declared("sqlite"))


def test_filesystem_form_saves_and_passes_test(page: ConnectionsPage, tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text("id\n1\n")
    case = Case("Local files (ETL)", "filesystem", {}, {"base_path": str(tmp_path)}, (str(tmp_path),))
    declared, required = _declared("filesystem")
    assert required == {"base_path"}
    _add_save_and_test(page, case, declared, required)


def test_mysql_form_saves_without_optional_tls_fields_and_passes_test(
    page: ConnectionsPage, mysql_database: Database
) -> None:
    db = mysql_database
    standard = {"host": db.host, "port": str(db.port), "login": db.user, "schema": db.name}
    case = Case("MySQL (ETL)", "mysql", standard, expect_in_message=(db.name,))
    _add_save_and_test(page, case, *_declared("mysql"))


def test_rest_form_saves_and_its_test_calls_the_health_endpoint(page: ConnectionsPage, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/health", method="GET").respond_with_json({"ok": True})
    base_url = httpserver.url_for("/v1")
    case = Case("REST API", "rest_api", {"host": base_url}, {"health_check_endpoint": "/health"}, ("HTTP 200",))
    _add_save_and_test(page, case, *_declared("rest_api"))
    assert [r.path for r, _ in httpserver.log] == ["/v1/health"]


def test_plugins_folder_connector_has_a_form_that_saves_and_passes_test(
    page: ConnectionsPage, httpserver: HTTPServer, salesforce_connector: type[ConnectorHook]
) -> None:
    """The example Salesforce connector lives in the plugins folder, not in a package."""
    token = "00DTEST!AQ0AQbrowsertoken"
    httpserver.expect_request("/services/oauth2/token", method="POST").respond_with_json(
        {"access_token": token, "token_type": "Bearer", "instance_url": httpserver.url_for("")}
    )
    httpserver.expect_request(
        f"{SALESFORCE_API}/limits", method="GET", headers={"Authorization": f"Bearer {token}"}
    ).respond_with_json({"DailyApiRequests": {"Max": 15000, "Remaining": 14999}})
    case = Case(
        "Salesforce",
        "salesforce",
        {"host": httpserver.url_for("").rstrip("/"), "login": "browser-client", "password": "browser-secret"},
        expect_in_message=("HTTP 200",),
    )
    _add_save_and_test(page, case, *_declared(salesforce_connector))
    paths = [r.path for r, _ in httpserver.log]
    assert paths == ["/services/oauth2/token", f"{SALESFORCE_API}/limits"], paths
    token_form = httpserver.log[0][0].form
    assert token_form["client_id"] == "browser-client" and token_form["grant_type"] == "client_credentials"


def test_official_provider_forms_are_listed(page: ConnectionsPage) -> None:
    """postgres, aws and http forms belong to their official providers; ours must not hide them."""
    for hook_name in ("Postgres", "Amazon Web Services", "HTTP"):
        dialog = page.add(hook_name)
        assert dialog.find_elements(By.XPATH, ".//*[normalize-space()='Extra Fields JSON']"), hook_name


def test_official_postgres_form_saves_a_connection_our_connector_uses_and_passes_test(
    page: ConnectionsPage, postgres_database: Database
) -> None:
    """The postgres form is the official provider's (its extra fields, none of ours); Test passes."""
    db = postgres_database
    conn_id = f"ui_postgres_{uuid.uuid4().hex[:6]}"
    dialog = page.add("Postgres")
    page.fill(dialog, "connection_id", conn_id)
    for name, value in {"host": db.host, "port": str(db.port), "login": db.user, "schema": db.name}.items():
        page.fill(dialog, name, value)
    page.save(dialog, conn_id)
    message = page.test(conn_id)
    assert message.startswith("Test Connection Successful"), message


def test_a_failing_test_names_the_users_connection_not_airflows_temporary_one(
    page: ConnectionsPage, tmp_path: Path
) -> None:
    conn_id = f"ui_broken_sqlite_{uuid.uuid4().hex[:6]}"
    dialog = page.add("SQLite (ETL)")
    page.fill(dialog, "connection_id", conn_id)
    page.fill(dialog, "host", str(tmp_path / "no_such_folder" / "w.db"))
    page.save(dialog, conn_id)
    message = page.test(conn_id)
    assert message.startswith("Test Connection Failed"), message
    assert f"connection {conn_id!r}" in message and "no_such_folder" in message, message
