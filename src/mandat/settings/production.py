"""Production settings: refuse to start on a missing or development secret."""

import json
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    API_TOKEN_KEY_FILE,
    CODE_PEPPER,
    DEVELOPMENT_CODE_PEPPER,
    DEVELOPMENT_DOCUMENT_KEY,
    DEVELOPMENT_SECRET_KEY,
    DOCUMENT_KEY,
    ENV,
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

DEBUG = False
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
