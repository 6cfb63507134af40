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


#: For other hot-path readers (the API's client check): the vendor and the DB-API connection.
driver = _driver


def execute_prepared(sql: str, params: tuple[object, ...]) -> Any:
    """Run ``sql`` (``%s`` placeholders) on the driver; returns its cursor.

    On PostgreSQL as a prepared statement of this connection: planning the API's one-statement
    check took about 0.7 ms, ten times its execution (EXPLAIN ANALYZE on the demo), and a
    prepared statement is planned once per connection, then runs on its cached plan. Django's
    own cursors bind on the client side and cannot prepare, hence a server-side cursor here
    (and ``prepare_threshold`` in the database's OPTIONS, without which psycopg ignores
    ``prepare=True``: settings.base.database_config sets it).
    """
    vendor, connection = _driver()
    if vendor == "sqlite":
        return connection.execute(_QMARK.get(sql) or sql.replace("%s", "?"), params)
    import psycopg

    cursor = psycopg.Cursor(connection)
    return cursor.execute(sql, params, prepare=True)


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


# --- acting as the space (API clients) ------------------------------------------------------
#
# An API client acts as its space, with no person and no membership in between: the rule
# is the one above without its membership part. The space must be open and hold an active
# mandate, inside its validity window, at a level covering the action.

_SPACE_RULE = """
FROM mandates_mandate d
JOIN spaces_space s ON s.id = d.grantee_space_id
WHERE d.grantee_space_id = %s AND s.closed_at IS NULL
  AND d.domain_id = %s AND d.status = 'active' AND d.level IN ({levels})
  AND d.valid_from <= %s AND (d.valid_until IS NULL OR d.valid_until > %s)
"""
_SPACE_CAN_SQL = {
    action: f"SELECT 1 {_SPACE_RULE.format(levels=_levels_sql(action))} "
    "AND d.employer_id = %s LIMIT 1"
    for action in Level.values
}
_SPACE_EMPLOYERS_SQL = {
    action: f"SELECT d.employer_id {_SPACE_RULE.format(levels=_levels_sql(action))} "
    "AND d.employer_id > %s ORDER BY d.employer_id LIMIT %s"
    for action in Level.values
}
# Changed since a moment: mandates that became active since then (ids still ascending).
_SPACE_EMPLOYERS_SINCE_SQL = {
    action: sql.replace("AND d.employer_id > %s", "AND d.activated_at >= %s AND d.employer_id > %s")
    for action, sql in _SPACE_EMPLOYERS_SQL.items()
}
# What an API call names, the domain code and the employer number, is first turned into
# ids (the employer by its (institution, number) key); then the rule itself runs on the
# (space, domain, employer) key. One statement doing both let SQLite, and PostgreSQL before
# ANALYZE, walk every mandate of the space: 7 to 25 ms for a firm with 16,667 clients,
# against tens of microseconds for the two statements.
_IDS_BY_CODE_SQL = (
    "SELECT c.id, e.id FROM catalog_domain c JOIN registry_employer e "
    "ON e.institution_id = c.institution_id AND e.employer_number = %s WHERE c.code = %s"
)
_SPACE_MANDATE_SQL = {
    action: f"SELECT d.id {_SPACE_RULE.format(levels=_levels_sql(action))} "
    "AND d.employer_id = %s LIMIT 1"
    for action in Level.values
}
_QMARK.update(
    {
        sql: sql.replace("%s", "?")
        for sql in [
            *_SPACE_CAN_SQL.values(),
            *_SPACE_EMPLOYERS_SQL.values(),
            *_SPACE_EMPLOYERS_SINCE_SQL.values(),
            *_SPACE_MANDATE_SQL.values(),
            _IDS_BY_CODE_SQL,
        ]
    }
)


def space_can(
    space_id: int,
    action: str,
    employer: Employer | int,
    domain: Domain | int,
    at: dt.datetime | None = None,
) -> bool:
    """True when the open space ``space_id`` may ``action`` for ``employer`` in ``domain``."""
    sql = _SPACE_CAN_SQL.get(action)
    if sql is None:
        raise ValueError(f"unknown action {action!r}")
    return _query(sql, at, (space_id, _pk(domain), _pk(employer))).fetchone() is not None


