"""Keys and tokens of the API, with joserfc: client keys, client assertions, access tokens.

- A client registers a public JWK: RSA of 2048 bits or more, EC P-256 or Ed25519. It
  authenticates with a JWT it signs (RFC 7523 ``private_key_jwt``), checked here.
- A client secret (the weaker option) is 256 random bits, kept as an HMAC-SHA256 under
  ``CODE_PEPPER``. A slow KDF (Argon2id) protects secrets that people choose; a random
  256-bit secret cannot be guessed from its keyed hash, and a 64 MiB Argon2id run per
  token request would cap the token endpoint at a few dozen requests per second per core
  and make it a denial-of-service lever.
- Access tokens are ES256 JWTs signed with the platform's key (``API_TOKEN_KEY_FILE``; in
  development one is made in ``DATA_DIR / "api"``). A verified token is remembered by the
  process until it expires, so the hot path verifies each token's signature once.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import math
import os
import secrets
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey, import_key

from mandat.core.errors import ApplicationError

TOKEN_ALGORITHM = "ES256"  # noqa: S105 - an algorithm name
#: The algorithms a client's key may sign with; never ``none``, never an HMAC.
ALGORITHMS_BY_KEY = {"RSA": ["RS256", "PS256"], "EC": ["ES256"], "OKP": ["Ed25519", "EdDSA"]}
#: A client assertion may live at most this long (seconds), and a little clock skew is allowed.
ASSERTION_MAX_LIFETIME = 300
CLOCK_SKEW = 30
ClientKey = RSAKey | ECKey | OKPKey


# --- client keys and secrets ----------------------------------------------------------------


def _bad_key(message: Any) -> ApplicationError:
    return ApplicationError(message, code="jwk_invalid", field="public_jwk")


def public_jwk_from_text(text: str) -> dict[str, Any]:
    """The public key a space admin pasted, checked and reduced to its public members."""
    try:
        data = json.loads(text)
    except ValueError:
        raise _bad_key(_("Paste the public key as JSON (a JWK).")) from None
    if not isinstance(data, dict):
        raise _bad_key(_("Paste one key, a JSON object (a JWK), not a list or a key set."))
    if "d" in data or "p" in data:
        raise _bad_key(
            _("This is a private key. Paste only the public key; keep the private one secret.")
        )
    try:
        key = import_key(data)
    except (JoseError, ValueError, TypeError, KeyError):
        raise _bad_key(_("This key cannot be read. Paste a public JWK.")) from None
    if isinstance(key, RSAKey):
        if key.public_key.key_size < 2048:
            raise _bad_key(_("An RSA key must have at least 2048 bits."))
    elif isinstance(key, ECKey):
        if key.get("crv") != "P-256":
            raise _bad_key(_("An EC key must be on the P-256 curve."))
    elif isinstance(key, OKPKey):
        if key.get("crv") != "Ed25519":
            raise _bad_key(_("An OKP key must be an Ed25519 key."))
    else:
        raise _bad_key(_("Use an RSA (2048 bits or more), EC P-256 or Ed25519 public key."))
    public: dict[str, Any] = dict(key.as_dict(private=False))
    if "kid" in data and isinstance(data["kid"], str):
        public["kid"] = data["kid"]
    return public


def new_client_id() -> str:
    return "mc_" + secrets.token_urlsafe(18)


def new_client_secret() -> str:
    return "mcs_" + secrets.token_urlsafe(32)


def secret_digest(secret: str) -> str:
    key = settings.CODE_PEPPER.encode()
    return hmac.new(key, b"api-client-secret:" + secret.encode(), hashlib.sha256).hexdigest()


def secret_matches(secret: str, stored: str) -> bool:
    return bool(stored) and hmac.compare_digest(secret_digest(secret), stored)


# --- client assertions (RFC 7523) -----------------------------------------------------------


class AssertionRefused(Exception):
    """The client assertion cannot authenticate the client; ``reason`` is for the server's
    log only: the caller gets one answer for every reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def token_endpoint_url() -> str:
    return f"{settings.API_ISSUER}/api/v1/oauth/token"


def unverified_issuer(assertion: str) -> str | None:
    """The ``iss`` an assertion claims, only to find whose key verifies it."""
    try:
        claims = json.loads(jws.extract_compact(assertion.encode()).payload)
    except (JoseError, ValueError, TypeError):
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) else None


