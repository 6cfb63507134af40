"""The getting-started guide of docs/api.md, run as written against a live server.

Every ``sh`` block of the guide's section runs, in order, in one bash process (so an
``export`` carries over, as in the reader's terminal), in a fresh folder, with the
server's environment. A ``python`` block is a file the guide asks to save: its first
line names it (``# get_token.py: ...``). A ``text`` block right after an ``sh`` block is
that block's expected output, where ``…`` stands for anything. The ``csv`` block only
shows the layout; the test writes ``codes.csv`` with real codes from letters it issues.

The server is ``mandat serve`` (gunicorn, production settings) on a migrated database
with the demo seeded, on SQLite, or on a database of its own in the PostgreSQL cluster
when the suite runs under ``scripts/with-postgres.sh``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "api.md"
BIN = Path(sys.executable).parent
MANDAT = BIN / "mandat"
SECURITY_CODE = "Guide-2026"

#: Run by ``mandat shell`` on the server: two employers whose requests named the demo
#: fiduciary as representative for AFFILIATIONS, their letters issued; prints the codes.
ISSUE_CODES = """
import datetime as dt, json
from mandat.catalog.models import Domain, Institution, Level
from mandat.certification.models import AccessCode, CertificationRequest, CodeKind, RequestStatus
from mandat.core import codes, secrets, time
from mandat.registry.models import Employer, Organisation, Representative
from mandat.spaces.models import Space

fiduciary = Representative.objects.get(registration_number="20081122334")
space = Space.objects.get(organisation=fiduciary.organisation, closed_at__isnull=True)
ccss = Institution.objects.get(code="CCSS")
now = time.now()
printed = []
for number, name in (("19800000001", "Boulangerie Kayser"), ("19800000002", "Garage Reuter")):
    org = Organisation.objects.create(name=name, identifier_scheme="lu_national",
                                      identifier=number)
    employer = Employer.objects.create(organisation=org, institution=ccss,
                                       employer_number=number, name=name)
    request = CertificationRequest.objects.create(
        space=space, institution=ccss, created_by=space.memberships.first().user,
        employer=employer, status=RequestStatus.ISSUED,
        security_code_hash=secrets.hash_secret(SECURITY_CODE),
        signed_at=now, transmitted_at=now, issued_at=now,
        activation_deadline=now + dt.timedelta(days=30),
    )
    clear = codes.generate()
    AccessCode.objects.create(
        request=request, domain=Domain.objects.get(institution=ccss, code="AFFILIATIONS"),
        kind=CodeKind.REPRESENTATIVE, representative=fiduciary, level=Level.ACT,
        digest=codes.digest(clear), expires_at=request.activation_deadline,
    )
    printed.append([codes.display(clear), name])
print("GUIDE-CODES " + json.dumps(printed))
"""


@dataclass(frozen=True)
class Block:
    language: str
    text: str


def guide_blocks() -> list[Block]:
    """The fenced blocks of the section "Getting started", in order."""
    document = GUIDE.read_text(encoding="utf-8")
    section = document.split("## Getting started", 1)[1].split("\n## ", 1)[0]
    return [
        Block(match.group(1), match.group(2))
        for match in re.finditer(r"^```(\w+)\n(.*?)^```$", section, flags=re.M | re.S)
    ]


def pattern(expected: str) -> re.Pattern[str]:
    return re.compile(
        ".*?".join(re.escape(part) for part in expected.strip().split("…")), flags=re.S
    )


# --- the server -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(statement)  # type: ignore[arg-type]


def _run(args: list[str], env: dict[str, str], **kwargs: object) -> str:
    done = subprocess.run(
        [str(MANDAT), *args], env=env, capture_output=True, text=True, check=False, **kwargs
    )  # type: ignore[call-overload]
    assert done.returncode == 0, f"mandat {args[0]}: {done.stderr[-3000:]}"
    return str(done.stdout)


@dataclass
class Server:
    url: str
    env: dict[str, str]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("guide-data")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cluster = os.environ.get("DATABASE_URL", "")
    database = ""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MANDAT_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        MANDAT_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="mandat.settings.base",
        MANDAT_DEBUG="0",
        MANDAT_ALLOWED_HOSTS="127.0.0.1,localhost",
        MANDAT_API_ISSUER=url,
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
    )
    if cluster:
        database = f"mandat_guide_{secrets.token_hex(6)}"
        _postgres(cluster, f'CREATE DATABASE "{database}"')
        env["DATABASE_URL"] = cluster.rsplit("/", 1)[0] + "/" + database
    log = data_dir / "server.log"
    process = None
    try:
        _run(["migrate", "--noinput", "-v0"], env)
        _run(["seed", "--demo"], env)
        with log.open("ab") as out:
            process = subprocess.Popen(
                [str(MANDAT), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/api/v1/health", timeout=2):  # noqa: S310
                    break
            except OSError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        yield Server(url=url, env=env)
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        if database:
            _postgres(cluster, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


# --- the guide --------------------------------------------------------------------------------


def test_the_guide_runs_as_written(server: Server, tmp_path: Path) -> None:
    blocks = guide_blocks()
    assert [b.language for b in blocks].count("sh") >= 6, "the guide lost its commands"
    # The reader's letters: two real codes with the right security code, and one wrong.
    out = _run(
        ["shell", "-v", "0", "-c", f"SECURITY_CODE = {SECURITY_CODE!r}\n" + ISSUE_CODES],
        server.env,
    )
    printed = json.loads(out.split("GUIDE-CODES ", 1)[1])
    (tmp_path / "codes.csv").write_text(
        "access_code;security_code;client\n"
        + "".join(f"{code};{SECURITY_CODE};{name}\n" for code, name in printed)
        + f"{printed[0][0]};Wrong-Secret;{printed[0][1]} again\n",
        encoding="utf-8",
    )

    script, expected = ["set -euo pipefail"], {}
    for block in blocks:
        if block.language == "python":
            name = block.text.split("\n", 1)[0].removeprefix("# ").split(":", 1)[0]
            assert re.fullmatch(r"\w+\.py", name), f"a python block must name its file: {name}"
            (tmp_path / name).write_text(block.text, encoding="utf-8")
        elif block.language == "sh":
            index = len(script)
            script += [f"printf '\\n@@block {index}@@\\n'", block.text]
            last_sh = index
        elif block.language == "text":
            expected[last_sh] = block.text
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=tmp_path,
        env={**server.env, "MANDAT_URL": server.url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"

    outputs = dict(
        (int(index), text.strip())
        for index, text in re.findall(
            r"^@@block (\d+)@@\n(.*?)(?=^@@block |\Z)", done.stdout, re.M | re.S
        )
    )
    assert expected, "the guide shows no output"
    for index, text in expected.items():
        assert pattern(text).fullmatch(outputs[index]), f"expected:\n{text}\ngot:\n{outputs[index]}"
