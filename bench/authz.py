"""The one question, timed: our policy against pycasbin and embedded SpiceDB.

    scripts/with-postgres.sh .venv/bin/python bench/authz.py   (what ``make bench`` runs)

One run builds the same worlds (20,000 and 200,000 mandates, with a firm of
10,000 and 100,000 clients) in our policy on SQLite and on PostgreSQL, in
pycasbin and in embedded SpiceDB; times the same fixed list of checks in each,
and the firm's client list (``employers_for``: the first page of 100, and all of
them). It prints a table, the ratio of ours to each peer, and PASS or MISS for
each target. A miss is a finding, not a failure: the exit status is 0.

Our policy runs in a child process per database (``ours.py``), because Django
reads its database settings once per process. PostgreSQL needs ``DATABASE_URL``;
without it, that half is reported as skipped. SpiceDB needs the library from npm
(``SPICEDB_LIBRARY_PATH``, by default ``bench/.spicedb``, which ``make bench``
installs); if it cannot start, the run says so and goes on without it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from measure import Checks
from peers import PeerResult, run_peers
from world import FIRM_ACTION, FIRM_DOMAIN, SEED, World, build

BENCH = Path(__file__).resolve().parent
VENDORS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
SIZES = (20_000, 200_000)
TARGET_CHECKS = 50_000  # per second, ours, in-process on SQLite
TARGET_RATIO = 100  # ours over each peer, at RATIO_SIZE mandates
RATIO_SIZE = 20_000
TARGET_FIRST_PAGE_MS = 20.0
TARGET_FULL_LIST_MS = 1000.0
TARGET_CLIENTS = 100_000


@dataclass
class Ours:
    vendor: str
    size: int
    server: str = ""
    load_s: float = 0.0
    checks: Checks | None = None
    first_page_ms: float | None = None
    full_list_ms: float | None = None
    full_list_count: int | None = None
    lookups_right: bool = True
    digest: str = ""
    error: str = ""

    @property
    def engine(self) -> str:
        return f"ours, {VENDORS[self.vendor]}"


# Running


def run_ours(vendor: str, worlds: dict[int, World]) -> list[Ours]:
    """Our policy on one database, in a child process; failures become results."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="mandat.settings.base", MANDAT_DEBUG="0")
    if vendor == "postgresql" and not env.get("DATABASE_URL"):
        reason = "skipped: DATABASE_URL is not set (run under scripts/with-postgres.sh)"
        return [Ours(vendor, size, error=reason) for size in worlds]
    with tempfile.TemporaryDirectory(prefix="mandat-bench-") as data_dir:
        env["MANDAT_DATA_DIR"] = data_dir
        if vendor == "sqlite":
            env.pop("DATABASE_URL", None)
        command = [sys.executable, str(BENCH / "ours.py"), *map(str, worlds)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    lines = done.stdout.splitlines()
    results = [
        _ours(json.loads(line.removeprefix("RESULT "))) for line in lines if "RESULT " in line
    ]
    for result in results:
        if result.digest != worlds[result.size].digest():
            result.error = "the child built a different world (digest mismatch)"
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-5:])
        measured = {r.size for r in results}
        error = f"failed (exit {done.returncode}): {tail}"
        results += [Ours(vendor, size, error=error) for size in worlds if size not in measured]
    return results


def _ours(data: dict[str, Any]) -> Ours:
    return Ours(**{**data, "checks": Checks(**data["checks"])})


# Printing


def _progress(text: str) -> None:
    print(f"... {text}", file=sys.stderr, flush=True)


def _table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]
    lines = [headers, ["-" * w for w in widths], *rows]
    for row in lines:
        cells = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  " + "  ".join(cells).rstrip())


def _rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _times(ours: Ours | None, peer: PeerResult) -> str:
    if ours is None or ours.checks is None or peer.checks is None or not peer.checks.calls:
        return "n/a"
    return _ratio(ours.checks.per_second / peer.checks.per_second)


