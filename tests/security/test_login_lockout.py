"""Login brute force: django-axes locks a (name, address) pair after a few failures."""

from __future__ import annotations

import re

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.test import Client

from tests import factories

pytestmark = pytest.mark.django_db

ATTACKER, VICTIM_HOME = "203.0.113.7", "198.51.100.20"


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """allauth's per-address burst limit lives in the cache, which outlives a test."""
    cache.clear()


def _login(address: str, name: str, password: str) -> object:
    return Client(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="en").post(
        "/login/", {"login": name, "password": password}, HTTP_ACCEPT_LANGUAGE="en"
    )


def _fail(address: str, name: str, times: int) -> list[int]:
    return [_login(address, name, "wrong-password").status_code for _ in range(times)]  # type: ignore[attr-defined]


def _main(response: object) -> str:
    """The page's main content, without the CSRF token that differs on every answer."""
    html = response.content.decode()  # type: ignore[attr-defined]
    main = html[html.index("<main") : html.index("</main>")]
    return re.sub(r'value="[^"]{40,}"', 'value=""', main)


def test_five_failures_lock_the_name_from_that_address_even_with_the_right_password() -> None:
    factories.user("anne")
    assert _fail(ATTACKER, "anne", 4) == [200] * 4
    locked = _login(ATTACKER, "anne", "wrong-password")
    assert locked.status_code == 429  # type: ignore[attr-defined]
    assert "Too many failed logins" in _main(locked)
    assert int(locked["Retry-After"]) == 15 * 60  # type: ignore[index]
    # The right password does not get through while the pair is locked.
    again = _login(ATTACKER, "anne", "pw")
    assert again.status_code == 429  # type: ignore[attr-defined]
    assert "_auth_user_id" not in again.wsgi_request.session  # type: ignore[attr-defined]


def test_the_victim_still_logs_in_from_another_address() -> None:
    factories.user("anne")
    _fail(ATTACKER, "anne", 6)
    home = _login(VICTIM_HOME, "anne", "pw")
    assert home.status_code == 302  # type: ignore[attr-defined]
    assert home.wsgi_request.session.get("_auth_user_id")  # type: ignore[attr-defined]


def test_the_name_is_counted_without_case_or_spaces() -> None:
    factories.user("anne")
    for typed in ("anne", "ANNE", " Anne", "anne ", "aNNe"):
        last = _login(ATTACKER, typed, "wrong-password")
    assert last.status_code == 429  # type: ignore[attr-defined]
    assert AccessAttempt.objects.get().username == "anne"


def test_the_lockout_page_is_the_same_for_an_unknown_name() -> None:
    factories.user("anne")
    _fail(ATTACKER, "anne", 4)
    _fail(ATTACKER, "nobody-by-this-name", 4)
    known = _login(ATTACKER, "anne", "wrong-password")
    unknown = _login(ATTACKER, "nobody-by-this-name", "wrong-password")
    assert known.status_code == unknown.status_code == 429  # type: ignore[attr-defined]
    assert known["Retry-After"] == unknown["Retry-After"]  # type: ignore[index]
    assert _main(known) == _main(unknown)
    assert "anne" not in _main(known)


def test_the_lockout_page_is_translated() -> None:
    _fail(ATTACKER, "anne", 4)
    page = Client(REMOTE_ADDR=ATTACKER).post(
        "/login/", {"login": "anne", "password": "x"}, HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert page.status_code == 429
    assert '<html lang="fr">' in page.content.decode()


def test_a_success_before_the_limit_forgets_the_failures() -> None:
    factories.user("anne")
    _fail(ATTACKER, "anne", 4)
    assert _login(ATTACKER, "anne", "pw").status_code == 302  # type: ignore[attr-defined]
    assert _fail(ATTACKER, "anne", 4) == [200] * 4


def test_the_password_is_not_kept_in_the_failure_records() -> None:
    _fail(ATTACKER, "anne", 2)
    attempt = AccessAttempt.objects.get()
    assert "wrong-password" not in attempt.post_data
    assert "wrong-password" not in str(attempt.__dict__)
