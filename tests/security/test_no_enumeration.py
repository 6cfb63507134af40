"""No enumeration: unknown input and known-but-wrong input answer alike, and as fast.

Each test times 1,000 tries with unknown input against 1,000 with known but wrong input
and compares the medians. The two kinds alternate (A B B A ...), so that whatever
slows the machine down meanwhile falls on both alike. Brute-force defences (django-axes,
allauth's rate limits, the code throttles, the code lockout) are switched off here:
they would answer every try the same way early, and hide the code path being measured.
They run only on SQLite: the point is the application's own work, not a database
server's round trips.
"""

from __future__ import annotations

import re
import statistics
import time as pytime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from mandat.certification import redemption
from mandat.certification import services as certification
from mandat.certification.models import AccessCode, CodeKind
from mandat.core import codes
from mandat.core.errors import ApplicationError
from mandat.registry import selectors as registry
from tests import factories
from tests.factories import SECURITY_CODE

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite_only]

TRIES = 1000
#: The largest difference of the two medians that tells nothing, in seconds.
LIMIT = 0.005


@pytest.fixture(autouse=True)
def _no_brute_force_defences(settings: Settings, tmp_path: Path) -> None:
    settings.AXES_ENABLED = False
    settings.ACCOUNT_RATE_LIMITS = False
    settings.MANDAT_THROTTLE_ENABLED = False
    settings.MANDAT_CODE_MAX_TRIES = 10**9
    settings.DATA_DIR = tmp_path
    settings.SEAL_KEY_FILE = settings.SEAL_CERT_FILE = ""


def _medians(
    unknown: Callable[[int], Any],
    known: Callable[[int], Any],
    tries: int = TRIES,
    untimed: Callable[[], Any] = lambda: None,
) -> tuple[float, float]:
    """The median seconds of ``unknown`` and ``known`` over ``tries`` each, interleaved;
    ``untimed`` runs before each call, outside the measure."""
    for warm_up in range(5):
        unknown(warm_up)
        known(warm_up)
    timed: dict[str, list[float]] = {"unknown": [], "known": []}
    for attempt in range(tries):
        pair = (("unknown", unknown), ("known", known))
        for name, call in pair if attempt % 2 == 0 else pair[::-1]:
            untimed()
            start = pytime.perf_counter()
            call(attempt)
            timed[name].append(pytime.perf_counter() - start)
    return statistics.median(timed["unknown"]), statistics.median(timed["known"])


def _report(what: str, unknown: float, known: float) -> None:
    print(  # noqa: T201 - the numbers are the point of these tests
        f"{what}: median unknown {unknown * 1000:.3f} ms, known {known * 1000:.3f} ms, "
        f"difference {(known - unknown) * 1000:+.3f} ms"
    )


def _main(response: Any, *typed: str) -> str:
    """A page's main content without what differs by design: CSRF tokens, the typed values."""
    html = response.content.decode()
    main = html[html.index("<main") : html.index("</main>")]
    main = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", main)
    for value in typed:
        main = main.replace(value, "TYPED")
    return main


# --- login ------------------------------------------------------------------------------------


def test_login_answers_an_unknown_name_like_a_wrong_password(capsys: Any) -> None:
    factories.user("anne.schmit")
    web = Client(HTTP_ACCEPT_LANGUAGE="en")

    def unknown(attempt: int) -> Any:
        return web.post("/login/", {"login": "nobody.here", "password": f"guess-{attempt}"})

    def known(attempt: int) -> Any:
        return web.post("/login/", {"login": "anne.schmit", "password": f"guess-{attempt}"})

    first, second = unknown(0), known(0)
    assert first.status_code == second.status_code == 200
    assert _main(first, "nobody.here") == _main(second, "anne.schmit")
    median_unknown, median_known = _medians(unknown, known)
    _report("login", median_unknown, median_known)
    assert abs(median_known - median_unknown) < LIMIT


def test_an_unknown_user_costs_a_password_hash_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """The medians above are close only if the unknown name also pays for a hash."""
    from django.contrib.auth.hashers import MD5PasswordHasher

    factories.user("anne.schmit")
    hashed: list[str] = []
    original = MD5PasswordHasher.encode

    def counting(self: MD5PasswordHasher, password: str, salt: str) -> str:
        hashed.append(password)
        return original(self, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "encode", counting)
    web = Client()
    web.post("/login/", {"login": "nobody.here", "password": "guess-u"})
    unknown_hashes = hashed.count("guess-u")
    web.post("/login/", {"login": "anne.schmit", "password": "guess-k"})
    known_hashes = hashed.count("guess-k")
    assert unknown_hashes == known_hashes >= 1


# --- password reset ---------------------------------------------------------------------------


