"""Logging in the way a person does, through the pages, for the accounts tests."""

from __future__ import annotations

import time

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.test import Client

from mandat.accounts.assurance import SESSION_KEY

PASSWORD = "pw"


def totp_now(secret: str, *, offset: int = 0) -> str:
    """The RFC 6238 code an authenticator app shows now (``offset`` periods away)."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + offset))


def password_login(client: Client, login: str, password: str = PASSWORD) -> str:
    """Submit the login page; return where it sends the browser."""
    response = client.post("/login/", {"login": login, "password": password})
    assert response.status_code == 302, response.content.decode()[:2000]
    return str(response["Location"])


def level(client: Client) -> str | None:
    value = client.session.get(SESSION_KEY)
    return value if isinstance(value, str) else None
