"""Procedure D additions: adding with restrictions, leaving, clients by employer number."""

from __future__ import annotations

import pytest

from mandat.accounts.models import User
from mandat.core.errors import NotFoundOrForbidden
from mandat.mandates.policies import can
from mandat.spaces import selectors, services
from mandat.spaces.models import Membership, Role, Space
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner() -> User:
    return factories.user("owner")


@pytest.fixture
def firm_space(owner: User) -> Space:
    return factories.space_of(factories.representative("Fiduciaire S.A.").organisation, admin=owner)


def test_adding_with_restrictions_applies_them_in_the_same_step(
    firm_space: Space, owner: User
) -> None:
    kept, other = factories.employer(), factories.employer()
    for client in (kept, other):
        factories.mandate(employer_=client, space=firm_space)
    clerk = factories.user()
    seq = factories.audit_seq()
    membership = services.member_add(
        by=owner, space=firm_space, user=clerk, employers=[kept], domains=None
    )
    assert membership.restrict_employers and not membership.restrict_domains
    domain = factories.domain()
    assert can(clerk, "act", kept, domain) and not can(clerk, "act", other, domain)
    actions = [e.action for e in factories.audit_events_since(seq)]
    assert actions == ["space.member_added", "space.member_restricted"]


def test_adding_with_a_non_client_adds_nobody(firm_space: Space, owner: User) -> None:
    stranger, clerk = factories.employer(), factories.user()
    with factories.refused("not_a_client", Membership):
        services.member_add(by=owner, space=firm_space, user=clerk, employers=[stranger])


def test_an_admin_cannot_be_added_with_restrictions(firm_space: Space, owner: User) -> None:
    with factories.refused("admin_unrestricted", Membership):
        services.member_add(
            by=owner, space=firm_space, user=factories.user(), role=Role.ADMIN, employers=[]
        )


def test_a_member_leaves_and_the_last_admin_cannot(firm_space: Space, owner: User) -> None:
    client = factories.employer()
    factories.mandate(employer_=client, space=firm_space)
    clerk = factories.user()
    services.member_add(by=owner, space=firm_space, user=clerk)
    seq = factories.audit_seq()
    services.member_leave(by=clerk, space=firm_space)
    assert not can(clerk, "consult", client, factories.domain())
    [event] = factories.audit_events_since(seq)
    assert event.action == "space.member_left" and event.actor_id == clerk.pk
    with factories.refused("member_removed"):
        services.member_leave(by=clerk, space=firm_space)
    with factories.refused("last_admin"):
        services.member_leave(by=owner, space=firm_space)
    assert selectors.is_admin(user=owner, space=firm_space)


def test_members_are_found_only_in_their_own_space(firm_space: Space, owner: User) -> None:
    other = factories.space_of(factories.organisation(), admin=factories.user())
    foreign = other.memberships.get()
    mine = firm_space.memberships.get()
    assert selectors.access_membership(space=firm_space, membership_id=mine.pk) == mine
    with pytest.raises(NotFoundOrForbidden):
        selectors.access_membership(space=firm_space, membership_id=foreign.pk)


def test_clients_are_read_from_employer_numbers_and_bad_lines_named(firm_space: Space) -> None:
    client, stranger = factories.employer(), factories.employer()
    factories.mandate(employer_=client, space=firm_space)
    found = selectors.clients_by_numbers(
        space=firm_space,
        lines=[f" {client.employer_number} ", "", stranger.employer_number, client.employer_number],
    )
    assert found.clients == [client]
    assert found.bad_lines == [(3, stranger.employer_number)]


def test_an_employers_own_space_may_name_its_own_employer(owner: User) -> None:
    employer = factories.employer()
    space = factories.space_of(employer.organisation, admin=owner)
    found = selectors.clients_by_numbers(space=space, lines=[employer.employer_number])
    assert found.clients == [employer] and found.bad_lines == []
    assert selectors.not_clients(space=space, employer_ids=[employer.pk]) == set()


def test_an_ended_mandate_no_longer_makes_a_client(firm_space: Space, owner: User) -> None:
    from mandat.mandates import services as mandate_services

    client = factories.employer()
    mandate = factories.mandate(employer_=client, space=firm_space)
    mandate_services.mandate_revoke(by=factories.agent(), mandate=mandate)
    assert selectors.not_clients(space=firm_space, employer_ids=[client.pk]) == {client.pk}


def test_a_mandate_run_out_but_not_swept_no_longer_makes_a_client(firm_space: Space) -> None:
    import datetime as dt

    from mandat.core import time

    now, hour = time.now(), dt.timedelta(hours=1)
    ran_out, running = factories.employer(), factories.employer()
    factories.mandate(
        employer_=ran_out, space=firm_space, valid_from=now - 2 * hour, valid_until=now - hour
    )
    factories.mandate(employer_=running, space=firm_space, valid_until=now + hour)
    assert selectors.not_clients(space=firm_space, employer_ids=[ran_out.pk, running.pk]) == {
        ran_out.pk
    }
