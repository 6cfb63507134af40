"""Settings: production refuses to start on missing or development secrets; SQLite runs in WAL."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from joserfc.jwk import ECKey, OKPKey, RSAKey

from mandat.settings import base

#: Every development value base.py defines is one production refuses, under MANDAT_<NAME>.
#: (The OIDC client secret is needed only with an issuer: see its own tests below.)
DEVELOPMENT_VALUES = {
    f"MANDAT_{name.removeprefix('DEVELOPMENT_')}": getattr(base, name)
    for name in dir(base)
    if name.startswith("DEVELOPMENT_") and "OIDC" not in name
}
GOOD = {
    **{name: f"{name.lower()}-{'x' * 40}" for name in DEVELOPMENT_VALUES},
    "DATABASE_URL": "postgres://mandat:pw@db.example:5433/mandat",
    "MANDAT_API_ISSUER": "https://mandat.example.lu",
}
SHOW = (
    "import django; django.setup(); from django.conf import settings as s; "
    "d = s.DATABASES['default']; print(s.DEBUG, d['ENGINE'], d['HOST'], d['PORT'], d['NAME'])"
)


def _clean_env(data_dir: Path, **env: str) -> dict[str, str]:
    """The current environment without any mandat, Django or database setting, plus ``env``."""
    kept = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MANDAT_", "DJANGO_")) and k != "DATABASE_URL"
    }
    return {**kept, "MANDAT_DATA_DIR": str(data_dir), **env}


def _seal_files(folder: Path) -> dict[str, str]:
    """Stand-in PEM files: production only checks that the seal is configured and present.
    The token key is read, so it is a real private EC P-256 JWK."""
    files = {}
    for name in ("MANDAT_SEAL_KEY_FILE", "MANDAT_SEAL_CERT_FILE"):
        path = folder / f"{name.lower()}.pem"
        path.write_text("-----BEGIN PLACEHOLDER-----\n", encoding="ascii")
        files[name] = str(path)
    files["MANDAT_API_TOKEN_KEY_FILE"] = _key_file(
        folder, "token-key.json", ECKey.generate_key("P-256", private=True).as_dict(private=True)
    )
    return files


def _key_file(folder: Path, name: str, content: object) -> str:
    path = folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return str(path)


def _start(tmp_path: Path, show: str = SHOW, **env: str) -> subprocess.CompletedProcess[str]:
    """Load the production settings in a fresh interpreter and print what they chose."""
    env = {**_seal_files(tmp_path), **env}
    env = {name: value for name, value in env.items() if value != "<unset>"}
    return subprocess.run(
        [sys.executable, "-c", show],
        env=_clean_env(tmp_path, DJANGO_SETTINGS_MODULE="mandat.settings.production", **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_checked_secrets_include_the_key_and_the_pepper() -> None:
    assert {"MANDAT_SECRET_KEY", "MANDAT_CODE_PEPPER"} <= set(DEVELOPMENT_VALUES)
    # Long enough that only the check for the development value itself can refuse it.
    assert len(base.DEVELOPMENT_SECRET_KEY) >= 32


def test_production_starts_with_its_secrets_and_a_database(tmp_path: Path) -> None:
    started = _start(tmp_path, **GOOD)
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == [
        "False",
        "django.db.backends.postgresql",
        "db.example",
        "5433",
        "mandat",
    ]


def test_production_accepts_secrets_of_exactly_32_characters(tmp_path: Path) -> None:
    started = _start(tmp_path, **{**GOOD, **{name: "s" * 32 for name in DEVELOPMENT_VALUES}})
    assert started.returncode == 0, started.stderr


REFUSED = [
    *(
        (name, value)
        for name, development in DEVELOPMENT_VALUES.items()
        for value in (None, development, "s" * 31, "")
    ),
    ("DATABASE_URL", None),
    ("DATABASE_URL", ""),
    *(
        (name, value)
        for name in ("MANDAT_SEAL_KEY_FILE", "MANDAT_SEAL_CERT_FILE", "MANDAT_API_TOKEN_KEY_FILE")
        for value in ("<unset>", "", "/nonexistent/seal.pem")
    ),
    ("MANDAT_API_ISSUER", None),
    ("MANDAT_API_ISSUER", "http://mandat.example.lu"),
    ("MANDAT_API_ISSUER", "https://"),
    ("MANDAT_API_ISSUER", "https:///api"),
    ("MANDAT_API_ISSUER", "https://:443"),
    ("MANDAT_API_ISSUER", "https://[::1"),
    ("MANDAT_API_ISSUER", "https:mandat.example.lu"),
    ("MANDAT_WEBAUTHN_INSECURE_ORIGIN", "1"),
]


@pytest.mark.parametrize(
    ("name", "value"),
    REFUSED,
    ids=[f"{name}-{'unset' if v is None else v[:12] or 'empty'}" for name, v in REFUSED],
)
def test_production_refuses_to_start(tmp_path: Path, name: str, value: str | None) -> None:
    env = {k: v for k, v in GOOD.items() if k != name}
    if value is not None:
        env[name] = value
    started = _start(tmp_path, **env)
    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr
    assert name in started.stderr
    assert started.stdout == ""


TOKEN_KEYS = {
    "placeholder": "-----BEGIN PLACEHOLDER-----\n",
    "not-a-jwk": json.dumps({"hello": "world"}),
    "public-p256": ECKey.generate_key("P-256", private=True).as_dict(private=False),
    "p384": ECKey.generate_key("P-384", private=True).as_dict(private=True),
    "rsa": RSAKey.generate_key(2048, private=True).as_dict(private=True),
    "ed25519": OKPKey.generate_key("Ed25519", private=True).as_dict(private=True),
}


@pytest.mark.parametrize("content", TOKEN_KEYS.values(), ids=TOKEN_KEYS.keys())
def test_production_refuses_a_token_key_it_cannot_sign_with(
    tmp_path: Path, content: object
) -> None:
    key_file = _key_file(tmp_path, "bad-token-key.json", content)
    started = _start(tmp_path, **{**GOOD, "MANDAT_API_TOKEN_KEY_FILE": key_file})
    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr
    assert "MANDAT_API_TOKEN_KEY_FILE" in started.stderr
    assert "private EC P-256" in started.stderr


def test_production_takes_an_issuer_with_a_host_and_a_path(tmp_path: Path) -> None:
    started = _start(tmp_path, **{**GOOD, "MANDAT_API_ISSUER": "https://mandat.example.lu/x"})
    assert started.returncode == 0, started.stderr


def test_without_database_url_mandat_migrates_an_sqlite_file_in_wal_mode(tmp_path: Path) -> None:
    mandat = Path(sys.executable).with_name("mandat")
    assert mandat.exists(), "the mandat console script is installed next to the interpreter"
    migrated = subprocess.run(
        [str(mandat), "migrate", "--no-input"],
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    database = tmp_path / "mandat.sqlite3"
    assert database.exists()
    with sqlite3.connect(database) as connection:
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    connection.close()
    assert mode == "wal"
    assert "core_auditevent" in tables


def test_database_url_selects_postgresql() -> None:
    config = base.database_config("postgres://mandat:secret@db.example:5433/mandat_prod")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.example", 5433, "mandat_prod")
    assert (config["USER"], config["PASSWORD"]) == ("mandat", "secret")
    assert config["CONN_MAX_AGE"] == 60


def test_without_database_url_the_default_is_sqlite_in_wal_mode() -> None:
    config = base.database_config(None)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(config["NAME"]).parent == base.DATA_DIR
    assert "PRAGMA journal_mode=WAL" in config["OPTIONS"]["init_command"]


# --- the national eID's client, HTTPS and CSRF ------------------------------------------------

OIDC = {
    "MANDAT_OIDC_ISSUER": "https://eid.example.lu/realms/citizens",
    "MANDAT_OIDC_CLIENT_ID": "mandat-portal",
    "MANDAT_OIDC_CLIENT_SECRET": "x7Kq2-provider-issued-secret-9fT",
}


def test_production_starts_with_a_real_oidc_client(tmp_path: Path) -> None:
    started = _start(tmp_path, **GOOD, **OIDC)
    assert started.returncode == 0, started.stderr


def test_without_an_issuer_no_oidc_secret_is_needed(tmp_path: Path) -> None:
    started = _start(tmp_path, **GOOD, MANDAT_OIDC_CLIENT_SECRET="")
    assert started.returncode == 0, started.stderr


OIDC_REFUSED = [
    ("MANDAT_OIDC_CLIENT_SECRET", None),
    ("MANDAT_OIDC_CLIENT_SECRET", ""),
    ("MANDAT_OIDC_CLIENT_SECRET", "   "),
    ("MANDAT_OIDC_CLIENT_SECRET", "secret"),
    ("MANDAT_OIDC_CLIENT_SECRET", "changeme"),
    ("MANDAT_OIDC_CLIENT_SECRET", "dev-only-insecure-oidc-client-secret"),
    ("MANDAT_OIDC_CLIENT_SECRET", "short-secret"),
    *(
        [("MANDAT_OIDC_CLIENT_SECRET", base.DEVELOPMENT_OIDC_CLIENT_SECRET)]
        if hasattr(base, "DEVELOPMENT_OIDC_CLIENT_SECRET")
        else []
    ),
    ("MANDAT_OIDC_CLIENT_ID", None),
    ("MANDAT_OIDC_ISSUER", "http://eid.example.lu/realms/citizens"),
]


@pytest.mark.parametrize(
    ("name", "value"),
    OIDC_REFUSED,
    ids=[f"{n}-{'unset' if v is None else v.strip()[:12] or 'blank'}" for n, v in OIDC_REFUSED],
)
def test_production_refuses_an_oidc_issuer_without_its_real_client(
    tmp_path: Path, name: str, value: str | None
) -> None:
    env = {**GOOD, **{k: v for k, v in OIDC.items() if k != name}}
    if value is not None:
        env[name] = value
    started = _start(tmp_path, **env)
    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr
    assert name in started.stderr
    assert OIDC["MANDAT_OIDC_CLIENT_SECRET"] not in started.stderr


SHOW_TRANSPORT = (
    "import django; django.setup(); from django.conf import settings as s; import json; "
    "print(json.dumps({k: getattr(s, k, None) for k in ("
    "'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', "
    "'SECURE_HSTS_PRELOAD', 'SESSION_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', "
    "'CSRF_COOKIE_SECURE', 'CSRF_COOKIE_HTTPONLY', 'SECURE_CONTENT_TYPE_NOSNIFF', "
    "'SECURE_REFERRER_POLICY', 'X_FRAME_OPTIONS', 'SECURE_PROXY_SSL_HEADER', 'MIDDLEWARE')}))"
)


def _transport(tmp_path: Path, **env: str) -> dict[str, object]:
    started = _start(tmp_path, SHOW_TRANSPORT, **GOOD, **env)
    assert started.returncode == 0, started.stderr
    return dict(json.loads(started.stdout))


def test_production_forces_https_with_hsts_and_secure_cookies(tmp_path: Path) -> None:
    chosen = _transport(tmp_path)
    assert chosen["SECURE_SSL_REDIRECT"] is True
    assert chosen["SECURE_HSTS_SECONDS"] >= 31_536_000  # type: ignore[operator]
    assert chosen["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert chosen["SECURE_HSTS_PRELOAD"] is False  # the domain's owner decides preloading
    assert chosen["SESSION_COOKIE_SECURE"] is chosen["SESSION_COOKIE_HTTPONLY"] is True
    assert chosen["CSRF_COOKIE_SECURE"] is chosen["CSRF_COOKIE_HTTPONLY"] is True
    assert chosen["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert chosen["SECURE_REFERRER_POLICY"] == "same-origin"
    assert chosen["X_FRAME_OPTIONS"] == "DENY"
    assert "django.middleware.csrf.CsrfViewMiddleware" in chosen["MIDDLEWARE"]  # type: ignore[operator]
    assert chosen["SECURE_PROXY_SSL_HEADER"] is None  # no proxy: the header is not trusted


def test_behind_proxies_production_trusts_their_scheme_header(tmp_path: Path) -> None:
    chosen = _transport(tmp_path, MANDAT_PROXY_COUNT="1")
    assert chosen["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
