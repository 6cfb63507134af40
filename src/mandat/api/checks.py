"""``POST /check`` in one round trip: the client's liveness and the policy, one statement.

Every other call authenticates first (``auth.ClientToken`` reads the client row) and then
runs its queries. The single check sits on every request of payroll software, and on
PostgreSQL each statement is a round trip (about 0.2 ms here): the token, the client and
the rule would be three. ``client_check`` asks for the client and for the mandate at once.
The rule is ``policies.space_check``'s, written for this statement; a test holds the two
to the same answers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mandat.catalog.models import Level
from mandat.mandates import policies


def _levels(action: str) -> str:
    return ", ".join(f"'{level}'" for level in Level.covering(action))


# The first column is the client's liveness (as ``auth.ClientToken`` decides it:
# unrevoked, unexpired, its space open), the second the rule. Each is a scalar subquery on
# equality keys only: the client by its unique id, the domain by code, the employer by
# its (institution, number) key, the mandate by the (space, domain, employer) index. Both
# databases then look rows up; a plain join of the same tables let them walk every
# mandate of a firm (see policies._IDS_BY_CODE_SQL). The domains come first (a handful of
# rows), then each one's employer by the unique (institution, number) key: without
# statistics SQLite otherwise starts from the employers and reads all of them. It takes
# CROSS JOIN as an order to keep; PostgreSQL plans it as any join.
_SQL = {
    action: f"""SELECT
  (SELECT c.id FROM api_apiclient c JOIN spaces_space cs ON cs.id = c.space_id
   WHERE c.client_id = %s AND c.space_id = %s AND c.revoked_at IS NULL
     AND c.expires_at > %s AND cs.closed_at IS NULL),
  (SELECT MIN(found.mandate_id) FROM (
     SELECT (SELECT d.id FROM mandates_mandate d
             WHERE d.grantee_space_id = %s AND d.domain_id = dom.id AND d.employer_id = e.id
               AND d.status = 'active' AND d.level IN ({_levels(action)})
               AND d.valid_from <= %s AND (d.valid_until IS NULL OR d.valid_until > %s)
             LIMIT 1) AS mandate_id
     FROM catalog_domain dom CROSS JOIN registry_employer e
     WHERE dom.code = %s
       AND e.institution_id = dom.institution_id AND e.employer_number = %s) found)"""  # noqa: S608 - constant levels, bound parameters
    for action in Level.values
}


@dataclass(frozen=True)
class ClientCheck:
    """``client_pk`` is None when the client may not call now (revoked, expired, its space
    closed, or not of this space); ``mandate_id`` names the mandate that allows the action,
    None when none does or the employer is unknown (and always when the client may not)."""

    client_pk: int | None
    mandate_id: int | None


def client_check(
    client_id: str,
    space_id: int,
    action: str,
    employer_number: str,
    domain_code: str,
    at: dt.datetime | None = None,
) -> ClientCheck:
    if action not in _SQL:
        raise ValueError(f"unknown action {action!r}")
    moment = dt.datetime.now(dt.UTC) if at is None else at.astimezone(dt.UTC)
    # SQLite compares the text form Django's backend stores: naive UTC.
    stamp = str(moment.replace(tzinfo=None)) if policies.driver()[0] == "sqlite" else moment
    params = (client_id, space_id, stamp, space_id, stamp, stamp, domain_code, employer_number)
    client_pk, mandate_id = policies.execute_prepared(_SQL[action], params).fetchone()
    if client_pk is None:
        return ClientCheck(None, None)
    return ClientCheck(int(client_pk), None if mandate_id is None else int(mandate_id))


_DOMAIN_SQL = (
    "SELECT c.id FROM catalog_domain c JOIN catalog_institution i ON i.id = c.institution_id "
    "WHERE c.code = %s ORDER BY i.code LIMIT 1"
)


def domain_id_by_code(code: str) -> int | None:
    """The domain a code names (the first institution's, by code, when several share it), as
    ``endpoints.domain_by_code`` finds it, without building a model instance."""
    row = policies.execute_prepared(_DOMAIN_SQL, (code,)).fetchone()
    return None if row is None else int(row[0])
