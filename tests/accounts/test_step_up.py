"""Step-up: binding acts need the level ``MANDAT_STEP_UP_LEVEL`` ("substantial"); a lower session
is sent to confirm a second factor and comes back where it was."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client

from mandat.accounts.assurance import HIGH, LOW, SESSION_KEY, SUBSTANTIAL
from tests import factories
from tests.accounts.helpers import level, password_login, totp_now

pytestmark = pytest.mark.django_db

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

#: Every portal page that binds the organisation, as (path template, methods).
PROTECTED = [
    ("/spaces/{space}/certification/request/sign/", ["get", "post"]),
    ("/spaces/{space}/certification/request/transmit/", ["get"]),
    ("/spaces/{space}/certification/request/transmit/confirm/", ["get", "post"]),
    ("/spaces/{space}/certifications/add/code/", ["get", "post"]),
    ("/spaces/{space}/given/{n}/end/", ["get", "post"]),
    ("/spaces/{space}/clients/{n}/mandates/{n}/renounce/", ["get", "post"]),
    ("/spaces/{space}/members/add/check/", ["get", "post"]),
    ("/spaces/{space}/members/{n}/restrict/", ["get", "post"]),
    ("/spaces/{space}/members/{n}/remove/", ["get", "post"]),
    ("/spaces/{space}/api-clients/register/check/", ["get", "post"]),
    ("/spaces/{space}/api-clients/{n}/revoke/", ["get", "post"]),
]


@pytest.fixture
def admin_and_space() -> tuple[object, int]:
    user = factories.user("ada")
    space = factories.space_of(factories.organisation("Ada SA"), admin=user)
    return user, space.pk


def _low(client: Client) -> None:
    session = client.session
    session[SESSION_KEY] = LOW
    session.save()


@pytest.mark.parametrize(("template", "methods"), PROTECTED)
def test_a_low_session_is_sent_to_step_up_and_told_where_to_come_back(
    admin_and_space: tuple[object, int], template: str, methods: list[str]
) -> None:
    user, space = admin_and_space
    path = template.format(space=space, n=999999)
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    _low(client)
    for method in methods:
        response = getattr(client, method)(path)
        assert response.status_code == 302, (method, path)
        location = urlsplit(response["Location"])
        assert location.path == "/accounts/step-up/", (method, path)
        assert parse_qs(location.query)["next"] == [path]


@pytest.mark.parametrize(("template", "methods"), PROTECTED)
def test_a_substantial_session_reaches_the_view(
    admin_and_space: tuple[object, int], template: str, methods: list[str]
) -> None:
    user, space = admin_and_space
    path = template.format(space=space, n=999999)
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    assert level(client) == SUBSTANTIAL
    response = client.get(path)
    assert not response.get("Location", "").startswith("/accounts/step-up/"), path


def test_a_protected_page_sends_anonymous_people_to_log_in(
    admin_and_space: tuple[object, int],
) -> None:
    _, space = admin_and_space
    response = Client().get(f"/spaces/{space}/given/1/end/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_step_up_with_totp_comes_back_and_rotates_the_session_key(
    admin_and_space: tuple[object, int],
) -> None:
    user, space = admin_and_space
    TOTP.activate(user, SECRET)  # type: ignore[arg-type]
    client = Client()
    # A password-only login would stop at the second factor: use a recovery of the LOW level.
    client.force_login(user)  # type: ignore[arg-type]
    _low(client)
    target = f"/spaces/{space}/members/add/check/"
    step_up = client.get(target)["Location"]
    to_mfa = client.get(step_up)
    assert to_mfa.status_code == 302
    reauth = urlsplit(to_mfa["Location"])
    assert reauth.path == "/accounts/2fa/reauthenticate/"
    assert parse_qs(reauth.query)["next"] == [target]
    page = client.get(to_mfa["Location"])
    assert page.status_code == 200
    key_before = client.session.session_key
    response = client.post(to_mfa["Location"], {"code": totp_now(SECRET)})
    assert response.status_code == 302 and response["Location"] == target
    assert level(client) == SUBSTANTIAL
    assert client.session.session_key != key_before
    assert client.get(response["Location"]).status_code != 302 or not client.get(target)[
        "Location"
    ].startswith("/accounts/step-up/")


def test_a_wrong_code_does_not_step_up(admin_and_space: tuple[object, int]) -> None:
    user, space = admin_and_space
    TOTP.activate(user, SECRET)  # type: ignore[arg-type]
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    _low(client)
    response = client.post("/accounts/2fa/reauthenticate/", {"code": "000000"})
    assert response.status_code == 200
    assert level(client) == LOW


def test_without_a_second_factor_the_step_up_page_explains_and_offers_one(
    admin_and_space: tuple[object, int],
) -> None:
    user, space = admin_and_space
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    _low(client)
    page = client.get("/accounts/step-up/", {"next": f"/spaces/{space}/given/"})
    text = page.content.decode()
    assert page.status_code == 200
    assert 'href="/accounts/2fa/totp/activate/"' in text
    assert 'href="/accounts/2fa/webauthn/add/"' in text


def test_step_up_only_goes_back_to_this_site(admin_and_space: tuple[object, int]) -> None:
    user, _ = admin_and_space
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    for evil in ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"]:
        response = client.get("/accounts/step-up/", {"next": evil})
        assert response.status_code == 302 and response["Location"] == "/", evil


def test_login_with_password_and_totp_is_substantial_and_a_password_alone_is_low() -> None:
    user = factories.user("ada")
    client = Client()
    password_login(client, "ada")
    assert level(client) == LOW
    TOTP.activate(user, SECRET)
    client = Client()
    password_login(client, "ada")
    client.post("/accounts/2fa/authenticate/", {"code": totp_now(SECRET)})
    assert level(client) == SUBSTANTIAL


def test_a_high_session_stays_high_after_a_step_up(admin_and_space: tuple[object, int]) -> None:
    user, _ = admin_and_space
    TOTP.activate(user, SECRET)  # type: ignore[arg-type]
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    session = client.session
    session[SESSION_KEY] = HIGH
    session.save()
    client.post("/accounts/2fa/reauthenticate/", {"code": totp_now(SECRET)})
    assert level(client) == HIGH


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/certification-requests/{n}/sign", None),
        ("/api/v1/certification-requests/{n}/transmit", {"confirm": True}),
        (
            "/api/v1/spaces/{space}/certifications",
            {"domain": "AFFILIATIONS", "kind": "holder", "code": "X", "security_code": "1"},
        ),
    ],
)
def test_the_session_api_answers_step_up_required(
    admin_and_space: tuple[object, int], path: str, body: dict[str, object] | None
) -> None:
    user, space = admin_and_space
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    _low(client)
    url = path.format(space=space, n=999999)
    response = client.post(url, json.dumps(body or {}), content_type="application/json")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:mandat:problem:step_up_required"
    assert problem["code"] == "step_up_required"
    # Stepped up, the same call goes past the check (to the next answer: not found).
    client.force_login(user)  # type: ignore[arg-type]
    again = client.post(url, json.dumps(body or {}), content_type="application/json")
    assert again.status_code != 403 or again.json()["code"] != "step_up_required"


def test_the_second_factor_page_does_not_offer_the_password_instead(
    admin_and_space: tuple[object, int],
) -> None:
    user, _ = admin_and_space
    TOTP.activate(user, SECRET)  # type: ignore[arg-type]
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    _low(client)
    mfa_page = client.get("/accounts/2fa/reauthenticate/").content.decode()
    assert 'href="/accounts/reauthenticate/' not in mfa_page
    password_page = client.get("/accounts/reauthenticate/").content.decode()
    assert 'href="/accounts/2fa/reauthenticate/' in password_page


def test_after_setting_up_a_factor_the_pages_lead_back(admin_and_space: tuple[object, int]) -> None:
    user, space = admin_and_space
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    _low(client)
    target = f"/spaces/{space}/members/add/check/"
    client.get(client.get(target)["Location"])  # the step-up page, no factor yet
    client.post("/accounts/reauthenticate/", {"password": "pw"})
    client.get("/accounts/2fa/totp/activate/")
    secret = client.session["mfa.totp.secret"]
    done = client.post("/accounts/2fa/totp/activate/", {"code": totp_now(secret)}, follow=True)
    back = f'href="/accounts/step-up/?next={target.replace("/", "%2F")}"'
    assert back in done.content.decode()
    to_mfa = client.get(f"/accounts/step-up/?next={target}")
    assert urlsplit(to_mfa["Location"]).path == "/accounts/2fa/reauthenticate/"
    assert "mandat_step_up_next" not in client.session
