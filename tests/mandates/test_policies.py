"""The one question: ``can``, ``employers_for`` and the helpers built on them.

Every change that takes a right away is checked on the very next call of both
faces of the rule, ``can`` and ``employers_for``, with no other call between.
The oracle test (test_policy_oracle.py) checks the same rule over random
histories; these tests name each case.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import islice

import pytest

from mandat.accounts.models import User
from mandat.catalog.models import Domain
from mandat.core import time
from mandat.core.errors import NotFoundOrForbidden
from mandat.core.models import AuditEvent
from mandat.mandates import services as mandate_services
from mandat.mandates.models import Mandate, MandateStatus
from mandat.mandates.policies import (
    EmployerPage,
    access_employer,
    access_mandate,
    authorize,
    can,
    employers_for,
    iter_employers_for,
)
from mandat.registry.models import Employer
from mandat.spaces import services as space_services
from mandat.spaces.models import Membership, Space
from tests import factories

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)
MICROSECOND = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class Firm:
    """A representative's space with a collaborator, and one client holding a mandate there."""

    employer: Employer
    boss: User  # admin of the employer's own space: may revoke
    partner: User  # admin of the firm's space: adds members, restricts, renounces
    clerk: User  # collaborator of the firm
    space: Space
    membership: Membership  # the clerk's
    mandate: Mandate
    domain: Domain