def verify_assertion(assertion: str, *, client_id: str, jwk: dict[str, Any]) -> dict[str, Any]:
    """The assertion's claims when ``client_id``'s key signed it for this server, now.

    Checks: an algorithm fitting the key (never ``none`` or an HMAC), the signature,
    ``iss`` = ``sub`` = the client id, ``aud`` naming this server, ``exp`` in the future
    and at most five minutes away, and a ``jti``. Single use is the caller's part.
    """
    try:
        key = import_key(jwk)
        token = jwt.decode(assertion, key, algorithms=ALGORITHMS_BY_KEY[key.key_type])
    except (JoseError, ValueError, TypeError, KeyError):
        raise AssertionRefused("The client assertion is not signed by the client's key.") from None
    claims = dict(token.claims)
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise AssertionRefused("The assertion's iss and sub must both be the client id.")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if not {settings.API_ISSUER, token_endpoint_url()} & set(audiences):
        raise AssertionRefused("The assertion's aud must be the token endpoint's URL.")
    now = time.time()
    for name in ("exp", "nbf", "iat"):
        if name in claims and not _is_time(claims[name]):
            raise AssertionRefused(f"The assertion's {name} must be a finite number.")
    expires = claims.get("exp")
    if expires is None:
        raise AssertionRefused("The assertion must have an exp claim.")
    if expires <= now - CLOCK_SKEW:
        raise AssertionRefused("The assertion has expired.")
    if expires > now + ASSERTION_MAX_LIFETIME + CLOCK_SKEW:
        raise AssertionRefused("The assertion may live at most five minutes.")
    not_before = claims.get("nbf")
    if not_before is not None and not_before > now + CLOCK_SKEW:
        raise AssertionRefused("The assertion is not valid yet.")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 1 <= len(jti) <= 200:
        raise AssertionRefused("The assertion must have a jti claim (at most 200 characters).")
    return claims


def _is_time(value: object) -> bool:
    """A NumericDate (RFC 7519 §2): a finite number; Python's JSON also reads NaN and Infinity."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# --- access tokens --------------------------------------------------------------------------


@functools.cache
def signing_key() -> ECKey:
    """The platform's token key: the configured file, or a development key in DATA_DIR."""
    path = Path(settings.API_TOKEN_KEY_FILE) if settings.API_TOKEN_KEY_FILE else None
    if path is None:
        path = Path(settings.DATA_DIR) / "api" / "token-key.json"
        if not path.exists():
            _write_development_key(path)
    key = import_key(json.loads(path.read_text(encoding="utf-8")))
    if not isinstance(key, ECKey) or key.get("crv") != "P-256" or not key.is_private:
        raise ValueError(f"{path} must hold a private EC P-256 JWK")
    return key


def _write_development_key(path: Path) -> None:
    """Write the key whole into a temporary file and rename it, so two processes starting at
    once both end up with one and the same key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = ECKey.generate_key("P-256", private=True)
    document = {**key.as_dict(private=True), "kid": key.thumbprint()}
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".token-key-")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(document, stream)
    try:
        os.link(temporary, path)  # fails if another process was first; keep theirs
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)


def api_audience() -> str:
    return f"{settings.API_ISSUER}/api/v1"


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str


def issue(*, client_id: str, space_id: int, scopes: list[str]) -> IssuedToken:
    key = signing_key()
    now = int(time.time())
    lifetime = settings.MANDAT_API_TOKEN_LIFETIME
    scope = " ".join(sorted(scopes))
    claims = {
        "iss": settings.API_ISSUER,
        "aud": api_audience(),
        "sub": client_id,
        "space": space_id,
        "scope": scope,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
    header = {"alg": TOKEN_ALGORITHM, "typ": "at+jwt", "kid": key.thumbprint()}
    token = jwt.encode(header, claims, key, algorithms=[TOKEN_ALGORITHM])
    return IssuedToken(access_token=token, expires_in=lifetime, scope=scope)


#: token → its claims, for tokens this process verified; pruned when it grows.
_verified: dict[str, dict[str, Any]] = {}
_VERIFIED_MAX = 20_000
#: Taken to prune, since request threads read and add while it runs.
_pruning = threading.Lock()


def verified_claims(token: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired access token of this server; None otherwise."""
    now = time.time()
    claims = _verified.get(token)
    if claims is None:
        claims = _verify(token)
        if claims is None:
            return None
        if len(_verified) >= _VERIFIED_MAX:
            _prune(now)
        _verified[token] = claims
    return claims if claims["exp"] > now else None


def _prune(now: float) -> None:
    # Iterate over a snapshot: another thread may add a token meanwhile, and iterating the
    # dict itself would then raise "dictionary changed size during iteration".
    with _pruning:
        for stale, claims in list(_verified.items()):
            if claims["exp"] <= now:
                _verified.pop(stale, None)
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()


def _verify(token: str) -> dict[str, Any] | None:
    if len(token) > 4096:
        return None
    try:
        decoded = jwt.decode(token, signing_key(), algorithms=[TOKEN_ALGORITHM])
    except (JoseError, ValueError, TypeError):
        return None
    claims = dict(decoded.claims)
    well_formed = (
        claims.get("iss") == settings.API_ISSUER
        and claims.get("aud") == api_audience()
        and isinstance(claims.get("sub"), str)
        and type(claims.get("space")) is int
        and isinstance(claims.get("scope"), str)
        and type(claims.get("exp")) is int
    )
    return claims if well_formed else None
