"""POST /api/v1/oauth/token: client credentials with private_key_jwt or a client secret."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from typing import Any

import pytest
from django.test import Client
from joserfc import jws, jwt
from joserfc.jwk import ECKey, OctKey, OKPKey

from mandat.api import services, tokens
from mandat.api.models import ApiClient
from mandat.core import time as mtime
from tests import factories
from tests.api._oauth import ASSERTION_TYPE, TOKEN_URL, assertion, token_response

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_() -> ApiClient:
    space = factories.space_of(factories.salary_sa().organisation)
    return factories.api_client(space, (("AFFILIATIONS", "act"), ("EMPLOYER", "consult")))


def _refused(response: Any, error: str = "invalid_client", status: int = 401) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == error
    assert response["Cache-Control"] == "no-store"


def test_a_good_assertion_gets_a_five_minute_token_with_the_space_and_scopes(
    client_: ApiClient,
) -> None:
    response = token_response(Client(), assertion(client_))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "AFFILIATIONS:act EMPLOYER:consult"
    assert response["Cache-Control"] == "no-store"
    claims = jwt.decode(body["access_token"], tokens.signing_key(), algorithms=["ES256"]).claims
    assert claims["sub"] == client_.client_id
    assert claims["space"] == client_.space_id
    assert claims["exp"] - claims["iat"] == 300
    assert {"iss", "aud", "jti", "scope"} <= set(claims)


def test_the_issuer_itself_is_an_accepted_audience(client_: ApiClient, settings: Any) -> None:
    response = token_response(Client(), assertion(client_, aud=[settings.API_ISSUER]))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "https://elsewhere.example/api/v1/oauth/token"},
        {"aud": None},
        {"iss": "mc_someone_else"},
        {"sub": "mc_someone_else"},
        {"exp": int(time.time()) - 120},
        {"exp": int(time.time()) + 3600},
        {"exp": None},
        {"jti": None},
    ],
    ids=[
        "wrong-aud",
        "no-aud",
        "wrong-iss",
        "wrong-sub",
        "expired",
        "too-long",
        "no-exp",
        "no-jti",
    ],
)
def test_an_assertion_with_wrong_claims_is_refused(
    client_: ApiClient, claims: dict[str, Any]
) -> None:
    _refused(token_response(Client(), assertion(client_, **claims)))


def test_a_replayed_assertion_is_refused(client_: ApiClient) -> None:
    signed = assertion(client_)
    assert token_response(Client(), signed).status_code == 200
    _refused(token_response(Client(), signed))


def test_an_assertion_signed_by_another_key_is_refused(client_: ApiClient) -> None:
    other = OKPKey.generate_key("Ed25519", private=True)
    claims = json.loads(jws.extract_compact(assertion(client_).encode()).payload)
    forged = jwt.encode({"alg": "Ed25519"}, claims, other, algorithms=["Ed25519"])
    _refused(token_response(Client(), forged))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_alg_none_is_refused(client_: ApiClient) -> None:
    claims = json.loads(jws.extract_compact(assertion(client_).encode()).payload)
    header = _b64(json.dumps({"alg": "none"}).encode())
    unsigned = f"{header}.{_b64(json.dumps(claims).encode())}."
    _refused(token_response(Client(), unsigned))


def test_hs256_signed_with_the_public_key_is_refused(client_: ApiClient) -> None:
    claims = json.loads(jws.extract_compact(assertion(client_).encode()).payload)
    public = json.dumps(client_.public_jwk).encode()
    key = OctKey.import_key(public)
    forged = jwt.encode({"alg": "HS256"}, claims, key, algorithms=["HS256"])
    _refused(token_response(Client(), forged))


def test_unknown_revoked_and_expired_clients_are_refused(client_: ApiClient) -> None:
    signed = assertion(client_, iss="mc_unknown", sub="mc_unknown")
    _refused(token_response(Client(), signed))
    ApiClient.objects.filter(pk=client_.pk).update(expires_at=mtime.now() - dt.timedelta(seconds=1))
    _refused(token_response(Client(), assertion(client_)))
    ApiClient.objects.filter(pk=client_.pk).update(expires_at=mtime.now() + dt.timedelta(days=1))
    services.api_client_revoke(by=client_.created_by, client=client_)
    _refused(token_response(Client(), assertion(client_)))


def test_scope_is_a_subset_of_the_registered_scopes(client_: ApiClient) -> None:
    narrowed = token_response(Client(), assertion(client_), scope="EMPLOYER:consult")
    assert narrowed.status_code == 200
    assert narrowed.json()["scope"] == "EMPLOYER:consult"
    wider = token_response(Client(), assertion(client_), scope="EMPLOYER:act")
    _refused(wider, "invalid_scope", 400)
    _refused(token_response(Client(), assertion(client_), scope="nonsense"), "invalid_scope", 400)


def test_grant_types_and_missing_parameters(client_: ApiClient) -> None:
    http = Client()
    _refused(http.post(TOKEN_URL, {"grant_type": "password"}), "unsupported_grant_type", 400)
    _refused(http.post(TOKEN_URL, {}), "invalid_request", 400)
    _refused(http.post(TOKEN_URL, {"grant_type": "client_credentials"}), "invalid_request", 400)
    wrong_type = token_response(http, assertion(client_), client_assertion_type="urn:x")
    _refused(wrong_type, "invalid_request", 400)


@pytest.fixture
def secret_client() -> ApiClient:
    space = factories.space_of(factories.salary_sa().organisation)
    return factories.api_client(space, secret=True)


def test_a_client_secret_works_with_basic_and_post(secret_client: ApiClient) -> None:
    secret = secret_client.test_secret  # type: ignore[attr-defined]
    basic = base64.b64encode(f"{secret_client.client_id}:{secret}".encode()).decode()
    by_basic = Client().post(
        TOKEN_URL, {"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert by_basic.status_code == 200, by_basic.content
    by_post = Client().post(
        TOKEN_URL,
        {
            "grant_type": "client_credentials",
            "client_id": secret_client.client_id,
            "client_secret": secret,
        },
    )
    assert by_post.status_code == 200
    assert secret not in ApiClient.objects.get(pk=secret_client.pk).secret_hash


def test_a_wrong_secret_is_refused(secret_client: ApiClient) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": secret_client.client_id,
        "client_secret": "mcs_wrong",
    }
    response = Client().post(TOKEN_URL, form)
    _refused(response)
    assert response["WWW-Authenticate"].startswith("Basic")


def test_a_key_client_cannot_use_a_secret_and_a_secret_client_no_assertion(
    client_: ApiClient, secret_client: ApiClient
) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": client_.client_id,
        "client_secret": "x",
    }
    _refused(Client().post(TOKEN_URL, form))
    secret_client.test_private_jwk = client_.test_private_jwk  # type: ignore[attr-defined]
    _refused(token_response(Client(), assertion(secret_client)))


def test_an_ec_client_key_signs_es256_assertions() -> None:
    space = factories.space_of(factories.salary_sa().organisation)
    admin = factories.user()
    from mandat.spaces.models import Membership, Role

    Membership.objects.create(space=space, user=admin, role=Role.ADMIN)
    key = ECKey.generate_key("P-256", private=True)
    registered = services.api_client_register(
        by=admin,
        space=space,
        name="EC client",
        scopes=[("EMPLOYER", "consult")],
        expires_at=mtime.now() + dt.timedelta(days=1),
        public_jwk=dict(key.as_dict(private=False)),
    )
    client = registered.client
    client.test_private_jwk = dict(key.as_dict(private=True))  # type: ignore[attr-defined]
    assert token_response(Client(), assertion(client, header={"alg": "ES256"})).status_code == 200


def test_the_token_endpoint_is_in_the_openapi_document() -> None:
    from mandat.api.api import api

    operation = api.get_openapi_schema()["paths"]["/api/v1/oauth/token"]["post"]
    assert operation["operationId"] == "oauth_token"
    assert "application/x-www-form-urlencoded" in operation["requestBody"]["content"]
    assert ASSERTION_TYPE in json.dumps(operation)


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": float("nan")},
        {"exp": float("inf")},
        {"nbf": float("nan")},
        {"iat": float("nan")},
        {"exp": True},
        {"exp": "9999999999"},
    ],
    ids=["exp-nan", "exp-infinity", "nbf-nan", "iat-nan", "exp-bool", "exp-text"],
)
def test_time_claims_must_be_finite_numbers(client_: ApiClient, claims: dict[str, Any]) -> None:
    signed = assertion(client_, **claims)
    payload = jws.extract_compact(signed.encode()).payload
    if any(isinstance(v, float) for v in claims.values()):
        assert b"NaN" in payload or b"Infinity" in payload  # what Python's json reads back
    _refused(token_response(Client(), signed))


def _description(response: Any) -> str:
    _refused(response)
    description: str = response.json()["error_description"]
    return description


def test_every_invalid_client_answer_reads_the_same(
    client_: ApiClient, secret_client: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    secret = secret_client.test_secret  # type: ignore[attr-defined]
    post = {"grant_type": "client_credentials"}
    with caplog.at_level("INFO", logger="mandat.api.oauth"):
        answers = {
            "unknown": _description(
                token_response(Client(), assertion(client_, iss="mc_nobody", sub="mc_nobody"))
            ),
            "secret client, assertion": _description(
                token_response(
                    Client(),
                    assertion(client_, iss=secret_client.client_id, sub=secret_client.client_id),
                )
            ),
            "key client, secret": _description(
                Client().post(
                    TOKEN_URL, {**post, "client_id": client_.client_id, "client_secret": "x"}
                )
            ),
            "wrong secret": _description(
                Client().post(
                    TOKEN_URL,
                    {**post, "client_id": secret_client.client_id, "client_secret": "mcs_no"},
                )
            ),
            "unknown, secret": _description(
                Client().post(TOKEN_URL, {**post, "client_id": "mc_nobody", "client_secret": "x"})
            ),
            "bad basic": _description(
                Client().post(TOKEN_URL, post, headers={"Authorization": "Basic %%%"})
            ),
            "id and issuer differ": _description(
                token_response(Client(), assertion(client_), client_id="mc_other")
            ),
            "expired": _description(
                token_response(Client(), assertion(client_, exp=int(time.time()) - 120))
            ),
        }
    assert len(set(answers.values())) == 1, answers
    # the reasons are logged, without a secret or an assertion
    assert len([r for r in caplog.records if "invalid_client" in r.getMessage()]) == len(answers)
    assert secret not in caplog.text and "mcs_no" not in caplog.text
    assert "eyJ" not in caplog.text


def test_an_act_scope_covers_consult(client_: ApiClient) -> None:
    narrowed = token_response(Client(), assertion(client_), scope="AFFILIATIONS:consult")
    assert narrowed.status_code == 200, narrowed.content
    assert narrowed.json()["scope"] == "AFFILIATIONS:consult"
    both = token_response(Client(), assertion(client_), scope="AFFILIATIONS:consult EMPLOYER:act")
    _refused(both, "invalid_scope", 400)
    assert both.json()["error_description"].endswith("EMPLOYER:act")


def test_a_used_jti_is_kept_past_exp_for_the_clock_skew_on_both_sides(client_: ApiClient) -> None:
    from mandat.api.models import SeenAssertion

    exp = int(time.time()) + 60
    assert token_response(Client(), assertion(client_, exp=exp)).status_code == 200
    kept = SeenAssertion.objects.get(client=client_).expires_at
    assert kept >= dt.datetime.fromtimestamp(exp + 2 * tokens.CLOCK_SKEW, tz=dt.UTC)


def test_token_requests_count_against_the_client_s_rate_limit(
    client_: ApiClient, secret_client: ApiClient, settings: Any
) -> None:
    from mandat.api.ratelimit import limiter

    limiter.reset()
    settings.MANDAT_API_RATE_LIMIT = 2
    settings.MANDAT_API_RATE_WINDOW = 60
    try:
        assert token_response(Client(), assertion(client_)).status_code == 200
        assert token_response(Client(), assertion(client_)).status_code == 200
        refused = token_response(Client(), assertion(client_))
        assert refused.status_code == 429
        assert refused.json()["error"] == "slow_down"
        assert refused["Cache-Control"] == "no-store"
        assert 1 <= int(refused["Retry-After"]) <= 60
        # another client has its own count
        other = {
            "grant_type": "client_credentials",
            "client_id": secret_client.client_id,
            "client_secret": secret_client.test_secret,  # type: ignore[attr-defined]
        }
        assert Client().post(TOKEN_URL, other).status_code == 200
    finally:
        limiter.reset()


def test_pruning_the_token_cache_survives_tokens_added_meanwhile(
    client_: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache: dict[str, Any] = {}

    class Racing(dict[str, Any]):
        """Claims whose reading lets "another thread" add a token to the cache."""

        def __getitem__(self, key: str) -> Any:
            cache[f"added-meanwhile-{len(cache)}"] = {"exp": 0}
            return super().__getitem__(key)

    for index in range(3):
        cache[f"stale-{index}"] = Racing(exp=0)
    monkeypatch.setattr(tokens, "_verified", cache)
    monkeypatch.setattr(tokens, "_VERIFIED_MAX", 3)
    token = factories.api_token(client_)
    assert tokens.verified_claims(token) is not None
    assert token in cache
    assert not any(name.startswith("stale-") for name in cache)


@pytest.mark.parametrize(
    "change",
    [
        {"aud": "https://another.example.lu/api/v1"},
        {"iss": "https://another.example.lu"},
        {"exp": int(time.time()) - 1},
        {"space": "1"},
    ],
    ids=["wrong-audience", "wrong-issuer", "expired", "space-not-an-integer"],
)
def test_a_well_signed_access_token_with_wrong_claims_is_refused(
    client_: ApiClient, change: dict[str, Any]
) -> None:
    """Signed with the server's own key, so only the claim checks can refuse it."""
    good = factories.api_token(client_)
    key = tokens.signing_key()
    claims = dict(jwt.decode(good, key, algorithms=["ES256"]).claims)
    header = {"alg": "ES256", "typ": "at+jwt", "kid": key.thumbprint()}
    assert (
        Client().get("/api/v1/whoami", headers={"Authorization": f"Bearer {good}"}).status_code
        == 200
    )
    forged = jwt.encode(header, {**claims, **change}, key, algorithms=["ES256"])
    for path, method in (("/api/v1/whoami", "get"), ("/api/v1/check", "post")):
        body = {"employer": "1", "domain": "AFFILIATIONS", "action": "consult"}
        response = getattr(Client(), method)(
            path,
            body if method == "post" else None,
            content_type="application/json",
            headers={"Authorization": f"Bearer {forged}"},
        )
        assert response.status_code == 401, (path, response.content)
        assert response.json()["type"] == "urn:mandat:problem:invalid_token"
