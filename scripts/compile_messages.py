"""Compile the .po catalogues into the committed .mo files, without GNU gettext.

.venv/bin/python scripts/compile_messages.py          # write the .mo files
.venv/bin/python scripts/compile_messages.py --check  # fail if one is stale or incomplete
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parent.parent / "src" / "mandat" / "locale"


def problems(check: bool) -> list[str]:
    found = []
    for po_path in sorted(LOCALE.glob("*/LC_MESSAGES/django.po")):
        catalogue = polib.pofile(str(po_path))
        untranslated = [e.msgid for e in catalogue.untranslated_entries() if not e.obsolete]
        fuzzy = [e.msgid for e in catalogue.fuzzy_entries()]
        if untranslated or fuzzy:
            found.append(f"{po_path}: untranslated {untranslated[:5]}, fuzzy {fuzzy[:5]}")
        mo_path = po_path.with_suffix(".mo")
        compiled = bytes(catalogue.to_binary())
        if check:
            if not mo_path.exists() or mo_path.read_bytes() != compiled:
                found.append(f"{mo_path} is stale: run scripts/compile_messages.py")
        else:
            mo_path.write_bytes(compiled)
    return found


if __name__ == "__main__":
    issues = problems(check="--check" in sys.argv)
    for issue in issues:
        print(issue, file=sys.stderr)
    sys.exit(1 if issues else 0)
