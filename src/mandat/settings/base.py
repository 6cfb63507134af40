"""Settings shared by every environment.

The process environment is read here and nowhere else. ``production.py`` only
tightens what this module derives.
"""

from __future__ import annotations

import datetime as dt
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
            # Prepared statements for the API's hot paths (mandates.policies.execute_prepared):
            # Django turns them off by default, and then psycopg ignores prepare=True. Django's
            # own cursors bind on the client side and never prepare, whatever this says.
            config.setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
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
    "mandat.core.admin_apps.MandatAdminConfig",  # the admin, behind the portal's login
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # allauth's MFA pages load it (the passkey list)
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
    # After mandat's apps, so that mandat.accounts' templates override allauth's.
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages, so that an ended session can say why. The session-authenticated API
    # is held to the same limits, so this one stays out of PAGE_MIDDLEWARE.
    "mandat.accounts.sessions.SessionLimitsMiddleware",
    # What follows runs for the pages, not for the JSON API (mandat.core.middleware).
    "mandat.core.middleware.PagesOnlyMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]
#: The pages' own middleware, outermost first, which ``PagesOnlyMiddleware`` runs for every
#: path outside ``/api/``. Only middleware without view hooks may be listed here.
PAGE_MIDDLEWARE = [
    "mandat.portal.security.PagesCSPMiddleware",
    "mandat.portal.language.AccountLanguageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out (name, address) before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

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
#: Wrong codes each guesser may enter within ``MANDAT_THROTTLE_WINDOW`` seconds before it
#: must wait 2, 4, 8... seconds (at most ``MANDAT_THROTTLE_MAX_WAIT``) between tries; per
#: account, API client and IP address. See ``mandat.core.throttle``.
MANDAT_THROTTLE_ENABLED = True
MANDAT_THROTTLE_FREE_FAILURES = {"account": 10, "client": 20, "ip": 30}
MANDAT_THROTTLE_WINDOW = int(ENV.get("MANDAT_THROTTLE_WINDOW", "86400"))
MANDAT_THROTTLE_MAX_WAIT = int(ENV.get("MANDAT_THROTTLE_MAX_WAIT", "3600"))
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

# == Authentication (django-allauth) and sessions: see mandat.accounts ==
#: People log in with their username or their e-mail address; a new account must prove its
#: address before it can log in.
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
#: No "remember me": a session ends with the browser, or at the time-outs below.
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_ADAPTER = "mandat.accounts.adapters.AccountAdapter"
ACCOUNT_LOGOUT_REDIRECT_URL = "login"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[mandat] "
DEFAULT_FROM_EMAIL = ENV.get("MANDAT_FROM_EMAIL", "mandat <no-reply@localhost>")
#: Second factors: an authenticator app (TOTP), passkeys and security keys (WebAuthn), and
#: recovery codes for when both are lost.
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_TOTP_ISSUER = "mandat"
#: A code from the period just before or after the server's is accepted too: a code typed in
#: the last seconds of its period still works when it arrives (RFC 6238 section 5.2 advises
#: allowing one step for delay). allauth still accepts each code only once.
MFA_TOTP_TOLERANCE = 1
#: Seals TOTP secrets and recovery-code seeds at rest (mandat.accounts.adapters.MFAAdapter).
MFA_ADAPTER = "mandat.accounts.adapters.MFAAdapter"
#: WebAuthn assertions are bound to this site's origin (https, or http://localhost). "1" turns
#: that check off, for a development server reached by another plain-http name; never in
#: production, where it would accept assertions made for any site.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = ENV.get("MANDAT_WEBAUTHN_INSECURE_ORIGIN", "0") == "1"
SOCIALACCOUNT_ADAPTER = "mandat.accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False

#: The national eID, an OpenID Connect provider. Off when the issuer is empty.
MANDAT_OIDC_ISSUER = ENV.get("MANDAT_OIDC_ISSUER", "").rstrip("/")
MANDAT_OIDC_CLIENT_ID = ENV.get("MANDAT_OIDC_CLIENT_ID", "")
MANDAT_OIDC_CLIENT_SECRET = ENV.get("MANDAT_OIDC_CLIENT_SECRET", "")
#: The authentication context classes to ask the provider for (space-separated), and the one
#: that, asserted in the ID token's ``acr``, gives the session the level of assurance "high".
MANDAT_OIDC_ACR_VALUES = ENV.get("MANDAT_OIDC_ACR_VALUES", "")
MANDAT_OIDC_ACR_HIGH = ENV.get("MANDAT_OIDC_ACR_HIGH", "")


def oidc_providers(*, issuer: str, client_id: str, secret: str, acr_values: str) -> dict[str, Any]:
    """allauth's provider settings for the national eID, with no database row needed.

    The provider class is named even with the eID off: allauth picks its classes once per
    process, and mandat's strict one must be the one picked.
    """
    provider = {
        "provider_class": "mandat.accounts.oidc.NationalIdProvider",
        "APPS": [],
        "OAUTH_PKCE_ENABLED": True,
    }
    if not issuer:
        return {"openid_connect": provider}
    auth_params = {"acr_values": acr_values} if acr_values else {}
    app = {
        "provider_id": "eid",
        "name": "eID",
        "client_id": client_id,
        "secret": secret,
        "settings": {
            "server_url": issuer,
            "auth_params": auth_params,
            "oauth_pkce_enabled": True,
            "fetch_userinfo": False,
        },
    }
    return {"openid_connect": {**provider, "APPS": [app]}}


SOCIALACCOUNT_PROVIDERS = oidc_providers(
    issuer=MANDAT_OIDC_ISSUER,
    client_id=MANDAT_OIDC_CLIENT_ID,
    secret=MANDAT_OIDC_CLIENT_SECRET,
    acr_values=MANDAT_OIDC_ACR_VALUES,
)

#: The level of assurance (mandat.accounts.assurance) that signing, redeeming, ending a mandate
#: and managing members need.
MANDAT_STEP_UP_LEVEL = ENV.get("MANDAT_STEP_UP_LEVEL", "substantial")
#: A session ends after this many seconds without a request, and this many after its login.
MANDAT_SESSION_IDLE_SECONDS = int(ENV.get("MANDAT_SESSION_IDLE_SECONDS", "1800"))
MANDAT_SESSION_ABSOLUTE_SECONDS = int(ENV.get("MANDAT_SESSION_ABSOLUTE_SECONDS", "43200"))
SESSION_COOKIE_AGE = MANDAT_SESSION_ABSOLUTE_SECONDS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# == Login brute force (django-axes): see mandat.core.lockout ==
#: Failed logins per (name typed, address) before that pair must wait AXES_COOLOFF_TIME.
AXES_FAILURE_LIMIT = int(ENV.get("MANDAT_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(ENV.get("MANDAT_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "mandat.core.lockout.login_username"
AXES_LOCKOUT_CALLABLE = "mandat.core.lockout.login_locked_out"
AXES_RESET_ON_SUCCESS = True
#: Masked in django-axes' log lines and stored form data (the password always is).
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "login", "csrfmiddlewaretoken"]
#: allauth's own login limit counts failures per name from every address, which would let
#: anyone lock a person out from everywhere: django-axes counts per (name, address) instead.
#: allauth keeps only its per-address burst limit.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip"}
#: Failures only, not every successful login: the audit trail and sessions record those.
AXES_DISABLE_ACCESS_LOG = True
#: No banner on every start (it printed into every management command's output).
AXES_VERBOSE = False
#: Reverse proxies in front of mandat, each appending to X-Forwarded-For: the client's address
#: is the one the outermost of them saw. 0 (none): REMOTE_ADDR. Code throttles use it too.
MANDAT_PROXY_COUNT = int(ENV.get("MANDAT_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "mandat.core.throttle.address_of"

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": ENV.get("MANDAT_LOG_LEVEL", "INFO")},
    "loggers": {
        # At DEBUG, Django's template engine logs every variable it cannot resolve together
        # with the whole template context: the values a form shows again, typed codes
        # included. Never below INFO, whatever MANDAT_LOG_LEVEL says.
        "django.template": {"level": "INFO"},
    },
}
WHITENOISE_USE_FINDERS = DEBUG
