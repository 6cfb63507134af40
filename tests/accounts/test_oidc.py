"""Login with the national eID against a real OpenID Connect provider on loopback.

``oidc-provider-mock`` runs in a thread (werkzeug's server, port 0). The tests drive the whole
authorization-code flow: mandat's login button, the provider's authorize form, the callback
with the code, and mandat's token request (PKCE). A small WSGI wrapper in front of the provider
records what mandat sent and, for the refusal tests, replaces the ID token by one signed with a
key the provider's JWKS also publishes, with one claim changed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import oidc_provider_mock
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from werkzeug.serving import make_server

from mandat.accounts.assurance import HIGH, LOW
from mandat.accounts.models import User
from mandat.settings.base import oidc_providers

pytestmark = pytest.mark.django_db

CLIENT_ID = "mandat-portal"
ACR_HIGH = "urn:eid:loa:high"
ACR_VALUES = f"urn:eid:loa:substantial {ACR_HIGH}"
KID = "tamper-key"

Mutation = Callable[[dict[str, Any]], dict[str, Any] | str]


class Provider:
    """The mock provider behind a recorder that can also swap the ID token."""

    def __init__(self) -> None:
        self.app = oidc_provider_mock.app()
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.authorize_queries: list[dict[str, list[str]]] = []
        self.token_forms: list[dict[str, list[str]]] = []
        self.id_tokens: list[str] = []
        self.mutation: Mutation | None = None
        self.issuer = ""

    def _jwks(self, upstream: bytes) -> bytes:
        keys = json.loads(upstream)
        mine = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        keys["keys"].append({**mine, "kid": KID, "alg": "RS256", "use": "sig"})
        return json.dumps(keys).encode()

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": KID})

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        if path == "/oauth2/authorize" and environ["REQUEST_METHOD"] == "GET":
            self.authorize_queries.append(parse_qs(environ.get("QUERY_STRING", "")))
        if path == "/oauth2/token":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            self.token_forms.append(parse_qs(body.decode()))
            environ["wsgi.input"] = io.BytesIO(body)
        captured: dict[str, Any] = {}

        def keep(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        content = b"".join(self.app(environ, keep))
        if path == "/jwks":
            content = self._jwks(content)
        if path == "/oauth2/token" and captured["status"].startswith("200"):
            answer = json.loads(content)
            self.id_tokens.append(answer["id_token"])
            if self.mutation is not None:
                claims = jwt.decode(answer["id_token"], options={"verify_signature": False})
                changed = self.mutation(claims)
                answer["id_token"] = changed if isinstance(changed, str) else self.sign(changed)
            content = json.dumps(answer).encode()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(content))))
        start_response(captured["status"], headers)
        return [content]

    def set_user(self, sub: str, **claims: Any) -> None:
        requests.put(f"{self.issuer}/users/{sub}", json=claims, timeout=5).raise_for_status()


@pytest.fixture
def provider(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Provider]:
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the mock serves plain http
    wrapped = Provider()
    server = make_server("127.0.0.1", 0, wrapped, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    wrapped.issuer = f"http://127.0.0.1:{server.server_port}"
    settings.MANDAT_OIDC_ACR_HIGH = ACR_HIGH
    settings.SOCIALACCOUNT_PROVIDERS = oidc_providers(
        issuer=wrapped.issuer, client_id=CLIENT_ID, secret="s3cret", acr_values=ACR_VALUES
    )
    try:
        yield wrapped
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def _start(client: Client) -> str:
    """Press "Log in with eID"; return the provider's authorize URL."""
    response = client.post("/accounts/oidc/eid/login/")
    assert response.status_code == 302
    return str(response["Location"])


def _authorize(authorize_url: str, sub: str) -> str:
    """What the person does at the provider: open the form and accept as ``sub``."""
    form = requests.get(authorize_url, timeout=5)
    assert form.status_code == 200
    answer = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    return str(answer.headers["Location"])


def _callback(client: Client, redirect: str) -> Any:
    parts = urlsplit(redirect)
    assert parts.path == "/accounts/oidc/eid/login/callback/"
    return client.get(parts.path, parse_qs(parts.query))


def _login(client: Client, provider: Provider, sub: str) -> Any:
    return _callback(client, _authorize(_start(client), sub))


def _user_of(client: Client) -> Any:
    return client.get("/accounts/security/").wsgi_request.user


def _level(client: Client) -> str | None:
    value = client.session.get("mandat.loa")
    return value if isinstance(value, str) else None


