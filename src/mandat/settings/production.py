"""Production settings: refuse to start on a missing or development secret."""

import json
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from . import base as _base
from .base import *  # noqa: F403
from .base import (
    API_TOKEN_KEY_FILE,
    CODE_PEPPER,
    DEVELOPMENT_CODE_PEPPER,
    DEVELOPMENT_DOCUMENT_KEY,
    DEVELOPMENT_SECRET_KEY,
    DOCUMENT_KEY,
    ENV,
    MANDAT_OIDC_CLIENT_ID,
    MANDAT_OIDC_CLIENT_SECRET,
    MANDAT_OIDC_ISSUER,
    MANDAT_PROXY_COUNT,
    MIDDLEWARE,
    SEAL_CERT_FILE,
    SEAL_KEY_FILE,
    SECRET_KEY,
)

REQUIRED_SECRETS = {
    "MANDAT_SECRET_KEY": (SECRET_KEY, DEVELOPMENT_SECRET_KEY),
    "MANDAT_CODE_PEPPER": (CODE_PEPPER, DEVELOPMENT_CODE_PEPPER),
    "MANDAT_DOCUMENT_KEY": (DOCUMENT_KEY, DEVELOPMENT_DOCUMENT_KEY),
}
for name, (value, development_value) in REQUIRED_SECRETS.items():
    if name not in ENV or value == development_value or len(value) < 32:
        raise ImproperlyConfigured(
            f"{name} must be set to a secret of at least 32 characters in production."
        )
for name, path in {
    "MANDAT_SEAL_KEY_FILE": SEAL_KEY_FILE,
    "MANDAT_SEAL_CERT_FILE": SEAL_CERT_FILE,
}.items():
    if not path or not Path(path).is_file():
        raise ImproperlyConfigured(f"{name} must name the platform seal's PEM file in production.")


def _is_token_key(path: str) -> bool:
    """Whether ``path`` holds what ``mandat.api.tokens.signing_key`` signs with: a private
    EC P-256 JWK. Checked here so a wrong file stops the start, not the first token request."""
    from joserfc.errors import JoseError
    from joserfc.jwk import ECKey, import_key

    try:
        key = import_key(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError, AttributeError, JoseError):
        return False
    return isinstance(key, ECKey) and key.get("crv") == "P-256" and key.is_private


def _is_https_base(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme == "https" and bool(parts.hostname)
    except ValueError:  # "https://[::1"
        return False


if not API_TOKEN_KEY_FILE or not Path(API_TOKEN_KEY_FILE).is_file():
    raise ImproperlyConfigured(
        "MANDAT_API_TOKEN_KEY_FILE must name the API token signing key (a JWK file) in production."
    )
if not _is_token_key(API_TOKEN_KEY_FILE):
    raise ImproperlyConfigured(
        "MANDAT_API_TOKEN_KEY_FILE must hold a private EC P-256 key as a JWK (JSON) in production."
    )
if not _is_https_base(ENV.get("MANDAT_API_ISSUER", "")):
    raise ImproperlyConfigured(
        "MANDAT_API_ISSUER must be this deployment's https:// base URL, with a host name."
    )
if not ENV.get("DATABASE_URL"):
    raise ImproperlyConfigured("DATABASE_URL must be set in production.")

#: Client secrets nobody may use in production: placeholders and development defaults.
_PLACEHOLDER_SECRETS = {"", "secret", "changeme", "change-me", "client-secret", "test", "dev"}


def _is_weak_oidc_secret(secret: str) -> bool:
    development = getattr(_base, "DEVELOPMENT_OIDC_CLIENT_SECRET", None)
    value = secret.strip()
    return (
        value.casefold() in _PLACEHOLDER_SECRETS
        or value == development
        or value.startswith("dev-only")
        or len(value) < 16
    )


# The national eID is off without an issuer; with one, its client must be the real one.
if MANDAT_OIDC_ISSUER:
    if not _is_https_base(MANDAT_OIDC_ISSUER):
        raise ImproperlyConfigured("MANDAT_OIDC_ISSUER must be the provider's https:// URL.")
    if not MANDAT_OIDC_CLIENT_ID.strip():
        raise ImproperlyConfigured("MANDAT_OIDC_CLIENT_ID must be set when MANDAT_OIDC_ISSUER is.")
    if _is_weak_oidc_secret(MANDAT_OIDC_CLIENT_SECRET):
        raise ImproperlyConfigured(
            "MANDAT_OIDC_CLIENT_SECRET must be set to the secret the identity provider issued "
            "(at least 16 characters, not a placeholder) when MANDAT_OIDC_ISSUER is set."
        )
if ENV.get("MANDAT_WEBAUTHN_INSECURE_ORIGIN", "0") != "0":
    # It would accept passkey assertions made for any other site.
    raise ImproperlyConfigured("MANDAT_WEBAUTHN_INSECURE_ORIGIN must stay 0 in production.")
if "django.middleware.csrf.CsrfViewMiddleware" not in MIDDLEWARE:
    raise ImproperlyConfigured("The CSRF middleware must stay on in production.")

DEBUG = False
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
#: No script of ours reads the CSRF cookie (the API hands the token out at GET /api/v1/session).
CSRF_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = True
#: Load balancers probe the health check over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health$"]
if MANDAT_PROXY_COUNT:
    # TLS ends at the proxies: they say which scheme the client used (see MANDAT_PROXY_COUNT).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
#: Not preloaded: a preload entry binds the whole registrable domain and its subdomains in
#: browsers for months, which the institution that owns the domain decides, not this app.
SECURE_HSTS_PRELOAD = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
