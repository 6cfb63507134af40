"""Per-client rate limits: a fixed window, counted over every process of the deployment.

``mandat serve`` runs several gunicorn processes, so a count kept in one process's memory
(Django's default local-memory cache) would let a client make N times its limit. The
counts live in a shared table (``RateWindow``) instead. Writing that table on every call
would put a write, and on SQLite the database's single write lock, on the hot path; so each
process counts calls in memory and adds them to the table at most every
``MANDAT_API_RATE_SYNC`` seconds, reading back the total of all processes. A call is
refused when the last known total plus this process's unsynced calls reaches the limit.

The price: between two syncs, the other processes' calls are not seen, so a client can
overshoot its limit by what the other processes served in one sync interval. Setting
``MANDAT_API_RATE_SYNC=0`` syncs on every call and makes the count exact.

A sync that fails (the database is locked or away) costs nothing to the caller: the call
is allowed, this process keeps its unsynced calls and adds them at the next sync. Refusing
every call, or answering 500, while the database hiccups would be worse than a short
overshoot.

Django's database cache was the other candidate: it too would write on every call, and
its ``incr`` is a read then a write, which loses counts under concurrency.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from mandat.api.models import RateWindow
from mandat.core.errors import ApplicationError

logger = logging.getLogger(__name__)


class RateLimited(ApplicationError):
    """Too many calls: answered with 429 and ``Retry-After``."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            _("This client made too many calls. Wait %(seconds)s seconds and try again."),
            code="rate_limited",
            seconds=retry_after,
        )
        self.retry_after = retry_after


@dataclass
class _Count:
    window: int
    shared: int = 0  # every process's calls, as the table said at the last sync
    local: int = 0  # this process's calls not yet in the table
    synced_at: float = 0.0


class Limiter:
    """One process's view of every client's window."""

    def __init__(self, clock: object = None) -> None:
        self._counts: dict[int, _Count] = {}
        self._lock = threading.Lock()
        self.clock = clock or time.time

    def hit(self, client_pk: int) -> None:
        """Count one call of ``client_pk``; raise ``RateLimited`` when over the limit."""
        limit, period = settings.MANDAT_API_RATE_LIMIT, settings.MANDAT_API_RATE_WINDOW
        now: float = self.clock()  # type: ignore[operator]
        window = int(now // period) * period
        with self._lock:
            count = self._counts.get(client_pk)
            if count is None or count.window != window:
                count = self._counts[client_pk] = _Count(window=window)
            if count.shared + count.local >= limit:
                sync = now - count.synced_at >= settings.MANDAT_API_RATE_SYNC
                if not sync:
                    raise RateLimited(max(1, math.ceil(window + period - now)))
            count.local += 1
            due = now - count.synced_at >= settings.MANDAT_API_RATE_SYNC
            pending = count.local if due else 0
            if due:  # the calls stay counted in ``local`` until the table has them
                count.synced_at = now
        if pending:
            try:
                with transaction.atomic():  # a savepoint: the request's transaction survives
                    total = _add(client_pk, window, pending)
            except DatabaseError:
                logger.warning(
                    "rate limit sync failed for client %s; allowed, retried later",
                    client_pk,
                    exc_info=True,
                )
                return
            with self._lock:
                count.local -= pending  # calls counted meanwhile stay local
                count.shared = total
            if total > limit:
                raise RateLimited(max(1, math.ceil(window + period - now)))

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


def _add(client_pk: int, window: int, hits: int) -> int:
    """Add ``hits`` to the shared count and return the total of every process."""
    rows = RateWindow.objects.filter(client_id=client_pk, window=window)
    if not rows.update(hits=F("hits") + hits):
        try:
            with transaction.atomic():
                RateWindow.objects.create(client_id=client_pk, window=window, hits=hits)
        except IntegrityError:  # another process created it first
            rows.update(hits=F("hits") + hits)
        else:
            RateWindow.objects.filter(client_id=client_pk, window__lt=window).delete()
            return hits
    return int(rows.values_list("hits", flat=True).first() or hits)


#: The limiter of this process.
limiter = Limiter()
