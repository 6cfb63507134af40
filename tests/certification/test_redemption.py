"""Procedure C: redeeming posted codes into a space, and revocation codes without logging in."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from pytest_django.fixtures import Settings

from mandat.catalog.models import Level
from mandat.certification import redemption
from mandat.certification.models import AccessCode, CertificationRequest, CodeKind, RequestStatus
from mandat.core import audit, codes, secrets, time
from mandat.core.codes import ALPHABET, CodeTypo
from mandat.core.errors import ApplicationError
from mandat.core.models import AuditEvent
from mandat.mandates import services as mandate_services
from mandat.mandates.models import (
    EndCause,
    Mandate,
    MandateKind,
    MandateSource,
    MandateStatus,
)
from mandat.mandates.policies import can
from mandat.spaces import services as space_services
from mandat.spaces.models import Role, Space
from tests import factories
from tests.factories import SECURITY_CODE, CertificationWorld

pytestmark = pytest.mark.django_db

Printed = dict[tuple[str, str], str]


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


@pytest.fixture
def printed(issued: CertificationRequest) -> Printed:
    return factories.request_codes(issued)


def _redeem(
    world: CertificationWorld,
    code: str,
    *,
    domain: str,
    kind: str = CodeKind.HOLDER,
    space: Space | None = None,
    security_code: str = SECURITY_CODE,
) -> Mandate:
    if space is None:
        space = world.space if kind == CodeKind.HOLDER else world.salary_space
    by = world.boss if space == world.space else world.salary_admin
    if space not in (world.space, world.salary_space):
        by = space.memberships.get(role=Role.ADMIN).user
    return redemption.code_redeem(
        by=by,
        space=space,
        domain=factories.domain(domain),
        kind=kind,
        code=code,
        security_code=security_code,
    )


def _row(code: str) -> AccessCode:
    return AccessCode.objects.get(digest=codes.digest(codes.normalize(code)))


def _typo(code: str) -> str:
    """The code with its first symbol replaced by another symbol of the alphabet."""
    first = code[0]
    return ALPHABET[(ALPHABET.index(first) + 1) % len(ALPHABET)] + code[1:]


def _other_space() -> Space:
    other = factories.representative("Fiduciaire Nord S.A.")
    return factories.space_of(other.organisation, admin=factories.user())


@contextlib.contextmanager
def declined(expected: str) -> Iterator[pytest.ExceptionInfo[ApplicationError]]:
    """Expect a redemption refused with ``expected``: no mandate, no used code.

    Unlike other refusals, a failed redemption is recorded in the audit trail.
    """
    seq = factories.audit_seq()
    mandates = Mandate.objects.count()
    used = AccessCode.objects.filter(used_at__isnull=False).count()
    with pytest.raises(ApplicationError) as caught:
        yield caught
    assert caught.value.code == expected, f"refused with {caught.value.code!r}"
    assert Mandate.objects.count() == mandates
    assert AccessCode.objects.filter(used_at__isnull=False).count() == used
    assert {e.action for e in factories.audit_events_since(seq)} <= {"code.redeem_failed"}


def _failed(world: CertificationWorld, code: str, expected: str, **kwargs: object) -> None:
    with declined(expected):
        _redeem(world, code, **kwargs)  # type: ignore[arg-type]


# --- success ----------------------------------------------------------------------------------


def test_a_holder_code_certifies_the_employers_own_space(
    world: CertificationWorld, printed: Printed
) -> None:
    collaborator = factories.user()
    space_services.member_add(by=world.boss, space=world.space, user=collaborator)
    employer, affiliations = world.employer, factories.domain("AFFILIATIONS")
    assert not can(world.boss, "act", employer, affiliations)
    seq = factories.audit_seq()

    mandate = _redeem(world, printed[("AFFILIATIONS", "holder")], domain="AFFILIATIONS")

    assert (mandate.employer, mandate.domain, mandate.grantee_space) == (
        employer,
        affiliations,
        world.space,
    )
    assert (mandate.kind, mandate.level, mandate.source, mandate.status) == (
        MandateKind.PRIMARY,
        Level.ACT,
        MandateSource.CERTIFICATION,
        MandateStatus.ACTIVE,
    )
    for member in (world.boss, collaborator):
        assert can(member, "act", employer, affiliations)
        assert can(member, "consult", employer, affiliations)
        assert not can(member, "consult", employer, factories.domain("BILLING"))
    assert not can(world.salary_admin, "consult", employer, affiliations)
    row = _row(printed[("AFFILIATIONS", "holder")])
    assert (row.used_by, row.mandate) == (world.boss, mandate)
    assert row.used_at is not None
    actions = [e.action for e in factories.audit_events_since(seq)]
    assert actions == ["mandate.granted", "code.redeemed"]


def test_a_code_is_typed_in_any_case_with_or_without_separators(
    world: CertificationWorld, printed: Printed
) -> None:
    typed = " " + printed[("BILLING", "holder")].replace("-", " ").lower() + " "

    mandate = _redeem(world, typed, domain="BILLING")

    assert mandate.domain.code == "BILLING"


def test_a_representative_code_gives_salary_the_delegated_level(
    world: CertificationWorld, printed: Printed
) -> None:
    mandate = _redeem(
        world,
        printed[("REMUNERATIONS", "representative")],
        domain="REMUNERATIONS",
        kind=CodeKind.REPRESENTATIVE,
    )

    assert (mandate.kind, mandate.level, mandate.grantee_space) == (
        MandateKind.OBTAINED,
        Level.CONSULT,
        world.salary_space,
    )
    remunerations = factories.domain("REMUNERATIONS")
    assert can(world.salary_admin, "consult", world.employer, remunerations)
    assert not can(world.salary_admin, "act", world.employer, remunerations)
    assert not can(world.boss, "consult", world.employer, remunerations)


def test_redeeming_twice_gives_one_mandate(world: CertificationWorld, printed: Printed) -> None:
    code = printed[("EMPLOYER", "holder")]
    _redeem(world, code, domain="EMPLOYER")

    with declined("code_used"):
        _redeem(world, code, domain="EMPLOYER")

    assert Mandate.objects.filter(employer=world.employer).count() == 1


def test_redeeming_every_code_completes_the_request(
    world: CertificationWorld, issued: CertificationRequest, printed: Printed
) -> None:
    waiting = sorted(key for key in printed if key[1] != CodeKind.REVOCATION)
    assert len(waiting) == 7
    for domain, kind in waiting:
        _redeem(world, printed[(domain, kind)], domain=domain, kind=kind)
        issued.refresh_from_db()
        finished = (domain, kind) == waiting[-1]
        assert issued.status == (RequestStatus.COMPLETED if finished else RequestStatus.ISSUED)

    assert issued.closed_at is not None
    assert AuditEvent.objects.filter(action="request.completed", object_id=str(issued.pk)).exists()
    assert Mandate.objects.filter(employer=world.employer, status=MandateStatus.ACTIVE).count() == 7
    assert audit.verify().ok


def test_a_space_holding_the_mandate_already_keeps_the_code_unused(
    world: CertificationWorld, printed: Printed
) -> None:
    existing = factories.mandate(employer_=world.employer, space=world.space, domain_code="BILLING")
    code = printed[("BILLING", "holder")]

    _failed(world, code, "mandate_exists", domain="BILLING")
    assert _row(code).used_at is None

    mandate_services.mandate_revoke(by=factories.agent(), mandate=existing, reason="test")
    assert _redeem(world, code, domain="BILLING").status == MandateStatus.ACTIVE


# --- refusals ---------------------------------------------------------------------------------


def test_a_representative_code_works_only_in_its_representatives_space(
    world: CertificationWorld, printed: Printed
) -> None:
    code = printed[("EMPLOYER", "representative")]
    other = _other_space()

    with declined("code_wrong_space"):
        _redeem(world, code, domain="EMPLOYER", kind=CodeKind.REPRESENTATIVE, space=other)
    with declined("code_wrong_space"):
        _redeem(world, code, domain="EMPLOYER", kind=CodeKind.REPRESENTATIVE, space=world.space)

    assert _row(code).used_at is None
    assert _redeem(world, code, domain="EMPLOYER", kind=CodeKind.REPRESENTATIVE).pk


def test_a_holder_code_works_only_in_the_employers_own_space(
    world: CertificationWorld, printed: Printed
) -> None:
    code = printed[("EMPLOYER", "holder")]
    neighbour = factories.certification_world("Autre Employeur S.A.")

    for space in (world.salary_space, _other_space(), neighbour.space):
        with declined("code_wrong_space"):
            _redeem(world, code, domain="EMPLOYER", space=space)

    assert _row(code).used_at is None


def test_a_code_of_another_kind_is_refused(world: CertificationWorld, printed: Printed) -> None:
    with declined("code_wrong_kind"):
        _redeem(
            world, printed[("EMPLOYER", "holder")], domain="EMPLOYER", kind=CodeKind.REPRESENTATIVE
        )
    with declined("code_wrong_kind"):
        _redeem(
            world,
            printed[("EMPLOYER", "representative")],
            domain="EMPLOYER",
            kind=CodeKind.HOLDER,
        )


def test_a_code_of_another_domain_is_refused(world: CertificationWorld, printed: Printed) -> None:
    with declined("code_wrong_domain") as caught:
        _redeem(world, printed[("EMPLOYER", "holder")], domain="BILLING")
    assert caught.value.field == "domain"
    with declined("code_wrong_domain"):
        _redeem(
            world,
            printed[("AFFILIATIONS", "representative")],
            domain="BILLING",
            kind=CodeKind.REPRESENTATIVE,
        )


def test_a_code_past_its_deadline_is_refused(
    world: CertificationWorld,
    issued: CertificationRequest,
    printed: Printed,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert issued.activation_deadline is not None
    code = printed[("EMPLOYER", "holder")]
    monkeypatch.setattr(time, "now", lambda: issued.activation_deadline)

    with declined("code_expired"):
        _redeem(world, code, domain="EMPLOYER")

    monkeypatch.setattr(time, "now", lambda: issued.activation_deadline - dt.timedelta(seconds=1))
    assert _redeem(world, code, domain="EMPLOYER").pk


def test_a_code_whose_expiry_has_passed_is_refused(
    world: CertificationWorld, printed: Printed
) -> None:
    code = printed[("AFFILIATIONS", "representative")]
    AccessCode.objects.filter(pk=_row(code).pk).update(expires_at=time.now() - dt.timedelta(1))

    with declined("code_expired"):
        _redeem(world, code, domain="AFFILIATIONS", kind=CodeKind.REPRESENTATIVE)


def test_five_wrong_security_codes_lock_the_code_and_each_try_is_kept(
    world: CertificationWorld, printed: Printed
) -> None:
    code = printed[("AFFILIATIONS", "holder")]
    for attempt in range(1, 6):
        _failed(
            world, code, "code_or_security_wrong", domain="AFFILIATIONS", security_code="wrong-one"
        )
        row = _row(code)
        assert row.failed_attempts == attempt
        assert (row.locked_at is not None) == (attempt == 5)
    failures = AuditEvent.objects.filter(action="code.redeem_failed", object_id=str(row.pk))
    assert [e.data["attempts"] for e in failures.order_by("seq")] == [1, 2, 3, 4, 5]

    with declined("code_locked"):
        _redeem(world, code, domain="AFFILIATIONS")
    _failed(world, code, "code_locked", domain="AFFILIATIONS", security_code="wrong-one")

    assert _row(code).failed_attempts == 5
    assert not can(world.boss, "consult", world.employer, factories.domain("AFFILIATIONS"))


def test_the_lock_is_per_code(world: CertificationWorld, printed: Printed) -> None:
    for _ in range(5):
        _failed(
            world,
            printed[("EMPLOYER", "holder")],
            "code_or_security_wrong",
            domain="EMPLOYER",
            security_code="wrong-one",
        )

    assert _redeem(world, printed[("BILLING", "holder")], domain="BILLING").pk


def test_fewer_than_five_wrong_tries_leave_the_code_usable(
    world: CertificationWorld, printed: Printed
) -> None:
    code = printed[("BILLING", "holder")]
    for _ in range(4):
        _failed(world, code, "code_or_security_wrong", domain="BILLING", security_code="nope-nope")

    assert _redeem(world, code, domain="BILLING").pk
    assert _row(code).failed_attempts == 4


def test_a_typo_is_reported_as_such_and_does_not_count(
    world: CertificationWorld, printed: Printed
) -> None:
    code = printed[("EMPLOYER", "holder")]
    canonical = codes.normalize(code)
    swapped = canonical[1] + canonical[0] + canonical[2:]
    typos = [_typo(code), code[:-1], code + "2", code.replace(code[0], "O", 1)]
    if canonical[0] != canonical[1]:
        typos.append(swapped)

    for typo in typos:
        with factories.refused("code_typo", Mandate) as caught:
            _redeem(world, typo, domain="EMPLOYER", security_code="wrong-one")
        assert isinstance(caught.value, CodeTypo)

    assert set(AccessCode.objects.values_list("failed_attempts", flat=True)) == {0}
    assert _redeem(world, code, domain="EMPLOYER").pk


def test_an_unknown_code_and_a_wrong_security_code_get_the_same_answer(
    world: CertificationWorld, printed: Printed
) -> None:
    unknown = codes.display(codes.generate())

    with pytest.raises(ApplicationError) as not_issued:
        _redeem(world, unknown, domain="EMPLOYER")
    with pytest.raises(ApplicationError) as wrong_secret:
        _redeem(world, printed[("EMPLOYER", "holder")], domain="EMPLOYER", security_code="x" * 8)

    assert not_issued.value.code == wrong_secret.value.code == "code_or_security_wrong"
    assert str(not_issued.value) == str(wrong_secret.value)
    assert not_issued.value.field == wrong_secret.value.field
    assert not_issued.value.params == wrong_secret.value.params


def test_a_revocation_code_never_certifies(world: CertificationWorld, printed: Printed) -> None:
    code = printed[("EMPLOYER", "revocation")]

    _failed(world, code, "code_or_security_wrong", domain="EMPLOYER")

    row = _row(code)
    assert (row.used_at, row.failed_attempts) == (None, 0)


def test_only_an_admin_of_the_space_redeems(world: CertificationWorld, printed: Printed) -> None:
    collaborator = factories.user()
    space_services.member_add(by=world.boss, space=world.space, user=collaborator)
    code = printed[("EMPLOYER", "holder")]

    with factories.refused("space_admin_required", Mandate):
        redemption.code_redeem(
            by=collaborator,
            space=world.space,
            domain=factories.domain("EMPLOYER"),
            kind=CodeKind.HOLDER,
            code=code,
            security_code="wrong-one",
        )
    assert _row(code).failed_attempts == 0


def test_only_access_codes_are_redeemed(world: CertificationWorld, printed: Printed) -> None:
    with pytest.raises(ValueError, match="not a redeemable kind"):
        _redeem(world, printed[("EMPLOYER", "revocation")], domain="EMPLOYER", kind="revocation")


# --- revocation codes -------------------------------------------------------------------------


@pytest.fixture
def certified(world: CertificationWorld, printed: Printed) -> Mandate:
    return _redeem(world, printed[("AFFILIATIONS", "holder")], domain="AFFILIATIONS")


def test_the_preview_shows_what_a_revocation_code_would_end(
    world: CertificationWorld, printed: Printed, certified: Mandate
) -> None:
    preview = redemption.revocation_preview(code=printed[("AFFILIATIONS", "revocation")])
    uncertified = redemption.revocation_preview(code=printed[("BILLING", "revocation")].lower())

    assert (preview.employer_name, preview.employer_number) == (
        world.employer.name,
        world.employer.employer_number,
    )
    assert preview.domain.code == "AFFILIATIONS"
    assert preview.certified is True
    assert (uncertified.domain.code, uncertified.certified) == ("BILLING", False)
    assert _row(printed[("AFFILIATIONS", "revocation")]).used_at is None


def test_a_revocation_code_ends_the_holder_certification_at_once(
    world: CertificationWorld, printed: Printed, certified: Mandate
) -> None:
    affiliations = factories.domain("AFFILIATIONS")
    obtained = _redeem(
        world,
        printed[("AFFILIATIONS", "representative")],
        domain="AFFILIATIONS",
        kind=CodeKind.REPRESENTATIVE,
    )
    assert can(world.boss, "act", world.employer, affiliations)
    seq = factories.audit_seq()

    ended = redemption.certification_revoke_with_code(
        code=printed[("AFFILIATIONS", "revocation")], reason="lost control"
    )

    assert ended.pk == certified.pk
    assert not can(world.boss, "consult", world.employer, affiliations)
    certified.refresh_from_db()
    assert (certified.status, certified.end_cause, certified.end_reason) == (
        MandateStatus.REVOKED,
        EndCause.REVOKED,
        "lost control",
    )
    assert certified.ended_by is None
    obtained.refresh_from_db()
    assert obtained.status == MandateStatus.ACTIVE
    events = factories.audit_events_since(seq)
    assert [e.action for e in events] == ["mandate.revoked", "code.revocation_used"]
    assert events[-1].employer_id == world.employer.pk
    assert events[-1].data == {"mandate": certified.pk, "domain": "AFFILIATIONS"}
    assert _row(printed[("AFFILIATIONS", "revocation")]).used_at is not None


def test_a_revocation_code_is_used_once(printed: Printed, certified: Mandate) -> None:
    code = printed[("AFFILIATIONS", "revocation")]
    redemption.certification_revoke_with_code(code=code)

    with factories.refused("revocation_code_used"):
        redemption.certification_revoke_with_code(code=code)
    with factories.refused("revocation_code_used"):
        redemption.revocation_preview(code=code)


def test_a_revocation_code_with_nothing_to_end_stays_unused(
    printed: Printed, certified: Mandate
) -> None:
    code = printed[("BILLING", "revocation")]

    with factories.refused("nothing_to_revoke"):
        redemption.certification_revoke_with_code(code=code)

    assert _row(code).used_at is None


def test_only_a_revocation_code_revokes(printed: Printed, certified: Mandate) -> None:
    for code in (printed[("AFFILIATIONS", "holder")], codes.display(codes.generate())):
        with factories.refused("revocation_code_wrong"):
            redemption.certification_revoke_with_code(code=code)
        with factories.refused("revocation_code_wrong"):
            redemption.revocation_preview(code=code)
    with factories.refused("code_typo"):
        redemption.certification_revoke_with_code(
            code=_typo(printed[("AFFILIATIONS", "revocation")])
        )
    certified.refresh_from_db()
    assert certified.status == MandateStatus.ACTIVE


# --- the security code check: its cost and its place -----------------------------------------


def _spy_on_verify(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Record each security code check: the hash it used and whether a transaction was open."""
    calls: list[tuple[str, bool]] = []
    real = secrets.verify_secret

    def spy(stored_hash: str, secret: str) -> bool:
        calls.append((stored_hash, connection.in_atomic_block))
        return real(stored_hash, secret)

    monkeypatch.setattr(secrets, "verify_secret", spy)
    return calls