def firm_with_client(
    level: str = "act",
    *,
    valid_from: dt.datetime | None = None,
    valid_until: dt.datetime | None = None,
) -> Firm:
    employer = factories.employer()
    boss = factories.user()
    factories.space_of(employer.organisation, admin=boss)
    partner, clerk = factories.user(), factories.user()
    space = factories.space_of(factories.representative().organisation, admin=partner)
    membership = space_services.member_add(by=partner, space=space, user=clerk)
    mandate = factories.mandate(
        employer_=employer,
        space=space,
        level=level,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    return Firm(employer, boss, partner, clerk, space, membership, mandate, factories.domain())


def certify_own_space(firm: Firm) -> None:
    """The employer's own space certified to act in the firm's domain: its admin may revoke."""
    own = factories.space_of(firm.employer.organisation)
    factories.mandate(employer_=firm.employer, space=own, domain_code=firm.domain.code)


# More than any test here lists: a paging bug that never ends fails instead of hanging.
ENOUGH = 1000


def listed(user: User, domain: Domain, action: str, at: dt.datetime | None = None) -> list[int]:
    ids = list(islice(iter_employers_for(user, domain, action, at=at), ENOUGH))
    assert len(ids) < ENOUGH, "iter_employers_for does not end"
    return ids


def allowed(
    user: User, action: str, employer: Employer, domain: Domain, at: dt.datetime | None = None
) -> bool:
    """``can``, after checking that ``employers_for`` gives the same answer."""
    answer = can(user, action, employer, domain, at=at)
    assert (employer.pk in listed(user, domain, action, at)) == answer, "the two faces differ"
    return answer


# ---------------------------------------------------------------------------
# Levels, domains, spaces.


def test_act_covers_consult_but_consult_does_not_cover_act() -> None:
    acting = firm_with_client(level="act")
    consulting = firm_with_client(level="consult")

    assert allowed(acting.clerk, "act", acting.employer, acting.domain)
    assert allowed(acting.clerk, "consult", acting.employer, acting.domain)
    assert allowed(consulting.clerk, "consult", consulting.employer, consulting.domain)
    assert not allowed(consulting.clerk, "act", consulting.employer, consulting.domain)


def test_a_mandate_covers_its_own_employer_domain_and_space_only() -> None:
    firm = firm_with_client()
    other_employer = factories.employer()
    other_domain = factories.domain("BILLING")
    outsider = factories.user()
    factories.space_of(factories.representative().organisation, admin=outsider)

    assert not allowed(firm.clerk, "consult", other_employer, firm.domain)
    assert not allowed(firm.clerk, "consult", firm.employer, other_domain)
    assert not allowed(outsider, "consult", firm.employer, firm.domain)


def test_the_employers_own_space_acts_through_its_primary_mandate() -> None:
    employer = factories.employer()
    boss = factories.user()
    space = factories.space_of(employer.organisation, admin=boss)
    domain = factories.domain()
    assert not allowed(boss, "act", employer, domain)

    factories.mandate(employer_=employer, space=space, level="act")

    assert allowed(boss, "act", employer, domain)


def test_a_pending_mandate_gives_nothing_until_it_is_activated() -> None:
    firm = firm_with_client()
    other = factories.employer()
    pending = factories.mandate(employer_=other, space=firm.space, activate=False)
    assert not allowed(firm.clerk, "consult", other, firm.domain)

    mandate_services.mandate_activate(by=None, mandate=pending)

    assert allowed(firm.clerk, "consult", other, firm.domain)


def test_unknown_actions_are_refused() -> None:
    firm = firm_with_client()
    with pytest.raises(ValueError, match="unknown action"):
        can(firm.clerk, "delete", firm.employer, firm.domain)
    with pytest.raises(ValueError, match="unknown action"):
        employers_for(firm.clerk, firm.domain, "delete")
    with pytest.raises(ValueError, match="unknown action"):
        listed(firm.clerk, firm.domain, "Act")


@pytest.mark.parametrize("limit", [0, 10_001])
def test_a_page_size_out_of_range_is_refused(limit: int) -> None:
    firm = firm_with_client()
    with pytest.raises(ValueError, match="limit"):
        employers_for(firm.clerk, firm.domain, "act", limit=limit)


# ---------------------------------------------------------------------------
# Everything that takes a right away applies to the very next call.


def test_a_revocation_applies_to_the_very_next_call() -> None:
    firm = firm_with_client()
    assert allowed(firm.clerk, "act", firm.employer, firm.domain)

    certify_own_space(firm)
    mandate_services.mandate_revoke(by=firm.boss, mandate=firm.mandate)

    assert not can(firm.clerk, "act", firm.employer, firm.domain)
    assert listed(firm.clerk, firm.domain, "consult") == []


def test_a_renunciation_applies_to_the_very_next_call() -> None:
    firm = firm_with_client()
    assert allowed(firm.clerk, "act", firm.employer, firm.domain)

    mandate_services.mandate_renounce(by=firm.partner, mandate=firm.mandate)

    assert not can(firm.clerk, "consult", firm.employer, firm.domain)
    assert listed(firm.clerk, firm.domain, "consult") == []


def test_a_mandate_stops_at_its_end_before_the_sweep_and_stays_ended_after_it() -> None:
    start = time.now()
    end = start + 2 * HOUR
    firm = firm_with_client(valid_from=start, valid_until=end)

    assert allowed(firm.clerk, "act", firm.employer, firm.domain, at=end - MICROSECOND)
    # The window is half-open: at its very end the mandate no longer counts, sweep or not.
    assert not can(firm.clerk, "act", firm.employer, firm.domain, at=end)
    assert employers_for(firm.clerk, firm.domain, "act", at=end).employer_ids == []
    # A moment given in another time zone is the same moment.
    elsewhere = dt.timezone(dt.timedelta(hours=-5))
    assert not can(firm.clerk, "act", firm.employer, firm.domain, at=end.astimezone(elsewhere))
    assert can(firm.clerk, "act", firm.employer, firm.domain, at=(end - HOUR).astimezone(elsewhere))

    assert mandate_services.mandates_expire_due(now=end) == 1

    firm.mandate.refresh_from_db()
    assert firm.mandate.status == MandateStatus.EXPIRED
    # Expired is final: even a moment inside the old window is refused now.
    assert not can(firm.clerk, "act", firm.employer, firm.domain, at=start + HOUR)
    assert employers_for(firm.clerk, firm.domain, "act", at=start + HOUR).employer_ids == []


def test_a_mandate_past_its_end_is_refused_now_even_before_the_sweep() -> None:
    now = time.now()
    firm = firm_with_client(valid_from=now - 2 * HOUR, valid_until=now - HOUR)

    assert not can(firm.clerk, "act", firm.employer, firm.domain)
    assert listed(firm.clerk, firm.domain, "act") == []
    firm.mandate.refresh_from_db()
    assert firm.mandate.status == MandateStatus.ACTIVE  # the sweep has not run


def test_a_mandate_that_starts_later_is_not_yet_valid() -> None:
    start = time.now() + HOUR
    firm = firm_with_client(valid_from=start)

    assert not allowed(firm.clerk, "act", firm.employer, firm.domain)
    assert not allowed(firm.clerk, "act", firm.employer, firm.domain, at=start - MICROSECOND)
    assert allowed(firm.clerk, "act", firm.employer, firm.domain, at=start)


def test_removing_a_member_applies_to_the_very_next_call() -> None:
    firm = firm_with_client()
    assert allowed(firm.clerk, "act", firm.employer, firm.domain)

    space_services.member_remove(by=firm.partner, membership=firm.membership)

    assert not can(firm.clerk, "consult", firm.employer, firm.domain)
    assert listed(firm.clerk, firm.domain, "consult") == []


def test_a_member_who_comes_back_does_not_keep_old_restrictions_or_rights_from_elsewhere() -> None:
    firm = firm_with_client()
    space_services.member_restrict(
        by=firm.partner, membership=firm.membership, employers=[], domains=None
    )
    space_services.member_remove(by=firm.partner, membership=firm.membership)
    assert not allowed(firm.clerk, "act", firm.employer, firm.domain)

    space_services.member_add(by=firm.partner, space=firm.space, user=firm.clerk)

    assert allowed(firm.clerk, "act", firm.employer, firm.domain)


def test_restricting_a_member_to_some_employers_applies_to_the_very_next_call() -> None:
    firm = firm_with_client()
    second = factories.employer()
    factories.mandate(employer_=second, space=firm.space)
    assert listed(firm.clerk, firm.domain, "act") == sorted([firm.employer.pk, second.pk])

    space_services.member_restrict(
        by=firm.partner, membership=firm.membership, employers=[second], domains=None
    )

    assert not can(firm.clerk, "act", firm.employer, firm.domain)
    assert can(firm.clerk, "act", second, firm.domain)
    assert listed(firm.clerk, firm.domain, "act") == [second.pk]
    # The partner, an administrator, is never restricted.
    assert listed(firm.partner, firm.domain, "act") == sorted([firm.employer.pk, second.pk])

    space_services.member_restrict(
        by=firm.partner, membership=firm.membership, employers=[], domains=None
    )

    assert not can(firm.clerk, "act", second, firm.domain)
    assert listed(firm.clerk, firm.domain, "act") == []

    space_services.member_restrict(
        by=firm.partner, membership=firm.membership, employers=None, domains=None
    )

    assert listed(firm.clerk, firm.domain, "act") == sorted([firm.employer.pk, second.pk])


def test_restricting_a_member_to_some_domains_applies_to_the_very_next_call() -> None:
    firm = firm_with_client()
    billing = factories.domain("BILLING")
    factories.mandate(employer_=firm.employer, space=firm.space, domain_code="BILLING")
    assert allowed(firm.clerk, "act", firm.employer, billing)

    space_services.member_restrict(
        by=firm.partner, membership=firm.membership, employers=None, domains=[billing]
    )

    assert not can(firm.clerk, "act", firm.employer, firm.domain)
    assert listed(firm.clerk, firm.domain, "act") == []
    assert allowed(firm.clerk, "act", firm.employer, billing)

    space_services.member_restrict(
        by=firm.partner, membership=firm.membership, employers=None, domains=[]
    )

    assert not can(firm.clerk, "act", firm.employer, billing)
    assert listed(firm.clerk, billing, "act") == []


def test_a_restriction_in_one_space_does_not_limit_the_member_in_another() -> None:
    firm = firm_with_client()
    partner2 = factories.user()
    space2 = factories.space_of(factories.representative().organisation, admin=partner2)
    factories.mandate(employer_=firm.employer, space=space2)
    space_services.member_add(by=partner2, space=space2, user=firm.clerk)

    space_services.member_restrict(
        by=firm.partner, membership=firm.membership, employers=[], domains=[]
    )

    assert allowed(firm.clerk, "act", firm.employer, firm.domain)  # through space2


def test_a_deactivated_user_is_refused_at_the_very_next_call() -> None:
    firm = firm_with_client()
    assert allowed(firm.clerk, "act", firm.employer, firm.domain)

    # No service switches accounts off yet; the policy reads the flag itself.
    User.objects.filter(pk=firm.clerk.pk).update(is_active=False)

    assert not can(firm.clerk.pk, "consult", firm.employer, firm.domain)
    assert listed(firm.clerk, firm.domain, "consult") == []

    User.objects.filter(pk=firm.clerk.pk).update(is_active=True)

    assert allowed(firm.clerk, "act", firm.employer, firm.domain)


def test_a_closed_space_gives_nothing_at_the_very_next_call() -> None:
    firm = firm_with_client()
    assert allowed(firm.clerk, "act", firm.employer, firm.domain)

    # No service closes spaces yet; the policy reads the column itself.
    Space.objects.filter(pk=firm.space.pk).update(closed_at=time.now())

    assert not can(firm.clerk, "consult", firm.employer, firm.domain)
    assert listed(firm.clerk, firm.domain, "consult") == []
    assert listed(firm.partner, firm.domain, "consult") == []


# ---------------------------------------------------------------------------
# employers_for: complete, ordered and duplicate-free, page after page.


@dataclass(frozen=True)
class TwoFirms:
    clerk: User  # a member of both firms' spaces
    domain: Domain
    employers: list[Employer]
    expected: list[int]  # ids of the employers the clerk may act for, ascending


@pytest.fixture
def two_firms() -> TwoFirms:
    """A clerk in two firms that hold mandates for overlapping sets of clients.

    Firm A holds ``act`` for clients 0-8, firm B for clients 5-11 (``act``) and
    12 (``consult``); clients 13 and 14 have mandates elsewhere only, or none.
    """
    clerk = factories.user()
    employers = [factories.employer() for _ in range(15)]
    spaces = []
    for _ in range(2):
        partner = factories.user()
        space = factories.space_of(factories.representative().organisation, admin=partner)
        space_services.member_add(by=partner, space=space, user=clerk)
        spaces.append(space)
    first, second = spaces
    for employer in employers[:9]:
        factories.mandate(employer_=employer, space=first)
    for employer in employers[5:12]:
        factories.mandate(employer_=employer, space=second)
    factories.mandate(employer_=employers[12], space=second, level="consult")
    stranger_space = factories.space_of(factories.representative().organisation)
    factories.mandate(employer_=employers[13], space=stranger_space)
    expected = sorted(employer.pk for employer in employers[:12])
    return TwoFirms(clerk, factories.domain(), employers, expected)


def walk(firm: TwoFirms, limit: int, action: str = "act") -> list[list[int]]:
    pages: list[list[int]] = []
    after = 0
    while True:
        page = employers_for(firm.clerk, firm.domain, action, after=after, limit=limit)
        assert len(page.employer_ids) <= limit
        pages.append(page.employer_ids)
        if page.next_after is None:
            assert len(page.employer_ids) < limit
            return pages
        assert page.next_after == page.employer_ids[-1]
        after = page.next_after
        assert len(pages) <= len(firm.employers) + 1, "the pages do not end"


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 11, 12, 13, 100])
def test_pages_are_complete_ordered_and_free_of_duplicates(two_firms: TwoFirms, limit: int) -> None:
    pages = walk(two_firms, limit)
    ids = [pk for page in pages for pk in page]

    assert ids == two_firms.expected
    assert all(len(page) == limit for page in pages[:-1])
    by_can = [e.pk for e in two_firms.employers if can(two_firms.clerk, "act", e, two_firms.domain)]
    assert sorted(by_can) == ids
    consulting = [pk for page in walk(two_firms, limit, "consult") for pk in page]
    assert consulting == sorted([*two_firms.expected, two_firms.employers[12].pk])


