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


class Shots:
    """Numbered screenshots of one test, in the order the pages were seen."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)

    def __call__(self, page: Any, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower())}.png"
        page.screenshot(path=str(path), full_page=True)
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
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

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


@pytest.fixture(scope="module")
def mandat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MandatServer]:
    """The demo served as ``make run`` serves it, on SQLite or on a fresh PostgreSQL database."""
    data_dir = tmp_path_factory.mktemp("mandat-data")
    log = data_dir / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MANDAT_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        MANDAT_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="mandat.settings.base",
        MANDAT_DEBUG="0",
        MANDAT_ALLOWED_HOSTS="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    cluster = os.environ.get("DATABASE_URL", "")
    database = ""
    if cluster:
        import psycopg
        from psycopg import sql

        database = f"mandat_browser_{secrets.token_hex(6)}"
        with psycopg.connect(cluster, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        env["DATABASE_URL"] = _with_database(cluster, database)
    server = MandatServer(base_url="", log=log, database=database or "sqlite")
    try:
        _run(["migrate", "--noinput", "-v0"], env, log)
        _run(["seed", "--demo"], env, log)
        _run(["collectstatic", "--noinput", "-v0"], env, log)
        server.process, server.base_url, vendor = _serve(env, log)
        expected = "postgresql" if cluster else "sqlite"
        assert vendor == expected, f"the server runs on {vendor}, not {expected}"
        yield server
    finally:
        if server.process is not None:
            _stop(server.process)
        if database:
            import psycopg
            from psycopg import sql

            with psycopg.connect(cluster, autocommit=True) as connection:
                connection.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(database)
                    )
                )


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
                        shots(page, f"failure-{name}")
                    except Exception:  # noqa: S110 - best effort
                        pass
        server = funcargs.get("mandat_server")
        if isinstance(server, MandatServer):
            report.sections.append(("mandat server log (tail)", server.log_tail()))
    return report
