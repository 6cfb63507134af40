"""Code guessing: per-account, per-client and per-address throttles with increasing waits."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation
from pytest_django.fixtures import Settings

from mandat.certification import redemption
from mandat.certification.models import AccessCode, CodeKind
from mandat.core import codes, secrets, throttle, time
from mandat.core.errors import ApplicationError
from mandat.core.models import AuditEvent, FailureThrottle
from tests import factories
from tests.factories import SECURITY_CODE, CertificationWorld

pytestmark = pytest.mark.django_db

HOME, OFFICE = "192.0.2.10", "192.0.2.77"


class Clock:
    """``mandat.core.time.now``, moved by hand."""

    def __init__(self) -> None:
        self.at = dt.datetime.now(tz=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(time, "now", moved)
    return moved


@pytest.fixture(autouse=True)
def _small_limits(settings: Settings, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    settings.SEAL_KEY_FILE = settings.SEAL_CERT_FILE = ""
    settings.MANDAT_THROTTLE_FREE_FAILURES = {"account": 3, "client": 3, "ip": 5}
    settings.MANDAT_THROTTLE_MAX_WAIT = 60
    settings.MANDAT_THROTTLE_WINDOW = 3600


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every security code checked with Argon2id, in order."""
    checked: list[str] = []
    original = secrets.verify_secret

    def counting(stored_hash: str, secret: str) -> bool:
        checked.append(secret)
        return original(stored_hash, secret)

    monkeypatch.setattr(secrets, "verify_secret", counting)
    return checked


def _fail(*keys: str) -> int:
    with transaction.atomic():
        return throttle.failure(scope=throttle.CODES, keys=list(keys))


def _audited_reasons(since: int) -> list[str]:
    return [
        event.data.get("reason", "")
        for event in AuditEvent.objects.filter(seq__gt=since, action="code.redeem_failed")
    ]


# --- the throttle itself ----------------------------------------------------------------------


def test_waits_double_after_the_free_failures_up_to_the_cap(clock: Clock) -> None:
    key = "account:1"
    waits = [_fail(key) for _ in range(12)]
    assert waits == [0, 0, 0, 2, 4, 8, 16, 32, 60, 60, 60, 60]
    assert throttle.retry_after(scope=throttle.CODES, keys=[key]) == 60
    clock.advance(59)
    with pytest.raises(throttle.Throttled) as refused:
        throttle.check(scope=throttle.CODES, keys=[key])
    assert refused.value.retry_after == 1
    assert refused.value.code == "too_many_failures"
    clock.advance(1)
    throttle.check(scope=throttle.CODES, keys=[key])  # the wait is over


def test_a_quiet_window_forgets_the_failures(clock: Clock) -> None:
    for _ in range(5):
        _fail("account:1")
    clock.advance(3601)
    assert _fail("account:1") == 0
    assert FailureThrottle.objects.get(key="account:1").failures == 1


def test_keys_are_independent_and_the_longest_wait_wins(clock: Clock) -> None:
    for _ in range(4):
        _fail("account:1", "ip:192.0.2.10")
    assert throttle.retry_after(scope=throttle.CODES, keys=["account:1", "ip:192.0.2.10"]) == 2
    assert throttle.retry_after(scope=throttle.CODES, keys=["account:2", "ip:192.0.2.11"]) == 0
    assert throttle.retry_after(scope="other", keys=["account:1"]) == 0


def test_an_ipv6_guesser_is_keyed_by_its_64_bit_prefix() -> None:
    assert throttle.address_key("2001:db8:1:2::1") == throttle.address_key("2001:db8:1:2:ffff::9")
    assert throttle.address_key("2001:db8:1:2::1") != throttle.address_key("2001:db8:1:3::1")
    assert throttle.address_key("192.0.2.1") == "ip:192.0.2.1"


def test_an_api_client_is_keyed_instead_of_an_account() -> None:
    assert throttle.keys(account=7, client="abc", address=HOME) == ["client:abc", f"ip:{HOME}"]
    assert throttle.keys(account=7) == ["account:7"]


