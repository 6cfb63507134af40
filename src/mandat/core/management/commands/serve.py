from __future__ import annotations

import os
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the portal and the API with gunicorn."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("MANDAT_BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"mandat serving on http://{options['bind']}/ (Ctrl-C stops)")
        self.stdout.flush()
        command = [
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
        os.execv(sys.executable, command)  # noqa: S606 - replaces this process on purpose
