"""``POST /api/v1/oauth/token``: OAuth 2.0 client credentials (RFC 6749 §4.4).

A client authenticates with a JWT it signs with its registered key (RFC 7523,
``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer``), or,
when registered for it, with its client secret (HTTP Basic or ``client_secret_post``).
Each assertion's ``jti`` is accepted once: it is kept until the assertion expires,
plus twice the allowed clock skew and a margin.

Errors follow RFC 6749 §5.2 (``{"error": ..., "error_description": ...}``), not problem
documents, since OAuth libraries expect them. Any failure to authenticate the client is
``invalid_client`` (401), as RFC 7523 §3.2 asks for client assertions: a wrong key,
audience, issuer or subject, an expired or replayed assertion, an unknown, revoked or
expired client all look the same to the caller: one ``error_description`` for every
``invalid_client``; the precise reason goes to the server's log (never a secret or an
assertion).

A token request counts against the client's rate limit once the client is authenticated;
beyond it the answer is 429 with ``Retry-After`` and ``{"error": "slow_down"}`` (the
error RFC 8628 §3.5 registers for "poll more slowly").
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
from typing import Any
from urllib.parse import unquote

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from ninja import Router, Schema
from pydantic import Field

from mandat.api import tokens
from mandat.api.models import ApiClient, AuthMethod, SeenAssertion
from mandat.api.principal import parse_scope
from mandat.api.ratelimit import RateLimited, limiter
from mandat.catalog.models import Level
from mandat.core import time

logger = logging.getLogger(__name__)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: The one answer to every failed client authentication (RFC 6749 §5.2 wants ASCII here,
#: so it is not translated).
INVALID_CLIENT = "Client authentication failed."
#: How long a used ``jti`` is kept past the assertion's ``exp``: the clock skew allowed on
#: either side (ours and the client's), and a margin.
JTI_RETENTION = dt.timedelta(seconds=2 * tokens.CLOCK_SKEW + 60)

router = Router(tags=["oauth"], by_alias=True)


class TokenOut(Schema):
    access_token: str = Field(description="A signed JWT (ES256); send it as `Bearer <token>`.")
    token_type: str = Field(examples=["Bearer"])
    expires_in: int = Field(description="Seconds the token lives (300).")
    scope: str = Field(
        description="Space-separated `DOMAIN:action` items.", examples=["AFFILIATIONS:act"]
    )


class OAuthError(Schema):
    error: str = Field(
        description="RFC 6749 §5.2: invalid_request, invalid_client, invalid_scope, "
        "unsupported_grant_type; slow_down (429, with Retry-After) beyond the client's rate limit."
    )
    error_description: str


class OAuthRefused(Exception):
    def __init__(
        self, error: str, description: str, *, status: int = 400, retry_after: int | None = None
    ) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status
        self.retry_after = retry_after


_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "scope": {
                            "type": "string",
                            "description": "Space-separated `DOMAIN:action` items; all the "
                            "client's scopes when left out.",
                        },
                        "client_assertion_type": {"type": "string", "enum": [ASSERTION_TYPE]},
                        "client_assertion": {
                            "type": "string",
                            "description": "A JWT signed with the client's key: iss = sub = "
                            "client id, aud = this endpoint's URL, exp at most 5 minutes "
                            "away, a unique jti.",
                        },
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string"},
                    },
                }
            }
        },
    }
}


def _no_store(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


@router.post(
    "/oauth/token",
    auth=None,
    response={200: TokenOut, 400: OAuthError, 401: OAuthError, 429: OAuthError},
    operation_id="oauth_token",
    openapi_extra=_FORM,
)
def token(request: HttpRequest) -> JsonResponse:
    """Exchange client credentials for an access token valid five minutes."""
    try:
        form = request.POST
        if form.get("grant_type") != "client_credentials":
            if not form.get("grant_type"):
                raise OAuthRefused("invalid_request", "grant_type is required.")
            raise OAuthRefused("unsupported_grant_type", "Only client_credentials is supported.")
        client = _authenticate(request, form)
        try:
            limiter.hit(client.pk)
        except RateLimited as limited:
            raise OAuthRefused(
                "slow_down",
                "This client made too many calls; retry after Retry-After seconds.",
                status=429,
                retry_after=limited.retry_after,
            ) from None
        scopes = _granted_scopes(client, form.get("scope"))
        issued = tokens.issue(client_id=client.client_id, space_id=client.space_id, scopes=scopes)
    except OAuthRefused as refused:
        response = JsonResponse(
            {"error": refused.error, "error_description": refused.description},
            status=refused.status,
        )
        if refused.status == 401:
            response["WWW-Authenticate"] = 'Basic realm="mandat"'
        if refused.retry_after is not None:
            response["Retry-After"] = str(refused.retry_after)
        return _no_store(response)
    return _no_store(
        JsonResponse(
            {
                "access_token": issued.access_token,
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "scope": issued.scope,
            }
        )
    )


def _refused(reason: str, client_id: str | None = None) -> OAuthRefused:
    """``invalid_client``, alike for every ``reason``; the reason is only logged."""
    logger.info(
        "token request refused (invalid_client): %s; client_id=%r", reason, (client_id or "")[:80]
    )
    return OAuthRefused("invalid_client", INVALID_CLIENT, status=401)


def _basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _refused("The Basic credentials cannot be read.") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise _refused("The Basic credentials cannot be read.")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


def _usable_client(client_id: str | None) -> ApiClient:
    client = (
        ApiClient.objects.select_related("space").filter(client_id=client_id).first()
        if client_id
        else None
    )
    if (
        client is None
        or client.revoked_at is not None
        or client.expires_at <= time.now()
        or client.space.closed_at is not None
    ):
        raise _refused("unknown, revoked or expired client, or closed space", client_id)
    return client


def _authenticate(request: HttpRequest, form: Any) -> ApiClient:
    basic = _basic_credentials(request)
    assertion = form.get("client_assertion")
    methods = sum(bool(x) for x in (basic, assertion, form.get("client_secret")))
    if methods != 1:
        raise OAuthRefused(
            "invalid_request", "Authenticate the client in exactly one way.", status=400
        )
    if assertion:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise OAuthRefused(
                "invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}."
            )
        return _by_assertion(assertion, form.get("client_id"))
    client_id, secret = basic or (form.get("client_id"), form.get("client_secret"))
    client = _usable_client(client_id)
    if client.auth_method != AuthMethod.CLIENT_SECRET or not tokens.secret_matches(
        secret or "", client.secret_hash
    ):
        raise _refused("wrong client credentials or not a secret client", client.client_id)
    return client


def _by_assertion(assertion: str, client_id: str | None) -> ApiClient:
    claimed = tokens.unverified_issuer(assertion)
    if client_id and claimed != client_id:
        raise _refused("client_id and the assertion's issuer differ", client_id)
    client = _usable_client(claimed)
    if client.auth_method != AuthMethod.PRIVATE_KEY_JWT or client.public_jwk is None:
        raise _refused("a secret client sent an assertion", client.client_id)
    try:
        claims = tokens.verify_assertion(
            assertion, client_id=client.client_id, jwk=client.public_jwk
        )
    except tokens.AssertionRefused as refused:
        raise _refused(refused.reason, client.client_id) from None
    # Kept until no clock within the allowed skew could still take the assertion as live.
    keep_until = dt.datetime.fromtimestamp(float(claims["exp"]), tz=dt.UTC) + JTI_RETENTION
    try:
        with transaction.atomic():
            SeenAssertion.objects.create(client=client, jti=claims["jti"], expires_at=keep_until)
    except IntegrityError:
        raise _refused("replayed assertion (jti used already)", client.client_id) from None
    SeenAssertion.objects.filter(expires_at__lt=time.now()).delete()
    return client


def _granted_scopes(client: ApiClient, requested: str | None) -> list[str]:
    registered = set(client.scopes)
    if not requested:
        return sorted(registered)
    pairs = parse_scope(requested)
    if pairs is None or not pairs:
        raise OAuthRefused("invalid_scope", "scope is a space-separated list of DOMAIN:action.")
    # act covers consult, as for a mandate: a client registered for X:act may ask X:consult
    missing = {
        f"{domain}:{action}"
        for domain, action in pairs
        if not any(f"{domain}:{level}" in registered for level in Level.covering(action))
    }
    if missing:
        raise OAuthRefused(
            "invalid_scope", "The client is not registered for: " + " ".join(sorted(missing))
        )
    return sorted(f"{domain}:{action}" for domain, action in pairs)
