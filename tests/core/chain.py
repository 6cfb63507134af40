"""Helpers for the audit tests: build a chain, and tamper with it behind the triggers' back."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.db import connection, transaction

from mandat.core import audit
from mandat.core.models import AuditEvent

START = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)
SQLITE_TRIGGERS = ("core_auditevent_no_update", "core_auditevent_no_delete")
POSTGRESQL_TRIGGER = "core_auditevent_append_only"
#: Sizes of successive appends; 1 goes through ``record``, the rest through ``record_many``.
BATCHES = (1, 37, 1, 250, 5, 1, 113)


def entry(n: int, employer_ids: Sequence[int | None]) -> audit.Entry:
    """A varied event: different employers, actors, objects, and nested, non-ASCII data."""
    employer_id = employer_ids[n % len(employer_ids)]
    return audit.Entry(
        action=("mandate.granted", "mandate.revoked", "space.member_added")[n % 3],
        actor_id=None if n % 7 == 0 else 100 + n % 11,
        employer_id=employer_id,
        object_type="mandates.mandate",
        object_id=str(n),
        data={
            "n": n,
            "secret": f"content-of-employer-{employer_id}-event-{n}",
            "name": "Société Générale d'Électricité ÆØÅ",
            "domains": [1, n % 5, {"purpose": "déclaration", "ok": n % 2 == 0}],
            "note": None,
        },
    )


def build_chain(length: int, employer_ids: Sequence[int | None] = (1, 2, 3, None)) -> None:
    """Append ``length`` events, in batches of different sizes and single records."""
    n = 0
    for batch in itertools.cycle(BATCHES):
        if n == length:
            break
        size = min(batch, length - n)
        with transaction.atomic():
            if size == 1:
                event = entry(n, employer_ids)
                audit.record(
                    event.action,
                    actor_id=event.actor_id,
                    employer_id=event.employer_id,
                    data=event.data,
                )
            else:
                audit.record_many(
                    [entry(n + i, employer_ids) for i in range(size)],
                    at=START + dt.timedelta(seconds=n, microseconds=n),
                )
        n += size
    assert AuditEvent.objects.count() == length


@contextmanager
def tampering() -> Iterator[None]:
    """Switch off the append-only triggers; every change made inside is rolled back on leaving."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                for name in SQLITE_TRIGGERS:
                    cursor.execute(f"DROP TRIGGER {name}")
            else:
                cursor.execute(f"ALTER TABLE core_auditevent DISABLE TRIGGER {POSTGRESQL_TRIGGER}")
        yield
        transaction.set_rollback(True)
