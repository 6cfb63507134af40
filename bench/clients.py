"""The client list of a firm with 5,000 clients, served for real and measured with wrk.

    .venv/bin/python bench/clients.py [--seconds 10] [--connections 1] [--inproc-runs 20]

Serves the demo the way ``make run`` does (migrate, ``seed --demo``, collectstatic,
``mandat serve`` with gunicorn) on SQLite in a temporary MANDAT_DATA_DIR (or, when
``DATABASE_URL`` is set, as under ``scripts/with-postgres.sh``, in a fresh PostgreSQL
database of that cluster), on a free port. It logs in as ``fiduciary`` (Fiduciaire
Grand-Duché: 5,000 client employers, 16,667 active obtained mandates) through
``POST /login/`` with its CSRF token, then:

1. **wrk** (``bench/clients.lua``) spreads GET requests over client-list URLs (search by
   name and by number, filters by domain and level, later pages, sorts) and reports
   p50 / p95 / p99 latency as the client sees it (loopback, gunicorn, Django, SQLite);
2. the **peers**, measured by wrk in the same run with the same session cookie and
   settings: ``/api/v1/health`` (the stack's floor: a request that does almost
   nothing) and the home page (``/``, an ordinary signed-in page); the ratio says what
   the client list costs beyond them;
3. the **server-side time**: the same URLs through Django's test client in this
   process, on the same database (no network, no gunicorn), p50 / p95 per URL, as
   wall time and as CPU time (on a shared machine the wall time also counts the
   waits for a free core; the CPU time is the work the request itself costs).

The goal is 100 ms server-side for search, filter and page.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MANDAT = Path(sys.executable).with_name("mandat")
LUA = HERE / "clients.lua"
GOAL_MS = 100.0
#: The client-list URLs, relative to the space's list; wrk takes them in turn.
QUERIES = [
    "",
    "?q=garage",
    "?q=platrerie",
    "?q=HÔTEL+weber",
    "?q=19900012",
    "?q=199000045",
    "?domain=BILLING",
    "?domain=AFFILIATIONS&level=act",
    "?level=consult&sort=-since",
    "?page=2",
    "?page=37",
    "?page=100",
    "?sort=-name&page=12",
    "?sort=number&page=55",
    "?sort=-number",
    "?q=schmit&domain=BILLING&level=consult&sort=-name",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(data_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MANDAT_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        MANDAT_DATA_DIR=data_dir,
        DJANGO_SETTINGS_MODULE="mandat.settings.base",
        MANDAT_DEBUG="0",
        MANDAT_ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        MANDAT_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def _mandat(args: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        subprocess.run(
            [str(MANDAT), *args], env=env, stdout=out, stderr=subprocess.STDOUT, check=True
        )


def _serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(MANDAT), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{base}/api/v1/health", timeout=5) as answer:  # noqa: S310 - our own server
                if answer.status == 200:
                    return process, base
        except OSError:
            time.sleep(0.2)
    _stop(process)
    raise SystemExit(f"mandat serve did not start; see {log}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: only what it started
            process.wait(timeout=10)


def _login(base: str, username: str, password: str) -> tuple[str, int]:
    """The session cookie header of ``username`` and the id of its first space."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(f"{base}/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    if token is None:
        raise SystemExit("the login page has no CSRF token")
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token.group(1), "username": username, "password": password}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - our own http://127.0.0.1 server
        f"{base}/login/", data=data, headers={"Referer": f"{base}/login/"}
    )
    home = opener.open(request).read().decode()
    cookies = {cookie.name: cookie.value for cookie in jar}
    if "sessionid" not in cookies:
        raise SystemExit(f"{username} could not log in")
    space = re.search(r'href="/spaces/(\d+)/"', home)
    if space is None:
        raise SystemExit(f"{username} has no space")
    return "; ".join(f"{k}={v}" for k, v in cookies.items()), int(space.group(1))


def _wrk(
    base: str, paths: list[str], cookie: str, *, seconds: int, connections: int
) -> dict[str, Any]:
    command = [
        "wrk",
        f"-t{min(connections, 2)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-H",
        f"Cookie: {cookie}",
        "-H",
        "Accept-Language: en",
        "-s",
        str(LUA),
        base,
        "--",
        *paths,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRK_RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("WRK_RESULT "))
    result["per_second"] = result["requests"] / result["seconds"]
    return result


