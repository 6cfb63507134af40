"""10,000 wrong (code, security code) guesses give 0 successes, and every one is audited."""

from __future__ import annotations

import datetime as dt
import json
import secrets as pysecrets
from collections import Counter
from pathlib import Path

import pytest
from pytest_django.fixtures import Settings

from mandat.certification import redemption
from mandat.certification.models import AccessCode, CodeKind
from mandat.core import audit, codes, secrets, throttle, time
from mandat.core.errors import ApplicationError
from mandat.core.models import AuditEvent
from mandat.mandates.models import Mandate
from mandat.spaces.models import Membership, Role
from tests import factories

# About 25 s on SQLite (mostly the audit event each refusal writes); more over a network.
pytestmark = [pytest.mark.django_db, pytest.mark.sqlite_only]

GUESSES = 10_000
ADDRESSES = ("198.51.100.1", "198.51.100.2", "2001:db8:7:7::1")


@pytest.fixture(autouse=True)
def _seal_in_tmp(settings: Settings, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    settings.SEAL_KEY_FILE = settings.SEAL_CERT_FILE = ""


def test_ten_thousand_wrong_guesses_give_no_success(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    world = factories.certification_world()
    issued = factories.request_issued_for(world)
    printed = factories.request_codes(issued)
    known = [code for (_domain, kind), code in printed.items() if kind == CodeKind.HOLDER]
    assert len(known) == 4
    accounts = [world.boss]
    for _ in range(2):
        extra = factories.user()
        Membership.objects.create(space=world.space, user=extra, role=Role.ADMIN)
        accounts.append(extra)
    domains = {code: factories.domain(domain) for (domain, _kind), code in printed.items()}
    any_domain = factories.domain("AFFILIATIONS")

    # The clock jumps two days every 2,000 guesses: the windows forget, and the guessers
    # get their free failures again, so that the code lockout is reached too.
    at = [time.now()]
    monkeypatch.setattr(time, "now", lambda: at[0])
    hashed = [0]
    original_verify = secrets.verify_secret

    def counting(stored_hash: str, secret: str) -> bool:
        hashed[0] += 1
        return original_verify(stored_hash, secret)

    monkeypatch.setattr(secrets, "verify_secret", counting)

    start = factories.audit_seq()
    mandates_before = Mandate.objects.count()
    outcomes: Counter[str] = Counter()
    successes = 0
    for guess in range(GUESSES):
        if guess and guess % 2000 == 0:
            at[0] += dt.timedelta(days=2)
        by = accounts[guess % len(accounts)]
        address = ADDRESSES[(guess // len(accounts)) % len(ADDRESSES)]
        code = known[guess % len(known)] if guess % 3 == 0 else codes.generate()
        try:
            redemption.code_redeem(
                by=by,
                space=world.space,
                domain=domains.get(code, any_domain),
                kind=CodeKind.HOLDER,
                code=code,
                security_code=pysecrets.token_urlsafe(9),
                address=address,
            )
        except ApplicationError as error:
            outcomes[error.code] += 1
        else:
            successes += 1

    assert successes == 0
    assert Mandate.objects.count() == mandates_before
    assert sum(outcomes.values()) == GUESSES
    assert set(outcomes) == {"too_many_failures", "code_or_security_wrong", "code_locked"}
    # The throttle refused the great majority unseen, before any slow hash ran.
    assert outcomes["too_many_failures"] > 0.9 * GUESSES
    assert hashed[0] == outcomes["code_or_security_wrong"] + outcomes["code_locked"]
    assert hashed[0] < 0.1 * GUESSES
    # Every known code met its five wrong security codes and is locked.
    locked = AccessCode.objects.filter(
        digest__in=[codes.digest(codes.normalize(code)) for code in known]
    )
    assert all(code.locked_at is not None for code in locked) and len(locked) == 4

    events = list(AuditEvent.objects.filter(seq__gt=start, action="code.redeem_failed"))
    assert len(events) == GUESSES  # every failure, throttled ones included
    reasons = Counter(event.data["reason"] for event in events)
    assert reasons["throttled"] == outcomes["too_many_failures"]
    assert reasons["locked"] == outcomes["code_locked"]
    assert reasons["unknown"] + reasons["security_code"] == outcomes["code_or_security_wrong"]
    trail = json.dumps([event.data for event in events])
    for code in known:
        assert code not in trail and codes.normalize(code) not in trail
    assert audit.verify().ok
    assert throttle.retry_after(scope=throttle.CODES, keys=throttle.keys(account=world.boss.pk)) > 0
