"""The API over real HTTP: wrk against ``mandat serve`` under gunicorn and granian, 2 workers each.

    scripts/with-postgres.sh .venv/bin/python bench/api_load.py   (what ``make bench`` runs)

For each database (SQLite, and PostgreSQL when ``DATABASE_URL`` is set), one run
migrates a fresh database, seeds the demo (the fiduciary with 5,000 clients and
16,667 active mandates), registers an API client of the fiduciary's space through
the API services (``mandat shell -c``, with the server's environment), then for each
server gets a token from ``POST /api/v1/oauth/token`` (client credentials) and drives
every endpoint of ``ENDPOINTS`` with wrk: 32 connections, a warm-up, then timed rounds.

The empty endpoint (``GET /api/v1/ping``: no authentication, no database, the same
middleware) is measured in the same run, a round of it right before each round of every
other endpoint, so both see the same load from the rest of the machine; each rate is
also given as a share of the adjacent empty rounds' rate (medians). ``POST /check``
sends 5,000 different bodies in turn (every client of the fiduciary, in every domain,
both actions; allowed and refused answers), so no single answer is measured over and
over.

The servers run the production settings (``DEBUG`` off), with the per-client rate limit
raised (``MANDAT_API_RATE_LIMIT``) so that it counts every call, as in production, but
never refuses one. On a 2-core machine wrk shares the cores with the server: the rates
are a floor. A miss is a finding, not a failure: the exit status is 0 unless a server
could not be measured (a non-2xx answer or a server that does not start).
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's ``http`` package, and Python puts the
# script's folder first on the path: take it off before anything imports ``http``.
BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.parse  # noqa: E402
import urllib.request  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

ROOT = BENCH.parent
VENV_BIN = Path(sys.executable).parent
MANDAT = VENV_BIN / "mandat"
LUA = BENCH / "api_load.lua"
CONNECTIONS = 32
WORKERS = 2
GRANIAN_THREADS = int(os.environ.get("BENCH_GRANIAN_THREADS", "2"))  # per worker
FIDUCIARY_CLIENTS = 5000  # the demo's big fiduciary: employers 19900000001..19900005000
DOMAINS = ("EMPLOYER", "AFFILIATIONS", "REMUNERATIONS", "BILLING")

TARGET_RATE = 3000.0  # checks per second
TARGET_P99_MS = 25.0
TARGET_SHARE = 0.70  # of the empty endpoint's rate
EMPTY = "ping"


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    #: Sent with the client's bearer token.
    token: bool = True
    #: Request bodies, sent in turn; empty for none.
    bodies: tuple[str, ...] = ()
    #: Held to the targets (rate, p99, share of the empty endpoint).
    targeted: bool = False


def check_bodies() -> tuple[str, ...]:
    bodies = []
    for i in range(1, FIDUCIARY_CLIENTS + 1):
        bodies.append(
            json.dumps(
                {
                    "employer": f"1990{i:07d}",
                    "domain": DOMAINS[i % len(DOMAINS)],
                    "action": ("consult", "act")[(i // len(DOMAINS)) % 2],
                },
                separators=(",", ":"),
            )
        )
    return tuple(bodies)


#: What one run measures, as data: the empty endpoint first, it is the yardstick.
ENDPOINTS = (
    Endpoint(EMPTY, "GET", "/api/v1/ping", token=False),
    Endpoint("health", "GET", "/api/v1/health", token=False),
    Endpoint("whoami", "GET", "/api/v1/whoami"),
    Endpoint("check", "POST", "/api/v1/check", bodies=check_bodies(), targeted=True),
    Endpoint("clients", "GET", "/api/v1/clients?domain=AFFILIATIONS&limit=100", targeted=True),
)

#: Run by ``mandat shell -c`` with the server's environment: a client of the fiduciary's
#: space, registered by its administrator, with every CCSS domain at ``act``.
REGISTER_CLIENT = """
import datetime as dt, json
from mandat.accounts.models import User
from mandat.api import services
from mandat.catalog.models import Domain
from mandat.core import time
from mandat.spaces.models import Space
admin = User.objects.get(username="fiduciary")
space = Space.objects.get(memberships__user=admin, closed_at__isnull=True)
scopes = [(d.code, "act") for d in Domain.objects.filter(institution__code="CCSS")]
registered = services.api_client_register(
    by=admin, space=space, name="HTTP benchmark", scopes=scopes,
    expires_at=time.now() + dt.timedelta(days=1),
)
print("BENCH-CLIENT " + json.dumps(
    {"client_id": registered.client.client_id, "secret": registered.secret}
))
"""


@dataclass
class Measure:
    endpoint: str
    rate: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    requests: int = 0
    non_2xx: int = 0
    socket_errors: int = 0
    share: float | None = None
    error: str = ""


@dataclass
class Run:
    database: str
    server: str
    measures: list[Measure] = field(default_factory=list)
    error: str = ""


# --- the server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(data_dir: Path, database_url: str) -> dict[str, str]:
    """What ``make run`` gives the server: production settings, DEBUG off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MANDAT_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        MANDAT_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="mandat.settings.base",
        MANDAT_DEBUG="0",
        MANDAT_ALLOWED_HOSTS="127.0.0.1,localhost",
        MANDAT_LOG_LEVEL="WARNING",
        MANDAT_API_RATE_LIMIT=str(10**9),
        PYTHONUNBUFFERED="1",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def mandat(args: list[str], env: dict[str, str], log: Path) -> str:
    with log.open("a") as out:
        out.write(f"$ mandat {' '.join(args[:2])}\n")
    done = subprocess.run(
        [str(MANDAT), *args], env=env, capture_output=True, text=True, check=False
    )
    with log.open("a") as out:
        out.write(done.stdout[-4000:] + done.stderr[-4000:])
    if done.returncode != 0:
        raise RuntimeError(f"mandat {args[0]} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def server_command(server: str, port: int) -> list[str]:
    """``mandat serve``, as a deployment runs it, with either server."""
    command = [str(MANDAT), "serve", "--server", server, "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(WORKERS)]
    if server == "granian":
        # Each thread keeps its own database connection (CONN_MAX_AGE): bounded, so that
        # PostgreSQL's max_connections holds. gunicorn's sync workers run one each.
        command += ["--threads", str(GRANIAN_THREADS)]
    return command


def get(url: str, *, headers: dict[str, str] | None = None, data: bytes | None = None) -> Any:
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - localhost
        return json.loads(response.read())


def start(server: str, env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        process = subprocess.Popen(
            server_command(server, port),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            get(base + "/api/v1/health")
            return process, base
        except (OSError, ValueError):
            time.sleep(0.2)
    stop(process)
    raise RuntimeError(f"{server} did not start; see {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def access_token(base: str, client: dict[str, str]) -> str:
    form = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["secret"],
        }
    ).encode()
    answer = get(
        base + "/api/v1/oauth/token",
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return str(answer["access_token"])


# --- wrk --------------------------------------------------------------------------------------


def wrk(
    base: str, endpoint: Endpoint, token: str, seconds: float, bodies_file: Path | None
) -> dict[str, Any]:
    command = [
        "wrk",
        "-t",
        "2",
        "-c",
        str(CONNECTIONS),
        "-d",
        f"{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
    ]
    if endpoint.token:
        command += ["-H", f"Authorization: Bearer {token}"]
    command += [base, "--", endpoint.method, endpoint.path]
    if bodies_file is not None:
        command.append(str(bodies_file))
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    for line in done.stdout.splitlines():
        if line.startswith("WRK-RESULT "):
            return dict(json.loads(line.removeprefix("WRK-RESULT ")))
    raise RuntimeError(f"wrk said nothing usable:\n{done.stdout}\n{done.stderr}")


def probe(base: str, endpoint: Endpoint, token: str) -> None:
    """One call first: a wrong answer must not be timed as a fast one."""
    headers = {"Authorization": f"Bearer {token}"} if endpoint.token else {}
    data = None
    if endpoint.bodies:
        data = endpoint.bodies[0].encode()
        headers["Content-Type"] = "application/json"
    try:
        get(base + endpoint.path, headers=headers, data=data)
    except urllib.error.HTTPError as error:
        raise RuntimeError(
            f"{endpoint.method} {endpoint.path} answered {error.code}: {error.read()[:300]!r}"
        ) from error


def _timed(
    base: str, endpoint: Endpoint, token: str, seconds: float, bodies: Path | None
) -> Measure:
    raw = wrk(base, endpoint, token, seconds, bodies)
    result = Measure(endpoint.name)
    result.requests = raw["requests"]
    result.rate = raw["requests"] / (raw["duration_us"] / 1e6)
    result.p50_ms, result.p99_ms = raw["p50_us"] / 1000, raw["p99_us"] / 1000
    result.max_ms = raw["max_us"] / 1000
    result.non_2xx, result.socket_errors = raw["non_2xx"], raw["socket_errors"]
    if result.non_2xx:
        result.error = f"{result.non_2xx} answers were not 2xx"
    return result


def _median(rounds: list[Measure]) -> Measure:
    """The round with the median rate (its latencies too); the errors of every round."""
    ordered = sorted(rounds, key=lambda m: m.rate)
    chosen = ordered[len(ordered) // 2]
    chosen.non_2xx = sum(m.non_2xx for m in rounds)
    chosen.socket_errors = sum(m.socket_errors for m in rounds)
    chosen.error = next((m.error for m in rounds if m.error), "")
    return chosen


def measure_all(
    base: str,
    token: str,
    work: Path,
    *,
    seconds: float,
    warm_up: float,
    rounds: int,
    only: set[str],
) -> list[Measure]:
    """Each endpoint in ``rounds`` rounds, each round right after one of the empty
    endpoint, so that both see the same load from the rest of the machine; the median
    round counts, and the share is the endpoint's median over the adjacent empty ones'."""
    empty = next(e for e in ENDPOINTS if e.name == EMPTY)
    wrk(base, empty, token, warm_up, None)
    measures: list[Measure] = []
    empty_rounds: list[Measure] = []
    for endpoint in ENDPOINTS:
        if endpoint is empty or (only and endpoint.name not in only):
            continue
        bodies_file = None
        if endpoint.bodies:
            bodies_file = work / f"{endpoint.name}.bodies"
            bodies_file.write_text("\n".join(endpoint.bodies) + "\n")
        try:
            probe(base, endpoint, token)
            wrk(base, endpoint, token, warm_up, bodies_file)
            mine, beside = [], []
            for _round in range(rounds):
                beside.append(_timed(base, empty, token, seconds / rounds, None))
                mine.append(_timed(base, endpoint, token, seconds / rounds, bodies_file))
        except (RuntimeError, subprocess.CalledProcessError) as error:
            measures.append(Measure(endpoint.name, error=str(error).strip().splitlines()[0][:200]))
            continue
        result, yardstick = _median(mine), _median(beside)
        result.share = result.rate / yardstick.rate if yardstick.rate else None
        measures.append(result)
        empty_rounds += beside
    if empty_rounds:
        overall = _median(empty_rounds)
        overall.share = 1.0
        measures.insert(0, overall)
    return measures


# --- one database -----------------------------------------------------------------------------


def run_database(
    database: str, database_url: str, args: argparse.Namespace, log: Path
) -> list[Run]:
    work = Path(tempfile.mkdtemp(prefix=f"mandat-http-{database}-"))
    env = server_env(work / "data", database_url)
    runs: list[Run] = []
    try:
        started = time.monotonic()
        mandat(["migrate", "--noinput", "-v0"], env, log)
        mandat(["seed", "--demo"], env, log)
        out = mandat(["shell", "-c", REGISTER_CLIENT], env, log)
        client = json.loads(out.split("BENCH-CLIENT ", 1)[1].splitlines()[0])
        print(
            f"[{database}] migrated, seeded and client registered in "
            f"{time.monotonic() - started:.0f} s",
            flush=True,
        )
        for server in args.servers:
            run = Run(database, server)
            runs.append(run)
            try:
                process, base = start(server, env, log)
            except RuntimeError as error:
                run.error = str(error)
                continue
            try:
                token = access_token(base, client)
                run.measures = measure_all(
                    base,
                    token,
                    work,
                    seconds=args.seconds,
                    warm_up=args.warm_up,
                    rounds=args.rounds,
                    only=set(args.endpoints),
                )
            except (RuntimeError, OSError, KeyError) as error:
                run.error = str(error)
            finally:
                stop(process)
            print(table([run]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return runs


# --- the report -------------------------------------------------------------------------------


def verdict(m: Measure) -> str:
    if m.error:
        return "ERROR " + m.error
    if m.endpoint not in {e.name for e in ENDPOINTS if e.targeted}:
        return ""
    misses = []
    if m.endpoint == "check" and m.rate < TARGET_RATE:
        misses.append(f"rate < {TARGET_RATE:.0f}/s")
    if m.p99_ms > TARGET_P99_MS:
        misses.append(f"p99 > {TARGET_P99_MS:.0f} ms")
    if m.share is not None and m.share < TARGET_SHARE:
        misses.append(f"share < {TARGET_SHARE:.0%}")
    return "PASS" if not misses else "MISS " + ", ".join(misses)


def table(runs: list[Run]) -> str:
    lines = [
        f"{'database':<10} {'server':<9} {'endpoint':<8} {'req/s':>8} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'max ms':>7} {'vs ping':>7}  verdict"
    ]
    for run in runs:
        if run.error:
            lines.append(f"{run.database:<10} {run.server:<9} ERROR {run.error}")
        for m in run.measures:
            share = f"{m.share:.0%}" if m.share is not None else "-"
            lines.append(
                f"{run.database:<10} {run.server:<9} {m.endpoint:<8} {m.rate:>8.0f} "
                f"{m.p50_ms:>7.1f} {m.p99_ms:>7.1f} {m.max_ms:>7.1f} {share:>7}  {verdict(m)}"
            )
    return "\n".join(lines)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=12.0, help="timed seconds per endpoint (all rounds)"
    )
    parser.add_argument("--warm-up", type=float, default=2.0, help="untimed run before it")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds per endpoint, each after the empty one"
    )
    parser.add_argument(
        "--servers", nargs="+", default=["gunicorn", "granian"], choices=["gunicorn", "granian"]
    )
    parser.add_argument(
        "--databases", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument(
        "--endpoints",
        nargs="*",
        default=[],
        choices=[e.name for e in ENDPOINTS],
        help="only these (the empty endpoint always runs)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed (scripts/system-packages.sh wrk)", file=sys.stderr)
        return 1
    log = Path(tempfile.mkstemp(prefix="mandat-http-bench-", suffix=".log")[1])
    print(
        f"HTTP benchmark: {WORKERS} workers, {CONNECTIONS} connections, "
        f"{args.seconds:g} s per endpoint in {args.rounds} rounds after {args.warm_up:g} s "
        "of warm-up; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; log {log}",
        flush=True,
    )
    runs: list[Run] = []
    for database in args.databases:
        url = os.environ.get("DATABASE_URL", "") if database == "postgresql" else ""
        if database == "postgresql" and not url:
            print("[postgresql] skipped: DATABASE_URL is not set (scripts/with-postgres.sh)")
            continue
        try:
            runs += run_database(database, url, args, log)
        except RuntimeError as error:
            runs.append(Run(database, "-", error=str(error)))
    print()
    print(table(runs))
    one, five, _fifteen = os.getloadavg()
    print(f"load average at the end: {one:.1f} (1 min), {five:.1f} (5 min)")
    print(
        f"\nTargets: check >= {TARGET_RATE:.0f}/s, p99 <= {TARGET_P99_MS:.0f} ms, "
        f">= {TARGET_SHARE:.0%} of the empty endpoint's rate (clients: p99 and share)."
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {"database": r.database, "server": r.server, "error": r.error}
                    | {"measures": [m.__dict__ for m in r.measures]}
                    for r in runs
                ],
                indent=2,
            )
        )
    failed = any(r.error or any(m.error for m in r.measures) for r in runs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
