"""Browser tests: Playwright drives Debian's Chromium against mandat's real server.

The ``mandat_server`` fixture serves the demo the way ``make run`` does (migrate,
``seed --demo``, collectstatic, ``mandat serve`` with gunicorn), in a throwaway data
folder and, when the session runs on PostgreSQL, in a throwaway database of the same
cluster. Screenshots of every page visited are saved under ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

CHROMIUM = os.environ.get("MANDAT_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
#: The ``mandat`` console script of the interpreter running the tests (``.venv/bin/mandat``).
MANDAT = Path(sys.executable).with_name("mandat")
#: Seconds the server gets to answer its health check, and each set-up command to finish.
START_TIMEOUT = 90
COMMAND_TIMEOUT = 300

# Playwright's sync API runs an event loop in the test thread; the ORM calls the
# tests make around it are synchronous on purpose.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/system-packages.sh")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield instance
        instance.close()


#: axe-core checks what the templates render, which does not depend on the database: it runs
#: in the SQLite pass of ``make test`` (as ``make run`` serves) and not again in the PostgreSQL
#: pass, which keeps the suite within its time budget. MANDAT_BROWSER_AXE=1 forces it anywhere.
AXE_IN_THIS_PASS = os.environ.get("MANDAT_BROWSER_AXE") == "1" or not os.environ.get(
    "DATABASE_URL", ""
).startswith("postgres")

#: The axe-core rules of WCAG 2.1 levels A and AA (axe's own tag names).
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """The WCAG 2.1 AA violations axe-core finds on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]}
    results = Axe().run(page, options=options)
    return list(results.response["violations"])


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {' '.join(node['target'])}: {node.get('failureSummary', '')}")
    return "\n".join(lines)


class Shots:
    """Numbered screenshots of one test, in the order the pages were seen.

    Every page screenshotted is first checked with axe-core: a WCAG 2.1 AA
    violation fails the test, naming the page, the rule and the elements.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        self.checked: list[str] = []
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)

    def __call__(self, page: Any, name: str, *, axe: bool = True) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower())}.png"
        page.screenshot(path=str(path), full_page=True)
        if axe and AXE_IN_THIS_PASS:
            violations = axe_violations(page)
            assert not violations, (
                f"axe-core finds WCAG 2.1 AA violations on {name!r} ({page.url}):\n"
                + describe_violations(violations)
            )
            self.checked.append(page.url)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(ARTIFACTS / re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name))


def new_page(browser: Any, *, language: str = "fr", base_url: str | None = None) -> Any:
    context = browser.new_context(
        locale=language,
        viewport={"width": 1100, "height": 900},
        base_url=base_url,
        accept_downloads=True,
    )
    context.set_default_timeout(30_000)
    context.set_default_navigation_timeout(60_000)
    return context.new_page()


# The real server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@dataclass
class MandatServer:
    """A running ``mandat serve``: where it answers and where it logs."""

    base_url: str
    log: Path
    database: str
    env: dict[str, str] = field(default_factory=dict, repr=False)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def manage(self, *command: str) -> str:
        """Run a ``mandat`` command against the server's database; its output.

        For tests that need a state no page creates yet, e.g.
        ``server.manage("shell", "-c", "...")``.
        """
        result = subprocess.run(
            [str(MANDAT), *command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"mandat {command[0]} failed:\n{output}"
        return result.stdout

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _run(command: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        out.write(f"$ mandat {' '.join(command)}\n".encode())
        out.flush()
        result = subprocess.run(
            [str(MANDAT), *command],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        pytest.fail(f"`mandat {' '.join(command)}` failed ({result.returncode}):\n{tail}")


def _health(base_url: str) -> dict[str, Any] | None:
    """What ``GET /api/v1/health`` answers, or None while the server does not answer."""
    try:
        with urllib.request.urlopen(f"{base_url}/api/v1/health", timeout=5) as answer:  # noqa: S310 - our own http://127.0.0.1 server
            return dict(json.load(answer)) if answer.status == 200 else None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to gunicorn's master (it stops its workers); SIGKILL to its group if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: only what it started
        process.wait(timeout=10)


def _serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    """Start ``mandat serve`` on a free port; try another port if that one was taken."""
    for _attempt in range(3):
        port = _free_port()
        base_url = f"http://127.0.0.1:{port}"
        with log.open("ab") as out:
            process = subprocess.Popen(
                [str(MANDAT), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        try:
            while time.monotonic() < deadline and process.poll() is None:
                health = _health(base_url)
                if health is not None:
                    return process, base_url, str(health.get("database"))
                time.sleep(0.2)
        except BaseException:
            _stop(process)
            raise
        _stop(process)
        if "Address already in use" not in log.read_text(errors="replace"):
            break
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    pytest.fail(f"mandat serve did not answer /api/v1/health:\n{tail}")


def _server_env(data_dir: Path, database_url: str = "") -> dict[str, str]:
    """The environment ``make run`` gives the server: no test settings, no DEBUG."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MANDAT_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        MANDAT_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="mandat.settings.base",
        MANDAT_DEBUG="0",
        MANDAT_ALLOWED_HOSTS="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def _postgres(cluster: str, statement: str, *names: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(cluster, autocommit=True) as connection:
        connection.execute(sql.SQL(statement).format(*(sql.Identifier(n) for n in names)))


