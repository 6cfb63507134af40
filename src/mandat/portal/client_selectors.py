"""Reads of a representative's client list: search, filter, sort and page over obtained mandates.

The list must stay fast for a firm with thousands of clients, so it runs raw SQL on
the DB-API connection (as ``mandates.policies`` does, for the same reason). Which
mandates a person sees is **the policy's own rule**: the SQL text of
``policies._FROM_AND_RULE`` at the consult level, with the space fixed and the domain
any domain of the catalogue. A collaborator restricted to some clients or domains
therefore sees exactly what ``policies.can(user, "consult", ...)`` would let them
open, and a revocation, expiry or removal takes a client off the list at the next
request.

The database applies the rule, groups the mandates per client and filters on domain
and level; the matching clients (a few thousand short rows at most) are then searched,
sorted, counted and cut into pages in Python, which folds case and accents the same way
on SQLite and PostgreSQL, without a per-row SQL function.
"""

from __future__ import annotations

import datetime as dt
import functools
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.dateparse import parse_datetime

from mandat.catalog.models import Domain, Level
from mandat.mandates import policies
from mandat.mandates.models import Mandate, MandateKind, MandateStatus
from mandat.registry.models import Employer, Representative
from mandat.spaces.models import Space

PAGE_SIZE = 50
SORTS = ("name", "-name", "number", "-number", "since", "-since")
DEFAULT_SORT = "name"


def _rule_for_any_domain() -> str:
    """The policy's rule at the consult level, for any domain of the catalogue.

    The domain stays an indexed condition (``IN`` the catalogue's ids), so that a
    look-up of one client probes the (space, domain, employer) index instead of
    scanning the space's mandates.
    """
    rule = policies._FROM_AND_RULE.format(levels=policies._levels_sql(Level.CONSULT))
    clause = "d.domain_id = %s"
    if rule.count(clause) != 1:  # the rule changed shape: fail loudly, never silently widen it
        raise RuntimeError("mandates.policies changed: review portal.client_selectors")
    return rule.replace(clause, "d.domain_id IN (SELECT c.id FROM catalog_domain c)")


#: The obtained mandates of one space that one person may consult (params: user, now, now, space).
_VISIBLE = (
    "SELECT d.id AS mandate_id, d.employer_id, d.domain_id, d.level, d.valid_until,"
    " d.grantee_space_id, COALESCE(d.activated_at, d.valid_from) AS since "
    f"{_rule_for_any_domain()} AND d.grantee_space_id = %s AND d.kind = 'obtained'"
)

_ACCENTED = "".join(
    chr(code)
    for code in range(0xC0, 0x180)
    if len(unicodedata.normalize("NFKD", chr(code).lower())) > 1
    and unicodedata.normalize("NFKD", chr(code).lower())[0].isascii()
)
_FOLD_TABLE = str.maketrans(
    _ACCENTED, "".join(unicodedata.normalize("NFKD", c.lower())[0] for c in _ACCENTED)
)


@functools.lru_cache(maxsize=65_536)
def fold(text: str) -> str:
    """Lower case without accents: ``Épicerie`` and ``epicerie`` match.

    Remembered per text (a pure function): sorting thousands of names by it would
    otherwise cost more than the query that fetched them.
    """
    return text.lower().translate(_FOLD_TABLE)


def _execute(sql: str, params: Sequence[object]) -> Any:
    vendor, driver = policies.driver()
    if vendor == "sqlite":
        return driver.execute(sql.replace("%s", "?"), tuple(params))
    return driver.execute(sql, tuple(params))


def _stamp(vendor: str, moment: dt.datetime) -> object:
    # The text form Django's SQLite backend stores: naive UTC, ISO with a space.
    return str(moment.astimezone(dt.UTC).replace(tzinfo=None)) if vendor == "sqlite" else moment


def _as_datetime(value: object) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = parse_datetime(str(value))
    return parsed.replace(tzinfo=dt.UTC) if parsed and parsed.tzinfo is None else parsed