def _ratio(value: float) -> str:
    return f"{value:,.0f}x" if value >= 10 else f"{value:.2g}x"


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.2f}" if value < 10 else f"{value:,.0f}"


def print_header(worlds: dict[int, World], ours: list[Ours], load_before: float) -> None:
    servers = sorted({o.server for o in ours if o.server})
    versions = [f"casbin {_version('casbin')}", f"spicedb-embedded {_version('spicedb-embedded')}"]
    print("mandat authorization benchmark: our policy against pycasbin and embedded SpiceDB")
    print(
        f"  {os.cpu_count()} CPUs, load average {load_before:.1f} before the run and "
        f"{os.getloadavg()[0]:.1f} after it; "
        f"Python {sys.version.split()[0]}; {', '.join([*servers, *versions])}"
    )
    print(f"\nWorlds (seed {SEED}; the firm's list is {FIRM_DOMAIN}, {FIRM_ACTION}):")
    for size, world in worlds.items():
        print(f"- {size:,}: {world.describe()}")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def print_checks(ours: list[Ours], peers: list[PeerResult], seconds: float) -> None:
    print(
        f"\nChecks per second: the same queries, in the same order, for every engine "
        f"(ours: all of them; peers: as many as fit in {seconds:g} s)"
    )
    headers = ["mandates", "engine", "calls", "checks/s", "wrong", "build s"]
    headers += [f"ours {VENDORS[v]} / peer" for v in VENDORS]
    rows = []
    sizes: set[int] = {o.size for o in ours} | {p.size for p in peers}
    for size in sorted(sizes):
        mine = {o.vendor: o for o in ours if o.size == size and o.checks is not None}
        for o in mine.values():
            assert o.checks is not None
            row = [f"{size:,}", o.engine, f"{o.checks.calls:,}", _rate(o.checks.per_second)]
            rows.append([*row, str(o.checks.wrong), f"{o.load_s:.1f}", "", ""])
        for p in peers:
            if p.size == size and p.checks is not None:
                row = [f"{size:,}", p.engine, f"{p.checks.calls:,}", _rate(p.checks.per_second)]
                row += [str(p.checks.wrong), f"{p.build_s:.1f}"]
                rows.append(row + [_times(mine.get(v), p) for v in VENDORS])
    _table(headers, rows)
    print("  (build s: bulk load and planner statistics for ours; loading and indexing for peers)")


def print_lookups(ours: list[Ours], peers: list[PeerResult]) -> None:
    print("\nThe firm's clients: employers_for, first page of 100 (median) and all of them")
    headers = ["mandates", "engine", "method", "listed", "first 100 ms", "all ms"]
    rows = []
    for o in ours:
        if o.checks is not None:
            count = f"{o.full_list_count:,}" if o.full_list_count else "-"
            row = [f"{o.size:,}", o.engine, "employers_for / iter_employers_for", count]
            rows.append([*row, _ms(o.first_page_ms), _ms(o.full_list_ms)])
    for p in peers:
        if p.full_list_ms is not None:
            count = f"{p.full_list_count:,}" if p.full_list_count is not None else "-"
            row = [f"{p.size:,}", p.engine, p.lookup_name, count]
            rows.append([*row, _ms(p.first_page_ms), _ms(p.full_list_ms)])
    rows.sort(key=lambda row: int(row[0].replace(",", "")))
    _table(headers, rows)
    print("  (ours: median of 3 runs, in pages of 5,000; peers: one run. Casbin has no paginated")
    print("  reverse look-up: it lists the user's policies, and the bench keeps their employers)")


def print_problems(ours: list[Ours], peers: list[PeerResult]) -> None:
    """Say loudly what could not run or answered wrongly."""
    problems = [f"{o.engine} at {o.size:,}: {o.error}" for o in ours if o.error]
    problems += [
        f"{o.engine} at {o.size:,}: wrong client list" for o in ours if not o.lookups_right
    ]
    problems += [f"{p.engine} at {p.size:,}: {e}" for p in peers for e in p.errors]
    answered: list[Ours | PeerResult] = [*ours, *peers]
    problems += [
        f"{r.engine} at {r.size:,}: {r.checks.wrong} wrong answers"
        for r in answered
        if r.checks is not None and r.checks.wrong
    ]
    if problems:
        print("\n" + "!" * 78)
        print("!! PROBLEMS: these engines could not run or gave wrong answers")
        for problem in problems:
            print(f"!! {problem}")
        print("!" * 78)