@dataclass
class DemoTemplate:
    """The demo world as ``make run`` prepares it, made once per test process."""

    data_dir: Path
    cluster: str = ""
    database: str = ""


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoTemplate]:
    """Migrate, ``seed --demo`` and collectstatic once; every server starts from a copy.

    On SQLite the copy is the data folder (database, seal, static files); on
    PostgreSQL it is ``CREATE DATABASE ... TEMPLATE``, so each test module still
    gets a database of its own, as fresh as ``make run`` makes it.
    """
    data_dir = tmp_path_factory.mktemp("mandat-template")
    log = tmp_path_factory.mktemp("mandat-template-log") / "setup.log"
    cluster = os.environ.get("DATABASE_URL", "")
    template = DemoTemplate(data_dir=data_dir, cluster=cluster)
    if cluster:
        template.database = f"mandat_template_{secrets.token_hex(6)}"
        _postgres(cluster, "CREATE DATABASE {}", template.database)
    env = _server_env(data_dir, _with_database(cluster, template.database) if cluster else "")
    try:
        _run(["migrate", "--noinput", "-v0"], env, log)
        _run(["seed", "--demo"], env, log)
        _run(["collectstatic", "--noinput", "-v0"], env, log)
        yield template
    finally:
        if template.database:
            _postgres(cluster, "DROP DATABASE IF EXISTS {} WITH (FORCE)", template.database)


@pytest.fixture(scope="module")
def mandat_server(
    demo_template: DemoTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MandatServer]:
    """The demo served as ``make run`` serves it, on SQLite or on a fresh PostgreSQL database."""
    data_dir = tmp_path_factory.mktemp("mandat-data")
    shutil.copytree(demo_template.data_dir, data_dir, dirs_exist_ok=True)
    log = data_dir / "server.log"
    cluster = demo_template.cluster
    database = ""
    if cluster:
        database = f"mandat_browser_{secrets.token_hex(6)}"
        _postgres(cluster, "CREATE DATABASE {} TEMPLATE {}", database, demo_template.database)
    env = _server_env(data_dir, _with_database(cluster, database) if cluster else "")
    server = MandatServer(base_url="", log=log, database=database or "sqlite", env=env)
    try:
        server.process, server.base_url, vendor = _serve(env, log)
        expected = "postgresql" if cluster else "sqlite"
        assert vendor == expected, f"the server runs on {vendor}, not {expected}"
        yield server
    finally:
        if server.process is not None:
            _stop(server.process)
        if database:
            _postgres(cluster, "DROP DATABASE IF EXISTS {} WITH (FORCE)", database)


# People in the browser


class People:
    """One browser context per person, in English, all against the same server."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.pages: dict[str, Any] = {}

    def __call__(self, name: str) -> Any:
        if name not in self.pages:
            self.pages[name] = new_page(self.browser, language="en", base_url=self.base_url)
        return self.pages[name]

    def state(self) -> str:
        """Where each person's page stands, and what it says: printed when a test fails."""
        parts = []
        for name, page in self.pages.items():
            try:
                text = page.locator("body").inner_text(timeout=5_000)
            except Exception as error:  # a report must not fail the report
                text = f"(no text: {error})"
            parts.append(f"--- {name}: {page.url}\n{text[:3000]}")
        return "\n".join(parts)

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()
        self.pages.clear()


