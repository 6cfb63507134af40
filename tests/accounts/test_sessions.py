"""Session limits: idle and absolute time-outs, rotation on login, cookies, log out everywhere.

Time passes by moving the clock mandat reads (``mandat.core.time.now``), the one every session
timestamp comes from."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client

from mandat.accounts import sessions
from mandat.core import time
from mandat.core.models import AuditEvent
from tests import factories
from tests.accounts.helpers import password_login

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def advance(self, seconds: float) -> None:
        self.offset += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moving = Clock()
    real_now = time.now
    monkeypatch.setattr(time, "now", lambda: real_now() + moving.offset)
    return moving


def _logged_in(client: Client) -> bool:
    return bool(client.get("/accounts/security/").wsgi_request.user.is_authenticated)


def test_a_session_ends_after_the_idle_time_out(clock: Clock) -> None:
    factories.user("ada")
    client = Client()
    password_login(client, "ada")
    clock.advance(settings.MANDAT_SESSION_IDLE_SECONDS - 5)
    assert _logged_in(client)  # activity just before the limit keeps it alive
    clock.advance(settings.MANDAT_SESSION_IDLE_SECONDS - 5)
    assert _logged_in(client)
    clock.advance(settings.MANDAT_SESSION_IDLE_SECONDS + 1)
    response = client.get("/accounts/security/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_session_ends_at_the_absolute_time_out_even_when_active(clock: Clock) -> None:
    factories.user("ada")
    client = Client()
    password_login(client, "ada")
    step = settings.MANDAT_SESSION_IDLE_SECONDS - 10
    elapsed = 0
    while elapsed + step <= settings.MANDAT_SESSION_ABSOLUTE_SECONDS:
        clock.advance(step)
        elapsed += step
        assert _logged_in(client), elapsed
    clock.advance(settings.MANDAT_SESSION_ABSOLUTE_SECONDS - elapsed + 1)
    assert not _logged_in(client)


def test_last_seen_is_written_at_most_once_a_minute(clock: Clock) -> None:
    factories.user("ada")
    client = Client()
    password_login(client, "ada")
    first = client.session[sessions.SEEN_AT]
    clock.advance(30)
    client.get("/accounts/security/")
    assert client.session[sessions.SEEN_AT] == first
    clock.advance(31)
    client.get("/accounts/security/")
    assert client.session[sessions.SEEN_AT] > first


def test_login_rotates_the_session_key() -> None:
    factories.user("ada")
    client = Client()
    client.get("/login/")
    client.session.save()
    before = client.session.session_key
    password_login(client, "ada")
    assert client.session.session_key != before


def test_cookies_are_http_only_and_same_site_lax() -> None:
    factories.user("ada")
    client = Client()
    password_login(client, "ada")
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_log_out_everywhere_ends_every_session_and_is_audited() -> None:
    user = factories.user("ada")
    phone, laptop = Client(), Client()
    password_login(phone, "ada")
    password_login(laptop, "ada")
    assert _logged_in(phone) and _logged_in(laptop)
    response = laptop.post("/accounts/logout-everywhere/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert not _logged_in(laptop)
    assert not _logged_in(phone)
    event = AuditEvent.objects.filter(action="user.sessions_ended").get()
    assert event.actor_id == user.pk
    # A new login after that works again.
    password_login(phone, "ada")
    assert _logged_in(phone)


def test_log_out_everywhere_is_a_post() -> None:
    user = factories.user("ada")
    client = Client()
    client.force_login(user)
    assert client.get("/accounts/logout-everywhere/").status_code == 405
    assert _logged_in(client)
