"""Letters to the post or to the e-Box, print batches, and switching eDelivery on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from pytest_django.fixtures import Settings

from mandat.certification import issuing, redemption
from mandat.certification.models import CertificationRequest, CodeKind
from mandat.core.models import AuditEvent
from mandat.documents import services as documents
from mandat.documents import vault
from mandat.documents.models import (
    Delivery,
    DispatchBatch,
    EDelivery,
    Letter,
    LetterKind,
    LetterStatus,
    Notice,
    NoticeKind,
)
from mandat.mandates import services as mandate_services
from mandat.mandates.models import Mandate, MandateStatus
from tests import factories
from tests.factories import SECURITY_CODE, CertificationWorld

pytestmark = pytest.mark.django_db

ALL_DOMAINS = ["EMPLOYER", "AFFILIATIONS", "REMUNERATIONS", "BILLING"]


@pytest.fixture(autouse=True)
def _seal_in_tmp(settings: Settings, tmp_path: Path) -> None:
    """Signing makes a development seal in DATA_DIR: keep it out of the checkout."""
    settings.DATA_DIR = tmp_path
    settings.SEAL_KEY_FILE = settings.SEAL_CERT_FILE = ""


@pytest.fixture
def world() -> CertificationWorld:
    return factories.certification_world()


@pytest.fixture
def issued(world: CertificationWorld) -> CertificationRequest:
    return factories.request_issued_for(world)


def _letter(request: CertificationRequest, kind: str) -> Letter:
    return Letter.objects.get(request=request, kind=kind, replaced_by__isnull=True)


def _certify(world: CertificationWorld, request: CertificationRequest, domain: str) -> Mandate:
    text = factories.codes_from_letter(_letter(request, LetterKind.HOLDER_CODES))[
        (domain, "holder")
    ]
    return redemption.code_redeem(
        by=world.boss,
        space=world.space,
        domain=factories.domain(domain),
        kind=CodeKind.HOLDER,
        code=text,
        security_code=SECURITY_CODE,
    )


def _note_use(world: CertificationWorld, domain: str) -> EDelivery | None:
    return documents.edelivery_note_use(
        space=world.space, employer=world.employer, domain=factories.domain(domain)
    )


# --- eDelivery --------------------------------------------------------------------------------


def test_the_first_use_by_the_certified_space_switches_edelivery_on(
    world: CertificationWorld, issued: CertificationRequest
) -> None:
    _certify(world, issued, "AFFILIATIONS")
    seq = factories.audit_seq()

    subscription = _note_use(world, "AFFILIATIONS")

    assert subscription is not None
    assert (subscription.employer, subscription.domain.code, subscription.space) == (
        world.employer,
        "AFFILIATIONS",
        world.space,
    )
    assert subscription.activated_at is not None
    events = factories.audit_events_since(seq)
    assert [(e.action, e.employer_id) for e in events] == [
        ("edelivery.activated", world.employer.pk)
    ]
    assert events[0].data == {"domain": "AFFILIATIONS", "space": world.space.pk}

    assert _note_use(world, "AFFILIATIONS") is None
    assert EDelivery.objects.count() == 1
    assert len(factories.audit_events_since(seq)) == 1


def test_edelivery_stays_off_for_a_domain_the_space_is_not_certified_for(
    world: CertificationWorld, issued: CertificationRequest
) -> None:
    _certify(world, issued, "AFFILIATIONS")

    assert _note_use(world, "BILLING") is None
    assert not EDelivery.objects.exists()


def test_a_representatives_obtained_mandate_does_not_switch_edelivery_on(
    world: CertificationWorld, issued: CertificationRequest
) -> None:
    text = factories.codes_from_letter(_letter(issued, LetterKind.REPRESENTATIVE_CODES))[
        ("EMPLOYER", "representative")
    ]
    redemption.code_redeem(
        by=world.salary_admin,
        space=world.salary_space,
        domain=factories.domain("EMPLOYER"),
        kind=CodeKind.REPRESENTATIVE,
        code=text,
        security_code=SECURITY_CODE,
    )

    assert (
        documents.edelivery_note_use(
            space=world.salary_space, employer=world.employer, domain=factories.domain("EMPLOYER")
        )
        is None
    )
    assert _note_use(world, "EMPLOYER") is None
    assert not EDelivery.objects.exists()


def test_a_revoked_certification_does_not_switch_edelivery_on(
    world: CertificationWorld, issued: CertificationRequest
) -> None:
    mandate = _certify(world, issued, "EMPLOYER")
    # An employer ends its own certification with its revocation code; an agent may end it too.
    mandate_services.mandate_revoke(by=factories.agent(), mandate=mandate, reason="test")
    assert Mandate.objects.get(pk=mandate.pk).status == MandateStatus.REVOKED

    assert _note_use(world, "EMPLOYER") is None
    assert not EDelivery.objects.exists()


def test_with_edelivery_on_a_reprinted_letter_goes_to_the_ebox(
    world: CertificationWorld, issued: CertificationRequest
) -> None:
    for domain in ALL_DOMAINS:
        _certify(world, issued, domain)
        assert _note_use(world, domain) is not None
    lost = _letter(issued, LetterKind.HOLDER_CODES)

    new = issuing.letter_reprint(by=factories.agent(), letter=lost)

    assert new.status == LetterStatus.DELIVERED
    assert new.delivered_to == world.space
    assert new not in documents.queued_letters()
    delivery = Delivery.objects.get(letter=new)
    assert (delivery.space, delivery.employer, delivery.read_at) == (
        world.space,
        world.employer,
        None,
    )
    notice = Notice.objects.get(kind=NoticeKind.DOCUMENT_DELIVERED)
    assert notice.space == world.space
    assert notice.params == {"letter": new.pk, "employer": world.employer.name}
    revocation = factories.codes_from_letter(new)[("BILLING", "revocation")]
    ended = redemption.certification_revoke_with_code(code=revocation)
    assert ended.domain.code == "BILLING"


def test_a_letter_goes_to_the_ebox_only_when_edelivery_covers_all_its_domains(
    world: CertificationWorld, issued: CertificationRequest
) -> None:
    _certify(world, issued, "EMPLOYER")
    _note_use(world, "EMPLOYER")

    new = issuing.letter_reprint(
        by=factories.agent(), letter=_letter(issued, LetterKind.REPRESENTATIVE_CODES)
    )

    assert new.status == LetterStatus.QUEUED
    assert new.delivered_to is None
    assert not Delivery.objects.exists()
    assert not Notice.objects.filter(kind=NoticeKind.DOCUMENT_DELIVERED).exists()
    assert new in documents.queued_letters()


def test_without_edelivery_letters_are_queued_for_the_post_in_address_order(
    world: CertificationWorld, issued: CertificationRequest
) -> None:
    other = factories.certification_world("Aardvark S.A.")
    earlier = factories.request_issued_for(other, delegations=[])

    queued = documents.queued_letters()

    assert {letter.request_id for letter in queued} == {issued.pk, earlier.pk}
    assert len(queued) == 3
    assert all(letter.status == LetterStatus.QUEUED for letter in queued)
    assert [letter.recipient for letter in queued] == sorted(letter.recipient for letter in queued)
    assert not Delivery.objects.exists()


# --- letters at rest --------------------------------------------------------------------------


def test_a_letter_is_kept_encrypted_and_bound_to_itself(issued: CertificationRequest) -> None:
    holder = _letter(issued, LetterKind.HOLDER_CODES)
    delegated = _letter(issued, LetterKind.REPRESENTATIVE_CODES)
    pdf = documents.letter_pdf(holder)

    assert pdf.startswith(b"%PDF")
    assert b"%PDF" not in bytes(holder.pdf_encrypted)  # type: ignore[arg-type]
    with pytest.raises(InvalidTag):
        vault.unseal(bytes(holder.pdf_encrypted), label=f"letter:{delegated.pk}")  # type: ignore[arg-type]
    tampered = bytearray(holder.pdf_encrypted)  # type: ignore[arg-type]
    tampered[-1] ^= 1
    Letter.objects.filter(pk=holder.pk).update(pdf_encrypted=bytes(tampered))
    holder.refresh_from_db()
    with pytest.raises(InvalidTag):
        documents.letter_pdf(holder)


# --- print batches ----------------------------------------------------------------------------


def test_an_agent_batches_every_queued_letter(issued: CertificationRequest) -> None:
    agent = factories.agent()
    queued = documents.queued_letters()
    assert len(queued) == 2

    batch = documents.batch_create(by=agent)

    assert (batch.created_by, batch.letter_count, batch.dispatched_at) == (agent, 2, None)
    assert documents.batch_letters(batch) == queued
    assert documents.queued_letters() == []
    assert AuditEvent.objects.get(action="batch.created", object_id=str(batch.pk)).data == {
        "letters": 2
    }
    with factories.refused("batch_empty", DispatchBatch):
        documents.batch_create(by=agent)


def test_an_empty_batch_is_refused(world: CertificationWorld) -> None:
    with factories.refused("batch_empty", DispatchBatch):
        documents.batch_create(by=factories.agent())


def test_only_an_active_agent_makes_or_posts_a_batch(
    world: CertificationWorld, issued: CertificationRequest
) -> None:
    retired = factories.user(agent=True, is_active=False)
    for person in (world.boss, retired):
        with factories.refused("agent_required", DispatchBatch):
            documents.batch_create(by=person)
    batch = documents.batch_create(by=factories.agent())
    for person in (world.boss, retired):
        with factories.refused("agent_required"):
            documents.batch_dispatch(by=person, batch=batch)
    batch.refresh_from_db()
    assert batch.dispatched_at is None


def test_posting_a_batch_erases_the_letters_and_stamps_them(
    issued: CertificationRequest,
) -> None:
    agent = factories.agent()
    batch = documents.batch_create(by=agent)
    seq = factories.audit_seq()

    posted = documents.batch_dispatch(by=agent, batch=batch)

    posted.refresh_from_db()
    assert posted.dispatched_by == agent
    assert posted.dispatched_at is not None
    for letter in Letter.objects.filter(batch=batch):
        assert letter.status == LetterStatus.DISPATCHED
        assert letter.dispatched_at == posted.dispatched_at
        assert letter.pdf_encrypted is None
        assert len(letter.pdf_sha256) == 64
        with factories.refused("letter_erased"):
            documents.letter_pdf(letter)
    events = factories.audit_events_since(seq)
    assert sorted((e.action, e.object_id) for e in events) == sorted(
        ("letter.dispatched", str(pk))
        for pk in Letter.objects.filter(batch=batch).values_list("pk", flat=True)
    )
    assert {e.data["batch"] for e in events} == {batch.pk}


def test_a_batch_is_posted_once(issued: CertificationRequest) -> None:
    agent = factories.agent()
    batch = documents.batch_dispatch(by=agent, batch=documents.batch_create(by=agent))
    posted_at = DispatchBatch.objects.get(pk=batch.pk).dispatched_at

    with factories.refused("batch_dispatched"):
        documents.batch_dispatch(by=agent, batch=batch)

    assert DispatchBatch.objects.get(pk=batch.pk).dispatched_at == posted_at


def test_a_letter_reprinted_after_batching_is_left_out_of_the_print_run(
    issued: CertificationRequest,
) -> None:
    agent = factories.agent()
    batch = documents.batch_create(by=agent)
    lost = _letter(issued, LetterKind.REPRESENTATIVE_CODES)

    replacement = issuing.letter_reprint(by=agent, letter=lost)

    assert [letter.kind for letter in documents.batch_letters(batch)] == [LetterKind.HOLDER_CODES]
    assert documents.queued_letters() == [replacement]
    documents.batch_dispatch(by=agent, batch=batch)
    lost.refresh_from_db()
    assert lost.status == LetterStatus.CANCELLED
    assert lost.dispatched_at is None


def test_letters_delivered_to_the_ebox_are_never_batched(
    world: CertificationWorld, issued: CertificationRequest
) -> None:
    agent = factories.agent()
    printed = factories.codes_from_letter(_letter(issued, LetterKind.HOLDER_CODES))
    documents.batch_dispatch(by=agent, batch=documents.batch_create(by=agent))
    for domain in ALL_DOMAINS:
        redemption.code_redeem(
            by=world.boss,
            space=world.space,
            domain=factories.domain(domain),
            kind=CodeKind.HOLDER,
            code=printed[(domain, "holder")],
            security_code=SECURITY_CODE,
        )
        _note_use(world, domain)
    new = issuing.letter_reprint(by=agent, letter=_letter(issued, LetterKind.HOLDER_CODES))
    assert new.status == LetterStatus.DELIVERED

    with factories.refused("batch_empty", DispatchBatch):
        documents.batch_create(by=agent)
    assert documents.letter_pdf(new).startswith(b"%PDF")


# --- notices ----------------------------------------------------------------------------------


def test_a_member_marks_a_notice_read_once(
    world: CertificationWorld, issued: CertificationRequest
) -> None:
    assert issued.activation_deadline is not None
    issuing.requests_remind_due(now=issued.activation_deadline - dt.timedelta(days=1))
    notice = Notice.objects.get(space=world.space)

    with factories.refused("space_member_required"):
        documents.notice_mark_read(by=world.salary_admin, notice=notice)
    read = documents.notice_mark_read(by=world.boss, notice=notice)
    again = documents.notice_mark_read(by=world.boss, notice=notice)

    assert read.read_at is not None
    assert again.read_at == read.read_at