def test_iter_employers_for_lists_every_page(two_firms: TwoFirms) -> None:
    for chunk in (1, 4, 5000):
        pages = iter_employers_for(two_firms.clerk, two_firms.domain, "act", chunk=chunk)
        found = list(islice(pages, ENOUGH))
        assert found == two_firms.expected


def test_pages_stay_ordered_and_complete_while_mandates_change(two_firms: TwoFirms) -> None:
    employers, clerk, domain = two_firms.employers, two_firms.clerk, two_firms.domain
    first = employers_for(clerk, domain, "act", limit=4)
    assert first.employer_ids == two_firms.expected[:4]
    # Between two pages: a client already listed loses its mandate in firm A, one
    # still to come loses it in both firms, and a new client appears ahead of the cursor.
    agent = factories.agent()
    for mandate in Mandate.objects.filter(employer=employers[0], status=MandateStatus.ACTIVE):
        mandate_services.mandate_revoke(by=agent, mandate=mandate)
    for mandate in Mandate.objects.filter(employer=employers[7], status=MandateStatus.ACTIVE):
        mandate_services.mandate_revoke(by=agent, mandate=mandate)
    latecomer = factories.employer()
    factories.mandate(employer_=latecomer, space=Membership.objects.filter(user=clerk)[0].space)

    rest: list[int] = []
    after = first.next_after
    while after is not None and len(rest) < ENOUGH:
        page = employers_for(clerk, domain, "act", after=after, limit=4)
        rest.extend(page.employer_ids)
        after = page.next_after

    seen = first.employer_ids + rest
    assert seen == sorted(set(seen)), "a page repeated or reordered an employer"
    still_allowed = set(two_firms.expected) - {employers[0].pk, employers[7].pk}
    # Every employer allowed throughout the walk is listed once; the one revoked
    # midway is not, and the newcomer (whose id is past the cursor) is.
    assert still_allowed - set(first.employer_ids) <= set(rest)
    assert employers[7].pk not in rest
    assert latecomer.pk in rest


