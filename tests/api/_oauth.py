"""Helpers of the token API tests: sign client assertions and get tokens over HTTP."""

from __future__ import annotations

import time
import uuid
from typing import Any

from django.conf import settings
from django.test import Client
from joserfc import jwt
from joserfc.jwk import import_key

from mandat.api.models import ApiClient

TOKEN_URL = "/api/v1/oauth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def assertion(client: ApiClient, **overrides: Any) -> str:
    """A client assertion signed with the client's private key; ``overrides`` change claims
    (``None`` drops one) or, with ``header``, the JOSE header."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": client.client_id,
        "sub": client.client_id,
        "aud": f"{settings.API_ISSUER}/api/v1/oauth/token",
        "iat": now,
        "exp": now + 120,
        "jti": uuid.uuid4().hex,
    }
    header = overrides.pop("header", {"alg": "Ed25519"})
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    key = import_key(client.test_private_jwk)  # type: ignore[attr-defined]
    return jwt.encode(header, claims, key, algorithms=[header["alg"]])


def token_response(http: Client, signed: str, **form: str) -> Any:
    return http.post(
        TOKEN_URL,
        {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": signed,
            **form,
        },
    )