def _in_process(username: str, paths: list[str], runs: int) -> dict[str, dict[str, list[float]]]:
    """Server-side time: each path through Django's test client, ``runs`` times, in ms.

    Both the wall time and the CPU time of this thread are kept: on a busy machine
    the wall time also counts the waits for a core, the CPU time does not.
    """
    from django.test import Client

    from mandat.accounts.models import User

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(User.objects.get(username=username))
    times: dict[str, dict[str, list[float]]] = {}
    for path in paths:  # warm-up: templates, translations, statements
        assert client.get(path).status_code == 200, path
    for _ in range(runs):
        for path in paths:
            wall, cpu = time.perf_counter(), time.thread_time()
            response = client.get(path)
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
            assert response.status_code == 200, path
            slot = times.setdefault(path, {"wall": [], "cpu": []})
            slot["wall"].append(1000 * wall)
            slot["cpu"].append(1000 * cpu)
    return times


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--connections", type=int, default=1, help="wrk connections")
    parser.add_argument(
        "--inproc-runs", type=int, default=20, help="rounds of the in-process measure"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: scripts/system-packages.sh wrk (Debian package wrk)")
    data_dir = tempfile.mkdtemp(prefix="mandat-bench-clients-")
    log = Path(data_dir) / "server.log"
    cluster = os.environ.get("DATABASE_URL", "")
    env = _environment(data_dir)
    database = _create_database(cluster) if cluster else ""
    if database:
        env["DATABASE_URL"] = database
    os.environ.update(env)  # this process reads the same database (step 3)
    import django

    django.setup()
    from mandat.demo import DEMO_PASSWORD

    process = None
    try:
        print("Seeding the demo (5,000 clients) ...", flush=True)
        _mandat(["migrate", "--noinput", "-v0"], env, log)
        _mandat(["seed", "--demo"], env, log)
        _mandat(["collectstatic", "--noinput", "-v0"], env, log)
        process, base = _serve(env, log)
        cookie, space_id = _login(base, "fiduciary", DEMO_PASSWORD)
        paths = [f"/spaces/{space_id}/clients/{query}" for query in QUERIES]
        paths = [urllib.parse.quote(path, safe="/?=&+%") for path in paths]
        seconds, connections = options.seconds, options.connections
        print(
            f"wrk, {seconds} s each, {connections} connection(s), gunicorn with 2 workers",
            flush=True,
        )
        measured = {
            "client list": _wrk(base, paths, cookie, seconds=seconds, connections=connections),
            "peer: /api/v1/health": _wrk(
                base, ["/api/v1/health"], cookie, seconds=seconds, connections=connections
            ),
            "peer: home page /": _wrk(
                base, ["/"], cookie, seconds=seconds, connections=connections
            ),
        }
        _stop(process)
        process = None
        inproc = _in_process("fiduciary", paths, options.inproc_runs)
    finally:
        if process is not None:
            _stop(process)
        if database:
            from django.db import connections

            connections.close_all()
            _drop_database(cluster, database)
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"\nDatabase: {'PostgreSQL' if database else 'SQLite (WAL)'}")
    _report(measured, inproc, options)


def _create_database(cluster: str) -> str:
    """A fresh database in the cluster of ``DATABASE_URL`` (scripts/with-postgres.sh); its URL."""
    import psycopg
    from psycopg import sql

    name = f"mandat_bench_clients_{os.getpid()}"
    with psycopg.connect(cluster, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = urllib.parse.urlsplit(cluster)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def _drop_database(cluster: str, url: str) -> None:
    import psycopg
    from psycopg import sql

    name = urllib.parse.urlsplit(url).path.lstrip("/")
    with psycopg.connect(cluster, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _report(
    measured: dict[str, dict[str, Any]],
    inproc: dict[str, dict[str, list[float]]],
    options: Any,
) -> None:
    ours = measured["client list"]
    print()
    print("Over HTTP (wrk; latency as the client sees it)")
    print(
        f"{'':24} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8} {'errors':>7}  p50 ratio"
    )
    for name, result in measured.items():
        ratio = ours["p50_us"] / result["p50_us"] if result["p50_us"] else float("nan")
        print(
            f"{name:24} {result['p50_us'] / 1000:8.1f} {result['p95_us'] / 1000:8.1f}"
            f" {result['p99_us'] / 1000:8.1f} {result['per_second']:8.1f}"
            f" {result['errors'] + result['non_2xx']:7d}  {'' if result is ours else f'{ratio:.1f}x'}"  # noqa: E501
        )
    print()
    print(
        f"Server side (Django test client in process, {options.inproc_runs} rounds;"
        f" goal {GOAL_MS:.0f} ms)"
    )
    print(f"{'URL':56} {'wall p50':>9} {'wall p95':>9} {'cpu p50':>8} {'cpu p95':>8}")
    walls: list[float] = []
    cpus: list[float] = []
    for path, times in inproc.items():
        walls += times["wall"]
        cpus += times["cpu"]
        short = urllib.parse.unquote(path.split("/clients/", 1)[1]) or "(first page)"
        print(
            f"{short:56} {statistics.median(times['wall']):9.1f}"
            f" {_percentile(times['wall'], 0.95):9.1f} {statistics.median(times['cpu']):8.1f}"
            f" {_percentile(times['cpu'], 0.95):8.1f}"
        )
    p50, p95 = statistics.median(walls), _percentile(walls, 0.95)
    cpu50, cpu95 = statistics.median(cpus), _percentile(cpus, 0.95)
    print(f"{'all URLs':56} {p50:9.1f} {p95:9.1f} {cpu50:8.1f} {cpu95:8.1f}")
    load = os.getloadavg()[0]
    print(
        f"Goal {GOAL_MS:.0f} ms: wall p95 {'within' if p95 <= GOAL_MS else 'OVER'},"
        f" CPU p95 {'within' if cpu95 <= GOAL_MS else 'OVER'}"
        f" (load average {load:.1f} on {os.cpu_count()} cores during the run)"
    )
    if options.json:
        print(
            json.dumps(
                {
                    "http": measured,
                    "server_wall_p50_ms": p50,
                    "server_wall_p95_ms": p95,
                    "server_cpu_p50_ms": cpu50,
                    "server_cpu_p95_ms": cpu95,
                }
            )
        )


if __name__ == "__main__":
    main()
