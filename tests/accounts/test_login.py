"""Local accounts through allauth: log in, sign up with a verified address, reset a password,
and second factors (TOTP, recovery codes)."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.core import mail
from django.test import Client

from mandat.accounts.assurance import LOW, SUBSTANTIAL
from mandat.accounts.models import User
from tests import factories
from tests.accounts.helpers import level, password_login, totp_now

pytestmark = pytest.mark.django_db

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_the_login_page_has_labelled_fields_and_a_log_in_button() -> None:
    html = Client(HTTP_ACCEPT_LANGUAGE="en").get("/login/", HTTP_ACCEPT_LANGUAGE="en")
    text = html.content.decode()
    assert html.status_code == 200
    assert '<label for="id_login">Username or e-mail address</label>' in text
    assert '<label for="id_password">Password</label>' in text
    assert ">Log in</button>" in text
    assert "<script>" not in text  # the CSP forbids inline script


@pytest.mark.parametrize("by", ["username", "email"])
def test_a_person_logs_in_by_username_or_by_e_mail(by: str) -> None:
    user = factories.user("ada")
    client = Client()
    assert password_login(client, "ada" if by == "username" else user.email) == "/"
    assert client.get("/").wsgi_request.user == user
    assert level(client) == LOW


def test_a_wrong_password_is_refused_with_an_error_summary() -> None:
    factories.user("ada")
    client = Client()
    response = client.post("/login/", {"login": "ada", "password": "nope"})
    assert response.status_code == 200
    assert 'class="error-summary"' in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_logout_is_a_post_that_ends_the_session() -> None:
    factories.user("ada")
    client = Client()
    password_login(client, "ada")
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert not client.get("/login/").wsgi_request.user.is_authenticated


def test_sign_up_needs_the_e_mail_address_verified_first() -> None:
    client = Client()
    response = client.post(
        "/accounts/signup/",
        {
            "email": "new@example.test",
            "username": "newcomer",
            "password1": "a-long-enough-passphrase-9",
            "password2": "a-long-enough-passphrase-9",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert not client.get("/").wsgi_request.user.is_authenticated
    # Not verified yet: the login sends a fresh mail instead of logging in.
    client.post("/login/", {"login": "newcomer", "password": "a-long-enough-passphrase-9"})
    assert not client.get("/").wsgi_request.user.is_authenticated
    assert mail.outbox and mail.outbox[0].to == ["new@example.test"]
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", mail.outbox[0].body)
    assert link is not None
    assert client.get(link.group(1)).status_code == 200
    assert client.post(link.group(1)).status_code == 302
    assert EmailAddress.objects.get(email="new@example.test").verified
    password_login(Client(), "newcomer", "a-long-enough-passphrase-9")


def test_password_reset_by_mail_link() -> None:
    user = factories.user("ada")
    client = Client()
    response = client.post("/accounts/password/reset/", {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/[^\s]+/)", mail.outbox[0].body)
    assert link is not None
    page = client.get(link.group(1))  # allauth moves the key out of the URL
    assert page.status_code == 302
    form_url = page["Location"]
    response = client.post(
        form_url,
        {"password1": "another-long-passphrase-7", "password2": "another-long-passphrase-7"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another-long-passphrase-7")


def test_an_unknown_address_gets_the_same_reset_answer_and_no_reset_link() -> None:
    known = factories.user("ada")
    answers = [
        Client().post("/accounts/password/reset/", {"email": address})
        for address in [known.email, "nobody@example.test"]
    ]
    assert [a.status_code for a in answers] == [302, 302]
    assert answers[0]["Location"] == answers[1]["Location"]
    # The owner of the unknown address is told there is no account, with no reset key.
    assert [m.to for m in mail.outbox] == [[known.email], ["nobody@example.test"]]
    assert "/password/reset/key/" not in mail.outbox[1].body


def test_totp_enrolment_then_login_with_a_code_is_substantial() -> None:
    user = factories.user("ada")
    client = Client()
    password_login(client, "ada")
    page = client.get("/accounts/2fa/totp/activate/")
    # Adding a factor first asks for the password again.
    assert page.status_code == 302 and page["Location"].startswith("/accounts/reauthenticate/")
    response = client.post(page["Location"], {"password": "pw"})
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/totp/activate/"
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = client.session["mfa.totp.secret"]
    response = client.post("/accounts/2fa/totp/activate/", {"code": totp_now(secret)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    # Recovery codes come with the first factor.
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists()

    client = Client()
    assert password_login(client, "ada") == "/accounts/2fa/authenticate/"
    assert not client.get("/").wsgi_request.user.is_authenticated
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200 and 'class="error-summary"' in wrong.content.decode()
    # One period either side is accepted (MFA_TOTP_TOLERANCE), two are not.
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_now(secret, offset=2)})
    assert response.status_code == 200
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_now(secret)})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").wsgi_request.user == user
    assert level(client) == SUBSTANTIAL


def test_a_used_totp_code_cannot_be_replayed() -> None:
    user = factories.user("ada")
    TOTP.activate(user, SECRET)
    code = totp_now(SECRET)
    first = Client()
    password_login(first, "ada")
    assert first.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    second = Client()
    password_login(second, "ada")
    assert second.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 200
    assert not second.get("/").wsgi_request.user.is_authenticated


def test_a_recovery_code_logs_in_once() -> None:
    user = factories.user("ada")
    TOTP.activate(user, SECRET)
    codes = RecoveryCodes.activate(user).get_unused_codes()
    client = Client()
    password_login(client, "ada")
    assert client.post("/accounts/2fa/authenticate/", {"code": codes[0]}).status_code == 302
    assert level(client) == SUBSTANTIAL
    again = Client()
    password_login(again, "ada")
    assert again.post("/accounts/2fa/authenticate/", {"code": codes[0]}).status_code == 200
    assert not again.get("/").wsgi_request.user.is_authenticated


def test_the_security_page_lists_factors_and_is_linked_from_the_header() -> None:
    user = factories.user("ada")
    client = Client()
    client.force_login(user)
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'href="/accounts/security/"' in home
    page = client.get("/accounts/security/", HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert page.status_code == 200
    assert 'href="/accounts/2fa/totp/activate/"' in text
    assert 'href="/accounts/2fa/webauthn/add/"' in text
    assert 'action="/accounts/logout-everywhere/"' in text


def test_login_pages_render_inside_the_portal_layout() -> None:
    client = Client()
    for address in ["/accounts/signup/", "/accounts/password/reset/", "/logout/"]:
        response = client.get(address)
        assert response.status_code in {200, 302}, address
        if response.status_code == 200:
            assert 'class="skip-link"' in response.content.decode(), address


def test_an_unverified_user_cannot_log_in() -> None:
    User.objects.create_user(username="bob", email="bob@example.test", password="pw")
    client = Client()
    client.post("/login/", {"login": "bob", "password": "pw"})
    assert not client.get("/").wsgi_request.user.is_authenticated