@dataclass(frozen=True)
class ClientQuery:
    """What the person asked for; already checked (see ``client_views``)."""

    search: str = ""
    domain: Domain | None = None
    level: str = ""
    sort: str = DEFAULT_SORT
    page: int = 1


@dataclass(frozen=True)
class HeldMandate:
    mandate_id: int
    domain: Domain
    level: str
    since: dt.datetime | None
    until: dt.datetime | None

    @property
    def can_act(self) -> bool:
        return self.level == Level.ACT


@dataclass(frozen=True)
class ClientRow:
    employer_id: int
    name: str
    employer_number: str
    since: dt.datetime | None
    mandates: list[HeldMandate] = field(default_factory=list)


@dataclass(frozen=True)
class ClientPage:
    rows: list[ClientRow]
    total: int
    page: int
    pages: int

    @property
    def first(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.page * PAGE_SIZE, self.total)


def _clients_sql(query: ClientQuery) -> tuple[str, list[object]]:
    """One row per client with a visible mandate (matching the domain and level asked)."""
    having: list[str] = []
    params: list[object] = []
    if query.domain is not None:
        having.append("v.domain_id = %s")
        params.append(query.domain.pk)
    if query.level:
        having.append("v.level = %s")
        params.append(query.level)
    clients = (
        f"SELECT v.employer_id, MIN(v.since) AS since FROM ({_VISIBLE}) v"  # noqa: S608 - constants and placeholders only
        " GROUP BY v.employer_id"
    )
    if having:
        clients += f" HAVING SUM(CASE WHEN {' AND '.join(having)} THEN 1 ELSE 0 END) > 0"
    sql = (
        "SELECT e.id, e.name, e.employer_number, g.since"  # noqa: S608 - constants and placeholders only
        f" FROM ({clients}) g JOIN registry_employer e ON e.id = g.employer_id"
    )
    return sql, params


_Row = tuple[int, str, str, Any]


def _matcher(search: str) -> Callable[[_Row], bool] | None:
    """Name contains the words typed (case and accents ignored), or number starts with them."""
    text = " ".join(search.split())
    if not text:
        return None
    folded = fold(text)
    number = text.replace(" ", "")
    if number.isdigit():
        return lambda row: row[2].startswith(number) or folded in fold(row[1])
    return lambda row: folded in fold(row[1])


def _sorted(rows: list[_Row], sort: str) -> list[_Row]:
    key = sort.removeprefix("-")
    reverse = sort.startswith("-")
    if key == "number":
        return sorted(rows, key=lambda r: (r[2], r[0]), reverse=reverse)
    by_name = sorted(rows, key=lambda r: (fold(r[1]), r[0]), reverse=reverse and key == "name")
    if key == "since":  # stable: clients of the same moment stay in name order
        return sorted(by_name, key=lambda r: str(r[3]), reverse=reverse)
    return by_name


def _matching(user_id: int, space_id: int, query: ClientQuery) -> list[_Row]:
    vendor, _ = policies.driver()
    sql, params = _clients_sql(query)
    rows: list[_Row] = _execute(
        sql, [*_visible_params(vendor, user_id, space_id), *params]
    ).fetchall()
    match = _matcher(query.search)
    if match is not None:
        rows = [row for row in rows if match(row)]
    return _sorted(rows, query.sort if query.sort in SORTS else DEFAULT_SORT)


def _visible_params(vendor: str, user_id: int, space_id: int) -> list[object]:
    stamp = _stamp(vendor, dt.datetime.now(dt.UTC))
    return [user_id, stamp, stamp, space_id]


def _mandates_of(
    vendor: str,
    user_id: int,
    space_id: int,
    employer_ids: Sequence[int],
    domains: dict[int, Domain] | None = None,
) -> dict[int, list[HeldMandate]]:
    if not employer_ids:
        return {}
    marks = ", ".join(["%s"] * len(employer_ids))
    rows = _execute(
        f"SELECT v.mandate_id, v.employer_id, v.domain_id, v.level, v.since, v.valid_until"  # noqa: S608 - placeholders only
        f" FROM ({_VISIBLE}) v WHERE v.employer_id IN ({marks})",
        [*_visible_params(vendor, user_id, space_id), *employer_ids],
    ).fetchall()
    domains = domains or _domains()
    held: dict[int, list[HeldMandate]] = {}
    for mandate_id, employer_id, domain_id, level, since, until in rows:
        held.setdefault(employer_id, []).append(
            HeldMandate(
                mandate_id, domains[domain_id], level, _as_datetime(since), _as_datetime(until)
            )
        )
    for mandates in held.values():
        mandates.sort(key=lambda m: (m.domain.institution_id, m.domain.position, m.domain.code))
    return held


