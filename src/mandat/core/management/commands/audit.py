from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mandat.core import audit
from mandat.registry.models import Employer


class Command(BaseCommand):
    help = "Verify the audit chain, or export and check one employer's slice of it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("verify", help="Walk the whole chain; report the first broken link.")
        export = actions.add_parser("export", help="Write an employer's events with their proof.")
        export.add_argument("--employer", required=True, help="employer number")
        export.add_argument("--institution", default="CCSS")
        export.add_argument("--output", "-o", help="file to write (default: standard output)")
        check = actions.add_parser("verify-export", help="Check an export file offline.")
        check.add_argument("file")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "verify":
            verdict = audit.verify()
        elif options["action"] == "export":
            employer = Employer.objects.filter(
                employer_number=options["employer"], institution__code=options["institution"]
            ).first()
            if employer is None:
                raise CommandError(f"no employer {options['employer']} at {options['institution']}")
            document = audit.export_for_employer(employer.pk)
            text = json.dumps(document, indent=1, ensure_ascii=False)
            if options["output"]:
                Path(options["output"]).write_text(text + "\n", encoding="utf-8")
            else:
                self.stdout.write(text)
            shown = sum(1 for item in document["links"] if "event" in item)
            self.stderr.write(f"exported {shown} events proven by {len(document['links'])} links")
            return
        else:
            try:
                document = json.loads(Path(options["file"]).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
                raise CommandError(
                    f"cannot read {options['file']} as an export: {error}"
                ) from error
            verdict = audit.verify_export(document)
        if not verdict.ok:
            self.stderr.write(str(verdict))
            sys.exit(1)
        self.stdout.write(str(verdict))
