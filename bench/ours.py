"""Our policy on one database: load each world, time ``can`` and ``employers_for``.

Run by ``authz.py`` once per database, as a child process, because Django reads
its database settings once per process: without ``DATABASE_URL`` it is SQLite in
``MANDAT_DATA_DIR``, with it PostgreSQL. Prints one ``RESULT {json}`` line per
world. Rows are bulk-loaded without audit events: the benchmark measures reads.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import django

from measure import median_ms, run_checks
from world import FIRM_ACTION, FIRM_DOMAIN, World, build

BATCH = 2000
#: Our policy gets the whole query list; the clock only guards against a pathology.
CHECK_SECONDS = 60.0


@dataclass(frozen=True)
class Ids:
    """Database ids of the world's logical users, employers and domains."""

    users: list[int]
    employers: list[int]
    domains: dict[str, int]


def setup() -> str:
    """Configure Django, migrate a fresh database; returns its vendor."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mandat.settings.base")
    os.environ.setdefault("MANDAT_DEBUG", "0")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    return connection.vendor


def wipe() -> None:
    """Remove every row an earlier world left, children before parents."""
    from django.db import connection
    from django.db.models import Model

    from mandat.accounts.models import User
    from mandat.mandates.models import Mandate
    from mandat.registry.models import Employer, Organisation
    from mandat.spaces.models import Membership, Space

    models: list[type[Model]] = [
        Membership.allowed_domains.through,
        Membership.allowed_employers.through,
        Mandate,
        Membership,
        Space,
        Employer,
        Organisation,
        User,
    ]
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"DELETE FROM {model._meta.db_table}")  # noqa: S608 - our table names


def load(world: World) -> Ids:
    """Bulk-create the world; returns the database ids of its logical ids."""
    from django.db import transaction

    from mandat.catalog.models import Domain

    with transaction.atomic():
        domains = {d.code: d.pk for d in Domain.objects.filter(institution__code="CCSS")}
        users = _users(world)
        employers, spaces = _organisations(world)
        _memberships(world, users, spaces, domains)
        _mandates(world, employers, spaces, domains)
    return Ids(users, employers, domains)


def _users(world: World) -> list[int]:
    from django.contrib.auth.hashers import make_password

    from mandat.accounts.models import User

    rows = (
        User(username=f"bench{i}", email=f"bench{i}@bench.invalid", password=make_password(None))
        for i in range(world.users)
    )
    return [user.pk for user in User.objects.bulk_create(rows, batch_size=BATCH)]


def _organisations(world: World) -> tuple[list[int], list[int]]:
    """Each employer and each space's holder is an organisation of its own."""
    from mandat.catalog.models import Institution
    from mandat.registry.identifiers import Scheme
    from mandat.registry.models import Employer, Organisation
    from mandat.spaces.models import Space, SpaceKind

    ccss = Institution.objects.get(code="CCSS")
    count = world.employers + world.spaces
    organisations = Organisation.objects.bulk_create(
        (
            Organisation(
                name=f"Org {i}", identifier_scheme=Scheme.LU_NATIONAL, identifier=f"{i:011d}"
            )
            for i in range(count)
        ),
        batch_size=BATCH,
    )
    employers = Employer.objects.bulk_create(
        (
            Employer(
                organisation=organisation,
                institution=ccss,
                employer_number=organisation.identifier,
                name=organisation.name,
                address_line1="1, rue du Bench",
                postcode="1000",
                city="Luxembourg",
            )
            for organisation in organisations[: world.employers]
        ),
        batch_size=BATCH,
    )
    spaces = Space.objects.bulk_create(
        (
            Space(kind=SpaceKind.PROFESSIONAL, organisation=organisation, name=organisation.name)
            for organisation in organisations[world.employers :]
        ),
        batch_size=BATCH,
    )
    return [e.pk for e in employers], [s.pk for s in spaces]


