"""Throttles for secret guessing: increasing waits per account, API client and address.

The per-code lockout (``MANDAT_CODE_MAX_TRIES`` wrong security codes) protects one
code. It does nothing against someone who tries many codes a few times each, or
unknown codes: every one is a fresh guess. So failures are also counted per guesser:
the account (or, for software, the API client) and the IP address it comes from.

Each guesser gets a few failures free within ``MANDAT_THROTTLE_WINDOW`` seconds
(``MANDAT_THROTTLE_FREE_FAILURES``, per kind of key). Every failure beyond them
makes it wait before the next try: 2 seconds, then 4, 8, 16... up to
``MANDAT_THROTTLE_MAX_WAIT``. A try during a wait is refused before anything slow
(such as Argon2id) runs, and it is not counted, so waiting is the only way out. A
window without failures forgets them.

Keying on the account *and* the address means that an attacker who spreads tries
over many accounts is still slowed per address, and one who spreads them over many
addresses is still slowed per account; neither can make another person wait by
failing in their name from elsewhere, since that person's own account and address
keys stay clean unless both are the attacker's.

The counts live in a table (``FailureThrottle``) so that every process of the
deployment sees the same waits.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from mandat.core import time
from mandat.core.errors import ApplicationError
from mandat.core.models import FailureThrottle

#: The scope of access and security codes: portal, session API and bulk API alike.
CODES = "codes"

ACCOUNT, CLIENT, ADDRESS = "account", "client", "ip"


class Throttled(ApplicationError):
    """Too many recent failures: wait ``retry_after`` seconds (API: 429 with Retry-After)."""

    def __init__(self, retry_after: int) -> None:
        minutes = (retry_after + 59) // 60
        wait = (
            ngettext_lazy("%(n)d second", "%(n)d seconds", retry_after) % {"n": retry_after}
            if retry_after < 120
            else ngettext_lazy("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
        )
        super().__init__(
            _("Too many wrong codes were entered. For your protection, try again in %(wait)s."),
            code="too_many_failures",
            wait=wait,
        )
        self.retry_after = retry_after


def address_key(address: str) -> str:
    """The key of an IP address. An IPv6 host usually holds a whole /64, so that is the key."""
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return f"{ADDRESS}:{address.strip()[:100] or 'unknown'}"
    if parsed.version == 6:
        return f"{ADDRESS}:{ipaddress.ip_network((parsed, 64), strict=False)}"
    return f"{ADDRESS}:{parsed}"


def keys(
    *, account: int | None = None, client: str | None = None, address: str | None = None
) -> list[str]:
    """The keys a guesser's failures count under: its account or API client, and its address."""
    found = []
    if client is not None:
        found.append(f"{CLIENT}:{client}")
    elif account is not None:
        found.append(f"{ACCOUNT}:{account}")
    if address:
        found.append(address_key(address))
    return found


def _free_failures(key: str) -> int:
    kind = key.split(":", 1)[0]
    return int(settings.MANDAT_THROTTLE_FREE_FAILURES.get(kind, 10))


def _wait_after(failures: int, free: int) -> int:
    """Seconds to wait after the ``failures``-th failure in a window."""
    if failures <= free:
        return 0
    return int(min(2 ** min(failures - free, 32), settings.MANDAT_THROTTLE_MAX_WAIT))


def retry_after(*, scope: str, keys: Sequence[str]) -> int:
    """Seconds until every key may try again; 0 when none has to wait."""
    if not keys or not settings.MANDAT_THROTTLE_ENABLED:
        return 0
    now = time.now()
    until = (
        FailureThrottle.objects.filter(scope=scope, key__in=keys, blocked_until__gt=now)
        .order_by("-blocked_until")
        .values_list("blocked_until", flat=True)
        .first()
    )
    if until is None:
        return 0
    return max(1, int((until - now).total_seconds() + 0.999))


def check(*, scope: str, keys: Sequence[str]) -> None:
    """Refuse with ``Throttled`` while any of ``keys`` has to wait. Cheap: one indexed read."""
    wait = retry_after(scope=scope, keys=keys)
    if wait:
        raise Throttled(wait)


def _locked_row(scope: str, key: str, now: dt.datetime) -> FailureThrottle:
    rows = FailureThrottle.objects.select_for_update()
    row = rows.filter(scope=scope, key=key).first()
    if row is not None:
        return row
    window = dt.timedelta(seconds=settings.MANDAT_THROTTLE_WINDOW)
    # Rows nobody failed under for a whole window say nothing any more.
    FailureThrottle.objects.filter(last_failure_at__lt=now - window).delete()
    try:
        with transaction.atomic():  # a savepoint: another process may create it first
            return FailureThrottle.objects.create(scope=scope, key=key, last_failure_at=now)
    except IntegrityError:
        return rows.get(scope=scope, key=key)


def failure(*, scope: str, keys: Sequence[str]) -> int:
    """Count one failure under each key; return the wait it imposes now (0: none yet).

    Runs in the caller's transaction, beside the audit event of the failure.
    """
    if not keys or not settings.MANDAT_THROTTLE_ENABLED:
        return 0
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("throttle failures are counted in the transaction of the failure")
    now = time.now()
    window = dt.timedelta(seconds=settings.MANDAT_THROTTLE_WINDOW)
    longest = 0
    for key in sorted(set(keys)):  # one order everywhere, so two writers cannot deadlock
        row = _locked_row(scope, key, now)
        if row.last_failure_at < now - window:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        wait = _wait_after(row.failures, _free_failures(key))
        if wait:
            row.blocked_until = now + dt.timedelta(seconds=wait)
            longest = max(longest, wait)
        row.save(update_fields=["failures", "last_failure_at", "blocked_until"])
    return longest


def forget(*, scope: str, keys: Sequence[str]) -> None:
    """Drop the counts of ``keys`` (for tests and for an agent who lifts a wait)."""
    FailureThrottle.objects.filter(scope=scope, key__in=keys).delete()


def address_of(request: HttpRequest) -> str:
    """The caller's IP address, for code throttles and for django-axes alike.

    Behind ``MANDAT_PROXY_COUNT`` reverse proxies, each appending the address it saw to
    X-Forwarded-For, the client is the address the outermost proxy saw: the
    ``MANDAT_PROXY_COUNT``-th from the right. Anything further left was written by the
    client itself and is not trusted.
    """
    proxies = settings.MANDAT_PROXY_COUNT
    if proxies > 0:
        chain = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(chain) >= proxies:
            return str(chain[-proxies])
    return str(request.META.get("REMOTE_ADDR", ""))