def _argon2_parameters(stored_hash: str) -> str:
    """``$argon2id$v=19$m=…,t=…,p=…``: what decides the cost of a check."""
    return "$".join(stored_hash.split("$")[:4])


@pytest.mark.parametrize("which", ["unknown", "revocation", "wrong", "right"])
def test_every_answer_costs_one_hash_check_alike(
    world: CertificationWorld,
    printed: Printed,
    issued: CertificationRequest,
    monkeypatch: pytest.MonkeyPatch,
    which: str,
) -> None:
    # Were an unknown code answered without a hash check, it would answer faster than a
    # known one with a wrong security code, and the time would tell which codes exist.
    code, security_code = {
        "unknown": (codes.display(codes.generate()), SECURITY_CODE),
        "revocation": (printed[("EMPLOYER", "revocation")], SECURITY_CODE),
        "wrong": (printed[("EMPLOYER", "holder")], "Wrong-Secret"),
        "right": (printed[("EMPLOYER", "holder")], SECURITY_CODE),
    }[which]
    calls = _spy_on_verify(monkeypatch)

    with contextlib.suppress(ApplicationError):
        _redeem(world, code, domain="EMPLOYER", security_code=security_code)

    assert len(calls) == 1
    assert _argon2_parameters(calls[0][0]) == _argon2_parameters(issued.security_code_hash)
    assert calls[0][0].startswith("$argon2id$")


