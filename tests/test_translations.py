from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from django.utils import translation

from mandat.core.codes import CodeTypo, normalize

ROOT = Path(__file__).resolve().parent.parent


def test_catalogues_are_complete_and_compiled() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "compile_messages.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_an_application_error_reads_in_the_active_language() -> None:
    try:
        normalize("not a code")
    except CodeTypo as error:
        typo = error
    messages = {}
    for language in ("fr", "de", "en"):
        with translation.override(language):
            messages[language] = str(typo)
    assert messages["fr"].startswith("Ce code contient une faute de frappe")
    assert messages["de"].startswith("Dieser Code enthält einen Tippfehler")
    assert messages["en"].startswith("This code contains a typing error")
