"""Redemptions racing on one code, each on its own database connection (PostgreSQL only).

These tests commit for real (``transaction=True``); the database is emptied
afterwards with TRUNCATE and the migrations' rows (catalogue, audit head) are
restored from the serialized copy for the next transactional test.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from django.db import connection
from pytest_django.fixtures import Settings

from mandat.certification import bulk, redemption
from mandat.certification.bulk import CodePair
from mandat.certification.models import AccessCode, CodeKind
from mandat.core import audit, codes
from mandat.core.errors import ApplicationError
from mandat.core.models import AuditEvent
from mandat.mandates.models import Mandate, MandateStatus
from mandat.mandates.policies import can
from tests import factories
from tests.factories import SECURITY_CODE, CertificationWorld

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

RACERS = 20
T = TypeVar("T")


@pytest.fixture(autouse=True)
def _seal_in_tmp(settings: Settings, tmp_path: Path) -> None:
    """Signing makes a development seal in DATA_DIR: keep it out of the checkout."""
    settings.DATA_DIR = tmp_path
    settings.SEAL_KEY_FILE = settings.SEAL_CERT_FILE = ""


def _race(attempt: Callable[[], T]) -> list[T | BaseException]:
    """Run ``attempt`` in RACERS threads released at once; each outcome or exception."""
    start = threading.Barrier(RACERS)

    def one() -> T | BaseException:
        try:
            start.wait(timeout=30)
            return attempt()
        except BaseException as error:  # noqa: BLE001 - every outcome is reported
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        return list(pool.map(lambda _: one(), range(RACERS)))


def _codes_of(outcomes: list[object]) -> Counter[str]:
    unexpected = [
        o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, ApplicationError)
    ]
    assert unexpected == [], f"server errors: {unexpected!r}"
    return Counter(o.code for o in outcomes if isinstance(o, ApplicationError))


@pytest.fixture
def world() -> CertificationWorld:
    return factories.certification_world()


@pytest.fixture
def printed(world: CertificationWorld) -> dict[tuple[str, str], str]:
    assert connection.vendor == "postgresql"
    return factories.request_codes(factories.request_issued_for(world))


def test_twenty_redemptions_of_one_code_give_one_mandate(
    world: CertificationWorld, printed: dict[tuple[str, str], str]
) -> None:
    code = printed[("AFFILIATIONS", "holder")]
    affiliations = factories.domain("AFFILIATIONS")

    outcomes = _race(
        lambda: redemption.code_redeem(
            by=world.boss,
            space=world.space,
            domain=affiliations,
            kind=CodeKind.HOLDER,
            code=code,
            security_code=SECURITY_CODE,
        )
    )

    won = [o for o in outcomes if isinstance(o, Mandate)]
    assert len(won) == 1
    assert _codes_of(outcomes) == Counter({"code_used": RACERS - 1})
    assert list(Mandate.objects.filter(employer=world.employer).values_list("pk", flat=True)) == [
        won[0].pk
    ]
    assert Mandate.objects.get().status == MandateStatus.ACTIVE
    row = AccessCode.objects.get(digest=codes.digest(codes.normalize(code)))
    assert row.mandate_id == won[0].pk
    assert can(world.boss, "act", world.employer, affiliations)
    assert audit.verify().ok


def test_twenty_wrong_security_codes_at_once_lock_after_exactly_five(
    world: CertificationWorld, printed: dict[tuple[str, str], str]
) -> None:
    code = printed[("REMUNERATIONS", "representative")]
    remunerations = factories.domain("REMUNERATIONS")

    outcomes = _race(
        lambda: redemption.code_redeem(
            by=world.salary_admin,
            space=world.salary_space,
            domain=remunerations,
            kind=CodeKind.REPRESENTATIVE,
            code=code,
            security_code="not-the-one",
        )
    )

    assert _codes_of(outcomes) == Counter({"code_or_security_wrong": 5, "code_locked": RACERS - 5})
    row = AccessCode.objects.get(digest=codes.digest(codes.normalize(code)))
    assert row.failed_attempts == 5
    assert row.locked_at is not None
    assert not Mandate.objects.exists()
    assert audit.verify().ok


def _bulk_line(world: CertificationWorld, code: str, security_code: str) -> str:
    """One line sent by an API client of Salary S.A. (as ``POST /redemptions`` does)."""
    [result] = bulk.code_redeem_bulk(
        space=world.salary_space,
        pairs=[CodePair(line=1, access_code=code, security_code=security_code)],
        client_id="payroll",
        allowed_domains={"EMPLOYER", "AFFILIATIONS", "REMUNERATIONS"},
    )
    return result.status


@pytest.mark.parametrize("guesses", [3, RACERS])
def test_wrong_guesses_racing_in_bulk_count_each_once_and_lock_at_five(
    world: CertificationWorld, printed: dict[tuple[str, str], str], guesses: int
) -> None:
    # The security code is checked before the row lock is taken; each result is then
    # applied to the count found under the lock, so racing guesses can never slip past it.
    code = printed[("REMUNERATIONS", "representative")]
    tried = iter(range(guesses))
    lock = threading.Lock()

    def guess() -> str:
        with lock:
            n = next(tried, None)
        if n is None:  # more racers than guesses: the others stand by
            return "idle"
        return _bulk_line(world, code, f"Wrong-{n}")

    outcomes = _race(guess)

    counted = min(guesses, 5)
    assert Counter(outcomes) == Counter(
        {"code_unknown": counted, "code_locked": guesses - counted, "idle": RACERS - guesses}
    )
    row = AccessCode.objects.get(digest=codes.digest(codes.normalize(code)))
    assert row.failed_attempts == counted
    assert (row.locked_at is not None) == (guesses >= 5)
    counted_events = AuditEvent.objects.filter(
        action="code.redeem_failed", object_id=str(row.pk), data__reason="security_code"
    )
    assert counted_events.count() == counted
    assert not Mandate.objects.exists()

    right = _bulk_line(world, code, SECURITY_CODE)

    assert right == ("code_locked" if guesses >= 5 else "redeemed")
    assert Mandate.objects.count() == (0 if guesses >= 5 else 1)
    assert audit.verify().ok


def test_a_right_code_racing_wrong_guesses_is_redeemed_at_most_once(
    world: CertificationWorld, printed: dict[tuple[str, str], str]
) -> None:
    code = printed[("EMPLOYER", "representative")]
    order = iter(range(RACERS))
    lock = threading.Lock()

    def attempt() -> str:
        with lock:
            n = next(order)
        return _bulk_line(world, code, SECURITY_CODE if n % 4 == 0 else f"Wrong-{n}")

    outcomes = Counter(_race(attempt))

    row = AccessCode.objects.get(digest=codes.digest(codes.normalize(code)))
    assert row.failed_attempts <= 5
    assert outcomes["code_unknown"] == row.failed_attempts
    assert outcomes["redeemed"] <= 1
    assert Mandate.objects.count() == outcomes["redeemed"]
    if outcomes["redeemed"]:
        assert row.mandate_id == Mandate.objects.get().pk
    assert set(outcomes) <= {"redeemed", "already_redeemed_here", "code_unknown", "code_locked"}
    assert audit.verify().ok


def test_twenty_bulk_calls_with_one_code_give_one_mandate_and_replays(
    world: CertificationWorld, printed: dict[tuple[str, str], str]
) -> None:
    code = printed[("AFFILIATIONS", "representative")]

    outcomes = _race(lambda: _bulk_line(world, code, SECURITY_CODE))

    assert Counter(outcomes) == Counter({"redeemed": 1, "already_redeemed_here": RACERS - 1})
    assert Mandate.objects.filter(grantee_space=world.salary_space).count() == 1
    assert audit.verify().ok
