"""Production settings: refuse to start on a missing or development secret."""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
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
if not ENV.get("DATABASE_URL"):
    raise ImproperlyConfigured("DATABASE_URL must be set in production.")

DEBUG = False
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
