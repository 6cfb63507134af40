"""WebAuthn (passkeys, security keys) with a software authenticator.

The authenticator below does what a security key does, with a real P-256 key: it answers
the options allauth's pages give the browser with a "none" attestation at registration and an
ECDSA assertion at login, both over the challenge and the origin. allauth's server side
(python-fido2) checks them as it would a hardware key's.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client
from fido2.cose import ES256
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

from mandat.accounts.assurance import SUBSTANTIAL
from tests import factories
from tests.accounts.helpers import level, password_login

pytestmark = pytest.mark.django_db

RP_ID = "testserver"
ORIGIN = "https://testserver"


class SoftwareKey:
    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.counter = 0

    def _client_data(self, kind: str, options: dict[str, Any]) -> CollectedClientData:
        challenge = websafe_decode(options["publicKey"]["challenge"])
        return CollectedClientData.create(type=kind, challenge=challenge, origin=ORIGIN)

    def register(self, options: dict[str, Any]) -> dict[str, Any]:
        assert options["publicKey"]["rp"]["id"] == RP_ID
        client_data = self._client_data("webauthn.create", options)
        public = ES256.from_cryptography_key(self.key.public_key())
        credential = AttestedCredentialData.create(b"\0" * 16, self.credential_id, public)
        flags = AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.AT
        data = AuthenticatorData.create(
            hashlib.sha256(RP_ID.encode()).digest(), flags, 0, credential
        )
        attestation = AttestationObject.create("none", data, {})
        identifier = websafe_encode(self.credential_id)
        return {
            "id": identifier,
            "rawId": identifier,
            "type": "public-key",
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                "attestationObject": websafe_encode(bytes(attestation)),
            },
            "clientExtensionResults": {},
        }

    def sign(self, options: dict[str, Any], *, origin: str = ORIGIN) -> dict[str, Any]:
        challenge = websafe_decode(options["publicKey"]["challenge"])
        client_data = CollectedClientData.create(
            type="webauthn.get", challenge=challenge, origin=origin
        )
        self.counter += 1
        data = AuthenticatorData.create(
            hashlib.sha256(RP_ID.encode()).digest(), AuthenticatorData.FLAG.UP, self.counter
        )
        signature = self.key.sign(bytes(data) + client_data.hash, ec.ECDSA(hashes.SHA256()))
        identifier = websafe_encode(self.credential_id)
        return {
            "id": identifier,
            "rawId": identifier,
            "type": "public-key",
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                "authenticatorData": websafe_encode(bytes(data)),
                "signature": websafe_encode(signature),
                "userHandle": None,
            },
            "clientExtensionResults": {},
        }


def _register(client: Client, key: SoftwareKey) -> Any:
    page = client.get("/accounts/2fa/webauthn/add/")
    if page.status_code == 302:  # adding a factor asks for the password again
        client.post(page["Location"], {"password": "pw"})
        page = client.get("/accounts/2fa/webauthn/add/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="mfa_webauthn_add"' in html and "/static/mfa/js/webauthn.js" in html
    options = page.context["js_data"]["creation_options"]
    return client.post(
        "/accounts/2fa/webauthn/add/",
        {"name": "Test key", "credential": json.dumps(key.register(options))},
    )


def test_a_security_key_is_registered_then_logs_in_at_substantial() -> None:
    user = factories.user("ada")
    key = SoftwareKey()
    client = Client()
    password_login(client, "ada")
    response = _register(client, key)
    assert response.status_code == 302
    assert user.authenticator_set.filter(type="webauthn").count() == 1

    client = Client()
    assert password_login(client, "ada") == "/accounts/2fa/authenticate/"
    page = client.get("/accounts/2fa/authenticate/")
    options = page.context["js_data"]["request_options"]
    response = client.post(
        "/accounts/2fa/authenticate/", {"credential": json.dumps(key.sign(options))}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").wsgi_request.user == user
    assert level(client) == SUBSTANTIAL


def test_an_assertion_for_another_origin_or_from_another_key_is_refused() -> None:
    factories.user("ada")
    key = SoftwareKey()
    client = Client()
    password_login(client, "ada")
    assert _register(client, key).status_code == 302

    for forged in [
        lambda options: key.sign(options, origin="https://evil.example"),
        lambda options: SoftwareKey().sign(options),
    ]:
        client = Client()
        password_login(client, "ada")
        options = client.get("/accounts/2fa/authenticate/").context["js_data"]["request_options"]
        response = client.post(
            "/accounts/2fa/authenticate/", {"credential": json.dumps(forged(options))}
        )
        assert response.status_code == 200
        assert not client.get("/").wsgi_request.user.is_authenticated
