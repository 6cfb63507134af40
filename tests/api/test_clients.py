"""Registering and revoking API clients: the services and the portal pages."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from typing import Any

import pytest
from django.test import Client
from joserfc.jwk import ECKey, OKPKey, RSAKey

from mandat.accounts.models import User
from mandat.api import services
from mandat.api.models import ApiClient, AuthMethod
from mandat.core import time
from mandat.spaces.models import Membership, Role, Space
from tests import factories

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:Key size should be"),
]
SOON = dt.timedelta(days=30)


def _short_rsa() -> dict[str, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc warns of the very weakness tested here
        return dict(RSAKey.generate_key(1024, auto_kid=False).as_dict(private=False))


@pytest.fixture
def space() -> Space:
    return factories.space_of(factories.salary_sa().organisation)


@pytest.fixture
def admin(space: Space) -> User:
    person = factories.user()
    Membership.objects.create(space=space, user=person, role=Role.ADMIN)
    return person


def _register(admin: User, space: Space, **extra: object) -> services.RegisteredClient:
    arguments: dict[str, object] = {
        "by": admin,
        "space": space,
        "name": "Payroll",
        "scopes": [("AFFILIATIONS", "act")],
        "expires_at": time.now() + SOON,
        **extra,
    }
    return services.api_client_register(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "key",
    [
        OKPKey.generate_key("Ed25519"),
        ECKey.generate_key("P-256"),
        RSAKey.generate_key(2048),
    ],
    ids=["ed25519", "p256", "rsa2048"],
)
def test_an_admin_registers_a_client_with_a_public_key(
    admin: User, space: Space, key: object
) -> None:
    seq = factories.audit_seq()
    public = key.as_dict(private=False)  # type: ignore[attr-defined]
    registered = _register(admin, space, public_jwk=public)
    client = registered.client
    assert registered.secret is None
    assert client.auth_method == AuthMethod.PRIVATE_KEY_JWT
    assert client.public_jwk is not None and "d" not in client.public_jwk
    assert client.client_id.startswith("mc_")
    assert client.scopes == ["AFFILIATIONS:act"]
    [event] = factories.audit_events_since(seq)
    assert event.action == "api_client.registered"
    assert event.data["client_id"] == client.client_id


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (_short_rsa(), "short RSA"),
        (ECKey.generate_key("P-384").as_dict(private=False), "P-384"),
        (OKPKey.generate_key("X25519").as_dict(private=False), "X25519"),
        (OKPKey.generate_key("Ed25519", private=True).as_dict(private=True), "private key"),
        ({"kty": "oct", "k": "c2VjcmV0"}, "symmetric"),
        ({"kty": "EC", "crv": "P-256"}, "incomplete"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_weak_private_or_broken_keys_are_refused(
    admin: User, space: Space, key: dict[str, str], reason: str
) -> None:
    with factories.refused("jwk_invalid", ApiClient) as caught:
        _register(admin, space, public_jwk=key)
    assert caught.value.field == "public_jwk"


def test_a_secret_client_gets_its_secret_once_and_it_is_stored_hashed(
    admin: User, space: Space
) -> None:
    registered = _register(admin, space)
    assert registered.secret is not None and len(registered.secret) > 40
    stored = ApiClient.objects.get(pk=registered.client.pk)
    assert stored.auth_method == AuthMethod.CLIENT_SECRET
    assert registered.secret not in stored.secret_hash
    assert stored.public_jwk is None


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"scopes": []}, "scopes_required"),
        ({"scopes": [("NOPE", "act")]}, "scope_unknown"),
        ({"scopes": [("AFFILIATIONS", "delete")]}, "scope_unknown"),
        ({"name": "  "}, "name_required"),
        ({"expires_at": dt.datetime(2020, 1, 1, tzinfo=dt.UTC)}, "expiry_past"),
        ({"expires_at": dt.datetime(2200, 1, 1, tzinfo=dt.UTC)}, "expiry_too_far"),
    ],
)
def test_bad_registrations_are_refused(
    admin: User, space: Space, extra: dict[str, object], code: str
) -> None:
    with factories.refused(code, ApiClient):
        _register(admin, space, **extra)


def test_only_admins_register_and_revoke(admin: User, space: Space) -> None:
    clerk = factories.user()
    Membership.objects.create(space=space, user=clerk, role=Role.COLLABORATOR)
    with factories.refused("not_found", ApiClient):
        _register(clerk, space)
    client = _register(admin, space).client
    with factories.refused("not_found"):
        services.api_client_revoke(by=clerk, client=client)
    seq = factories.audit_seq()
    revoked = services.api_client_revoke(by=admin, client=client)
    assert revoked.revoked_at is not None and revoked.revoked_by == admin
    assert [e.action for e in factories.audit_events_since(seq)] == ["api_client.revoked"]
    with factories.refused("client_already_revoked"):
        services.api_client_revoke(by=admin, client=client)


# --- portal pages -----------------------------------------------------------------------------


@pytest.fixture
def browser(admin: User) -> Client:
    http = Client()
    http.force_login(admin)
    return http


def _form(**extra: object) -> dict[str, object]:
    return {
        "name": "Payroll 3000",
        "scopes": ["AFFILIATIONS:act", "EMPLOYER:consult"],
        "expires_on": (time.now() + SOON).date().isoformat(),
        "method": "client_secret",
        **extra,
    }


def _register_page(browser: Client, space: Space, **extra: object) -> object:
    """Fill the form, then confirm on "check your answers"."""
    filled = browser.post(f"/spaces/{space.pk}/api-clients/register/", _form(**extra))
    assert filled.status_code == 302, getattr(filled, "context", None) and filled.context["errors"]
    assert filled["Location"] == f"/spaces/{space.pk}/api-clients/register/check/"
    check = browser.get(filled["Location"])
    assert check.status_code == 200
    assert not ApiClient.objects.filter(space=space).exists()
    return browser.post(filled["Location"])


def test_register_with_a_secret_shows_it_once(browser: Client, space: Space) -> None:
    response: Any = _register_page(browser, space)
    client = ApiClient.objects.get(space=space)
    assert response.status_code == 302
    assert response["Location"] == f"/spaces/{space.pk}/api-clients/{client.pk}/"
    first = browser.get(response["Location"])
    secret = first.context["secret"]
    assert secret and secret.encode() in first.content
    assert "no-store" in first["Cache-Control"]  # neither the browser nor a proxy keeps it
    assert not any(secret in str(value) for value in browser.session.values())
    again = browser.get(response["Location"])
    assert again.context["secret"] is None
    assert secret.encode() not in again.content


def test_register_with_a_pasted_key(browser: Client, space: Space) -> None:
    key = json.dumps(OKPKey.generate_key("Ed25519").as_dict(private=False))
    response: Any = _register_page(browser, space, method="private_key_jwt", public_jwk=key)
    assert response.status_code == 302
    assert ApiClient.objects.get(space=space).auth_method == AuthMethod.PRIVATE_KEY_JWT


def test_errors_are_listed_and_the_input_is_kept(browser: Client, space: Space) -> None:
    response = browser.post(
        f"/spaces/{space.pk}/api-clients/register/",
        _form(scopes=[], method="private_key_jwt", public_jwk='{"kty": "oct", "k": "eA"}'),
    )
    assert response.status_code == 422
    fields = [field for field, _message in response.context["errors"].summary]
    assert fields == ["scopes", "public_jwk"]
    assert b"Payroll 3000" in response.content
    response = browser.post(
        f"/spaces/{space.pk}/api-clients/register/",
        _form(method="private_key_jwt", public_jwk='{"kty": "oct", "k": "eA"}'),
    )
    assert [f for f, _m in response.context["errors"].summary] == ["public_jwk"]
    assert b"&quot;oct&quot;" in response.content
    assert not ApiClient.objects.exists()


def test_the_list_and_revocation_with_confirmation(
    browser: Client, space: Space, admin: User
) -> None:
    client = _register(admin, space).client
    listed = browser.get(f"/spaces/{space.pk}/api-clients/")
    assert listed.status_code == 200
    assert client.client_id.encode() in listed.content
    confirm = browser.get(f"/spaces/{space.pk}/api-clients/{client.pk}/revoke/")
    assert confirm.status_code == 200
    assert ApiClient.objects.get(pk=client.pk).revoked_at is None
    done = browser.post(f"/spaces/{space.pk}/api-clients/{client.pk}/revoke/")
    assert done.status_code == 302
    assert ApiClient.objects.get(pk=client.pk).revoked_at is not None


def test_non_admins_get_404_everywhere(space: Space, admin: User) -> None:
    client = _register(admin, space).client
    clerk = factories.user()
    Membership.objects.create(space=space, user=clerk, role=Role.COLLABORATOR)
    stranger = factories.user()
    for person in (clerk, stranger):
        http = Client()
        http.force_login(person)
        for url in (
            f"/spaces/{space.pk}/api-clients/",
            f"/spaces/{space.pk}/api-clients/register/",
            f"/spaces/{space.pk}/api-clients/register/check/",
            f"/spaces/{space.pk}/api-clients/{client.pk}/",
            f"/spaces/{space.pk}/api-clients/{client.pk}/revoke/",
        ):
            assert http.get(url).status_code == 404, (person, url)
        assert http.post(f"/spaces/{space.pk}/api-clients/{client.pk}/revoke/").status_code == 404
    assert ApiClient.objects.get(pk=client.pk).revoked_at is None


def test_the_tab_shows_for_admins_only(space: Space, admin: User, browser: Client) -> None:
    assert b"/api-clients/" in browser.get(f"/spaces/{space.pk}/").content
    clerk = factories.user()
    Membership.objects.create(space=space, user=clerk, role=Role.COLLABORATOR)
    http = Client()
    http.force_login(clerk)
    assert b"/api-clients/" not in http.get(f"/spaces/{space.pk}/").content


def test_change_from_check_your_answers_keeps_the_answers(browser: Client, space: Space) -> None:
    browser.post(f"/spaces/{space.pk}/api-clients/register/", _form(name="First name"))
    check = browser.get(f"/spaces/{space.pk}/api-clients/register/check/")
    assert b"First name" in check.content
    again = browser.get(f"/spaces/{space.pk}/api-clients/register/")
    assert b'value="First name"' in again.content
    assert b'value="AFFILIATIONS:act" checked' in again.content


def test_check_without_a_draft_goes_back_to_the_form(browser: Client, space: Space) -> None:
    response = browser.get(f"/spaces/{space.pk}/api-clients/register/check/")
    assert response.status_code == 302
    assert response["Location"] == f"/spaces/{space.pk}/api-clients/register/"


def test_an_expiry_out_of_range_is_refused_on_the_form(browser: Client, space: Space) -> None:
    for day in ("2020-01-01", "2200-01-01"):
        response = browser.post(f"/spaces/{space.pk}/api-clients/register/", _form(expires_on=day))
        assert response.status_code == 422
        assert [f for f, _m in response.context["errors"].summary] == ["expires_on"]
