"""The one question: may this person, acting for this organisation, do this, now?

``can`` and ``employers_for`` are the two faces of one rule and share its SQL
conditions, so they cannot drift apart. A user may ``action`` for an employer in
a domain when, at that moment:

- the user is active and an active member of an open space;
- that space holds an active mandate from the employer for the domain, inside
  its validity window, at a level covering the action (``act`` covers ``consult``);
- the membership is not restricted away from that employer or domain.

Both read the current rows on every call (no cache), so a revocation, expiry
or member change applies to the very next call, on every app node.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby, islice
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.catalog.models import Domain, Level
from mandat.core import audit, time
from mandat.core.errors import NotFoundOrForbidden
from mandat.mandates.models import Mandate
from mandat.registry.models import Employer
from mandat.spaces.models import Role

_FROM_AND_RULE = """
FROM spaces_membership m
JOIN accounts_user u ON u.id = m.user_id
JOIN spaces_space s ON s.id = m.space_id
JOIN mandates_mandate d ON d.grantee_space_id = m.space_id
WHERE m.user_id = %s AND m.removed_at IS NULL AND u.is_active AND s.closed_at IS NULL
  AND d.domain_id = %s AND d.status = 'active' AND d.level IN ({levels})
  AND d.valid_from <= %s AND (d.valid_until IS NULL OR d.valid_until > %s)
  AND (NOT m.restrict_employers OR EXISTS (
        SELECT 1 FROM spaces_membership_allowed_employers re
        WHERE re.membership_id = m.id AND re.employer_id = d.employer_id))
  AND (NOT m.restrict_domains OR EXISTS (
        SELECT 1 FROM spaces_membership_allowed_domains rd
        WHERE rd.membership_id = m.id AND rd.domain_id = d.domain_id))
