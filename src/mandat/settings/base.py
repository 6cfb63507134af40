"""Settings shared by every environment.

The process environment is read here and nowhere else. ``production.py`` only
tightens what this module derives.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent  # src/mandat
ENV = os.environ

#: Where the embedded database and generated files live unless told otherwise.
DATA_DIR = Path(ENV.get("MANDAT_DATA_DIR", str(BASE_DIR.parent.parent / "var")))

#: Values a development checkout uses; production.py refuses to start with any of them.
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-secret-key-change-me"  # noqa: S105
DEVELOPMENT_CODE_PEPPER = "dev-only-insecure-code-pepper"  # noqa: S105
DEVELOPMENT_DOCUMENT_KEY = "dev-only-insecure-document-key"  # noqa: S105

SECRET_KEY = ENV.get("MANDAT_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
#: Key of the HMAC under which access codes are stored (codes are never stored in clear).
CODE_PEPPER = ENV.get("MANDAT_CODE_PEPPER", DEVELOPMENT_CODE_PEPPER)
#: Key that encrypts stored documents, such as letters carrying access codes.
DOCUMENT_KEY = ENV.get("MANDAT_DOCUMENT_KEY", DEVELOPMENT_DOCUMENT_KEY)
#: The platform seal (PEM key and certificate) that signs a request when its signer has no
#: certificate of their own. Unset in development: a self-signed seal is made in DATA_DIR.
SEAL_KEY_FILE = ENV.get("MANDAT_SEAL_KEY_FILE", "")
SEAL_CERT_FILE = ENV.get("MANDAT_SEAL_CERT_FILE", "")
#: The API's access-token signing key, a private JWK (ES256, P-256) in a JSON file. Unset in
#: development: one is made in DATA_DIR. Production refuses to start without it.
API_TOKEN_KEY_FILE = ENV.get("MANDAT_API_TOKEN_KEY_FILE", "")
#: The public base URL of this deployment: the ``iss`` of access tokens; client assertions name
#: it, or its token endpoint ``<issuer>/api/v1/oauth/token``, as their ``aud``.
API_ISSUER = ENV.get("MANDAT_API_ISSUER", "http://localhost:8000").rstrip("/")
DEBUG = ENV.get("MANDAT_DEBUG", "1") == "1"
ALLOWED_HOSTS = [h for h in ENV.get("MANDAT_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h]


def database_config(url: str | None) -> dict[str, Any]:
    """Build the default database from ``DATABASE_URL``; SQLite in WAL mode when unset."""
    if url:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
        if config["ENGINE"] == "django.db.backends.postgresql":
            config.setdefault("OPTIONS", {})
        return config
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_DIR / "mandat.sqlite3"),
        # Reconnecting costs more than most API calls (bench/api_load.py): keep it open a while.
        "CONN_MAX_AGE": 60,
        "OPTIONS": {
            # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of
            # failing with "database is locked" when a read transaction upgrades.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA foreign_keys=ON;"
                "PRAGMA busy_timeout=20000;"
            ),
        },
    }


DATABASES = {"default": database_config(ENV.get("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "mandat.core",
    "mandat.accounts",
    "mandat.catalog",
    "mandat.registry",
    "mandat.spaces",
    "mandat.mandates",
    "mandat.documents",
    "mandat.certification",
    "mandat.backoffice",
    "mandat.portal",
    "mandat.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Last: what follows runs for the pages, not for the JSON API (mandat.core.middleware).
    "mandat.core.middleware.PagesOnlyMiddleware",
]
#: The pages' own middleware, outermost first, which ``PagesOnlyMiddleware`` runs for every
#: path outside ``/api/``. Only middleware without view hooks may be listed here.
PAGE_MIDDLEWARE = [
    "mandat.portal.security.PagesCSPMiddleware",
    "mandat.portal.language.AccountLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
#: The admin's check looks for MessageMiddleware in MIDDLEWARE only; it runs for the admin's
#: pages through PAGE_MIDDLEWARE (tests/test_smoke.py logs in to the admin and sees a message).
SILENCED_SYSTEM_CHECKS = ["admin.E409"]

#: The pages' Content Security Policy (django-csp): their own files only, no inline
#: script or style, no framing. See mandat.portal.security for the API's exemption.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

ROOT_URLCONF = "mandat.urls"
WSGI_APPLICATION = "mandat.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mandat.portal.context_processors.acting",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Europe/Luxembourg"

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

#: Days after issue during which posted access codes can be redeemed.
MANDAT_ACTIVATION_DEADLINE_DAYS = int(ENV.get("MANDAT_ACTIVATION_DEADLINE_DAYS", "30"))
#: Days before that deadline when the employer's space is reminded of unredeemed codes.
MANDAT_REMINDER_DAYS = int(ENV.get("MANDAT_REMINDER_DAYS", "7"))
#: Wrong security codes after which an access code is locked.
MANDAT_CODE_MAX_TRIES = 5
#: Hours within which the institution promises to post the letters.
MANDAT_DISPATCH_PROMISE_HOURS = int(ENV.get("MANDAT_DISPATCH_PROMISE_HOURS", "72"))
#: Issue a transmitted request at once, without an agent, when every check passed.
MANDAT_AUTO_ISSUE = ENV.get("MANDAT_AUTO_ISSUE", "0") == "1"
#: Seconds an API access token lives.
MANDAT_API_TOKEN_LIFETIME = 300
#: Calls one API client may make per window (``MANDAT_API_RATE_WINDOW`` seconds), over every
#: process; the limiter answers 429 beyond. See ``mandat.api.ratelimit``.
MANDAT_API_RATE_LIMIT = int(ENV.get("MANDAT_API_RATE_LIMIT", "60000"))
MANDAT_API_RATE_WINDOW = int(ENV.get("MANDAT_API_RATE_WINDOW", "60"))
#: Seconds between two syncs of a process's counts with the shared table (0: every call).
MANDAT_API_RATE_SYNC = float(ENV.get("MANDAT_API_RATE_SYNC", "1.0"))
#: Argon2id cost for security codes (RFC 9106, second recommended option).
ARGON2_TIME_COST = 3
ARGON2_MEMORY_COST_KIB = 65536

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": ENV.get("MANDAT_LOG_LEVEL", "INFO")},
}
WHITENOISE_USE_FINDERS = DEBUG