def test_password_reset_answers_an_unknown_address_like_a_known_one() -> None:
    factories.user("anne.schmit")
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    url = reverse("account_reset_password")

    def unknown(attempt: int) -> Any:
        return web.post(url, {"email": f"nobody{attempt % 7}@example.test"})

    def known(attempt: int) -> Any:
        return web.post(url, {"email": "anne.schmit@example.test"})

    first, second = unknown(0), known(0)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert _main(web.get(first["Location"])) == _main(web.get(second["Location"]))
    mail.outbox.clear()
    median_unknown, median_known = _medians(unknown, known)
    _report("password reset", median_unknown, median_known)
    assert abs(median_known - median_unknown) < LIMIT


# --- registry checks ----------------------------------------------------------------------------


def test_the_employer_check_answers_an_unknown_number_like_a_wrong_name() -> None:
    world = factories.certification_world()
    other = factories.employer("Registered Elsewhere S.A.")
    draft = certification.request_start(
        by=world.boss, space=world.space, institution=factories.ccss()
    )
    certification.request_consent(by=world.boss, request=draft, consent=True)
    certification.request_set_filer(
        by=world.boss, request=draft, name="Anne", email="a@example.test", phone="+352 621 123 456"
    )
    unknown_number = "29999999999"
    assert not type(other).objects.filter(employer_number=unknown_number).exists()
    unknown_pair = {"employer_number": unknown_number, "employer_name": other.name}
    known_pair = {"employer_number": other.employer_number, "employer_name": "Wrong Name S.A."}

    # The page: one and the same answer.
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    web.force_login(world.boss)
    url = reverse("certification:request_employer", args=[world.space.pk])
    first, second = web.post(url, unknown_pair), web.post(url, known_pair)
    assert first.status_code == second.status_code == 200
    assert "No employer matches this number and name" in first.content.decode()
    assert _main(first, *unknown_pair.values()) == _main(second, *known_pair.values())

    # The check behind it, timed.
    refusals: set[tuple[str, str]] = set()

    def check(pair: dict[str, str]) -> None:
        try:
            certification.request_set_employer(by=world.boss, request=draft, **pair)
        except ApplicationError as error:
            refusals.add((error.code, str(error)))

    median_unknown, median_known = _medians(
        lambda attempt: check(unknown_pair), lambda attempt: check(known_pair)
    )
    _report("employer check", median_unknown, median_known)
    assert len(refusals) == 1
    assert abs(median_known - median_unknown) < LIMIT


def test_the_representative_check_answers_an_unknown_number_like_a_wrong_name() -> None:
    salary = factories.salary_sa()
    refusals: list[str] = []

    def check(number: str, name: str) -> None:
        try:
            registry.representative_match(registration_number=number, name=name)
        except ApplicationError as error:
            refusals.append(str(error))

    def unknown(attempt: int) -> None:
        check("2999999999999", salary.denomination)

    def known(attempt: int) -> None:
        check(salary.registration_number, "Wrong Name S.A.")

    median_unknown, median_known = _medians(unknown, known)
    _report("representative check", median_unknown, median_known)
    assert len(set(refusals)) == 1 and len(refusals) == 2 * (TRIES + 5)
    assert abs(median_known - median_unknown) < LIMIT


# --- code redemption ----------------------------------------------------------------------------


def test_redemption_answers_an_unknown_code_like_a_wrong_security_code() -> None:
    world = factories.certification_world()
    known_code = factories.request_codes(factories.request_issued_for(world))[
        "AFFILIATIONS", "holder"
    ]
    domain = factories.domain("AFFILIATIONS")
    answers: dict[str, set[tuple[str, str]]] = {"unknown": set(), "known": set()}

    def redeem(kind: str, code: str, attempt: int) -> None:
        try:
            redemption.code_redeem(
                by=world.boss,
                space=world.space,
                domain=domain,
                kind=CodeKind.HOLDER,
                code=code,
                security_code=f"{SECURITY_CODE}-{attempt}",
            )
        except ApplicationError as error:
            answers[kind].add((error.code, str(error)))

    unknown_codes = [codes.generate() for _ in range(TRIES + 5)]
    # The database bounds a code's tries at five: start each try from none, unmeasured.
    tries = AccessCode.objects.filter(digest=codes.digest(codes.normalize(known_code)))
    median_unknown, median_known = _medians(
        lambda attempt: redeem("unknown", unknown_codes[attempt], attempt),
        lambda attempt: redeem("known", known_code, attempt),
        untimed=lambda: tries.update(failed_attempts=0),
    )
    _report("code redemption", median_unknown, median_known)
    assert answers["unknown"] == answers["known"]
    assert len(answers["known"]) == 1
    assert abs(median_known - median_unknown) < LIMIT
