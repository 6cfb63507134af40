from __future__ import annotations

import os
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

SERVERS = ("gunicorn", "granian")


class Command(BaseCommand):
    help = "Serve the portal and the API with gunicorn (default) or granian."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("MANDAT_BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument(
            "--server",
            choices=SERVERS,
            default=os.environ.get("MANDAT_SERVER", "gunicorn"),
            help="gunicorn: one request at a time per worker (sync workers). granian: a Rust "
            "HTTP server, about twice the API's rate here (bench/api_load.py).",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=int(os.environ.get("MANDAT_SERVER_THREADS", "2")),
            help="granian only: threads running the application per worker. Each keeps its "
            "own database connection: workers × threads must stay under the database's limit.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(
            f"mandat serving on http://{options['bind']}/ with {options['server']} (Ctrl-C stops)"
        )
        self.stdout.flush()
        if options["server"] == "granian":
            command = self._granian(options)
        else:
            command = self._gunicorn(options)
        os.execv(sys.executable, command)  # noqa: S606 - replaces this process on purpose

    def _gunicorn(self, options: dict[str, Any]) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "mandat.wsgi",
            "--bind",
            options["bind"],
            "--workers",
            str(options["workers"]),
            "--access-logfile",
            "-",
            # Several servers may run on one host (tests, a second checkout): no shared
            # per-user control socket.
            "--no-control-socket",
        ]

    def _granian(self, options: dict[str, Any]) -> list[str]:
        host, _, port = options["bind"].rpartition(":")
        return [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--host",
            host.strip("[]") or "127.0.0.1",
            "--port",
            port,
            "--workers",
            str(options["workers"]),
            "--blocking-threads",
            str(options["threads"]),
            "--no-ws",
            "--access-log",
            "mandat.wsgi:application",
        ]
