from __future__ import annotations

import pytest

from mandat.accounts.models import User
from mandat.core import time
from mandat.mandates.policies import can
from mandat.registry.models import Employer, Organisation
from mandat.spaces import selectors, services
from mandat.spaces.models import Membership, Role, Space, SpaceKind
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner() -> User:
    return factories.user("owner")


@pytest.fixture
def employer() -> Employer:
    return factories.employer("Boulangerie Demo S.à r.l.")


@pytest.fixture
def space(owner: User, employer: Employer) -> Space:
    return services.space_create(
        by=owner, kind=SpaceKind.PROFESSIONAL, organisation=employer.organisation
    )


def _membership(space: Space, user: User) -> Membership:
    return Membership.objects.get(space=space, user=user, removed_at__isnull=True)


def _active_members(space: Space) -> set[int]:
    return {m.user_id for m in selectors.members_of_space(space=space)}


# Procedure A: create a space


def test_the_creator_of_a_professional_space_becomes_its_admin(
    owner: User, employer: Employer
) -> None:
    seq = factories.audit_seq()
    space = services.space_create(
        by=owner, kind=SpaceKind.PROFESSIONAL, organisation=employer.organisation
    )
    assert space.name == employer.organisation.name
    assert _membership(space, owner).role == Role.ADMIN
    [event] = factories.audit_events_since(seq)
    assert (event.action, event.actor_id, event.employer_id) == (
        "space.created",
        owner.pk,
        employer.pk,
    )


def test_a_representatives_space_is_filed_under_no_employer(owner: User) -> None:
    firm = factories.representative("Salary S.A.")
    seq = factories.audit_seq()
    services.space_create(by=owner, kind=SpaceKind.PROFESSIONAL, organisation=firm.organisation)
    [event] = factories.audit_events_since(seq)
    assert event.action == "space.created"
    assert event.employer_id is None


def test_an_organisation_has_one_open_professional_space(space: Space) -> None:
    other = factories.user()
    with factories.refused("space_exists", Space, Membership):
        services.space_create(
            by=other, kind=SpaceKind.PROFESSIONAL, organisation=space.organisation
        )


def test_a_closed_professional_space_makes_room_for_a_new_one(space: Space) -> None:
    Space.objects.filter(pk=space.pk).update(closed_at=time.now())
    other = factories.user()
    fresh = services.space_create(
        by=other, kind=SpaceKind.PROFESSIONAL, organisation=space.organisation, name="Reopened"
    )
    assert fresh.pk != space.pk
    assert fresh.name == "Reopened"


def test_a_professional_space_needs_an_organisation(owner: User) -> None:
    with factories.refused("organisation_required", Space, Membership):
        services.space_create(by=owner, kind=SpaceKind.PROFESSIONAL)


def test_a_person_gets_a_private_space_once(owner: User) -> None:
    private = services.space_create(by=owner, kind=SpaceKind.PRIVATE)
    assert (private.person_id, private.organisation_id) == (owner.pk, None)
    assert _membership(private, owner).role == Role.ADMIN
    with factories.refused("space_exists", Space, Membership):
        services.space_create(by=owner, kind=SpaceKind.PRIVATE)


def test_two_people_each_get_a_private_space(owner: User) -> None:
    first = services.space_create(by=owner, kind=SpaceKind.PRIVATE)
    second = services.space_create(by=factories.user(), kind=SpaceKind.PRIVATE)
    assert first.pk != second.pk


def test_an_unknown_space_kind_is_a_programming_error(owner: User) -> None:
    with pytest.raises(ValueError, match="unknown space kind"):
        services.space_create(by=owner, kind="shared", organisation=factories.organisation())
    assert not Space.objects.filter(kind="shared").exists()


# Procedure D: members


def test_an_admin_adds_a_collaborator(space: Space, owner: User, employer: Employer) -> None:
    clerk = factories.user()
    seq = factories.audit_seq()
    membership = services.member_add(by=owner, space=space, user=clerk)
    assert membership.role == Role.COLLABORATOR
    assert _active_members(space) == {owner.pk, clerk.pk}
    assert selectors.access_space(user=clerk, space_id=space.pk) == space
    [event] = factories.audit_events_since(seq)
    assert (event.action, event.actor_id, event.employer_id) == (
        "space.member_added",
        owner.pk,
        employer.pk,
    )
    assert event.data == {"space": space.pk, "user": clerk.pk, "role": "collaborator"}


def test_an_admin_adds_another_admin(space: Space, owner: User) -> None:
    deputy = factories.user()
    services.member_add(by=owner, space=space, user=deputy, role=Role.ADMIN)
    assert selectors.is_admin(user=deputy, space=space)


