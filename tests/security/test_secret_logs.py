"""No secret reaches a log: a whole scenario runs with every logger at DEBUG, SQL included.

Every logger is at DEBUG except those the settings pin higher on purpose
(``django.template``, whose DEBUG records dump whole template contexts, typed codes
included: this test found it).

From the certification request to the codes' redemption (wrong tries included), an API
client with a secret getting a token and using it, and logins: every log record is kept,
then searched for each secret in every form it was typed or printed in.
"""

from __future__ import annotations

import logging
import time as pytime
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from mandat.accounts.models import User
from mandat.core import codes
from tests import factories
from tests.api._oauth import TOKEN_URL

pytestmark = pytest.mark.django_db

SECURITY_CODE = "Sc7-Zebra9"
WRONG_SECURITY_CODE = "Wr9-Otter4"
PASSWORD = "Pw4-Heron-Maple-Sleet"
WRONG_PASSWORD = "Pw4-Wrong-Cedar-Flint"


class Keeper(logging.Handler):
    """Keeps every record, formatted as a handler would write it, tracebacks included."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        if record.exc_info and not record.exc_text:
            text += "".join(traceback.format_exception(*record.exc_info))
        self.lines.append(f"{text} {record.args!r} {record.__dict__!r}")


@dataclass(frozen=True)
class TotpPerson:
    user: User
    secret: str


@pytest.fixture
def totp_person() -> TotpPerson:
    """A person with an authenticator app, set up before logging is captured: allauth
    stores the TOTP secret as given (its MFA adapter does not encrypt by default), so
    setting it up would show it in the SQL log. Using it must not."""
    person = User.objects.create_user(
        username="bob.totp", email="bob.totp@example.test", password=PASSWORD
    )
    EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    secret = generate_totp_secret()
    TOTP.activate(person, secret)
    return TotpPerson(user=person, secret=secret)


@pytest.fixture
def kept(settings: Settings, tmp_path: Path) -> Iterator[Keeper]:
    settings.DATA_DIR = tmp_path
    settings.SEAL_KEY_FILE = settings.SEAL_CERT_FILE = ""
    cache.clear()
    keeper = Keeper()
    names = ["", "django", "django.request", "django.db.backends", "django.security", "mandat"]
    names += list(logging.root.manager.loggerDict)
    # Loggers the settings deliberately keep above DEBUG stay there: that is the fix tested.
    pinned = set(settings.LOGGING.get("loggers", {}))
    before = {}
    for name in set(names) - pinned:
        logger = logging.getLogger(name)
        before[name] = (logger.level, logger.disabled)
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
    logging.getLogger().addHandler(keeper)
    logging.disable(logging.NOTSET)
    connection.force_debug_cursor = True  # every SQL statement and its parameters
    try:
        yield keeper
    finally:
        connection.force_debug_cursor = False
        logging.getLogger().removeHandler(keeper)
        for name, (level, disabled) in before.items():
            logging.getLogger(name).setLevel(level)
            logging.getLogger(name).disabled = disabled


def _forms(secret: str) -> set[str]:
    """A secret as typed, printed, or normalised."""
    found = {secret, secret.lower(), secret.upper()}
    try:
        canonical = codes.normalize(secret)
    except Exception:  # noqa: BLE001 - not a code: the forms above are all
        return found
    return found | {
        canonical,
        canonical.lower(),
        "-".join(canonical[i : i + 4] for i in (0, 4, 8, 12)),
    }


def test_a_whole_scenario_logs_no_secret(totp_person: TotpPerson, kept: Keeper) -> None:
    world = factories.certification_world()
    issued = factories.request_issued_for(world, security_code=SECURITY_CODE)
    printed = factories.request_codes(issued)
    assert len(printed) >= 5

    # Logins: a wrong password, then the right one.
    person = User.objects.create_user(
        username="anne.secret", email="anne.secret@example.test", password=PASSWORD
    )
    EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    browser = Client()
    assert (
        browser.post("/login/", {"login": "anne.secret", "password": WRONG_PASSWORD}).status_code
        == 200
    )
    assert (
        browser.post("/login/", {"login": "anne.secret", "password": PASSWORD}).status_code == 302
    )

    # A login with a second factor: the password, then the authenticator app's code.
    second = Client()
    assert second.post("/login/", {"login": "bob.totp", "password": PASSWORD})["Location"] == (
        "/accounts/2fa/authenticate/"
    )
    for _attempt in range(2):  # a second try only if the 30-second period just turned
        totp_code = format_hotp_value(hotp_value(totp_person.secret, int(pytime.time()) // 30))
        answer = second.post("/accounts/2fa/authenticate/", {"code": totp_code})
        if answer.status_code == 302:
            break
    assert answer.status_code == 302

    # The employer's admin redeems its holder code in the portal, after two wrong tries.
    boss = Client()
    boss.force_login(world.boss)
    affiliations = factories.domain("AFFILIATIONS")
    add = (
        f"{reverse('certification:certification_add_code', args=[world.space.pk])}"
        f"?domain={affiliations.pk}&kind=holder"
    )
    holder = printed["AFFILIATIONS", "holder"]
    assert (
        boss.post(add, {"code": codes.generate(), "security_code": SECURITY_CODE}).status_code
        == 200
    )
    assert boss.post(add, {"code": holder, "security_code": WRONG_SECURITY_CODE}).status_code == 200
    assert boss.post(add, {"code": holder, "security_code": SECURITY_CODE}).status_code == 302

    # The revocation code is typed on the public page (shown, not used).
    revocation = printed["AFFILIATIONS", "revocation"]
    assert Client().post("/revoke/", {"code": revocation}).status_code == 200

    # Payroll software: a client with a secret gets a token and redeems a representative code.
    client = factories.api_client(
        world.salary_space, (("AFFILIATIONS", "act"),), secret=True, admin=world.salary_admin
    )
    client_secret = client.test_secret  # type: ignore[attr-defined]
    wrong_secret = Client().post(
        TOKEN_URL,
        {
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": "mcs_" + "n0pe" * 8,
        },
    )
    assert wrong_secret.status_code in (400, 401)
    issued_token = Client().post(
        TOKEN_URL,
        {
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": client_secret,
        },
    )
    assert issued_token.status_code == 200, issued_token.content
    token = issued_token.json()["access_token"]
    representative = printed["AFFILIATIONS", "representative"]
    redeemed = Client().post(
        "/api/v1/redemptions",
        {
            "lines": [
                {"access_code": representative, "security_code": WRONG_SECURITY_CODE},
                {"access_code": representative, "security_code": SECURITY_CODE},
            ]
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert [line["status"] for line in redeemed.json()["lines"]] == ["code_unknown", "redeemed"]

    secrets = {
        "security code": SECURITY_CODE,
        "wrong security code": WRONG_SECURITY_CODE,
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "client secret": client_secret,
        "access token": token,
        "TOTP secret": totp_person.secret,
        **{f"code {domain}/{kind}": code for (domain, kind), code in printed.items()},
    }
    assert len(kept.lines) > 100, "the scenario was logged at DEBUG, SQL included"
    log = "\n".join(kept.lines)
    leaked = {name for name, secret in secrets.items() if any(f in log for f in _forms(secret))}
    assert leaked == set()
