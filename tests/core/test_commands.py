"""``mandat audit``: verify the chain, export an employer's slice and check it offline."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from mandat.core import audit
from mandat.core.models import AuditEvent
from mandat.registry.models import Employer
from tests import factories
from tests.core.chain import build_chain, tampering

pytestmark = pytest.mark.django_db


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("audit", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _failing(*args: str) -> str:
    """Run a command that must exit with status 1; return what it wrote to stderr."""
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("audit", *args, stdout=io.StringIO(), stderr=err)
    assert exit_.value.code == 1
    return err.getvalue()


def test_verify_reports_an_intact_chain() -> None:
    build_chain(120)
    out, _ = _run("verify")
    assert "intact" in out
    assert "120 events" in out


def test_verify_exits_with_an_error_at_the_first_broken_event() -> None:
    build_chain(120)
    with tampering():
        AuditEvent.objects.filter(seq=77).update(action="mandate.forged")
        AuditEvent.objects.filter(seq=90).update(action="mandate.forged")
        message = _failing("verify")
    assert "#77" in message
    assert "#90" not in message
    assert "intact" not in message


def test_verify_exits_with_an_error_when_the_last_event_is_gone() -> None:
    build_chain(12)
    with tampering():
        AuditEvent.objects.filter(seq=12).delete()
        message = _failing("verify")
    assert "#12" in message


@pytest.fixture
def employer() -> Employer:
    """A registered employer with events of its own, among another employer's."""
    mine, other = factories.employer("Boulangerie Mine"), factories.employer("Garage Autre")
    with transaction.atomic():
        for n in range(30):
            owner = mine if n % 3 == 0 else other
            audit.record("mandate.granted", employer_id=owner.pk, data={"n": n, "who": owner.name})
    return mine


def test_an_exported_file_verifies_offline(employer: Employer, tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    out, err = _run("export", "--employer", employer.employer_number, "-o", str(path))
    assert out == ""
    document = json.loads(path.read_text(encoding="utf-8"))
    shown = [link["event"] for link in document["links"] if "event" in link]
    assert shown and all(event["employer_id"] == employer.pk for event in shown)
    assert f"exported {len(shown)} events" in err
    assert "Garage Autre" not in path.read_text(encoding="utf-8")

    out, _ = _run("verify-export", str(path))
    assert "intact" in out


def test_an_export_goes_to_standard_output_without_a_file(employer: Employer) -> None:
    out, _ = _run("export", "--employer", employer.employer_number)
    assert audit.verify_export(json.loads(out)).ok


def test_a_tampered_export_file_fails(employer: Employer, tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    _run("export", "--employer", employer.employer_number, "-o", str(path))
    document = json.loads(path.read_text(encoding="utf-8"))
    item = [link for link in document["links"] if "event" in link][-1]
    item["event"]["data"]["n"] += 1
    path.write_text(json.dumps(document), encoding="utf-8")
    message = _failing("verify-export", str(path))
    assert f"#{item['seq']}" in message


def test_an_export_file_with_a_link_removed_fails(employer: Employer, tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    _run("export", "--employer", employer.employer_number, "-o", str(path))
    document = json.loads(path.read_text(encoding="utf-8"))
    del document["links"][len(document["links"]) // 2]
    path.write_text(json.dumps(document), encoding="utf-8")
    assert "broken" in _failing("verify-export", str(path))


def test_an_unknown_employer_is_an_error(employer: Employer) -> None:
    with pytest.raises(CommandError, match="no employer 99999999999"):
        _run("export", "--employer", "99999999999")
    with pytest.raises(CommandError, match="no employer"):
        _run("export", "--employer", employer.employer_number, "--institution", "CNS")
