"""Procedure B: the certification request, step by step, and every refusal of its services."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from pytest_django.fixtures import Settings

from mandat.accounts.models import User
from mandat.catalog.models import Level
from mandat.certification import services
from mandat.certification.models import CertificationRequest, Delegation, RequestStatus
from mandat.certification.services import DelegationInput
from mandat.core import secrets
from mandat.core.models import AuditEvent
from mandat.documents.models import Notice, NoticeKind
from mandat.registry import services as registry
from mandat.spaces import services as space_services
from mandat.spaces.models import Role, SpaceKind
from tests import factories
from tests.factories import CertificationWorld

pytestmark = pytest.mark.django_db

SALARY = "2020220124699"


@pytest.fixture(autouse=True)
def _seal_in_tmp(settings: Settings, tmp_path: Path) -> None:
    """Signing makes a development seal in DATA_DIR: keep it out of the checkout."""
    settings.DATA_DIR = tmp_path
    settings.SEAL_KEY_FILE = settings.SEAL_CERT_FILE = ""


@pytest.fixture
def world() -> CertificationWorld:
    return factories.certification_world()


@pytest.fixture
def draft(world: CertificationWorld) -> CertificationRequest:
    return services.request_start(by=world.boss, space=world.space, institution=factories.ccss())


@pytest.fixture
def answered(world: CertificationWorld) -> CertificationRequest:
    return factories.request_answered(world)


@pytest.fixture
def signed(world: CertificationWorld, answered: CertificationRequest) -> CertificationRequest:
    return services.request_sign(by=world.boss, request=answered)


def _actions(request: CertificationRequest) -> list[str]:
    return list(
        AuditEvent.objects.filter(
            object_type="certification.certificationrequest", object_id=str(request.pk)
        )
        .order_by("seq")
        .values_list("action", flat=True)
    )


def _representatives(
    world: CertificationWorld,
    request: CertificationRequest,
    delegations: list[DelegationInput],
    *,
    same: bool | None = True,
) -> CertificationRequest:
    return services.request_set_representatives(
        by=world.boss,
        request=request,
        has_representative=True,
        same_representative=same,
        delegations=delegations,
    )


def _collaborator(world: CertificationWorld) -> User:
    member = factories.user()
    space_services.member_add(by=world.boss, space=world.space, user=member, role=Role.COLLABORATOR)
    return member


# --- starting ------------------------------------------------------------------------------


def test_the_employers_own_space_opens_a_draft_and_records_it(
    world: CertificationWorld,
) -> None:
    request = services.request_start(by=world.boss, space=world.space, institution=factories.ccss())

    assert request.status == RequestStatus.DRAFT
    assert request.employer == world.employer
    assert request.created_by == world.boss
    assert _actions(request) == ["request.started"]


def test_starting_again_returns_the_open_draft(
    world: CertificationWorld, draft: CertificationRequest
) -> None:
    again = services.request_start(by=world.boss, space=world.space, institution=factories.ccss())

    assert again.pk == draft.pk
    assert CertificationRequest.objects.filter(employer=world.employer).count() == 1


def test_a_representatives_space_cannot_file_a_request(world: CertificationWorld) -> None:
    with factories.refused("not_an_employer_space", CertificationRequest):
        services.request_start(
            by=world.salary_admin, space=world.salary_space, institution=factories.ccss()
        )


def test_a_private_space_cannot_file_a_request() -> None:
    person = factories.user()
    private = space_services.space_create(by=person, kind=SpaceKind.PRIVATE)

    with factories.refused("not_an_employer_space", CertificationRequest):
        services.request_start(by=person, space=private, institution=factories.ccss())


def test_a_space_not_registered_with_the_institution_cannot_file(
    world: CertificationWorld,
) -> None:
    with factories.refused("not_an_employer_space", CertificationRequest):
        services.request_start(
            by=world.boss, space=world.space, institution=factories.institution("OTHER")
        )


@pytest.mark.parametrize("who", ["collaborator", "stranger", "salary_admin"])
def test_only_an_admin_of_the_employers_space_may_start(
    world: CertificationWorld, who: str
) -> None:
    person = {
        "collaborator": lambda: _collaborator(world),
        "stranger": factories.user,
        "salary_admin": lambda: world.salary_admin,
    }[who]()

    with factories.refused("space_admin_required", CertificationRequest):
        services.request_start(by=person, space=world.space, institution=factories.ccss())


# --- the draft steps -----------------------------------------------------------------------


def test_a_fresh_draft_misses_every_step_in_order(draft: CertificationRequest) -> None:
    assert services.missing_steps(draft) == [
        "consent",
        "filer",
        "employer",
        "representatives",
        "security_code",
    ]


def test_consent_is_required(world: CertificationWorld, draft: CertificationRequest) -> None:
    with factories.refused("consent_required") as caught:
        services.request_consent(by=world.boss, request=draft, consent=False)
    assert caught.value.field == "consent"

    given = services.request_consent(by=world.boss, request=draft, consent=True)
    assert given.consent_at is not None
    assert "consent" not in services.missing_steps(given)


@pytest.mark.parametrize(
    ("name", "email", "phone", "code"),
    [
        ("  ", "anne@example.test", "+352 621 123 456", "filer_name_required"),
        ("Anne Schmit", "anne@", "+352 621 123 456", "filer_email_invalid"),
        ("Anne Schmit", "anne@example.test", "call me", "filer_phone_invalid"),
        ("Anne Schmit", "anne@example.test", "12", "filer_phone_invalid"),
    ],
)
def test_the_filer_step_checks_each_answer(
    world: CertificationWorld,
    draft: CertificationRequest,
    name: str,
    email: str,
    phone: str,
    code: str,
) -> None:
    with factories.refused(code):
        services.request_set_filer(
            by=world.boss, request=draft, name=name, email=email, phone=phone
        )
    draft.refresh_from_db()
    assert draft.filer_name == draft.filer_email == draft.filer_phone == ""


def test_the_filer_step_keeps_tidy_answers(
    world: CertificationWorld, draft: CertificationRequest
) -> None:
    filed = services.request_set_filer(
        by=world.boss,
        request=draft,
        name="  Anne   Schmit ",
        email=" anne@example.test ",
        phone=" +352 621 123 456 ",
    )

    filed.refresh_from_db()
    assert (filed.filer_name, filed.filer_email, filed.filer_phone) == (
        "Anne Schmit",
        "anne@example.test",
        "+352 621 123 456",
    )


def test_the_employer_step_accepts_the_spaces_own_employer(
    world: CertificationWorld, draft: CertificationRequest
) -> None:
    number = world.employer.employer_number
    spaced = f"{number[:4]} {number[4:]}"

    checked = services.request_set_employer(
        by=world.boss, request=draft, employer_number=spaced, employer_name="boulangerie demo sarl"
    )

    checked.refresh_from_db()
    assert checked.employer_number_typed == number
    assert "employer" not in services.missing_steps(checked)


def test_an_unknown_employer_and_a_mismatching_name_get_the_same_error(
    world: CertificationWorld, draft: CertificationRequest
) -> None:
    with factories.refused("employer_no_match") as unknown:
        services.request_set_employer(
            by=world.boss,
            request=draft,
            employer_number="29999999999",
            employer_name=world.employer.name,
        )
    with factories.refused("employer_no_match") as mismatch:
        services.request_set_employer(
            by=world.boss,
            request=draft,
            employer_number=world.employer.employer_number,
            employer_name="Another Name S.A.",
        )

    assert str(unknown.value) == str(mismatch.value)
    assert unknown.value.field == mismatch.value.field == "employer_number"
    assert unknown.value.params == mismatch.value.params


def test_a_space_cannot_file_for_another_employer(
    world: CertificationWorld, draft: CertificationRequest
) -> None:
    other = factories.employer("Other Employer S.A.")

    with factories.refused("not_own_employer") as caught:
        services.request_set_employer(
            by=world.boss,
            request=draft,
            employer_number=other.employer_number,
            employer_name=other.name,
        )
    assert caught.value.field == "employer_number"
    draft.refresh_from_db()
    assert draft.employer_number_typed == ""


def test_the_seeds_delegations_are_recorded_as_asked(
    world: CertificationWorld, draft: CertificationRequest
) -> None:
    assert world.salary.registration_number == SALARY
    assert world.salary.denomination == "Salary S.A."

    _representatives(world, draft, factories.seed_delegations())

    rows = {
        d.domain.code: (d.representative_id, d.level)
        for d in Delegation.objects.filter(request=draft).select_related("domain")
    }
    assert rows == {
        "EMPLOYER": (world.salary.pk, Level.CONSULT),
        "AFFILIATIONS": (world.salary.pk, Level.CONSULT),
        "REMUNERATIONS": (world.salary.pk, Level.CONSULT),
    }
    draft.refresh_from_db()
    assert draft.has_representative is True
    assert draft.same_representative is True


def test_no_representative_is_an_answer(
    world: CertificationWorld, draft: CertificationRequest
) -> None:
    _representatives(world, draft, factories.seed_delegations())

    services.request_set_representatives(
        by=world.boss,
        request=draft,
        has_representative=False,
        same_representative=True,
        delegations=factories.seed_delegations(),
    )

    draft.refresh_from_db()
    assert draft.has_representative is False
    assert draft.same_representative is None
    assert not Delegation.objects.filter(request=draft).exists()
    assert "representatives" not in services.missing_steps(draft)


def test_a_different_representative_per_domain_needs_same_no(
    world: CertificationWorld, draft: CertificationRequest
) -> None:
    other = factories.representative("Fiduciaire Nord S.A.")
    mixed = [
        DelegationInput("EMPLOYER", SALARY, "Salary S.A.", Level.CONSULT),
        DelegationInput("BILLING", other.registration_number, other.denomination, Level.ACT),
    ]

    with factories.refused("representative_not_same") as caught:
        _representatives(world, draft, mixed, same=True)
    assert caught.value.field == "domains"
    assert not Delegation.objects.filter(request=draft).exists()

    _representatives(world, draft, mixed, same=False)
    assert dict(
        Delegation.objects.filter(request=draft).values_list("domain__code", "representative")
    ) == {"EMPLOYER": world.salary.pk, "BILLING": other.pk}


def test_the_same_representative_may_be_typed_differently_in_each_domain(
    world: CertificationWorld, draft: CertificationRequest
) -> None:
    typed = [
        DelegationInput("EMPLOYER", SALARY, "Salary S.A.", Level.CONSULT),
        DelegationInput("AFFILIATIONS", "2020 2201 24699", "SALARY S.A.", Level.CONSULT),
        DelegationInput("REMUNERATIONS", SALARY, "Salary SA", Level.CONSULT),
    ]

    _representatives(world, draft, typed, same=True)

    assert set(
        Delegation.objects.filter(request=draft).values_list("representative", flat=True)
    ) == {world.salary.pk}


def test_whether_the_representative_is_the_same_must_be_answered(
    world: CertificationWorld, draft: CertificationRequest
) -> None:
    with factories.refused("same_representative_required") as caught:
        _representatives(world, draft, factories.seed_delegations(), same=None)
    assert caught.value.field == "same_representative"


@pytest.mark.parametrize(
    ("domains", "code"),
    [
        ([], "delegation_domain_required"),
        (["EMPLOYER", "EMPLOYER"], "delegation_domain_invalid"),
        (["PENSIONS"], "delegation_domain_invalid"),
    ],
)
def test_each_delegated_domain_is_a_known_domain_chosen_once(
    world: CertificationWorld, draft: CertificationRequest, domains: list[str], code: str
) -> None:
    delegations = [DelegationInput(d, SALARY, "Salary S.A.", Level.ACT) for d in domains]

    with factories.refused(code):
        _representatives(world, draft, delegations)
    assert not Delegation.objects.filter(request=draft).exists()


@pytest.mark.parametrize("level", ["", "admin"])
def test_a_level_is_required_for_each_delegated_domain(
    world: CertificationWorld, draft: CertificationRequest, level: str
) -> None:
    delegations = [
        DelegationInput("EMPLOYER", SALARY, "Salary S.A.", Level.CONSULT),
        DelegationInput("AFFILIATIONS", SALARY, "Salary S.A.", level),
    ]

    with factories.refused("delegation_level_required") as caught:
        _representatives(world, draft, delegations)
    assert caught.value.field == "AFFILIATIONS-level"


@pytest.mark.parametrize(
    ("number", "name"),
    [("2020220124698", "Salary S.A."), (SALARY, "Payroll S.A."), ("not a number", "Salary S.A.")],
)
def test_an_unknown_or_mismatching_representative_is_refused_alike(
    world: CertificationWorld, draft: CertificationRequest, number: str, name: str
) -> None:
    delegations = [DelegationInput("REMUNERATIONS", number, name, Level.CONSULT)]

    with factories.refused("representative_no_match") as caught:
        _representatives(world, draft, delegations)
    assert caught.value.field == "REMUNERATIONS-registration_number"


def test_the_employer_cannot_be_its_own_representative(
    world: CertificationWorld, draft: CertificationRequest
) -> None:
    itself = registry.representative_register(
        by=factories.agent(),
        organisation=world.employer.organisation,
        registration_number="2020111111111",
        denomination=world.employer.name,
        address=factories.ADDRESS,
    )
    delegations = [
        DelegationInput("BILLING", itself.registration_number, itself.denomination, Level.ACT)
    ]

    with factories.refused("representative_is_employer") as caught:
        _representatives(world, draft, delegations)
    assert caught.value.field == "BILLING-registration_number"


def test_a_refused_representatives_answer_keeps_the_previous_one(
    world: CertificationWorld, draft: CertificationRequest
) -> None:
    _representatives(world, draft, factories.seed_delegations())

    with factories.refused("representative_no_match"):
        _representatives(
            world, draft, [DelegationInput("BILLING", "2020220124698", "Nobody", Level.ACT)]
        )

    assert set(
        Delegation.objects.filter(request=draft).values_list("domain__code", flat=True)
    ) == set(factories.SEED_DELEGATED_DOMAINS)


@pytest.mark.parametrize("length", [6, 10])
def test_a_security_code_of_6_to_10_characters_is_kept_hashed(
    world: CertificationWorld, draft: CertificationRequest, length: int
) -> None:
    chosen = "Zq8-Secret"[:length].ljust(length, "x")

    services.request_set_security_code(
        by=world.boss, request=draft, security_code=chosen, confirmation=chosen
    )

    draft.refresh_from_db()
    assert chosen not in draft.security_code_hash
    assert draft.security_code_hash.startswith("$argon2id$")
    assert secrets.verify_secret(draft.security_code_hash, chosen)
    assert not secrets.verify_secret(draft.security_code_hash, chosen + "x")


@pytest.mark.parametrize("chosen", ["", "abcde", "abcdefghijk"])
def test_a_security_code_outside_6_to_10_characters_is_refused(
    world: CertificationWorld, draft: CertificationRequest, chosen: str
) -> None:
    with factories.refused("security_code_length") as caught:
        services.request_set_security_code(
            by=world.boss, request=draft, security_code=chosen, confirmation=chosen
        )
    assert caught.value.field == "security_code"
    draft.refresh_from_db()
    assert draft.security_code_hash == ""


def test_the_security_code_must_be_typed_twice_alike(
    world: CertificationWorld, draft: CertificationRequest
) -> None:
    with factories.refused("security_code_mismatch") as caught:
        services.request_set_security_code(
            by=world.boss, request=draft, security_code="Zq8-Secret", confirmation="Zq8-secret"
        )
    assert caught.value.field == "confirmation"
    draft.refresh_from_db()
    assert draft.security_code_hash == ""


def _step_calls() -> dict[str, Callable[[CertificationWorld, CertificationRequest, User], object]]:
    return {
        "consent": lambda w, r, by: services.request_consent(by=by, request=r, consent=True),
        "filer": lambda w, r, by: services.request_set_filer(
            by=by, request=r, name="Eve", email="eve@example.test", phone="+352 621 000 000"
        ),
        "employer": lambda w, r, by: services.request_set_employer(
            by=by,
            request=r,
            employer_number=w.employer.employer_number,
            employer_name=w.employer.name,
        ),
        "representatives": lambda w, r, by: services.request_set_representatives(
            by=by, request=r, has_representative=False, same_representative=None, delegations=[]
        ),
        "security_code": lambda w, r, by: services.request_set_security_code(
            by=by, request=r, security_code="abcdefg", confirmation="abcdefg"
        ),
        "sign": lambda w, r, by: services.request_sign(by=by, request=r),
    }


@pytest.mark.parametrize("step", list(_step_calls()))
def test_only_an_admin_of_the_employers_space_answers_a_step(
    world: CertificationWorld, answered: CertificationRequest, step: str
) -> None:
    collaborator = _collaborator(world)
    before = CertificationRequest.objects.filter(pk=answered.pk).values().get()

    with factories.refused("space_admin_required"):
        _step_calls()[step](world, answered, collaborator)
    with factories.refused("space_admin_required"):
        _step_calls()[step](world, answered, world.salary_admin)

    assert CertificationRequest.objects.filter(pk=answered.pk).values().get() == before


@pytest.mark.parametrize("step", list(_step_calls()))
def test_a_signed_request_refuses_every_draft_step(
    world: CertificationWorld, signed: CertificationRequest, step: str
) -> None:
    before = CertificationRequest.objects.filter(pk=signed.pk).values().get()

    with factories.refused("request_wrong_state"):
        _step_calls()[step](world, signed, world.boss)

    assert CertificationRequest.objects.filter(pk=signed.pk).values().get() == before


# --- signing, reopening, transmitting --------------------------------------------------------


def test_an_incomplete_request_cannot_be_signed(
    world: CertificationWorld, draft: CertificationRequest
) -> None:
    services.request_consent(by=world.boss, request=draft, consent=True)

    with factories.refused("request_incomplete") as caught:
        services.request_sign(by=world.boss, request=draft)

    assert caught.value.params["missing"] == "filer, employer, representatives, security_code"
    draft.refresh_from_db()
    assert draft.status == RequestStatus.DRAFT
    assert draft.signed_pdf is None


def test_a_representative_left_unchecked_keeps_the_request_unsignable(
    world: CertificationWorld, answered: CertificationRequest
) -> None:
    Delegation.objects.filter(request=answered).update(representative=None)

    assert services.missing_steps(answered) == ["representatives"]
    with factories.refused("request_incomplete"):
        services.request_sign(by=world.boss, request=answered)


def test_signing_a_complete_request_records_the_signed_document(
    world: CertificationWorld, answered: CertificationRequest
) -> None:
    assert services.missing_steps(answered) == []

    signed = services.request_sign(by=world.boss, request=answered)

    signed.refresh_from_db()
    assert signed.status == RequestStatus.SIGNED
    assert signed.signed_by == world.boss
    assert signed.signed_at is not None
    assert bytes(signed.signed_pdf).startswith(b"%PDF")
    assert len(signed.signed_pdf_sha256) == len(signed.summary_sha256) == 64
    assert _actions(signed) == ["request.started", "request.signed"]
    event = AuditEvent.objects.get(action="request.signed", object_id=str(signed.pk))
    assert event.data["signed_pdf_sha256"] == signed.signed_pdf_sha256
    assert event.employer_id == world.employer.pk


def test_a_signed_request_can_be_reopened_unsigned_and_changed(
    world: CertificationWorld, signed: CertificationRequest
) -> None:
    reopened = services.request_reopen(by=world.boss, request=signed)

    reopened.refresh_from_db()
    assert reopened.status == RequestStatus.DRAFT
    assert reopened.signed_pdf is None
    assert (reopened.signed_at, reopened.signed_by, reopened.signed_pdf_sha256) == (None, None, "")
    assert _actions(reopened)[-1] == "request.reopened"
    services.request_set_filer(
        by=world.boss, request=reopened, name="Paul", email="p@example.test", phone="+352 1234567"
    )


def test_only_a_signed_request_can_be_reopened(
    world: CertificationWorld, answered: CertificationRequest
) -> None:
    with factories.refused("request_wrong_state"):
        services.request_reopen(by=world.boss, request=answered)


def test_transmitting_asks_for_confirmation(
    world: CertificationWorld, signed: CertificationRequest
) -> None:
    with factories.refused("transmit_unconfirmed") as caught:
        services.request_transmit(by=world.boss, request=signed, confirmed=False)
    assert caught.value.field == "confirm"

    sent = services.request_transmit(by=world.boss, request=signed, confirmed=True)

    sent.refresh_from_db()
    assert sent.status == RequestStatus.TRANSMITTED
    assert sent.transmitted_at is not None
    assert _actions(sent)[-1] == "request.transmitted"


def test_only_a_signed_request_can_be_transmitted(
    world: CertificationWorld, answered: CertificationRequest
) -> None:
    with factories.refused("request_wrong_state"):
        services.request_transmit(by=world.boss, request=answered, confirmed=True)


def test_a_transmitted_request_can_neither_be_transmitted_again_nor_reopened(
    world: CertificationWorld, signed: CertificationRequest
) -> None:
    sent = services.request_transmit(by=world.boss, request=signed, confirmed=True)

    with factories.refused("request_wrong_state"):
        services.request_transmit(by=world.boss, request=sent, confirmed=True)
    with factories.refused("request_wrong_state"):
        services.request_reopen(by=world.boss, request=sent)


@pytest.mark.parametrize("action", ["reopen", "transmit"])
def test_only_an_admin_of_the_employers_space_reopens_or_transmits(
    world: CertificationWorld, signed: CertificationRequest, action: str
) -> None:
    collaborator = _collaborator(world)
    for person in (collaborator, world.salary_admin):
        with factories.refused("space_admin_required"):
            if action == "reopen":
                services.request_reopen(by=person, request=signed)
            else:
                services.request_transmit(by=person, request=signed, confirmed=True)
    signed.refresh_from_db()
    assert signed.status == RequestStatus.SIGNED


# --- one open request per employer -------------------------------------------------------------


def test_no_new_request_while_one_is_in_progress(
    world: CertificationWorld, signed: CertificationRequest
) -> None:
    with factories.refused("request_in_progress", CertificationRequest):
        services.request_start(by=world.boss, space=world.space, institution=factories.ccss())

    services.request_transmit(by=world.boss, request=signed, confirmed=True)
    with factories.refused("request_in_progress", CertificationRequest):
        services.request_start(by=world.boss, space=world.space, institution=factories.ccss())


@pytest.mark.parametrize("second_status", ["draft", "signed", "transmitted", "issued"])
def test_the_database_refuses_a_second_open_request_for_an_employer(
    world: CertificationWorld, draft: CertificationRequest, second_status: str
) -> None:
    stamp = draft.created_at
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        CertificationRequest.objects.create(
            space=world.space,
            institution=draft.institution,
            employer=world.employer,
            created_by=world.boss,
            status=second_status,
            signed_at=stamp,
            transmitted_at=stamp,
            issued_at=stamp,
            activation_deadline=stamp,
        )
    message = str(caught.value)
    assert "one_open_request_per_employer" in message or "UNIQUE constraint failed" in message


def test_the_database_allows_a_new_request_beside_a_closed_one(
    world: CertificationWorld, draft: CertificationRequest
) -> None:
    stamp = draft.created_at
    CertificationRequest.objects.filter(pk=draft.pk).update(
        status=RequestStatus.REJECTED, signed_at=stamp, rejected_at=stamp
    )

    CertificationRequest.objects.create(
        space=world.space,
        institution=draft.institution,
        employer=world.employer,
        created_by=world.boss,
    )

    assert CertificationRequest.objects.filter(employer=world.employer).count() == 2


# --- the institution's refusal -------------------------------------------------------------------


@pytest.fixture
def transmitted(world: CertificationWorld, signed: CertificationRequest) -> CertificationRequest:
    return services.request_transmit(by=world.boss, request=signed, confirmed=True)


def test_an_agent_rejects_a_transmitted_request_with_a_reason(
    world: CertificationWorld, transmitted: CertificationRequest
) -> None:
    agent = factories.agent()

    rejected = services.request_reject(
        by=agent, request=transmitted, reason="  The employer number is not yours.  "
    )

    rejected.refresh_from_db()
    assert rejected.status == RequestStatus.REJECTED
    assert rejected.rejected_by == agent
    assert rejected.rejected_at is not None
    assert rejected.closed_at == rejected.rejected_at
    assert rejected.rejection_reason == "The employer number is not yours."
    notice = Notice.objects.get(space=world.space, kind=NoticeKind.REQUEST_REJECTED)
    assert notice.params == {"request": rejected.pk, "reason": "The employer number is not yours."}
    assert _actions(rejected)[-1] == "request.rejected"


def test_a_rejected_request_lets_the_employer_start_again(
    world: CertificationWorld, transmitted: CertificationRequest
) -> None:
    services.request_reject(by=factories.agent(), request=transmitted, reason="Wrong address")

    again = services.request_start(by=world.boss, space=world.space, institution=factories.ccss())

    assert again.pk != transmitted.pk
    assert again.status == RequestStatus.DRAFT


@pytest.mark.parametrize("reason", ["", "   \n "])
def test_a_rejection_needs_a_reason(transmitted: CertificationRequest, reason: str) -> None:
    with factories.refused("reason_required", Notice) as caught:
        services.request_reject(by=factories.agent(), request=transmitted, reason=reason)
    assert caught.value.field == "reason"
    transmitted.refresh_from_db()
    assert transmitted.status == RequestStatus.TRANSMITTED


def test_only_an_active_agent_rejects(
    world: CertificationWorld, transmitted: CertificationRequest
) -> None:
    retired = factories.user(agent=True, is_active=False)
    for person in (world.boss, world.salary_admin, retired):
        with factories.refused("agent_required", Notice):
            services.request_reject(by=person, request=transmitted, reason="No")
    transmitted.refresh_from_db()
    assert transmitted.status == RequestStatus.TRANSMITTED


@pytest.mark.parametrize("fixture", ["draft", "signed"])
def test_only_a_transmitted_request_can_be_rejected(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    untransmitted: CertificationRequest = request.getfixturevalue(fixture)

    with factories.refused("request_wrong_state", Notice):
        services.request_reject(by=factories.agent(), request=untransmitted, reason="No")


def test_a_rejected_request_cannot_be_rejected_again_or_transmitted(
    world: CertificationWorld, transmitted: CertificationRequest
) -> None:
    rejected = services.request_reject(by=factories.agent(), request=transmitted, reason="No")

    with factories.refused("request_wrong_state", Notice):
        services.request_reject(by=factories.agent(), request=rejected, reason="No again")
    with factories.refused("request_wrong_state"):
        services.request_transmit(by=world.boss, request=rejected, confirmed=True)