def test_the_address_is_read_behind_the_configured_proxies(settings: Settings) -> None:
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9"
    )
    settings.MANDAT_PROXY_COUNT = 0
    assert throttle.address_of(request) == "10.0.0.1"  # the header is not trusted
    settings.MANDAT_PROXY_COUNT = 1
    assert throttle.address_of(request) == "203.0.113.9"  # not what the client wrote


def test_the_message_says_when_to_try_again() -> None:
    with translation.override("en"):
        assert "try again in 30 seconds" in str(throttle.Throttled(30))
        assert "try again in 2 minutes" in str(throttle.Throttled(120))
    with translation.override("de"):
        assert "in 60 Sekunden erneut" in str(throttle.Throttled(60))


def test_disabled_throttles_count_nothing(settings: Settings) -> None:
    settings.MANDAT_THROTTLE_ENABLED = False
    assert [_fail("account:1") for _ in range(10)] == [0] * 10
    assert not FailureThrottle.objects.exists()


# --- redemption through the service --------------------------------------------------------


@pytest.fixture
def world() -> CertificationWorld:
    return factories.certification_world()


@pytest.fixture
def printed(world: CertificationWorld) -> dict[tuple[str, str], str]:
    return factories.request_codes(factories.request_issued_for(world))


def _redeem(
    world: CertificationWorld, code: str, *, security_code: str = "wrong-one", address: str = HOME
) -> Any:
    return redemption.code_redeem(
        by=world.boss,
        space=world.space,
        domain=factories.domain("AFFILIATIONS"),
        kind=CodeKind.HOLDER,
        code=code,
        security_code=security_code,
        address=address,
    )


def _refusal(world: CertificationWorld, code: str, **kwargs: Any) -> ApplicationError:
    with pytest.raises(ApplicationError) as refused:
        _redeem(world, code, **kwargs)
    return refused.value


def test_an_account_that_guesses_waits_and_its_tries_are_refused_before_hashing(
    world: CertificationWorld, clock: Clock, hashes: list[str]
) -> None:
    start = factories.audit_seq()
    answers = [_refusal(world, codes.generate()).code for _ in range(4)]
    assert answers == ["code_or_security_wrong"] * 4  # the fourth starts a 2-second wait
    assert len(hashes) == 4
    refused = _refusal(world, codes.generate())
    assert isinstance(refused, throttle.Throttled) and refused.retry_after == 2
    assert len(hashes) == 4  # refused before the slow hash
    assert _audited_reasons(start) == ["unknown"] * 4 + ["throttled"]
    clock.advance(2)
    assert _refusal(world, codes.generate()).code == "code_or_security_wrong"
    assert isinstance(_refusal(world, codes.generate()), throttle.Throttled)  # now 4 seconds


def test_a_throttled_account_cannot_redeem_even_the_right_pair(
    world: CertificationWorld, printed: dict[tuple[str, str], str], clock: Clock
) -> None:
    for _ in range(4):
        _refusal(world, codes.generate())
    right = printed["AFFILIATIONS", "holder"]
    assert isinstance(_refusal(world, right, security_code=SECURITY_CODE), throttle.Throttled)
    clock.advance(2)
    assert _redeem(world, right, security_code=SECURITY_CODE).domain.code == "AFFILIATIONS"


def test_one_address_is_throttled_across_accounts(world: CertificationWorld, clock: Clock) -> None:
    other = factories.certification_world("Other employer S.A.")
    for guesser in (world, other, world, other, world, other):  # 6 failures from HOME
        refused = _refusal(guesser, codes.generate())
    assert refused.code == "code_or_security_wrong"
    assert isinstance(_refusal(other, codes.generate()), throttle.Throttled)
    # The same accounts from another address are free: each failed only three times.
    assert _refusal(other, codes.generate(), address=OFFICE).code == "code_or_security_wrong"