def _memberships(
    world: World, users: list[int], spaces: list[int], domains: dict[str, int]
) -> None:
    from mandat.core import time as clock
    from mandat.spaces.models import Membership, Role

    now = clock.now()
    rows = Membership.objects.bulk_create(
        (
            Membership(
                space_id=spaces[m.space],
                user_id=users[m.user],
                role=Role.COLLABORATOR,
                restrict_domains=m.domains is not None,
                removed_at=now if m.removed else None,
            )
            for m in world.members
        ),
        batch_size=BATCH,
    )
    through = Membership.allowed_domains.through
    through.objects.bulk_create(
        through(membership_id=row.pk, domain_id=domains[code])
        for row, member in zip(rows, world.members, strict=True)
        for code in sorted(member.domains or ())
    )


def _mandates(
    world: World, employers: list[int], spaces: list[int], domains: dict[str, int]
) -> None:
    from mandat.core import time as clock
    from mandat.mandates.models import (
        EndCause,
        Mandate,
        MandateKind,
        MandateSource,
        MandateStatus,
    )

    now = clock.now()
    since, until = now - dt.timedelta(days=30), now + dt.timedelta(days=365)
    rows = (
        Mandate(
            employer_id=employers[g.employer],
            domain_id=domains[g.domain],
            grantee_space_id=spaces[g.space],
            kind=MandateKind.OBTAINED,
            level=g.level,
            source=MandateSource.AGENT,
            status=MandateStatus.ACTIVE if g.active else MandateStatus.REVOKED,
            valid_from=since,
            valid_until=until if g.expires else None,
            activated_at=since,
            ended_at=None if g.active else now,
            end_cause="" if g.active else EndCause.REVOKED,
        )
        for g in world.grants
    )
    Mandate.objects.bulk_create(rows, batch_size=BATCH)


def analyze(vendor: str) -> None:
    """Refresh planner statistics, as autovacuum (PostgreSQL) or ``optimize`` (SQLite) would."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if vendor == "postgresql" else "ANALYZE")


def measure(world: World, ids: Ids) -> dict[str, Any]:
    from mandat.mandates.policies import can

    calls = [
        (ids.users[q.user], q.action, ids.employers[q.employer], ids.domains[q.domain])
        for q in world.queries
    ]
    checks = run_checks(can, calls, world.expected, max_calls=len(calls), seconds=CHECK_SECONDS)
    return {"checks": checks.as_dict(), **_lookups(world, ids)}


def _lookups(world: World, ids: Ids) -> dict[str, Any]:
    """The firm's first page of clients and its whole list, timed and checked."""
    from mandat.mandates.policies import employers_for, iter_employers_for

    user, domain = ids.users[world.firm_user], ids.domains[FIRM_DOMAIN]
    expected = sorted(ids.employers[e] for e in world.firm_list())

    def first_page() -> list[int]:
        return employers_for(user, domain, FIRM_ACTION, limit=100).employer_ids

    def full_list() -> list[int]:
        return list(iter_employers_for(user, domain, FIRM_ACTION))

    return {
        "first_page_ms": median_ms(first_page, runs=21),
        "full_list_ms": median_ms(full_list, runs=3),
        "full_list_count": len(expected),
        "lookups_right": first_page() == expected[:100] and full_list() == expected,
    }


def server_version(vendor: str) -> str:
    from django.db import connection

    if vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    connection.ensure_connection()
    number = connection.connection.info.server_version
    return f"PostgreSQL {number // 10000}.{number % 10000}"


def main(sizes: list[int]) -> None:
    vendor = setup()
    server = server_version(vendor)
    for size in sizes:
        world = build(size)
        start = time.perf_counter()
        wipe()
        ids = load(world)
        analyze(vendor)
        loaded = time.perf_counter() - start
        result = {
            "vendor": vendor,
            "server": server,
            "size": size,
            "digest": world.digest(),
            "load_s": loaded,
        }
        result.update(measure(world, ids))
        print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]])
