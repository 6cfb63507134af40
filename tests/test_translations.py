from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
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


def _msgids(path: Path) -> set[tuple[str | None, str]]:
    return {(e.msgctxt, e.msgid) for e in polib.pofile(str(path)) if not e.obsolete}


def test_every_string_of_the_code_is_in_the_catalogues(
    tmp_path: Path, settings: pytest.FixtureRequest
) -> None:
    """makemessages, run on a copy of the code, finds no string the catalogues lack."""
    source = ROOT / "src" / "mandat"
    copy = tmp_path / "mandat"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo", "static"))
    settings.LOCALE_PATHS = [str(copy / "locale")]  # type: ignore[attr-defined]
    here = os.getcwd()
    os.chdir(copy)
    try:
        call_command("makemessages", locale=["fr"], ignore_patterns=["migrations/*"], verbosity=0)
    finally:
        os.chdir(here)
    catalogue = Path("locale") / "fr" / "LC_MESSAGES" / "django.po"
    missing = _msgids(copy / catalogue) - _msgids(source / catalogue)
    assert not missing, f"strings missing from the catalogues (run makemessages): {missing}"


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