@pytest.fixture
def people(browser: Any, mandat_server: MandatServer) -> Iterator[People]:
    crowd = People(browser, mandat_server.base_url)
    yield crowd
    crowd.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On failure, add each person's last page (address and text) and the server's log."""
    report = yield
    if report.when == "call" and report.failed:
        funcargs = getattr(item, "funcargs", {})
        crowd = funcargs.get("people")
        if isinstance(crowd, People) and crowd.pages:
            report.sections.append(("browser pages at failure", crowd.state()))
            shots = funcargs.get("shots")
            if isinstance(shots, Shots):
                for name, page in crowd.pages.items():
                    try:
                        shots(page, f"failure-{name}", axe=False)
                    except Exception:  # noqa: S110 - best effort
                        pass
        server = funcargs.get("mandat_server")
        if isinstance(server, MandatServer):
            report.sections.append(("mandat server log (tail)", server.log_tail()))
    return report


# Moving between pages


def navigate(page: Any, action: Any, url: str) -> None:
    """Do what loads a new page (even at the same address), and wait until it has loaded.

    It waits for the navigation itself. Polling a page variable instead
    (``wait_for_function``) evaluates a string in the page, which the pages' CSP, with no
    'unsafe-eval', refused now and then once the new page had loaded.
    """
    with page.expect_navigation(url=re.compile(url), wait_until="load"):
        action()


# Logging in


#: The last TOTP period each demo user logged in with: the server accepts a code only once.
_USED_PERIODS: dict[str, int] = {}
TOTP_PERIOD = 30


def totp_code(who: str) -> str:
    """The demo user's authenticator code now (RFC 6238 from ``DEMO_TOTP_SECRET``), waiting
    for the next period when this user already logged in with the current one."""
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    from mandat.demo import DEMO_TOTP_SECRET

    period = int(time.time()) // TOTP_PERIOD
    # A user whose code is still fresh in the server's memory waits for the next period.
    while period <= _USED_PERIODS.get(who, -1):
        time.sleep((period + 1) * TOTP_PERIOD - time.time() + 0.05)
        period = int(time.time()) // TOTP_PERIOD
    _USED_PERIODS[who] = period
    return format_hotp_value(hotp_value(DEMO_TOTP_SECRET, period))


def log_in(page: Any, who: str, *, shots: Any = None, keyboard: bool = False) -> None:
    """Log a demo user in the way a person does: username, password, then the code of their
    authenticator app (the demo's second factor), which gives the session the level
    "substantial". With ``shots`` both pages are screenshotted and checked with axe; with
    ``keyboard`` the fields are reached with Tab and the forms sent with Enter."""
    from mandat.demo import DEMO_PASSWORD

    if not page.url.endswith("/login/"):
        page.goto("/login/")
    _type(page, page.get_by_label("Username"), who, keyboard=keyboard)
    _type(page, page.get_by_label("Password"), DEMO_PASSWORD, keyboard=keyboard)
    if shots is not None:
        shots(page, f"{who} login")
    _send(page, page.get_by_role("button", name="Log in", exact=True), keyboard=keyboard)
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/$"))
    _type(page, page.get_by_label("Authentication code"), totp_code(who), keyboard=keyboard)
    if shots is not None:
        shots(page, f"{who} second factor")
    _send(page, page.get_by_role("button", name="Continue", exact=True), keyboard=keyboard)
    page.wait_for_url(lambda url: "/accounts/2fa/" not in url and "/login/" not in url)
    page.get_by_role("button", name="Log out").wait_for()


def _type(page: Any, field: Any, text: str, *, keyboard: bool) -> None:
    if not keyboard:
        field.fill(text)
        return
    for _ in range(40):
        if field.evaluate("f => f === document.activeElement"):
            break
        page.keyboard.press("Tab")
    else:
        raise AssertionError("the field never took the focus")
    page.keyboard.type(text)


def _send(page: Any, button: Any, *, keyboard: bool) -> None:
    if keyboard:
        page.keyboard.press("Enter")  # submits the form from its last field
    else:
        button.click()