"""


def _levels_sql(action: str) -> str:
    return ", ".join(f"'{level}'" for level in Level.covering(action))


_CAN_SQL = {
    action: f"SELECT 1 {_FROM_AND_RULE.format(levels=_levels_sql(action))} "
    "AND d.employer_id = %s LIMIT 1"
    for action in Level.values
}
# One space at a time: with the space fixed, the (space, domain, employer) index
# yields rows in employer order and LIMIT stops the scan. Over all the user's
# spaces at once, both databases collect and sort every match first (tens of
# milliseconds for a firm with 100,000 clients; see bench/authz.py).
_EMPLOYERS_SQL = {
    action: f"SELECT d.employer_id {_FROM_AND_RULE.format(levels=_levels_sql(action))} "
    "AND d.grantee_space_id = %s AND d.employer_id > %s ORDER BY d.employer_id LIMIT %s"
    for action in Level.values
}
#: Candidate spaces only: _EMPLOYERS_SQL applies the whole rule to each.
_SPACES_SQL = "SELECT space_id FROM spaces_membership WHERE user_id = %s AND removed_at IS NULL"
_QMARK = {
    sql: sql.replace("%s", "?")
    for sql in [*_CAN_SQL.values(), *_EMPLOYERS_SQL.values(), _SPACES_SQL]
}


def _pk(value: object) -> int:
    if type(value) is int:
        return value
    pk = getattr(value, "pk", value)
    if not isinstance(pk, int):
        raise TypeError(f"expected a model instance or an integer id, got {value!r}")
    return pk


def _driver() -> tuple[str, Any]:
    """The database vendor and its DB-API connection, opened if needed."""
    database = connections[DEFAULT_DB_ALIAS]
    if database.connection is None:
        database.ensure_connection()
    return database.vendor, database.connection


def _query(sql: str, at: dt.datetime | None, params: tuple[object, ...]) -> Any:
    """Run a policy query on the DB-API connection itself; returns its cursor.

    The policy sits on every request, and Django's connection proxy and cursor
    wrapper cost more than the indexed look-up itself; going to the driver
    directly is several times faster (see bench/authz.py). Parameters are
    always bound, never interpolated.
    """
    vendor, driver = _driver()
    moment = dt.datetime.now(dt.UTC) if at is None else time.as_utc(at)
    if vendor == "sqlite":
        # The text form Django's SQLite backend stores: naive UTC, ISO with a space.
        stamp = str(moment.replace(tzinfo=None))
        return driver.execute(_QMARK[sql], (*params[:2], stamp, stamp, *params[2:]))
    return driver.execute(sql, (*params[:2], moment, moment, *params[2:]))


def _candidate_spaces(user_id: int) -> list[int]:
    vendor, driver = _driver()
    sql = _QMARK[_SPACES_SQL] if vendor == "sqlite" else _SPACES_SQL
    return [row[0] for row in driver.execute(sql, (user_id,)).fetchall()]


def can(
    user: User | int,
    action: str,
    employer: Employer | int,
    domain: Domain | int,
    at: dt.datetime | None = None,
) -> bool:
    """True when ``user`` may ``action`` (``consult`` or ``act``) for ``employer`` in ``domain``.

    ``at`` moves the clock for validity windows (for planning and tests); the
    states of memberships and mandates are always the current ones.
    """
    sql = _CAN_SQL.get(action)
    if sql is None:
        raise ValueError(f"unknown action {action!r}")
    return _query(sql, at, (_pk(user), _pk(domain), _pk(employer))).fetchone() is not None


@dataclass(frozen=True)
class EmployerPage:
    """One page of employer ids in ascending order; ``next_after`` continues it."""

    employer_ids: list[int]
    next_after: int | None


def employers_for(
    user: User | int,
    domain: Domain | int,
    action: str,
    *,
    after: int = 0,
    limit: int = 100,
    at: dt.datetime | None = None,
) -> EmployerPage:
    """The employers for which ``can(user, action, employer, domain, at)`` holds, by keyset.

    Pass the previous page's ``next_after`` as ``after`` to continue; pages stay
    complete and free of duplicates while mandates change between calls.
    """
    sql = _EMPLOYERS_SQL.get(action)
    if sql is None:
        raise ValueError(f"unknown action {action!r}")
    if not 1 <= limit <= 10_000:
        raise ValueError("limit must be between 1 and 10000")
    user_id, domain_id = _pk(user), _pk(domain)
    # Each space's first ``limit`` ids hold the first ``limit`` distinct ids of all.
    per_space = [
        [row[0] for row in _query(sql, at, (user_id, domain_id, space, after, limit)).fetchall()]
        for space in _candidate_spaces(user_id)
    ]
    distinct = (employer_id for employer_id, _ in groupby(heapq.merge(*per_space)))
    ids = list(islice(distinct, limit))
    return EmployerPage(ids, ids[-1] if len(ids) == limit else None)


def iter_employers_for(
    user: User | int,
    domain: Domain | int,
    action: str,
    *,
    at: dt.datetime | None = None,
    chunk: int = 5000,
) -> Iterator[int]:
    """Every employer id ``employers_for`` would list, page after page."""
    after: int | None = 0
    while after is not None:
        page = employers_for(user, domain, action, after=after, limit=chunk, at=at)
        yield from page.employer_ids
        after = page.next_after


def access_employer(*, user: User, employer_id: int, domain: Domain | int, action: str) -> Employer:
    """The employer if ``user`` may ``action`` for it; one error for missing and forbidden."""
    if can(user, action, employer_id, domain):
        employer = Employer.objects.filter(pk=employer_id).first()
        if employer is not None:
            return employer
    raise NotFoundOrForbidden(
        _("This employer does not exist or you may not act for it."), code="not_found"
    )


def access_mandate(*, user: User, mandate_id: int) -> Mandate:
    """A mandate its holder's members or the employer's administrators may see."""
    mandate = (
        Mandate.objects.select_related("employer", "domain", "grantee_space")
        .filter(pk=mandate_id)
        .first()
    )
    if mandate is not None and user.is_active:
        holder = mandate.grantee_space.memberships.filter(user=user, removed_at__isnull=True)
        employer_admin = mandate.employer.organisation.spaces.filter(
            closed_at__isnull=True,
            memberships__user=user,
            memberships__role=Role.ADMIN,
            memberships__removed_at__isnull=True,
        )
        if user.is_agent or holder.exists() or employer_admin.exists():
            return mandate
    raise NotFoundOrForbidden(
        _("This mandate does not exist or you may not see it."), code="not_found"
    )


def authorize(
    user: User, action: str, employer: Employer | int, domain: Domain | int, *, purpose: str
) -> bool:
    """``can``, recorded in the audit trail: for checks that guard a mutation.

    It runs before the mutation's transaction, in one of its own, so that a
    refusal is recorded even though the mutation never happens.
    """
    if connection.in_atomic_block:
        raise RuntimeError("authorize() runs before the guarded mutation's transaction")
    allowed = can(user, action, employer, domain)
    with transaction.atomic(durable=True):
        audit.record(
            "authz.checked",
            actor_id=user.pk,
            employer_id=_pk(employer),
            data={"action": action, "domain": _pk(domain), "purpose": purpose, "allowed": allowed},
        )
    return allowed