def test_a_user_without_any_membership_has_no_employers() -> None:
    firm = firm_with_client()
    stranger = factories.user()

    assert employers_for(stranger, firm.domain, "consult") == EmployerPage([], None)
    assert listed(stranger, firm.domain, "consult") == []


# ---------------------------------------------------------------------------
# access_employer and access_mandate: one answer for missing and forbidden.


def assert_same_refusal(missing: NotFoundOrForbidden, forbidden: NotFoundOrForbidden) -> None:
    assert type(missing) is type(forbidden) is NotFoundOrForbidden
    assert missing.code == forbidden.code
    assert str(missing) == str(forbidden)
    assert missing.params == forbidden.params


def test_access_employer_returns_the_employer_one_may_act_for() -> None:
    firm = firm_with_client(level="consult")

    found = access_employer(
        user=firm.clerk, employer_id=firm.employer.pk, domain=firm.domain, action="consult"
    )

    assert found == firm.employer


def test_access_employer_says_the_same_for_missing_and_forbidden() -> None:
    firm = firm_with_client(level="consult")
    missing_id = Employer.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000

    with pytest.raises(NotFoundOrForbidden) as missing:
        access_employer(user=firm.clerk, employer_id=missing_id, domain=firm.domain, action="act")
    with pytest.raises(NotFoundOrForbidden) as forbidden:  # consult only, not act
        access_employer(
            user=firm.clerk, employer_id=firm.employer.pk, domain=firm.domain, action="act"
        )
    with pytest.raises(NotFoundOrForbidden) as stranger:
        access_employer(
            user=factories.user(), employer_id=firm.employer.pk, domain=firm.domain, action="act"
        )

    assert_same_refusal(missing.value, forbidden.value)
    assert_same_refusal(missing.value, stranger.value)


