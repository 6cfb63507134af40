from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create the demo world (CCSS, an employer, Salary S.A., a fiduciary with 5,000 clients)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--demo", action="store_true", help="create the demo world")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["demo"]:
            raise CommandError("say what to seed: --demo")
        from mandat.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, seed_demo

        try:
            world = seed_demo()
        except RuntimeError as error:
            raise CommandError(str(error)) from error
        if not world.created:
            self.stdout.write("The demo world is already there; nothing changed.")
            return
        self.stdout.write("Demo world created. Log in with any of these users:")
        for username in world.users:
            self.stdout.write(f"  {username:<14} password {DEMO_PASSWORD}")
        self.stdout.write(f"Second factor: add the TOTP secret {DEMO_TOTP_SECRET} to an app.")
