"""Bulk redemption: many representative codes into one space, one answer per line."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_django.fixtures import Settings

from mandat.api.redemptions import LineStatus
from mandat.catalog.models import Level
from mandat.certification import bulk
from mandat.certification.bulk import CodePair, LineResult
from mandat.certification.models import AccessCode, CertificationRequest, CodeKind, RequestStatus
from mandat.core import codes, secrets, time
from mandat.core.codes import ALPHABET
from mandat.core.errors import ApplicationError
from mandat.mandates.models import Mandate, MandateKind, MandateSource, MandateStatus
from mandat.registry.models import Employer
from mandat.spaces.models import Space
from tests import factories
from tests.factories import SECURITY_CODE, CertificationWorld

pytestmark = pytest.mark.django_db

DELEGATED = ("EMPLOYER", "AFFILIATIONS", "REMUNERATIONS")


@dataclass(frozen=True)
class Letters:
    """The codes of one issued request, in clear, as its two letters would print them."""

    employer: Employer
    request: CertificationRequest
    representative: dict[str, str]  # domain code → representative access code
    holder: dict[str, str]


def issue(world: CertificationWorld, employer: Employer | None = None) -> Letters:
    """An issued request for ``employer`` delegating three domains to Salary S.A.

    The rows are made directly (digests of fresh codes), without rendering letters,
    so that a test may issue many.
    """
    employer = employer or factories.employer()
    now = time.now()
    request = CertificationRequest.objects.create(
        space=factories.space_of(employer.organisation, admin=factories.user()),
        institution=factories.ccss(),
        created_by=world.boss,
        employer=employer,
        status=RequestStatus.ISSUED,
        security_code_hash=secrets.hash_secret(SECURITY_CODE),
        signed_at=now,
        transmitted_at=now,
        issued_at=now,
        activation_deadline=now + dt.timedelta(days=30),
    )
    representative: dict[str, str] = {}
    holder: dict[str, str] = {}
    for domain in DELEGATED:
        for kind, into in ((CodeKind.REPRESENTATIVE, representative), (CodeKind.HOLDER, holder)):
            clear = codes.generate()
            AccessCode.objects.create(
                request=request,
                domain=factories.domain(domain),
                kind=kind,
                representative=world.salary if kind == CodeKind.REPRESENTATIVE else None,
                level=Level.CONSULT if kind == CodeKind.REPRESENTATIVE else Level.ACT,
                digest=codes.digest(clear),
                expires_at=request.activation_deadline,
            )
            into[domain] = codes.display(clear)
    return Letters(employer, request, representative, holder)


def typo(code: str) -> str:
    """The code with its first symbol replaced by another one: the check symbol fails."""
    return ALPHABET[(ALPHABET.index(code[0]) + 1) % len(ALPHABET)] + code[1:]


def unknown_code() -> str:
    """A well-formed code that was never issued."""
    return codes.display(codes.generate())


def pairs(*lines: tuple[str, str]) -> list[CodePair]:
    return [CodePair(line=i, access_code=c, security_code=s) for i, (c, s) in enumerate(lines, 1)]


def row(code: str) -> AccessCode:
    return AccessCode.objects.get(digest=codes.digest(codes.normalize(code)))


def statuses(results: list[LineResult]) -> list[str]:
    return [result.status for result in results]


@pytest.fixture(autouse=True)
def _seal_in_tmp(settings: Settings, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    settings.SEAL_KEY_FILE = settings.SEAL_CERT_FILE = ""


@pytest.fixture
def world() -> CertificationWorld:
    return factories.certification_world()


def redeem(world: CertificationWorld, lines: list[CodePair], **kwargs: object) -> list[LineResult]:
    space = kwargs.pop("space", world.salary_space)
    return bulk.code_redeem_bulk(space=space, pairs=lines, **kwargs)  # type: ignore[arg-type]


# --- success and replay ----------------------------------------------------------------------


def test_every_line_is_redeemed_into_the_calling_space(world: CertificationWorld) -> None:
    first, second = issue(world), issue(world)
    lines = pairs(
        *((code, SECURITY_CODE) for code in first.representative.values()),
        (second.representative["AFFILIATIONS"], SECURITY_CODE),
    )

    results = redeem(world, lines, client_id="payroll-1")

    assert statuses(results) == ["redeemed"] * 4
    assert [r.line for r in results] == [1, 2, 3, 4]
    for result, (employer, domain) in zip(
        results,
        [(first.employer, d) for d in DELEGATED] + [(second.employer, "AFFILIATIONS")],
        strict=True,
    ):
        mandate = result.mandate
        assert mandate is not None
        assert (mandate.employer, mandate.domain.code, mandate.grantee_space) == (
            employer,
            domain,
            world.salary_space,
        )
        assert (mandate.kind, mandate.level, mandate.source, mandate.status) == (
            MandateKind.OBTAINED,
            Level.CONSULT,
            MandateSource.CERTIFICATION,
            MandateStatus.ACTIVE,
        )
        assert row(result.access_code).mandate == mandate
    # All representative codes of the first request are used; its holder codes are not.
    assert CertificationRequest.objects.get(pk=first.request.pk).status == RequestStatus.ISSUED


def test_replaying_the_same_file_changes_nothing(world: CertificationWorld) -> None:
    letters = issue(world)
    lines = pairs(
        (letters.representative["EMPLOYER"], SECURITY_CODE),
        (typo(letters.representative["AFFILIATIONS"]), SECURITY_CODE),
        (letters.representative["REMUNERATIONS"], SECURITY_CODE),
    )
    first = redeem(world, lines)
    mandates = list(Mandate.objects.order_by("pk").values_list("pk", "status"))
    tries = list(AccessCode.objects.order_by("pk").values_list("pk", "failed_attempts", "used_at"))

    again = redeem(world, lines)

    assert statuses(first) == ["redeemed", "code_typo", "redeemed"]
    assert statuses(again) == ["already_redeemed_here", "code_typo", "already_redeemed_here"]
    assert [r.mandate for r in again] == [r.mandate for r in first]
    assert list(Mandate.objects.order_by("pk").values_list("pk", "status")) == mandates
    assert (
        list(AccessCode.objects.order_by("pk").values_list("pk", "failed_attempts", "used_at"))
        == tries
    )


def test_a_code_used_by_another_space_is_code_used_not_already_redeemed(
    world: CertificationWorld,
) -> None:
    letters = issue(world)
    code = letters.representative["EMPLOYER"]
    assert statuses(redeem(world, pairs((code, SECURITY_CODE)))) == ["redeemed"]
    # The firm closes its space and opens a new one: the new space holds nothing from it.
    Space.objects.filter(pk=world.salary_space.pk).update(closed_at=time.now())
    other = factories.space_of(world.salary.organisation, admin=factories.user())
    assert other != world.salary_space

    (result,) = redeem(world, pairs((code, SECURITY_CODE)), space=other)

    assert (result.status, result.mandate) == ("code_used", None)


# --- one bad line never blocks the others ------------------------------------------------------


def test_each_failure_has_its_own_status_and_the_good_lines_pass(
    world: CertificationWorld,
) -> None:
    letters, expired, replaced, locked = issue(world), issue(world), issue(world), issue(world)
    AccessCode.objects.filter(request=expired.request).update(
        expires_at=time.now() - dt.timedelta(days=1)
    )
    AccessCode.objects.filter(request=replaced.request).update(invalidated_at=time.now())
    AccessCode.objects.filter(request=locked.request).update(
        failed_attempts=5, locked_at=time.now()
    )
    other_firm = factories.representative("Fiduciaire Nord S.A.")
    other_space = factories.space_of(other_firm.organisation, admin=factories.user())
    lines = pairs(
        (letters.representative["EMPLOYER"], SECURITY_CODE),
        (typo(letters.representative["AFFILIATIONS"]), SECURITY_CODE),
        (unknown_code(), SECURITY_CODE),
        (letters.representative["AFFILIATIONS"], "not-the-code"),
        (letters.holder["EMPLOYER"], SECURITY_CODE),
        (expired.representative["EMPLOYER"], SECURITY_CODE),
        (replaced.representative["EMPLOYER"], SECURITY_CODE),
        (locked.representative["EMPLOYER"], SECURITY_CODE),
        ("", SECURITY_CODE),
        (letters.representative["REMUNERATIONS"], ""),
        (letters.representative["REMUNERATIONS"], "x" * 201),
        (letters.representative["REMUNERATIONS"], SECURITY_CODE),
    )

    results = redeem(world, lines)

    assert statuses(results) == [
        "redeemed",
        "code_typo",
        "code_unknown",
        "code_unknown",
        "wrong_kind",
        "code_expired",
        "code_invalidated",
        "code_locked",
        "line_invalid",
        "line_invalid",
        "line_invalid",
        "redeemed",
    ]
    assert [r.field for r in results[8:11]] == ["access_code", "security_code", "security_code"]
    assert Mandate.objects.filter(grantee_space=world.salary_space).count() == 2
    # A code for Salary S.A. does not certify another firm's space.
    (elsewhere,) = redeem(
        world, pairs((letters.representative["AFFILIATIONS"], SECURITY_CODE)), space=other_space
    )
    assert elsewhere.status == "wrong_space"


def test_an_unknown_code_and_a_wrong_security_code_get_the_same_answer(
    world: CertificationWorld,
) -> None:
    letters = issue(world)
    unknown, wrong = redeem(
        world,
        pairs(
            (unknown_code(), SECURITY_CODE),
            (letters.representative["EMPLOYER"], "Wrong-Secret"),
        ),
    )

    assert (unknown.status, str(unknown.message), unknown.mandate, unknown.reason) == (
        wrong.status,
        str(wrong.message),
        wrong.mandate,
        wrong.reason,
    )
    assert unknown.status == "code_unknown"


def test_five_wrong_guesses_in_one_file_lock_the_code(world: CertificationWorld) -> None:
    letters = issue(world)
    code = letters.representative["EMPLOYER"]
    guesses = [(code, f"Guess-{n}") for n in range(5)]
    lines = pairs(
        (typo(code), "Typo-costs-nothing"),
        *guesses[:4],
        (code, "Guess-0"),  # the same wrong line again: a duplicate, not a fifth try
        guesses[4],
        (code, SECURITY_CODE),  # right, but too late
    )

    results = redeem(world, lines)

    assert statuses(results) == [
        "code_typo",
        *["code_unknown"] * 4,
        "duplicate_line",
        "code_unknown",
        "code_locked",
    ]
    assert results[5].first_line == 2
    locked = row(code)
    assert locked.failed_attempts == 5 and locked.locked_at is not None
    assert not Mandate.objects.filter(employer=letters.employer).exists()


def test_tries_add_up_across_files(world: CertificationWorld) -> None:
    letters = issue(world)
    code = letters.representative["EMPLOYER"]
    for n in range(3):
        redeem(world, pairs((code, f"Guess-{n}")))
    results = redeem(world, pairs((code, "Guess-3"), (code, "Guess-4"), (code, SECURITY_CODE)))

    assert statuses(results) == ["code_unknown", "code_unknown", "code_locked"]


def test_duplicate_lines_are_answered_once_and_in_order(world: CertificationWorld) -> None:
    letters = issue(world)
    code = letters.representative["EMPLOYER"]
    lines = pairs(
        (code, SECURITY_CODE),
        (code.replace("-", "").lower(), SECURITY_CODE),  # the same code, typed otherwise
        (code, SECURITY_CODE),
    )

    results = redeem(world, lines)

    assert statuses(results) == ["redeemed", "duplicate_line", "duplicate_line"]
    assert [r.first_line for r in results] == [None, 1, 1]
    assert Mandate.objects.filter(employer=letters.employer).count() == 1


def test_lines_beyond_the_time_budget_are_not_attempted_and_can_be_sent_again(
    world: CertificationWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    letters = issue(world)
    clock = iter(range(0, 1000, 10))  # every look at the clock: 10 s later
    monkeypatch.setattr(bulk, "monotonic", lambda: next(clock))
    lines = pairs(
        *((code, SECURITY_CODE) for code in letters.representative.values()),
        ("", SECURITY_CODE),
    )

    results = redeem(world, lines, seconds=15)

    # Started at 0 with a deadline at 15: lines at 10 and 20 s, then out of time.
    assert statuses(results) == ["redeemed", "not_attempted", "not_attempted", "line_invalid"]
    assert row(letters.representative["AFFILIATIONS"]).failed_attempts == 0
    assert row(letters.representative["AFFILIATIONS"]).used_at is None
    monkeypatch.undo()
    again = redeem(
        world, [line for line, r in zip(lines, results, strict=True) if r.status == "not_attempted"]
    )
    assert statuses(again) == ["redeemed", "redeemed"]
    assert [r.line for r in again] == [2, 3]


def test_more_than_500_lines_are_refused_before_any_work(world: CertificationWorld) -> None:
    letters = issue(world)
    lines = pairs(*[(letters.representative["EMPLOYER"], SECURITY_CODE)] * 501)

    with pytest.raises(ApplicationError) as caught:
        redeem(world, lines)

    assert caught.value.code == "too_many_lines"
    assert row(letters.representative["EMPLOYER"]).used_at is None


def test_the_call_is_recorded_with_its_client_and_counts(world: CertificationWorld) -> None:
    letters = issue(world)
    seq = factories.audit_seq()

    redeem(
        world,
        pairs((letters.representative["EMPLOYER"], SECURITY_CODE), (unknown_code(), "x")),
        client_id="payroll-1",
    )

    events = factories.audit_events_since(seq)
    assert [e.action for e in events if e.action.startswith("code.")] == [
        "code.redeemed",
        "code.redeem_failed",
        "code.redeem_bulk",
    ]
    assert all(e.actor_id is None for e in events)
    assert events[-1].data == {
        "space": world.salary_space.pk,
        "client": "payroll-1",
        "lines": 2,
        "statuses": {"code_unknown": 1, "redeemed": 1},
    }


def test_codes_from_real_letters_are_redeemed(world: CertificationWorld) -> None:
    """The whole path: a request issued by an agent, the codes read back from its letter."""
    request = factories.request_issued_for(world)
    printed = factories.request_codes(request)
    lines = pairs(*((printed[(d, "representative")], SECURITY_CODE) for d in DELEGATED))

    results = redeem(world, lines)

    assert statuses(results) == ["redeemed"] * 3
    request.refresh_from_db()
    assert request.status == RequestStatus.ISSUED  # the holder codes still wait


# --- replaying any batch changes nothing (property) -------------------------------------------

LINE_KINDS = st.sampled_from(
    ["right", "holder", "wrong_secret", "typo", "unknown", "empty", "lowercase"]
)


def _line(letters: Letters, kind: str, domain: str) -> tuple[str, str]:
    code = letters.representative[domain]
    return {
        "right": (code, SECURITY_CODE),
        "lowercase": (code.lower(), SECURITY_CODE),
        "holder": (letters.holder[domain], SECURITY_CODE),
        "wrong_secret": (code, "Wrong-" + domain),
        "typo": (typo(code), SECURITY_CODE),
        "unknown": (unknown_code(), SECURITY_CODE),
        "empty": ("", SECURITY_CODE),
    }[kind]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batch=st.lists(st.tuples(LINE_KINDS, st.sampled_from(DELEGATED)), max_size=12),
)
def test_replaying_any_batch_changes_no_mandate_and_no_answer(
    world: CertificationWorld, batch: list[tuple[str, str]]
) -> None:
    letters = issue(world)
    lines = pairs(*(_line(letters, kind, domain) for kind, domain in batch))

    first = redeem(world, lines)
    mandates = list(Mandate.objects.order_by("pk").values_list("pk", "status"))
    used = list(AccessCode.objects.filter(used_at__isnull=False).values_list("pk", "mandate"))
    again = redeem(world, lines)

    assert list(Mandate.objects.order_by("pk").values_list("pk", "status")) == mandates
    assert (
        list(AccessCode.objects.filter(used_at__isnull=False).values_list("pk", "mandate")) == used
    )
    for before, after in zip(first, again, strict=True):
        if before.status in ("redeemed", "already_redeemed_here"):
            assert (after.status, after.mandate) == ("already_redeemed_here", before.mandate)
        elif before.status == "code_unknown":
            # A replayed wrong security code is one more try: it may reach the lock.
            assert after.status in ("code_unknown", "code_locked")
        else:
            assert after.status == before.status
    # Without wrong guesses, the replay leaves every code exactly as it was.
    if not any(kind == "wrong_secret" for kind, _domain in batch):
        assert all(
            code.failed_attempts == 0 for code in AccessCode.objects.filter(request=letters.request)
        )


# --- the CSV form ----------------------------------------------------------------------------


def test_csv_with_semicolons_bom_and_extra_columns(world: CertificationWorld) -> None:
    letters = issue(world)
    text = (
        "\ufeffClient;Access_Code;Security_Code;Note\r\n"
        f"Boulangerie;{letters.representative['EMPLOYER']};{SECURITY_CODE};first\r\n"
        "\r\n"
        f'"Boulangerie; Luxembourg";{letters.representative["AFFILIATIONS"]};"{SECURITY_CODE}";\r\n'
        "Missing;;Zq8\r\n"
        "Short;K7QM-2XRT\r\n"
    )

    results = bulk.code_redeem_csv(space=world.salary_space, data=text.encode())

    assert [(r.line, r.status) for r in results] == [
        (2, "redeemed"),
        (4, "redeemed"),
        (5, "line_invalid"),
        (6, "line_invalid"),
    ]
    assert (results[2].field, results[3].field) == ("access_code", "security_code")


def test_csv_with_commas_and_columns_in_any_order() -> None:
    parsed = bulk.csv_lines(b"security_code,access_code\nabc,K7QM-2XRT\nd;e,X\n")

    assert parsed.pairs == [
        CodePair(line=2, access_code="K7QM-2XRT", security_code="abc"),
        CodePair(line=3, access_code="X", security_code="d;e"),
    ]
    assert parsed.invalid == []


def test_csv_line_numbers_count_quoted_line_breaks() -> None:
    parsed = bulk.csv_lines(b'access_code,security_code,note\nA,b,"two\nlines"\nC,d,\n')

    assert [p.line for p in parsed.pairs] == [3, 4]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "csv_unreadable"),
        (b"code,secret\nA,b\n", "csv_unreadable"),
        ("access_code,security_code\nÄ,b\n".encode("latin-1"), "csv_unreadable"),
        (b"access_code,security_code\nA,\x00\n", "csv_unreadable"),
        (b"access_code,security_code\n" + b"A,b\n" * 501, "too_many_lines"),
        (b"access_code,security_code\n" + b"A" * (bulk.MAX_CSV_BYTES), "csv_unreadable"),
    ],
    ids=["empty", "no-header", "latin-1", "binary", "501-lines", "too-large"],
)
def test_an_unreadable_csv_is_refused_whole(data: bytes, code: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        bulk.csv_lines(data)

    assert caught.value.code == code


def test_csv_of_exactly_500_lines_is_read() -> None:
    parsed = bulk.csv_lines(b"access_code,security_code\n" + b"A,b\n" * 500 + b"\n\n")

    assert len(parsed.pairs) == 500
    assert parsed.pairs[-1].line == 501


# --- allowed domains (an API client's act scopes) --------------------------------------------


def test_a_line_outside_the_allowed_domains_is_scope_missing_once_its_secret_is_right(
    world: CertificationWorld,
) -> None:
    letters = issue(world)
    outside, inside = letters.representative["EMPLOYER"], letters.representative["AFFILIATIONS"]
    lines = pairs(
        (outside, "Wrong-Secret"),  # wrong: told as ever, and it counts
        (outside, SECURITY_CODE),  # right: now the scope is told, and nothing is spent
        (inside, SECURITY_CODE),
        (unknown_code(), SECURITY_CODE),
    )

    results = redeem(world, lines, allowed_domains={"AFFILIATIONS"})

    assert statuses(results) == ["code_unknown", "scope_missing", "redeemed", "code_unknown"]
    refused = results[1]
    assert (refused.mandate, refused.reason, refused.ok) == (None, None, False)
    assert str(refused.message)
    outside_row = row(outside)
    assert (outside_row.failed_attempts, outside_row.used_at, outside_row.mandate) == (
        1,
        None,
        None,
    )
    assert Mandate.objects.filter(employer=letters.employer).count() == 1


def test_a_replay_with_allowed_domains_changes_nothing(world: CertificationWorld) -> None:
    letters = issue(world)
    lines = pairs(*((code, SECURITY_CODE) for code in letters.representative.values()))
    allowed = {"AFFILIATIONS", "REMUNERATIONS"}

    first = redeem(world, lines, allowed_domains=allowed)
    again = redeem(world, lines, allowed_domains=allowed)

    assert statuses(first) == ["scope_missing", "redeemed", "redeemed"]
    assert statuses(again) == ["scope_missing", "already_redeemed_here", "already_redeemed_here"]
    assert [r.mandate for r in again] == [r.mandate for r in first]
    assert row(letters.representative["EMPLOYER"]).failed_attempts == 0


def test_a_code_redeemed_in_another_domain_is_not_shown_outside_the_allowed_ones(
    world: CertificationWorld,
) -> None:
    letters = issue(world)
    line = pairs((letters.representative["EMPLOYER"], SECURITY_CODE))
    assert statuses(redeem(world, line)) == ["redeemed"]

    [again] = redeem(world, line, allowed_domains={"AFFILIATIONS"})

    assert (again.status, again.mandate) == ("scope_missing", None)


def test_a_locked_code_stays_locked_whatever_the_allowed_domains(
    world: CertificationWorld,
) -> None:
    letters = issue(world)
    code = letters.representative["EMPLOYER"]
    redeem(world, pairs(*((code, f"Guess-{n}") for n in range(5))), allowed_domains=set())

    results = redeem(world, pairs((code, SECURITY_CODE)), allowed_domains={"EMPLOYER"})

    assert statuses(results) == ["code_locked"]
    assert row(code).failed_attempts == 5


def test_the_statuses_of_the_service_and_of_the_api_agree() -> None:
    assert set(get_args(LineStatus)) == set(bulk.STATUSES)