def test_a_collaborator_cannot_add_members(space: Space, owner: User) -> None:
    clerk = factories.user()
    services.member_add(by=owner, space=space, user=clerk)
    newcomer = factories.user()
    with factories.refused("space_admin_required", Membership):
        services.member_add(by=clerk, space=space, user=newcomer)


def test_a_stranger_cannot_add_members(space: Space) -> None:
    stranger, newcomer = factories.user(), factories.user()
    with factories.refused("space_admin_required", Membership):
        services.member_add(by=stranger, space=space, user=newcomer)


def test_an_inactive_account_cannot_be_added(space: Space, owner: User) -> None:
    dormant = factories.user(is_active=False)
    with factories.refused("user_inactive", Membership):
        services.member_add(by=owner, space=space, user=dormant)


def test_a_member_cannot_be_added_twice(space: Space, owner: User) -> None:
    clerk = factories.user()
    services.member_add(by=owner, space=space, user=clerk)
    with factories.refused("member_exists", Membership):
        services.member_add(by=owner, space=space, user=clerk, role=Role.ADMIN)


def test_a_removed_member_can_come_back(space: Space, owner: User) -> None:
    clerk = factories.user()
    first = services.member_add(by=owner, space=space, user=clerk)
    services.member_remove(by=owner, membership=first)
    again = services.member_add(by=owner, space=space, user=clerk)
    assert again.pk != first.pk
    assert clerk.pk in _active_members(space)


def test_an_admin_removes_a_member_at_once(space: Space, owner: User, employer: Employer) -> None:
    clerk = factories.user()
    membership = services.member_add(by=owner, space=space, user=clerk)
    seq = factories.audit_seq()
    services.member_remove(by=owner, membership=membership)
    membership.refresh_from_db()
    assert membership.removed_at is not None
    assert clerk.pk not in _active_members(space)
    assert not selectors.spaces_of_user(user=clerk).exists()
    [event] = factories.audit_events_since(seq)
    assert (event.action, event.actor_id, event.employer_id) == (
        "space.member_removed",
        owner.pk,
        employer.pk,
    )


def test_a_member_may_remove_themself(space: Space, owner: User) -> None:
    clerk = factories.user()
    membership = services.member_add(by=owner, space=space, user=clerk)
    services.member_remove(by=clerk, membership=membership)
    assert clerk.pk not in _active_members(space)


def test_a_collaborator_cannot_remove_someone_else(space: Space, owner: User) -> None:
    clerk, colleague = factories.user(), factories.user()
    services.member_add(by=owner, space=space, user=clerk)
    target = services.member_add(by=owner, space=space, user=colleague)
    with factories.refused("space_admin_required"):
        services.member_remove(by=clerk, membership=target)
    assert colleague.pk in _active_members(space)


def test_a_collaborator_cannot_remove_an_admin(space: Space, owner: User) -> None:
    deputy, clerk = factories.user(), factories.user()
    services.member_add(by=owner, space=space, user=deputy, role=Role.ADMIN)
    services.member_add(by=owner, space=space, user=clerk)
    with factories.refused("space_admin_required"):
        services.member_remove(by=clerk, membership=_membership(space, owner))
    assert selectors.is_admin(user=owner, space=space)


def test_the_last_admin_cannot_be_removed_even_by_themself(space: Space, owner: User) -> None:
    clerk = factories.user()
    services.member_add(by=owner, space=space, user=clerk)
    with factories.refused("last_admin"):
        services.member_remove(by=owner, membership=_membership(space, owner))
    assert selectors.is_admin(user=owner, space=space)


def test_an_admin_can_be_removed_while_another_remains(space: Space, owner: User) -> None:
    deputy = factories.user()
    services.member_add(by=owner, space=space, user=deputy, role=Role.ADMIN)
    services.member_remove(by=deputy, membership=_membership(space, owner))
    assert not selectors.is_admin(user=owner, space=space)
    with factories.refused("last_admin"):
        services.member_remove(by=deputy, membership=_membership(space, deputy))


def test_a_removed_member_cannot_be_removed_again(space: Space, owner: User) -> None:
    clerk = factories.user()
    membership = services.member_add(by=owner, space=space, user=clerk)
    services.member_remove(by=owner, membership=membership)
    with factories.refused("member_removed"):
        services.member_remove(by=owner, membership=membership)