def test_an_unknown_code_is_checked_against_a_hash_nobody_knows(
    world: CertificationWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _spy_on_verify(monkeypatch)

    for security_code in (SECURITY_CODE, "", "x" * 200):
        with declined("code_or_security_wrong"):
            _redeem(
                world,
                codes.display(codes.generate()),
                domain="EMPLOYER",
                security_code=security_code,
            )

    assert len(calls) == 3
    assert len({stored for stored, _open in calls}) == 1  # made once, then reused


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("which", ["unknown", "wrong", "right"])
def test_the_security_code_is_checked_before_any_transaction_opens(
    audit_trail_emptied_after: None, monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    # Under the write transaction, the slow hash would hold the database's write lock
    # (SQLite: BEGIN IMMEDIATE) and stall every other writer for as long.
    world = factories.certification_world()
    printed = factories.request_codes(factories.request_issued_for(world))
    code = {
        "unknown": codes.display(codes.generate()),
        "wrong": printed[("AFFILIATIONS", "holder")],
        "right": printed[("AFFILIATIONS", "holder")],
    }[which]
    calls = _spy_on_verify(monkeypatch)

    with contextlib.suppress(ApplicationError):
        _redeem(
            world,
            code,
            domain="AFFILIATIONS",
            security_code=SECURITY_CODE if which == "right" else "Wrong-Secret",
        )

    assert [in_transaction for _hash, in_transaction in calls] == [False]
    assert _row(printed[("AFFILIATIONS", "holder")]).failed_attempts == (
        1 if which == "wrong" else 0
    )
    assert Mandate.objects.exists() == (which == "right")
    assert audit.verify().ok


def test_a_right_security_code_counts_for_nothing_once_the_code_is_locked(
    world: CertificationWorld, printed: Printed
) -> None:
    # The check runs before the lock is taken; its result applies to the state found
    # under the lock, where the tries of others may have locked the code meanwhile.
    code = printed[("EMPLOYER", "holder")]
    row = _row(code)
    verified = redemption._verify(canonical=codes.normalize(code), security_code=SECURITY_CODE)
    AccessCode.objects.filter(pk=row.pk).update(failed_attempts=5, locked_at=time.now())

    outcome = redemption._apply(
        by=world.boss,
        space=world.space,
        domain=factories.domain("EMPLOYER"),
        kind=CodeKind.HOLDER,
        verified=verified,
        allowed_domains=None,
    )

    assert verified.right
    assert outcome.error is not None and outcome.error.code == "code_locked"
    assert not Mandate.objects.exists()
    assert _row(code).failed_attempts == 5


def test_a_code_used_meanwhile_is_not_redeemed_again(
    world: CertificationWorld, printed: Printed
) -> None:
    code = printed[("EMPLOYER", "holder")]
    verified = redemption._verify(canonical=codes.normalize(code), security_code=SECURITY_CODE)
    first = _redeem(world, code, domain="EMPLOYER")

    outcome = redemption._apply(
        by=world.boss,
        space=world.space,
        domain=factories.domain("EMPLOYER"),
        kind=CodeKind.HOLDER,
        verified=verified,
        allowed_domains=None,
    )

    assert outcome.error is not None and outcome.error.code == "code_used"
    assert list(Mandate.objects.values_list("pk", flat=True)) == [first.pk]


def test_a_code_outside_the_allowed_domains_is_refused_only_when_the_secret_is_right(
    world: CertificationWorld, printed: Printed
) -> None:
    code = printed[("EMPLOYER", "holder")]

    def redeem(security_code: str) -> str | None:
        outcome = redemption._redeem(
            by=world.boss,
            space=world.space,
            domain=factories.domain("EMPLOYER"),
            kind=CodeKind.HOLDER,
            canonical=codes.normalize(code),
            security_code=security_code,
            allowed_domains={"AFFILIATIONS"},
        )
        return outcome.error.code if outcome.error is not None else None

    assert redeem("Wrong-Secret") == "code_or_security_wrong"
    assert redeem(SECURITY_CODE) == "scope_missing"
    assert (_row(code).failed_attempts, _row(code).used_at) == (1, None)
    assert _redeem(world, code, domain="EMPLOYER").pk