def test_the_full_code_flow_with_pkce_logs_in_at_level_high(provider: Provider) -> None:
    provider.set_user("alice", email="alice@example.test", email_verified=True, acr=ACR_HIGH)
    client = Client()
    response = _login(client, provider, "alice")
    assert response.status_code == 302, response.content.decode()[:1500]
    user = _user_of(client)
    assert user.is_authenticated and user.email == "alice@example.test"
    assert _level(client) == HIGH
    # What mandat sent: PKCE S256 whose verifier matches, a nonce, the configured ACR values.
    query = provider.authorize_queries[-1]
    assert query["code_challenge_method"] == ["S256"]
    assert query["acr_values"] == [ACR_VALUES]
    assert len(query["nonce"][0]) >= 32
    verifier = provider.token_forms[-1]["code_verifier"][0]
    digest = hashlib.sha256(verifier.encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == query["code_challenge"][0]
    # The ID token that logged in carried that nonce.
    claims = jwt.decode(provider.id_tokens[-1], options={"verify_signature": False})
    assert claims["nonce"] == query["nonce"][0]


def test_another_acr_gives_level_low(provider: Provider) -> None:
    provider.set_user(
        "bob", email="bob@example.test", email_verified=True, acr="urn:eid:loa:substantial"
    )
    client = Client()
    assert _login(client, provider, "bob").status_code == 302
    assert _user_of(client).is_authenticated
    assert _level(client) == LOW


def test_a_link_cannot_change_the_acr_values(provider: Provider) -> None:
    client = Client()
    response = client.post(
        "/accounts/oidc/eid/login/?" + urlencode({"auth_params": "acr_values=urn:weak"})
    )
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["acr_values"] == [ACR_VALUES]


def _refused(client: Client, response: Any) -> None:
    assert response.status_code == 401  # allauth's "login failed" page, no redirect
    assert not _user_of(client).is_authenticated
    assert not User.objects.filter(email__endswith="@example.test").exists()


def test_a_tampered_state_is_refused(provider: Provider) -> None:
    provider.set_user("carol", email="carol@example.test", email_verified=True)
    client = Client()
    redirect = _authorize(_start(client), "carol")
    parts = urlsplit(redirect)
    query = parse_qs(parts.query)
    query["state"] = ["forged" + query["state"][0]]
    response = client.get(parts.path, query)
    _refused(client, response)
    assert provider.token_forms == []  # the code was never even exchanged


def test_a_callback_in_another_browser_is_refused(provider: Provider) -> None:
    provider.set_user("carol", email="carol@example.test", email_verified=True)
    redirect = _authorize(_start(Client()), "carol")
    victim = Client()
    _refused(victim, _callback(victim, redirect))


@pytest.mark.parametrize(
    ("name", "mutation"),
    [
        ("wrong audience", lambda c: {**c, "aud": "someone-else"}),
        ("expired", lambda c: {**c, "iat": int(time.time()) - 7200, "exp": int(time.time()) - 60}),
        ("wrong issuer", lambda c: {**c, "iss": "http://evil.example"}),
        ("other nonce", lambda c: {**c, "nonce": "not-the-one-sent"}),
        ("no nonce", lambda c: {k: v for k, v in c.items() if k != "nonce"}),
    ],
)
def test_a_bad_id_token_is_refused(provider: Provider, name: str, mutation: Mutation) -> None:
    provider.set_user("dave", email="dave@example.test", email_verified=True, acr=ACR_HIGH)
    provider.mutation = mutation
    client = Client()
    _refused(client, _login(client, provider, "dave"))


def test_the_untouched_re_signed_token_is_accepted(provider: Provider) -> None:
    """The control of the test above: re-signing alone does not make a token fail."""
    provider.set_user("dave", email="dave@example.test", email_verified=True, acr=ACR_HIGH)
    provider.mutation = lambda claims: claims
    client = Client()
    assert _login(client, provider, "dave").status_code == 302
    assert _user_of(client).is_authenticated


def test_a_token_signed_by_an_unknown_key_is_refused(provider: Provider) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    provider.set_user("erin", email="erin@example.test", email_verified=True)
    provider.mutation = lambda claims: jwt.encode(
        claims, stranger, algorithm="RS256", headers={"kid": KID}
    )
    client = Client()
    _refused(client, _login(client, provider, "erin"))


def test_a_replayed_id_token_from_an_earlier_login_is_refused(provider: Provider) -> None:
    provider.set_user("frank", email="frank@example.test", email_verified=True, acr=ACR_HIGH)
    first = Client()
    assert _login(first, provider, "frank").status_code == 302
    earlier = provider.id_tokens[-1]  # genuine, signed by the provider, not expired
    User.objects.all().delete()
    provider.mutation = lambda claims: earlier
    second = Client()
    _refused(second, _login(second, provider, "frank"))
