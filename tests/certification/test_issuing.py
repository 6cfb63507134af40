"""Issuing: the codes and the two letters, re-printing a lost letter, reminders and expiry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings
from pytest_django.fixtures import Settings

from mandat.catalog.models import Level
from mandat.certification import issuing, redemption, services
from mandat.certification.models import AccessCode, CertificationRequest, CodeKind, RequestStatus
from mandat.core import codes
from mandat.core.errors import ApplicationError
from mandat.core.models import AuditEvent
from mandat.documents import services as documents
from mandat.documents.models import Letter, LetterKind, LetterStatus, Notice, NoticeKind
from mandat.mandates.models import Mandate
from tests import factories
from tests.factories import SECURITY_CODE, CertificationWorld

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)
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
def transmitted(world: CertificationWorld) -> CertificationRequest:
    return factories.request_transmitted_for(world)


@pytest.fixture
def issued(transmitted: CertificationRequest) -> CertificationRequest:
    return issuing.request_issue(by=factories.agent(), request=transmitted)


def _letter(request: CertificationRequest, kind: str) -> Letter:
    return Letter.objects.get(request=request, kind=kind, replaced_by__isnull=True)


def _redeem_holder(world: CertificationWorld, domain_code: str, code: str) -> Mandate:
    return redemption.code_redeem(
        by=world.boss,
        space=world.space,
        domain=factories.domain(domain_code),
        kind=CodeKind.HOLDER,
        code=code,
        security_code=SECURITY_CODE,
    )


def _cells_containing(needles: list[str]) -> list[tuple[str, str]]:
    """(table, needle) for every cell of every table whose content holds one of ``needles``."""
    found = []
    encoded = [(needle, needle.encode()) for needle in needles]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview | bytes | bytearray):
                        raw = bytes(value)
                        found += [(table, text) for text, data in encoded if data in raw]
                    elif value is not None:
                        cell = str(value)
                        found += [(table, text) for text, _data in encoded if text in cell]
    return found


# --- issuing ----------------------------------------------------------------------------------


def test_issuing_makes_every_code_of_the_seed_case(
    world: CertificationWorld, issued: CertificationRequest
) -> None:
    rows = AccessCode.objects.filter(request=issued).select_related("domain")

    made = sorted((c.domain.code, c.kind, c.representative_id, c.level) for c in rows)
    assert made == sorted(
        [(d, CodeKind.HOLDER, None, Level.ACT) for d in ALL_DOMAINS]
        + [(d, CodeKind.REVOCATION, None, Level.ACT) for d in ALL_DOMAINS]
        + [
            (d, CodeKind.REPRESENTATIVE, world.salary.pk, Level.CONSULT)
            for d in factories.SEED_DELEGATED_DOMAINS
        ]
    )
    for row in rows:
        assert row.expires_at == (
            None if row.kind == CodeKind.REVOCATION else issued.activation_deadline
        )
        assert (row.used_at, row.invalidated_at, row.failed_attempts) == (None, None, 0)


def test_issuing_moves_the_request_on_with_a_30_day_deadline(
    world: CertificationWorld, transmitted: CertificationRequest
) -> None:
    agent = factories.agent()
    seq = factories.audit_seq()

    issued = issuing.request_issue(by=agent, request=transmitted)

    issued.refresh_from_db()
    assert issued.status == RequestStatus.ISSUED
    assert issued.issued_by == agent
    assert issued.issued_at is not None
    assert issued.activation_deadline == issued.issued_at + 30 * DAY
    event = next(e for e in factories.audit_events_since(seq) if e.action == "request.issued")
    assert (event.actor_id, event.employer_id) == (agent.pk, world.employer.pk)
    assert event.data["codes"] == 11
    assert event.data["automatic"] is False


@override_settings(MANDAT_ACTIVATION_DEADLINE_DAYS=10)
def test_the_activation_deadline_is_configurable(transmitted: CertificationRequest) -> None:
    issued = issuing.request_issue(by=factories.agent(), request=transmitted)

    assert issued.issued_at is not None
    assert issued.activation_deadline == issued.issued_at + 10 * DAY
    assert {
        c.expires_at for c in AccessCode.objects.filter(request=issued, kind=CodeKind.HOLDER)
    } == {issued.issued_at + 10 * DAY}


def test_two_letters_are_queued_for_the_post_to_the_employers_address(
    world: CertificationWorld, issued: CertificationRequest
) -> None:
    letters = {letter.kind: letter for letter in Letter.objects.filter(request=issued)}

    assert set(letters) == {LetterKind.HOLDER_CODES, LetterKind.REPRESENTATIVE_CODES}
    for letter in letters.values():
        assert letter.status == LetterStatus.QUEUED
        assert letter.employer == world.employer
        assert (letter.recipient, letter.address_line1, letter.postcode, letter.city) == (
            world.employer.name,
            world.employer.address_line1,
            world.employer.postcode,
            world.employer.city,
        )
        assert letter.delivered_to is None
    assert set(letters[LetterKind.HOLDER_CODES].domains.values_list("code", flat=True)) == set(
        ALL_DOMAINS
    )
    assert set(
        letters[LetterKind.REPRESENTATIVE_CODES].domains.values_list("code", flat=True)
    ) == set(factories.SEED_DELEGATED_DOMAINS)
    assert set(documents.queued_letters()) == set(letters.values())


def test_each_letter_carries_its_codes_and_only_their_digests_are_stored(
    issued: CertificationRequest,
) -> None:
    holder = factories.codes_from_letter(_letter(issued, LetterKind.HOLDER_CODES))
    delegated = factories.codes_from_letter(_letter(issued, LetterKind.REPRESENTATIVE_CODES))

    assert set(holder) == {(d, k) for d in ALL_DOMAINS for k in ("holder", "revocation")}
    assert set(delegated) == {(d, "representative") for d in factories.SEED_DELEGATED_DOMAINS}
    printed = {**holder, **delegated}
    assert len(set(printed.values())) == 11
    for (domain_code, kind), text in printed.items():
        canonical = codes.normalize(text)
        assert codes.display(canonical) == text
        row = AccessCode.objects.get(digest=codes.digest(canonical))
        assert (row.domain.code, row.kind) == (domain_code, kind)
        assert row.letter is not None
        assert row.letter.kind == (
            LetterKind.REPRESENTATIVE_CODES if kind == "representative" else LetterKind.HOLDER_CODES
        )


def test_no_clear_code_is_stored_anywhere_in_the_database(
    issued: CertificationRequest,
) -> None:
    printed = list(factories.request_codes(issued).values())
    assert len(printed) == 11
    needles = printed + [codes.normalize(text) for text in printed]
    stored = AccessCode.objects.filter(request=issued).values_list("digest", flat=True)[0]
    assert {table for table, _ in _cells_containing([stored, "%PDF"])} >= {
        AccessCode._meta.db_table,
        CertificationRequest._meta.db_table,
    }, "the scan must read text and binary columns"

    assert _cells_containing(needles) == []
    assert not any(
        needle in str(data)
        for data in AuditEvent.objects.values_list("data", flat=True)
        for needle in needles
    )


def test_without_a_representative_only_the_holder_letter_goes_out(
    world: CertificationWorld,
) -> None:
    issued = factories.request_issued_for(world, delegations=[])

    assert list(Letter.objects.filter(request=issued).values_list("kind", flat=True)) == [
        LetterKind.HOLDER_CODES
    ]
    assert AccessCode.objects.filter(request=issued).count() == 8
    assert not AccessCode.objects.filter(request=issued, kind=CodeKind.REPRESENTATIVE).exists()


def test_a_request_in_progress_blocks_a_new_one_until_it_closes(
    world: CertificationWorld, issued: CertificationRequest
) -> None:
    with factories.refused("request_in_progress", CertificationRequest):
        services.request_start(by=world.boss, space=world.space, institution=factories.ccss())


def test_only_an_active_agent_issues(
    world: CertificationWorld, transmitted: CertificationRequest
) -> None:
    retired = factories.user(agent=True, is_active=False)
    for person in (world.boss, world.salary_admin, retired):
        with factories.refused("agent_required", AccessCode, Letter):
            issuing.request_issue(by=person, request=transmitted)
    transmitted.refresh_from_db()
    assert transmitted.status == RequestStatus.TRANSMITTED


def test_only_a_transmitted_request_is_issued(world: CertificationWorld) -> None:
    draft = factories.request_answered(world)
    with factories.refused("request_wrong_state", AccessCode, Letter):
        issuing.request_issue(by=factories.agent(), request=draft)

    signed = services.request_sign(by=world.boss, request=draft)
    with factories.refused("request_wrong_state", AccessCode, Letter):
        issuing.request_issue(by=factories.agent(), request=signed)


def test_a_request_is_issued_once(issued: CertificationRequest) -> None:
    with factories.refused("request_wrong_state", AccessCode, Letter):
        issuing.request_issue(by=factories.agent(), request=issued)


def test_a_rejected_request_is_never_issued(transmitted: CertificationRequest) -> None:
    services.request_reject(by=factories.agent(), request=transmitted, reason="No")

    with factories.refused("request_wrong_state", AccessCode, Letter):
        issuing.request_issue(by=factories.agent(), request=transmitted)


# --- re-printing a lost letter --------------------------------------------------------------------


def test_a_reprint_replaces_the_codes_and_cancels_the_queued_letter(
    world: CertificationWorld, issued: CertificationRequest
) -> None:
    lost = _letter(issued, LetterKind.HOLDER_CODES)
    old = factories.codes_from_letter(lost)
    seq = factories.audit_seq()

    new = issuing.letter_reprint(by=factories.agent(), letter=lost)

    lost.refresh_from_db()
    assert lost.status == LetterStatus.CANCELLED
    assert lost.pdf_encrypted is None
    assert new.replaces == lost
    assert new.status == LetterStatus.QUEUED
    assert lost not in documents.queued_letters()
    fresh = factories.codes_from_letter(new)
    assert set(fresh) == set(old)
    assert not set(fresh.values()) & set(old.values())
    assert AccessCode.objects.filter(letter=lost, invalidated_at__isnull=True).count() == 0
    assert AccessCode.objects.filter(letter=new, invalidated_at__isnull=True).count() == 8
    event = next(e for e in factories.audit_events_since(seq) if e.action == "letter.reprinted")
    assert event.data == {"replaces": lost.pk, "codes_invalidated": 8}

    with pytest.raises(ApplicationError) as refused:
        _redeem_holder(world, "AFFILIATIONS", old[("AFFILIATIONS", "holder")])
    assert refused.value.code == "code_invalidated"
    mandate = _redeem_holder(world, "AFFILIATIONS", fresh[("AFFILIATIONS", "holder")])
    assert mandate.domain.code == "AFFILIATIONS"


def test_a_reprint_keeps_the_representative_and_level_of_each_code(
    world: CertificationWorld, issued: CertificationRequest
) -> None:
    lost = _letter(issued, LetterKind.REPRESENTATIVE_CODES)

    new = issuing.letter_reprint(by=factories.agent(), letter=lost)

    assert sorted(
        AccessCode.objects.filter(letter=new).values_list(
            "domain__code", "kind", "representative", "level"
        )
    ) == sorted(
        (d, CodeKind.REPRESENTATIVE, world.salary.pk, Level.CONSULT)
        for d in factories.SEED_DELEGATED_DOMAINS
    )
    assert set(factories.codes_from_letter(new)) == {
        (d, "representative") for d in factories.SEED_DELEGATED_DOMAINS
    }


def test_a_reprint_leaves_used_codes_alone(
    world: CertificationWorld, issued: CertificationRequest
) -> None:
    lost = _letter(issued, LetterKind.HOLDER_CODES)
    old = factories.codes_from_letter(lost)
    mandate = _redeem_holder(world, "EMPLOYER", old[("EMPLOYER", "holder")])

    new = issuing.letter_reprint(by=factories.agent(), letter=lost)

    used = AccessCode.objects.get(mandate=mandate)
    assert used.invalidated_at is None
    assert used.letter == lost
    assert ("EMPLOYER", "holder") not in factories.codes_from_letter(new)
    assert AccessCode.objects.filter(letter=new).count() == 7
    assert ("EMPLOYER", "revocation") in factories.codes_from_letter(new)


def test_a_posted_letter_can_be_reprinted_and_stays_posted(
    issued: CertificationRequest,
) -> None:
    agent = factories.agent()
    batch = documents.batch_create(by=agent)
    documents.batch_dispatch(by=agent, batch=batch)
    posted = _letter(issued, LetterKind.REPRESENTATIVE_CODES)

    new = issuing.letter_reprint(by=agent, letter=posted)

    posted.refresh_from_db()
    assert posted.status == LetterStatus.DISPATCHED
    assert new.status == LetterStatus.QUEUED
    assert AccessCode.objects.filter(letter=posted, invalidated_at__isnull=True).count() == 0


def test_a_letter_is_replaced_once(issued: CertificationRequest) -> None:
    lost = _letter(issued, LetterKind.HOLDER_CODES)
    issuing.letter_reprint(by=factories.agent(), letter=lost)

    with factories.refused("letter_replaced", Letter, AccessCode):
        issuing.letter_reprint(by=factories.agent(), letter=lost)


def test_a_fully_used_letter_has_nothing_to_reprint(
    world: CertificationWorld, issued: CertificationRequest
) -> None:
    letter = _letter(issued, LetterKind.REPRESENTATIVE_CODES)
    for (domain_code, _kind), text in factories.codes_from_letter(letter).items():
        redemption.code_redeem(
            by=world.salary_admin,
            space=world.salary_space,
            domain=factories.domain(domain_code),
            kind=CodeKind.REPRESENTATIVE,
            code=text,
            security_code=SECURITY_CODE,
        )

    with factories.refused("letter_fully_used", Letter, AccessCode):
        issuing.letter_reprint(by=factories.agent(), letter=letter)


def test_only_an_agent_reprints(world: CertificationWorld, issued: CertificationRequest) -> None:
    letter = _letter(issued, LetterKind.HOLDER_CODES)

    with factories.refused("agent_required", Letter, AccessCode):
        issuing.letter_reprint(by=world.boss, letter=letter)
    letter.refresh_from_db()
    assert letter.status == LetterStatus.QUEUED


def test_the_letters_of_an_expired_request_are_not_reprinted(
    issued: CertificationRequest,
) -> None:
    assert issued.activation_deadline is not None
    issuing.requests_expire_due(now=issued.activation_deadline)

    with factories.refused("request_wrong_state", Letter, AccessCode):
        issuing.letter_reprint(
            by=factories.agent(), letter=_letter(issued, LetterKind.HOLDER_CODES)
        )


# --- reminders and expiry -----------------------------------------------------------------------


def test_a_week_before_the_deadline_the_space_is_reminded_once_of_pending_codes(
    world: CertificationWorld, issued: CertificationRequest
) -> None:
    deadline = issued.activation_deadline
    assert deadline is not None
    holder = factories.codes_from_letter(_letter(issued, LetterKind.HOLDER_CODES))
    _redeem_holder(world, "BILLING", holder[("BILLING", "holder")])

    assert issuing.requests_remind_due(now=deadline - 7 * DAY - dt.timedelta(minutes=1)) == 0
    assert not Notice.objects.filter(kind=NoticeKind.ACTIVATION_REMINDER).exists()
    assert issuing.requests_remind_due(now=deadline - 7 * DAY) == 1
    assert issuing.requests_remind_due(now=deadline - 2 * DAY) == 0

    notice = Notice.objects.get(kind=NoticeKind.ACTIVATION_REMINDER)
    assert notice.space == world.space
    assert notice.params["request"] == issued.pk
    assert notice.params["deadline"] == deadline.isoformat()
    pending = sorted(
        (p["domain"], p["kind"], p["representative"]) for p in notice.params["pending"]
    )
    assert pending == sorted(
        [(d, "holder", "") for d in ["EMPLOYER", "AFFILIATIONS", "REMUNERATIONS"]]
        + [(d, "representative", "Salary S.A.") for d in factories.SEED_DELEGATED_DOMAINS]
    )
    issued.refresh_from_db()
    assert issued.reminder_sent_at == deadline - 7 * DAY
    assert (
        AuditEvent.objects.filter(action="request.reminded", object_id=str(issued.pk)).count() == 1
    )


@override_settings(MANDAT_REMINDER_DAYS=3)
def test_the_reminder_horizon_is_configurable(issued: CertificationRequest) -> None:
    deadline = issued.activation_deadline
    assert deadline is not None

    assert issuing.requests_remind_due(now=deadline - 4 * DAY) == 0
    assert issuing.requests_remind_due(now=deadline - 3 * DAY) == 1


def test_after_the_deadline_the_request_expires_and_its_codes_are_dead(
    world: CertificationWorld, issued: CertificationRequest
) -> None:
    deadline = issued.activation_deadline
    assert deadline is not None
    holder = factories.codes_from_letter(_letter(issued, LetterKind.HOLDER_CODES))

    assert issuing.requests_expire_due(now=deadline - dt.timedelta(seconds=1)) == 0
    assert issuing.requests_expire_due(now=deadline) == 1
    assert issuing.requests_expire_due(now=deadline + DAY) == 0

    issued.refresh_from_db()
    assert issued.status == RequestStatus.EXPIRED
    assert issued.closed_at == deadline
    notice = Notice.objects.get(kind=NoticeKind.REQUEST_EXPIRED)
    assert (notice.space, notice.params["request"]) == (world.space, issued.pk)
    assert AuditEvent.objects.filter(action="request.expired", object_id=str(issued.pk)).exists()
    with pytest.raises(ApplicationError) as refused:
        _redeem_holder(world, "EMPLOYER", holder[("EMPLOYER", "holder")])
    assert refused.value.code == "code_expired"
    assert not Mandate.objects.filter(employer=world.employer).exists()


def test_after_expiry_the_employer_starts_again_and_gets_new_codes(
    world: CertificationWorld, issued: CertificationRequest
) -> None:
    assert issued.activation_deadline is not None
    old = factories.request_codes(issued)
    issuing.requests_expire_due(now=issued.activation_deadline)

    again = factories.request_issued_for(world)

    assert again.pk != issued.pk
    assert again.status == RequestStatus.ISSUED
    fresh = factories.request_codes(again)
    assert not set(fresh.values()) & set(old.values())
    mandate = _redeem_holder(world, "EMPLOYER", fresh[("EMPLOYER", "holder")])
    assert mandate.employer == world.employer


def test_a_completed_request_is_neither_reminded_nor_expired(
    world: CertificationWorld,
) -> None:
    issued = factories.request_issued_for(world, delegations=[])
    holder = factories.request_codes(issued)
    for domain_code in ALL_DOMAINS:
        _redeem_holder(world, domain_code, holder[(domain_code, "holder")])
    issued.refresh_from_db()
    assert issued.status == RequestStatus.COMPLETED
    assert issued.activation_deadline is not None

    assert issuing.requests_remind_due(now=issued.activation_deadline - DAY) == 0
    assert issuing.requests_expire_due(now=issued.activation_deadline + DAY) == 0
    issued.refresh_from_db()
    assert issued.status == RequestStatus.COMPLETED