def space_check(
    space_id: int,
    action: str,
    employer_number: str,
    domain_code: str,
    at: dt.datetime | None = None,
) -> int | None:
    """``space_can`` by employer number and domain code: the id of the mandate that allows it,
    or None (for a forbidden action and for an unknown employer alike)."""
    sql = _SPACE_MANDATE_SQL.get(action)
    if sql is None:
        raise ValueError(f"unknown action {action!r}")
    vendor, driver = _driver()
    ids_sql = _QMARK[_IDS_BY_CODE_SQL] if vendor == "sqlite" else _IDS_BY_CODE_SQL
    # Usually one row; more only when institutions share a domain code.
    for domain_id, employer_id in driver.execute(ids_sql, (employer_number, domain_code)):
        row = _query(sql, at, (space_id, domain_id, employer_id)).fetchone()
        if row is not None:
            return int(row[0])
    return None


def employers_for_space(
    space_id: int,
    domain: Domain | int,
    action: str,
    *,
    after: int = 0,
    limit: int = 100,
    at: dt.datetime | None = None,
    changed_since: dt.datetime | None = None,
) -> EmployerPage:
    """The employers for which ``space_can(space_id, action, employer, domain, at)`` holds,
    in ascending id order by keyset; pass ``next_after`` as ``after`` to continue.

    ``changed_since`` keeps only mandates that became active at or after that moment.
    """
    sql = (_SPACE_EMPLOYERS_SQL if changed_since is None else _SPACE_EMPLOYERS_SINCE_SQL).get(
        action
    )
    if sql is None:
        raise ValueError(f"unknown action {action!r}")
    if not 1 <= limit <= 10_000:
        raise ValueError("limit must be between 1 and 10000")
    params: tuple[object, ...] = (space_id, _pk(domain), after, limit)
    if changed_since is not None:
        since = time.as_utc(changed_since)
        stamp = str(since.replace(tzinfo=None)) if _driver()[0] == "sqlite" else since
        params = (space_id, _pk(domain), stamp, after, limit)
    rows = _query(sql, at, params).fetchall()
    ids = [row[0] for row in rows]
    return EmployerPage(ids, ids[-1] if len(ids) == limit else None)


# What ``employers_for_space`` pages, with what a client list shows of each: the mandate,
# its level, since when it is active, and the employer's number and name (by primary key).
_ROW_COLUMNS = (
    "SELECT d.employer_id, d.id, d.level, COALESCE(d.activated_at, d.valid_from), "
    "(SELECT e.employer_number FROM registry_employer e WHERE e.id = d.employer_id), "
    "(SELECT e.name FROM registry_employer e WHERE e.id = d.employer_id) "
)
_SPACE_ROWS_SQL = {
    action: sql.replace("SELECT d.employer_id ", _ROW_COLUMNS, 1)
    for action, sql in _SPACE_EMPLOYERS_SQL.items()
}
_SPACE_ROWS_SINCE_SQL = {
    action: sql.replace("SELECT d.employer_id ", _ROW_COLUMNS, 1)
    for action, sql in _SPACE_EMPLOYERS_SINCE_SQL.items()
}
_QMARK.update(
    {
        sql: sql.replace("%s", "?")
        for sql in [*_SPACE_ROWS_SQL.values(), *_SPACE_ROWS_SINCE_SQL.values()]
    }
)


@dataclass(frozen=True)
class ClientRow:
    employer_id: int
    mandate_id: int
    level: str
    since: dt.datetime
    employer_number: str
    employer_name: str


@dataclass(frozen=True)
class ClientRowPage:
    rows: list[ClientRow]
    next_after: int | None


