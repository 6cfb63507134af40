"""``mandat serve`` starts a real server, gunicorn or granian, that answers over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

MANDAT = Path(sys.executable).parent / "mandat"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("server", ["gunicorn", "granian"])
def test_serve_answers_with_either_server(server: str, tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MANDAT_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        MANDAT_DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="mandat.settings.base",
        MANDAT_DEBUG="0",
        MANDAT_LOG_LEVEL="WARNING",
    )
    command = [str(MANDAT), "serve", "--server", server, "--bind", f"127.0.0.1:{port}"]
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--workers", "1", "--threads", "1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        answer = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/ping", timeout=5) as r:
                    answer = (r.status, json.loads(r.read()), r.headers["Content-Type"])
                break
            except OSError:
                time.sleep(0.2)
        assert answer == (200, {"pong": True}, "application/json; charset=utf-8"), log.read_text()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    assert f"with {server}" in log.read_text()