def test_access_mandate_shows_it_to_its_holders_the_employers_admins_and_agents() -> None:
    firm = firm_with_client()

    for user in (firm.clerk, firm.partner, firm.boss, factories.agent()):
        assert access_mandate(user=user, mandate_id=firm.mandate.pk) == firm.mandate


def test_access_mandate_says_the_same_for_missing_and_forbidden() -> None:
    firm = firm_with_client()
    missing_id = Mandate.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    space_services.member_remove(by=firm.partner, membership=firm.membership)

    with pytest.raises(NotFoundOrForbidden) as missing:
        access_mandate(user=firm.partner, mandate_id=missing_id)
    with pytest.raises(NotFoundOrForbidden) as stranger:
        access_mandate(user=factories.user(), mandate_id=firm.mandate.pk)
    with pytest.raises(NotFoundOrForbidden) as removed:
        access_mandate(user=firm.clerk, mandate_id=firm.mandate.pk)

    assert_same_refusal(missing.value, stranger.value)
    assert_same_refusal(missing.value, removed.value)


def test_access_mandate_refuses_a_deactivated_holder() -> None:
    firm = firm_with_client()
    clerk = User.objects.get(pk=firm.clerk.pk)
    clerk.is_active = False
    clerk.save(update_fields=["is_active"])

    with pytest.raises(NotFoundOrForbidden):
        access_mandate(user=clerk, mandate_id=firm.mandate.pk)


