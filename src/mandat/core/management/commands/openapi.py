from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Write the API's OpenAPI document, or check that the committed one is current."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--output", "-o", default="openapi.json")
        parser.add_argument("--check", action="store_true", help="fail if the file differs")

    def handle(self, *args: Any, **options: Any) -> None:
        from mandat.api.api import api

        text = json.dumps(api.get_openapi_schema(), indent=2, sort_keys=True) + "\n"
        path = Path(options["output"])
        if options["check"]:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                self.stderr.write(f"{path} is not current: run `mandat openapi -o {path}`")
                sys.exit(1)
            self.stdout.write(f"{path} is current")
            return
        path.write_text(text, encoding="utf-8")
        self.stdout.write(f"wrote {path}")