def _domains() -> dict[int, Domain]:
    return {domain.pk: domain for domain in Domain.objects.all()}


def holds_clients(*, space: Space) -> bool:
    """Whether the space has a client list: it holds obtained mandates or is a representative's."""
    if (
        space.organisation_id is not None
        and Representative.objects.filter(organisation_id=space.organisation_id).exists()
    ):
        return True
    return Mandate.objects.filter(
        grantee_space=space, status=MandateStatus.ACTIVE, kind=MandateKind.OBTAINED
    ).exists()


def employer_named(employer_id: int) -> Employer:
    return Employer.objects.only("name", "employer_number").get(pk=employer_id)


def client_domains() -> list[Domain]:
    """The domains a client list can be filtered on: the catalogue's, in its order."""
    return list(
        Domain.objects.select_related("institution").order_by(
            "institution__code", "position", "code"
        )
    )


def client_page(*, user_id: int, space_id: int, query: ClientQuery) -> ClientPage:
    """One page of the clients of ``space_id`` that ``user_id`` may consult, with their mandates.

    Callers check first that the person is a member of the space (``access_space``);
    the rule then limits the rows to what that membership reaches. A page past the
    end shows the last page.
    """
    rows = _matching(user_id, space_id, query)
    total = len(rows)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, query.page), pages)
    part = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    vendor, _ = policies.driver()
    held = _mandates_of(vendor, user_id, space_id, [row[0] for row in part])
    return ClientPage(
        rows=[_client_row(row, held) for row in part], total=total, page=page, pages=pages
    )


def _client_row(row: _Row, held: dict[int, list[HeldMandate]]) -> ClientRow:
    return ClientRow(row[0], row[1], row[2], _as_datetime(row[3]), held.get(row[0], []))


def iter_clients(
    *, user_id: int, space_id: int, query: ClientQuery, chunk: int = 500
) -> Iterator[ClientRow]:
    """Every matching client in the list's order, with its mandates, ``chunk`` at a time."""
    rows = _matching(user_id, space_id, query)
    vendor, _ = policies.driver()
    domains = _domains()
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        held = _mandates_of(vendor, user_id, space_id, [row[0] for row in part], domains)
        for row in part:
            yield _client_row(row, held)


def client_of_space(*, user_id: int, space_id: int, employer_id: int) -> list[HeldMandate]:
    """The mandates of one client this person may consult in this space; empty when none."""
    vendor, _ = policies.driver()
    return _mandates_of(vendor, user_id, space_id, [employer_id]).get(employer_id, [])


@dataclass(frozen=True)
class ActingClient:
    space_id: int
    space_name: str
    employer_id: int
    employer_name: str
    employer_number: str


_ACTING_SQL = (
    "SELECT sp.name, e.name, e.employer_number"  # noqa: S608 - constants and placeholders only
    f" FROM ({_VISIBLE}) v JOIN registry_employer e ON e.id = v.employer_id"
    " JOIN spaces_space sp ON sp.id = v.grantee_space_id WHERE v.employer_id = %s LIMIT 1"
)


def acting_client(*, user_id: int, space_id: int, employer_id: int) -> ActingClient | None:
    """The client and space named, if this person may still consult that client there.

    One indexed look-up, cheap enough to run on every page (the acting banner).
    """
    vendor, _ = policies.driver()
    found = _execute(
        _ACTING_SQL, [*_visible_params(vendor, user_id, space_id), employer_id]
    ).fetchone()
    if found is None:
        return None
    return ActingClient(space_id, found[0], employer_id, found[1], found[2])