# ---------------------------------------------------------------------------
# authorize: every check that guards a mutation is in the audit trail.
#
# authorize() must run outside any transaction, so these tests commit: they use
# a transactional database, which Django empties after each test. On SQLite it
# empties tables with DELETE, which the audit table's append-only triggers
# refuse (the flush fails, and so does every later one in that process);
# PostgreSQL uses TRUNCATE, which row triggers do not see. So, on SQLite,
# ``audit_trail_emptied_after`` deletes the test's audit events itself, before
# Django's flush, with the triggers dropped for that one statement and created
# again, in the same transaction, from the migration that made them.
# serialized_rollback reloads, before each of these tests, the rows that the
# migrations seeded (the CCSS catalogue, the chain head) and a flush removes.

committing = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def checks_since(seq: int) -> list[AuditEvent]:
    return [e for e in factories.audit_events_since(seq) if e.action == "authz.checked"]


@committing
def test_authorize_records_an_allowed_check(audit_trail_emptied_after: None) -> None:
    firm = firm_with_client()
    seq = factories.audit_seq()

    assert authorize(firm.clerk, "act", firm.employer, firm.domain, purpose="payroll.submit")

    [event] = factories.audit_events_since(seq)
    assert event.action == "authz.checked"
    assert event.actor_id == firm.clerk.pk
    assert event.employer_id == firm.employer.pk
    assert event.data == {
        "action": "act",
        "domain": firm.domain.pk,
        "purpose": "payroll.submit",
        "allowed": True,
    }


@committing
def test_authorize_records_a_denied_check(audit_trail_emptied_after: None) -> None:
    firm = firm_with_client(level="consult")
    stranger = factories.user()
    seq = factories.audit_seq()

    assert not authorize(firm.clerk, "act", firm.employer.pk, firm.domain, purpose="p1")
    assert not authorize(stranger, "consult", firm.employer, firm.domain.pk, purpose="p2")

    events = checks_since(seq)
    assert [(e.actor_id, e.employer_id, e.data["allowed"], e.data["purpose"]) for e in events] == [
        (firm.clerk.pk, firm.employer.pk, False, "p1"),
        (stranger.pk, firm.employer.pk, False, "p2"),
    ]


@committing
def test_authorize_follows_a_revocation_at_once(audit_trail_emptied_after: None) -> None:
    firm = firm_with_client()
    seq = factories.audit_seq()
    assert authorize(firm.clerk, "act", firm.employer, firm.domain, purpose="before")

    certify_own_space(firm)
    mandate_services.mandate_revoke(by=firm.boss, mandate=firm.mandate)

    assert not authorize(firm.clerk, "act", firm.employer, firm.domain, purpose="after")
    assert [e.data["allowed"] for e in checks_since(seq)] == [True, False]


def test_authorize_refuses_to_run_inside_a_transaction() -> None:
    # This test, like every non-transactional one, runs inside a transaction.
    firm = firm_with_client()
    seq = factories.audit_seq()

    with pytest.raises(RuntimeError, match="before the guarded mutation"):
        authorize(firm.clerk, "act", firm.employer, firm.domain, purpose="x")

    assert factories.audit_events_since(seq) == []


@committing
def test_authorize_refuses_an_unknown_action_and_records_nothing(
    audit_trail_emptied_after: None,
) -> None:
    firm = firm_with_client()
    seq = factories.audit_seq()

    with pytest.raises(ValueError, match="unknown action"):
        authorize(firm.clerk, "erase", firm.employer, firm.domain, purpose="x")

    assert factories.audit_events_since(seq) == []