def client_rows_for_space(
    space_id: int,
    domain: Domain | int,
    action: str,
    *,
    after: int = 0,
    limit: int = 100,
    changed_since: dt.datetime | None = None,
) -> ClientRowPage:
    """``employers_for_space``'s page, in one statement, with each employer's usable mandate
    (one at most: a space holds one active mandate per employer and domain)."""
    sql = (_SPACE_ROWS_SQL if changed_since is None else _SPACE_ROWS_SINCE_SQL).get(action)
    if sql is None:
        raise ValueError(f"unknown action {action!r}")
    if not 1 <= limit <= 10_000:
        raise ValueError("limit must be between 1 and 10000")
    sqlite = _driver()[0] == "sqlite"
    now = dt.datetime.now(dt.UTC)
    stamp: object = str(now.replace(tzinfo=None)) if sqlite else now
    params: tuple[object, ...] = (space_id, _pk(domain), after, limit)
    if changed_since is not None:
        since = time.as_utc(changed_since)
        params = (space_id, _pk(domain), str(since.replace(tzinfo=None)) if sqlite else since)
        params += (after, limit)
    rows = [
        ClientRow(
            int(employer_id),
            int(mandate_id),
            level,
            # SQLite gives Django's stored text (naive UTC), PostgreSQL an aware datetime.
            dt.datetime.fromisoformat(moment).replace(tzinfo=dt.UTC)
            if isinstance(moment, str)
            else moment.astimezone(dt.UTC),
            number,
            name,
        )
        for employer_id, mandate_id, level, moment, number, name in execute_prepared(
            sql, (*params[:2], stamp, stamp, *params[2:])
        )
    ]
    return ClientRowPage(rows, rows[-1].employer_id if len(rows) == limit else None)


@dataclass(frozen=True)
class SpaceMandate:
    mandate_id: int
    level: str


def space_mandates_for(
    space_id: int,
    employer_numbers: list[str],
    domain_codes: list[str],
    at: dt.datetime | None = None,
) -> dict[tuple[str, str], SpaceMandate]:
    """The space's usable mandates for these employers and domains, keyed by (employer
    number, domain code): what ``space_check`` answers, for many checks in three queries."""
    domains = {
        domain_id: (code, institution_id)
        for domain_id, code, institution_id in Domain.objects.filter(
            code__in=sorted(set(domain_codes))
        ).values_list("pk", "code", "institution_id")
    }
    numbers = sorted(set(employer_numbers))
    if not domains or not numbers:
        return {}
    vendor, driver = _driver()
    mark = "?" if vendor == "sqlite" else "%s"
    institutions = sorted({institution for _code, institution in domains.values()})
    employers_sql = (
        "SELECT id, employer_number FROM registry_employer "  # noqa: S608 - placeholders only
        f"WHERE institution_id IN ({', '.join([mark] * len(institutions))}) "
        f"AND employer_number IN ({', '.join([mark] * len(numbers))})"
    )
    number_of = dict(driver.execute(employers_sql, (*institutions, *numbers)).fetchall())
    if not number_of:
        return {}
    moment = dt.datetime.now(dt.UTC) if at is None else time.as_utc(at)
    stamp: object = str(moment.replace(tzinfo=None)) if vendor == "sqlite" else moment
    mandates_sql = f"""SELECT d.employer_id, d.domain_id, d.id, d.level
FROM mandates_mandate d JOIN spaces_space s ON s.id = d.grantee_space_id
WHERE d.grantee_space_id = {mark} AND s.closed_at IS NULL AND d.status = 'active'
  AND d.valid_from <= {mark} AND (d.valid_until IS NULL OR d.valid_until > {mark})
  AND d.domain_id IN ({", ".join([mark] * len(domains))})
  AND d.employer_id IN ({", ".join([mark] * len(number_of))})"""  # noqa: S608 - placeholders only
    rows = driver.execute(mandates_sql, (space_id, stamp, stamp, *domains, *number_of)).fetchall()
    return {
        (number_of[employer_id], domains[domain_id][0]): SpaceMandate(int(mandate_id), level)
        for employer_id, domain_id, mandate_id, level in rows
    }
