"""The ``mandat`` command: mandat's own commands plus every Django management command.

mandat seed --demo        create the demo world
mandat serve              serve the portal
mandat audit verify       check the whole audit chain
mandat audit export --employer NUMBER
mandat migrate, mandat createsuperuser, ...
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mandat.settings.base")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["mandat", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
