"""Contribution statements, and reading the e-Box: who sees what, read and unread, audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader
from pytest_django.fixtures import Settings

from mandat.accounts.models import User
from mandat.core.errors import NotFoundOrForbidden
from mandat.documents import services as documents
from mandat.documents.content import StatementLine
from mandat.documents.models import Delivery, LetterKind, LetterStatus, Notice, NoticeKind
from mandat.documents.selectors import deliveries_visible_to
from mandat.mandates import services as mandate_services
from mandat.registry.models import Employer
from mandat.spaces import services as space_services
from mandat.spaces.models import Membership, Space
from tests import factories

pytestmark = pytest.mark.django_db

LINES = (
    StatementLine("pension", Decimal("48250.00"), Decimal("8.00")),
    StatementLine("health", Decimal("48250.00"), Decimal("3.05")),
    StatementLine("accident", Decimal("48250.00"), Decimal("0.75")),
)


@pytest.fixture(autouse=True)
def _seal_in_tmp(settings: Settings, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path


def statement(employer: Employer, domain: str = "BILLING", month: int = 10) -> Delivery | None:
    letter = documents.statement_send(
        employer=employer,
        domain=factories.domain(domain),
        period=dt.date(2026, month, 1),
        lines=LINES,
    )
    return Delivery.objects.filter(letter=letter).first()


def edelivery(space: Space, employer: Employer, *domains: str) -> None:
    for code in domains:
        factories.mandate(employer_=employer, space=space, domain_code=code, level="consult")
        documents.edelivery_note_use(space=space, employer=employer, domain=factories.domain(code))


@pytest.fixture
def admin() -> User:
    return factories.user(first_name="Ada", last_name="Admin")


@pytest.fixture
def employer() -> Employer:
    return factories.employer("Boulangerie Test S.à r.l.")


@pytest.fixture
def space(admin: User, employer: Employer) -> Space:
    own = factories.space_of(employer.organisation, admin=admin)
    edelivery(own, employer, "BILLING", "AFFILIATIONS")
    return own


def test_a_statement_is_a_real_pdf_in_the_employers_language(employer: Employer) -> None:
    letter = documents.statement_send(
        employer=employer,
        domain=factories.domain("BILLING"),
        period=dt.date(2026, 9, 17),
        lines=LINES,
    )
    assert letter.kind == LetterKind.CONTRIBUTION_STATEMENT
    assert letter.status == LetterStatus.QUEUED, "no eDelivery: it goes to the post"
    pdf = documents.letter_pdf(letter)
    assert pdf.startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    assert "septembre 2026" in text  # the employer writes French
    assert "Boulangerie Test" in text
    assert "3 860,00 EUR" in text.replace("\u202f", " ")  # 8 % of 48,250.00
    assert "5 693,51 EUR" in text.replace("\u202f", " ")  # the total, each line rounded
    assert f"CS-{employer.employer_number}-202609" in text


def test_with_edelivery_on_a_statement_lands_in_the_e_box_with_a_notice(
    space: Space, employer: Employer
) -> None:
    delivery = statement(employer)
    assert delivery is not None
    assert (delivery.space, delivery.read_at, delivery.read_by) == (space, None, None)
    notice = Notice.objects.get(space=space, kind=NoticeKind.DOCUMENT_DELIVERED)
    assert notice.params["letter"] == delivery.letter_id
    assert notice.params["employer"] == employer.name


def test_opening_marks_read_once_audits_every_download_and_closes_the_notice(
    space: Space, employer: Employer, admin: User
) -> None:
    delivery = statement(employer)
    assert delivery is not None
    seq = factories.audit_seq()
    pdf = documents.delivery_open(by=admin, delivery=delivery)
    assert pdf.startswith(b"%PDF-")
    delivery.refresh_from_db()
    assert delivery.read_at is not None and delivery.read_by == admin
    first_read = delivery.read_at
    documents.delivery_open(by=admin, delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.read_at == first_read
    actions = [e.action for e in factories.audit_events_since(seq)]
    assert actions == ["delivery.read", "delivery.downloaded", "delivery.downloaded"]
    assert not Notice.objects.filter(space=space, read_at__isnull=True).exists()


def test_mark_unread_and_read_again_are_audited_only_when_they_change(
    space: Space, employer: Employer, admin: User
) -> None:
    delivery = statement(employer)
    assert delivery is not None
    seq = factories.audit_seq()
    documents.delivery_mark_read(by=admin, delivery=delivery)
    documents.delivery_mark_read(by=admin, delivery=delivery)
    documents.delivery_mark_unread(by=admin, delivery=delivery)
    delivery.refresh_from_db()
    assert (delivery.read_at, delivery.read_by) == (None, None)
    documents.delivery_mark_unread(by=admin, delivery=delivery)
    actions = [e.action for e in factories.audit_events_since(seq)]
    assert actions == ["delivery.read", "delivery.unread"]


def test_an_outsider_or_a_restricted_colleague_may_not_mark_or_open(
    space: Space, employer: Employer, admin: User
) -> None:
    delivery = statement(employer)
    assert delivery is not None
    outsider = factories.user()
    colleague = factories.user()
    membership = space_services.member_add(by=admin, space=space, user=colleague)
    Membership.objects.filter(pk=membership.pk).update(restrict_employers=True)
    for person in (outsider, colleague):
        with pytest.raises(NotFoundOrForbidden):
            documents.delivery_open(by=person, delivery=delivery)
        with pytest.raises(NotFoundOrForbidden):
            documents.delivery_mark_read(by=person, delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.read_at is None


def test_who_sees_which_document(space: Space, employer: Employer, admin: User) -> None:
    billing = statement(employer, "BILLING")
    affiliations = statement(employer, "AFFILIATIONS")
    assert billing is not None and affiliations is not None
    other = factories.employer("Other Client S.A.")
    collaborator = factories.user()
    membership = space_services.member_add(by=admin, space=space, user=collaborator)

    def seen(user: User) -> set[int]:
        return set(deliveries_visible_to(user=user, space=space).values_list("pk", flat=True))

    assert seen(admin) == seen(collaborator) == {billing.pk, affiliations.pk}
    # Restricted to some domains: only documents all of whose domains are allowed.
    Membership.objects.filter(pk=membership.pk).update(restrict_domains=True)
    membership.allowed_domains.set([factories.domain("BILLING")])
    assert seen(collaborator) == {billing.pk}
    # Restricted to other clients: nothing of this employer.
    Membership.objects.filter(pk=membership.pk).update(
        restrict_domains=False, restrict_employers=True
    )
    membership.allowed_employers.set([other])
    assert seen(collaborator) == set()
    membership.allowed_employers.set([employer])
    assert seen(collaborator) == {billing.pk, affiliations.pk}
    # No consult mandate for the domain any more: the document is out of reach.
    mandate_services.mandate_revoke(
        by=factories.agent(), mandate=space.mandates_held.get(domain__code="AFFILIATIONS")
    )
    assert seen(collaborator) == {billing.pk}
    assert seen(admin) == {billing.pk, affiliations.pk}
    # Removed members and strangers see nothing.
    space_services.member_remove(by=admin, membership=membership)
    assert seen(collaborator) == set()
    assert seen(factories.user()) == set()