def test_a_locked_code_counts_and_is_audited_without_the_codes(
    world: CertificationWorld, printed: dict[tuple[str, str], str], clock: Clock
) -> None:
    known = printed["AFFILIATIONS", "holder"]
    start = factories.audit_seq()
    for _ in range(5):
        _refusal(world, known, security_code="not-the-one")
        clock.advance(3600)  # waits over, so the lockout of the code is what is seen
    code = AccessCode.objects.get(digest=codes.digest(codes.normalize(known)))
    assert code.locked_at is not None
    assert _refusal(world, known, security_code=SECURITY_CODE).code == "code_locked"
    assert _audited_reasons(start) == ["security_code"] * 5 + ["locked"]
    trail = json.dumps([e.data for e in AuditEvent.objects.filter(seq__gt=start)])
    assert known not in trail and codes.normalize(known) not in trail
    assert SECURITY_CODE not in trail and "not-the-one" not in trail
    assert FailureThrottle.objects.get(key=f"account:{world.boss.pk}").failures == 6


# --- over HTTP --------------------------------------------------------------------------------


def _throttle_account(world: CertificationWorld) -> None:
    for _ in range(4):
        _fail(f"account:{world.boss.pk}")


def test_the_portal_page_says_when_to_retry(world: CertificationWorld) -> None:
    _throttle_account(world)
    web = Client(REMOTE_ADDR=HOME)
    web.force_login(world.boss)
    domain = factories.domain("AFFILIATIONS")
    url = reverse("certification:certification_add_code", args=[world.space.pk])
    page = web.post(
        f"{url}?domain={domain.pk}&kind=holder",
        {"code": codes.generate(), "security_code": "whatever-1"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert page.status_code == 429
    assert page["Retry-After"] in ("1", "2")
    assert "Too many wrong codes were entered" in page.content.decode()
    assert re.search(r"try again in [12] seconds?\.", page.content.decode())


def test_the_session_api_answers_429_with_retry_after(world: CertificationWorld) -> None:
    _throttle_account(world)
    api = Client(REMOTE_ADDR=HOME)
    api.force_login(world.boss)
    answer = api.post(
        f"/api/v1/spaces/{world.space.pk}/certifications",
        {
            "domain": "AFFILIATIONS",
            "kind": "holder",
            "code": codes.generate(),
            "security_code": "whatever-1",
        },
        content_type="application/json",
    )
    assert answer.status_code == 429
    assert answer["Content-Type"] == "application/problem+json"
    assert answer["Retry-After"] in ("1", "2")
    assert answer.json()["code"] == "too_many_failures"


@pytest.fixture
def salary_bearer(world: CertificationWorld) -> Iterator[tuple[dict[str, str], str]]:
    client = factories.api_client(
        world.salary_space, (("AFFILIATIONS", "act"),), admin=world.salary_admin
    )
    yield {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(client)}"}, client.client_id


def _bulk(headers: dict[str, str], lines: list[dict[str, str]], address: str = HOME) -> Any:
    return Client(REMOTE_ADDR=address).post(
        "/api/v1/redemptions",
        json.dumps({"lines": lines}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
        **headers,
    )


def test_bulk_lines_stop_when_the_client_must_wait_and_the_next_call_is_429(
    world: CertificationWorld, salary_bearer: tuple[dict[str, str], str], clock: Clock
) -> None:
    headers, client_id = salary_bearer
    start = factories.audit_seq()
    guesses = [{"access_code": codes.generate(), "security_code": "guess-1"} for _ in range(6)]
    answer = _bulk(headers, guesses)
    assert answer.status_code == 200
    statuses = [line["status"] for line in answer.json()["lines"]]
    assert statuses == ["code_unknown"] * 4 + ["not_attempted"] * 2
    assert "try again in" in answer.json()["lines"][-1]["message"]
    assert _audited_reasons(start) == ["unknown"] * 4 + ["throttled"] * 2
    assert FailureThrottle.objects.filter(key=f"client:{client_id}").exists()
    refused = _bulk(headers, guesses[:1])
    assert refused.status_code == 429
    assert refused["Retry-After"] == "2"
    assert refused.json()["code"] == "too_many_failures"


def test_bulk_throttles_the_client_not_the_person_who_registered_it(
    world: CertificationWorld, salary_bearer: tuple[dict[str, str], str]
) -> None:
    headers, _client_id = salary_bearer
    _bulk(headers, [{"access_code": codes.generate(), "security_code": "g-1"}])
    keys = set(FailureThrottle.objects.values_list("key", flat=True))
    assert keys == {f"client:{_client_id}", f"ip:{HOME}"}
