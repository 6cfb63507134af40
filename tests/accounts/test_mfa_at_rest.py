"""Second-factor secrets are sealed in the database, and still work."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, hotp_value, yield_hotp_counters_from_time

from mandat.accounts.adapters import MFAAdapter
from tests import factories

pytestmark = pytest.mark.django_db
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_totp_and_recovery_secrets_are_sealed_and_still_verify() -> None:
    user = factories.user()
    totp = TOTP.activate(user, SECRET)
    stored = Authenticator.objects.get(pk=totp.instance.pk).data["secret"]
    assert SECRET not in stored and stored.startswith("sealed:")
    counter = next(iter(yield_hotp_counters_from_time()))
    code = format(hotp_value(SECRET, counter), "06d")
    assert TOTP(Authenticator.objects.get(pk=totp.instance.pk)).validate_code(code)

    codes = RecoveryCodes.activate(user)
    seed = Authenticator.objects.get(pk=codes.instance.pk).data["seed"]
    assert seed.startswith("sealed:")
    assert RecoveryCodes(Authenticator.objects.get(pk=codes.instance.pk)).validate_code(
        codes.get_unused_codes()[0]
    )


def test_a_tampered_or_unsealed_secret_is_refused() -> None:
    adapter = MFAAdapter()
    sealed = adapter.encrypt(SECRET)
    assert adapter.decrypt(sealed) == SECRET
    flipped = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(Exception):  # noqa: B017 - the AEAD refuses, whatever its class
        adapter.decrypt(flipped)
    with pytest.raises(ValueError, match="not sealed"):
        adapter.decrypt(SECRET)
