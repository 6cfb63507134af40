"""The account pages under the strict CSP: no inline script or style, allauth's JavaScript
served from this origin."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client

from tests import factories
from tests.accounts.helpers import password_login

pytestmark = pytest.mark.django_db

SCRIPT = re.compile(r"<script\b([^>]*)>", re.I)


def _assert_csp_clean(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    html = response.content.decode()
    for attributes in SCRIPT.findall(html):
        # Either a same-origin file, or a JSON data block (never executed).
        assert 'src="/static/' in attributes or 'type="application/json"' in attributes, (
            path,
            attributes,
        )
    assert " style=" not in html, path
    return html


def test_account_pages_need_no_inline_script() -> None:
    user = factories.user("ada")
    client = Client()
    password_login(client, "ada")
    client.post("/accounts/reauthenticate/", {"password": "pw"})
    for path in [
        "/accounts/security/",
        "/accounts/2fa/webauthn/add/",
        "/accounts/2fa/totp/activate/",
        "/accounts/password/change/",
        "/accounts/email/",
        "/accounts/step-up/?next=/",
    ]:
        _assert_csp_clean(client, path)
    TOTP.activate(user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    client = Client()
    password_login(client, "ada")
    html = _assert_csp_clean(client, "/accounts/2fa/authenticate/")
    assert '<label for="id_code">' in html
    for anonymous in ["/login/", "/accounts/signup/", "/accounts/password/reset/"]:
        _assert_csp_clean(Client(), anonymous)


@pytest.mark.parametrize(
    "script", ["mfa/js/webauthn.js", "mfa/js/webauthn-json.js", "account/js/onload.js"]
)
def test_allauth_scripts_are_served_from_this_origin(script: str) -> None:
    response = Client().get(f"/static/{script}")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert len(body) > 100