def print_targets(ours: list[Ours], peers: list[PeerResult]) -> None:
    verdicts = _check_targets(ours) + _ratio_targets(ours, peers) + _lookup_targets(ours)
    print("\nTargets")
    for met, text in verdicts:
        print(f"  {'PASS' if met else 'MISS !!'}  {text}")
    missed = sum(not met for met, _ in verdicts)
    summary = f"{len(verdicts) - missed} of {len(verdicts)} targets met"
    print(f"\n{summary}" + (f"; {missed} MISSED (see MISS !! above)" if missed else "."))


Verdict = tuple[bool, str]


def _check_targets(ours: list[Ours]) -> list[Verdict]:
    return [
        (
            o.checks.per_second >= TARGET_CHECKS,
            f"ours on SQLite >= {TARGET_CHECKS:,} checks/s at {o.size:,} mandates: "
            f"{o.checks.per_second:,.0f}",
        )
        for o in ours
        if o.vendor == "sqlite" and o.checks is not None
    ]


def _ratio_targets(ours: list[Ours], peers: list[PeerResult]) -> list[Verdict]:
    verdicts = []
    for o in ours:
        for p in peers:
            if o.size == p.size == RATIO_SIZE and o.checks is not None and p.checks is not None:
                ratio = o.checks.per_second / max(p.checks.per_second, 1e-9)
                text = (
                    f"ours on {VENDORS[o.vendor]} >= {TARGET_RATIO}x {p.engine} "
                    f"at {RATIO_SIZE:,} mandates: {_ratio(ratio)}"
                )
                verdicts.append((ratio >= TARGET_RATIO, text))
    unavailable = [p.engine for p in peers if p.size == RATIO_SIZE and p.checks is None]
    verdicts += [
        (False, f"{engine} could not be measured (see PROBLEMS)") for engine in unavailable
    ]
    return verdicts


def _lookup_targets(ours: list[Ours]) -> list[Verdict]:
    verdicts = []
    for o in ours:
        if o.full_list_count != TARGET_CLIENTS or o.first_page_ms is None:
            continue
        assert o.full_list_ms is not None
        where = f"on {VENDORS[o.vendor]}, {TARGET_CLIENTS:,} clients"
        first = f"first page <= {TARGET_FIRST_PAGE_MS:g} ms {where}: {o.first_page_ms:.2f} ms"
        full = f"full list <= {TARGET_FULL_LIST_MS:,.0f} ms {where}: {o.full_list_ms:,.0f} ms"
        verdicts.append((o.first_page_ms <= TARGET_FIRST_PAGE_MS, first))
        verdicts.append((o.full_list_ms <= TARGET_FULL_LIST_MS, full))
    return verdicts


# Main


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="mandates per world")
    parser.add_argument("--databases", default="sqlite,postgresql", help="sqlite,postgresql")
    parser.add_argument("--peer-seconds", type=float, default=5.0, help="time for peer checks")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    worlds = {size: build(size) for size in map(int, args.sizes.split(","))}
    ours: list[Ours] = []
    for vendor in args.databases.split(","):
        _progress(f"our policy on {VENDORS[vendor]}")
        ours += run_ours(vendor, worlds)
    peers: list[PeerResult] = []
    for world in worlds.values():
        _progress(f"pycasbin and SpiceDB at {world.size:,} mandates")
        peers += run_peers(world, seconds=args.peer_seconds)
    print_header(worlds, ours, load_before)
    print_checks(ours, peers, args.peer_seconds)
    print_lookups(ours, peers)
    print_problems(ours, peers)
    print_targets(ours, peers)
    print(f"\n(whole run: {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
