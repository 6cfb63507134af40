"""docs/security.md cannot drift: every test it names exists, every ASVS number it cites exists.

The document maps each control to OWASP ASVS 5.0.0 requirements and to the tests that show the
control works. A renamed or deleted test, or a mistyped requirement number, fails here rather
than misleading a reader (or an auditor) later.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "security.md"
TABLE_HEADING = "## ASVS requirement → control → test"

#: ``tests/<path>.py::test_name``, as the document writes a test.
REFERENCE = re.compile(r"(tests/[\w/]+\.py)::(test_\w+)")
REQUIREMENT = re.compile(r"\bV(\d+)\.(\d+)\.(\d+)\b")

#: How many requirements each section of ASVS 5.0.0 has (section -> highest number), read
#: from the release's requirement list (OWASP/ASVS, 5.0/docs_en/
#: OWASP_Application_Security_Verification_Standard_5.0.0_en.csv). A cited number outside
#: these does not exist in 5.0.0, typically a 4.0 number.
ASVS_5_0_0_SECTIONS = {
    (1, 1): 2, (1, 2): 10, (1, 3): 12, (1, 4): 3, (1, 5): 3,
    (2, 1): 3, (2, 2): 3, (2, 3): 5, (2, 4): 2,
    (3, 1): 1, (3, 2): 3, (3, 3): 5, (3, 4): 8, (3, 5): 8, (3, 6): 1, (3, 7): 5,
    (4, 1): 5, (4, 2): 5, (4, 3): 2, (4, 4): 4,
    (5, 1): 1, (5, 2): 6, (5, 3): 3, (5, 4): 3,
    (6, 1): 3, (6, 2): 12, (6, 3): 8, (6, 4): 6, (6, 5): 8, (6, 6): 4, (6, 7): 2, (6, 8): 4,
    (7, 1): 3, (7, 2): 4, (7, 3): 2, (7, 4): 5, (7, 5): 3, (7, 6): 2,
    (8, 1): 4, (8, 2): 4, (8, 3): 3, (8, 4): 2,
    (9, 1): 3, (9, 2): 4,
    (10, 1): 2, (10, 2): 3, (10, 3): 5, (10, 4): 16, (10, 5): 5, (10, 6): 2, (10, 7): 3,
    (11, 1): 4, (11, 2): 5, (11, 3): 5, (11, 4): 4, (11, 5): 2, (11, 6): 2, (11, 7): 2,
    (12, 1): 5, (12, 2): 2, (12, 3): 5,
    (13, 1): 4, (13, 2): 6, (13, 3): 4, (13, 4): 7,
    (14, 1): 2, (14, 2): 8, (14, 3): 3,
    (15, 1): 5, (15, 2): 5, (15, 3): 7, (15, 4): 4,
    (16, 1): 1, (16, 2): 5, (16, 3): 4, (16, 4): 3, (16, 5): 4,
    (17, 1): 2, (17, 2): 8, (17, 3): 2,
}  # fmt: skip


def table_rows(text: str) -> list[list[str]]:
    """The cells of each body row of the table under ``TABLE_HEADING``."""
    _, found, rest = text.partition(TABLE_HEADING + "\n")
    assert found, f"docs/security.md has no section {TABLE_HEADING!r}"
    section = rest.split("\n## ", 1)[0]
    lines = [line.strip() for line in section.splitlines() if line.strip().startswith("|")]
    body = lines[2:]  # after the header row and the |---| row
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in body]


def missing_tests(text: str, root: Path) -> list[str]:
    """Every ``tests/...::test_name`` in ``text`` whose file or function does not exist."""
    missing = []
    for path, name in sorted(set(REFERENCE.findall(text))):
        file = root / path
        defined = file.is_file() and re.search(
            rf"^\s*(?:async\s+)?def {name}\(", file.read_text(encoding="utf-8"), re.MULTILINE
        )
        if not defined:
            missing.append(f"{path}::{name}")
    return missing


def unknown_requirements(text: str) -> list[str]:
    """Every ``Vx.y.z`` in ``text`` that ASVS 5.0.0 does not have."""
    return sorted(
        {
            f"V{chapter}.{section}.{number}"
            for chapter, section, number in (map(int, m) for m in REQUIREMENT.findall(text))
            if not 1 <= number <= ASVS_5_0_0_SECTIONS.get((chapter, section), 0)
        }
    )


def test_every_test_the_document_names_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert REFERENCE.search(text), "docs/security.md names no test"
    assert missing_tests(text, ROOT) == []


def test_every_requirement_the_document_cites_exists_in_asvs_5_0_0() -> None:
    assert unknown_requirements(DOC.read_text(encoding="utf-8")) == []


def test_the_table_maps_each_requirement_once_to_a_control_and_a_test() -> None:
    rows = table_rows(DOC.read_text(encoding="utf-8"))
    assert len(rows) >= 20
    requirements = [row[0] for row in rows]
    assert len(requirements) == len(set(requirements)), "a requirement has two rows"
    for row in rows:
        assert len(row) == 4, row
        requirement, level, control, tests = row
        assert re.fullmatch(r"V\d+\.\d+\.\d+", requirement), row
        assert level in {"1", "2", "3"}, row
        assert control, row
        assert REFERENCE.search(tests), f"{requirement} names no test"


def test_a_missing_test_or_an_unknown_number_is_caught(tmp_path: Path) -> None:
    """The checks above can fail: a renamed test, a prefix of a test's name, a missing file,
    and 4.0-style or invented numbers are all reported."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(
        "def test_real():\n    pass\n\n\ndef test_longer_name():\n    pass\n", encoding="utf-8"
    )
    text = (
        "tests/test_x.py::test_real tests/test_x.py::test_gone "
        "tests/test_x.py::test_longer tests/test_y.py::test_real "
        "V6.3.1 V2.1.1 V6.9.1 V3.4.9 V18.1.1"
    )
    assert missing_tests(text, tmp_path) == [
        "tests/test_x.py::test_gone",
        "tests/test_x.py::test_longer",
        "tests/test_y.py::test_real",
    ]
    assert unknown_requirements(text) == ["V18.1.1", "V3.4.9", "V6.9.1"]