def test_a_removed_admin_loses_admin_rights_at_once(space: Space, owner: User) -> None:
    deputy, newcomer = factories.user(), factories.user()
    deputy_membership = services.member_add(by=owner, space=space, user=deputy, role=Role.ADMIN)
    services.member_remove(by=owner, membership=deputy_membership)
    with factories.refused("space_admin_required", Membership):
        services.member_add(by=deputy, space=space, user=newcomer)


# Restrictions


@pytest.fixture
def firm_space(owner: User) -> Space:
    firm = factories.representative("Fiduciaire Test S.A.")
    return services.space_create(
        by=owner, kind=SpaceKind.PROFESSIONAL, organisation=firm.organisation
    )


def test_an_empty_restriction_is_real_and_none_lifts_it(firm_space: Space, owner: User) -> None:
    client = factories.employer()
    affiliations = factories.domain("AFFILIATIONS")
    factories.mandate(employer_=client, space=firm_space, level="act")
    clerk = factories.user()
    membership = services.member_add(by=owner, space=firm_space, user=clerk)
    assert can(clerk, "act", client, affiliations)

    seq = factories.audit_seq()
    services.member_restrict(by=owner, membership=membership, employers=[], domains=None)
    membership.refresh_from_db()
    assert membership.restrict_employers and not membership.restrict_domains
    assert list(membership.allowed_employers.all()) == []
    assert not can(clerk, "act", client, affiliations)
    [event] = factories.audit_events_since(seq)
    assert event.action == "space.member_restricted"
    assert event.data == {"employers": [], "domains": None}

    services.member_restrict(by=owner, membership=membership, employers=None, domains=None)
    lifted = Membership.objects.get(pk=membership.pk)
    assert not (lifted.restrict_employers or lifted.restrict_domains)
    assert can(clerk, "act", client, affiliations)


def test_a_member_is_restricted_to_some_clients_and_domains(firm_space: Space, owner: User) -> None:
    kept, other = factories.employer(), factories.employer()
    affiliations, billing = factories.domain("AFFILIATIONS"), factories.domain("BILLING")
    for client in (kept, other):
        for code in ("AFFILIATIONS", "BILLING"):
            factories.mandate(employer_=client, space=firm_space, domain_code=code)
    clerk = factories.user()
    membership = services.member_add(by=owner, space=firm_space, user=clerk)

    services.member_restrict(
        by=owner, membership=membership, employers=[kept, kept], domains=[billing]
    )
    membership.refresh_from_db()
    assert [e.pk for e in membership.allowed_employers.all()] == [kept.pk]
    assert [d.pk for d in membership.allowed_domains.all()] == [billing.pk]
    assert can(clerk, "act", kept, billing)
    assert not can(clerk, "act", kept, affiliations)
    assert not can(clerk, "act", other, billing)


def test_an_admin_cannot_be_restricted(firm_space: Space, owner: User) -> None:
    deputy = factories.user()
    membership = services.member_add(by=owner, space=firm_space, user=deputy, role=Role.ADMIN)
    with factories.refused("admin_unrestricted"):
        services.member_restrict(by=owner, membership=membership, employers=[], domains=[])
    membership.refresh_from_db()
    assert not (membership.restrict_employers or membership.restrict_domains)


def test_only_an_admin_restricts(firm_space: Space, owner: User) -> None:
    clerk, colleague = factories.user(), factories.user()
    services.member_add(by=owner, space=firm_space, user=clerk)
    target = services.member_add(by=owner, space=firm_space, user=colleague)
    with factories.refused("space_admin_required"):
        services.member_restrict(by=clerk, membership=target, employers=[], domains=None)
    with factories.refused("space_admin_required"):
        services.member_restrict(
            by=clerk, membership=_membership(firm_space, clerk), employers=None, domains=None
        )
    target.refresh_from_db()
    assert not target.restrict_employers


def test_a_removed_member_cannot_be_restricted(firm_space: Space, owner: User) -> None:
    clerk = factories.user()
    membership = services.member_add(by=owner, space=firm_space, user=clerk)
    services.member_remove(by=owner, membership=membership)
    with factories.refused("member_removed"):
        services.member_restrict(by=owner, membership=membership, employers=[], domains=None)
    membership.refresh_from_db()
    assert not membership.restrict_employers


def test_the_space_of_an_unregistered_organisation_is_filed_under_no_employer(
    owner: User,
) -> None:
    organisation: Organisation = factories.organisation()
    space = services.space_create(by=owner, kind=SpaceKind.PROFESSIONAL, organisation=organisation)
    seq = factories.audit_seq()
    services.member_add(by=owner, space=space, user=factories.user())
    [event] = factories.audit_events_since(seq)
    assert event.employer_id is None
