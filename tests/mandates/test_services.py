from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.db.models.query import QuerySet

from mandat.accounts.models import User
from mandat.catalog.models import Domain
from mandat.core import time
from mandat.mandates import services
from mandat.mandates.models import EndCause, Mandate, MandateKind, MandateSource, MandateStatus
from mandat.mandates.policies import can
from mandat.registry import services as registry_services
from mandat.registry.models import Employer
from mandat.spaces import services as space_services
from mandat.spaces.models import Space, SpaceKind
from tests import factories

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class World:
    employer: Employer
    boss: User  # admin of the employer's own space
    own_space: Space
    firm_admin: User  # admin of a registered representative's space
    firm_space: Space
    domain: Domain


@pytest.fixture
def world() -> World:
    employer = factories.employer("Boulangerie Demo S.à r.l.")
    boss = factories.user("boss")
    firm = factories.representative("Salary S.A.")
    firm_admin = factories.user("firm-admin")
    return World(
        employer=employer,
        boss=boss,
        own_space=factories.space_of(employer.organisation, admin=boss),
        firm_admin=firm_admin,
        firm_space=factories.space_of(firm.organisation, admin=firm_admin),
        domain=factories.domain("AFFILIATIONS"),
    )


@pytest.fixture
def certified(world: World) -> World:
    """The world, with the employer's own space certified to act in its domain."""
    factories.mandate(employer_=world.employer, space=world.own_space, domain_code="AFFILIATIONS")
    return world


def _grant(world: World, **overrides: Any) -> Mandate:
    arguments: dict[str, Any] = {
        "by": None,
        "employer": world.employer,
        "domain": world.domain,
        "space": world.firm_space,
        "kind": MandateKind.OBTAINED,
        "level": "act",
    }
    arguments.update(overrides)
    return services.mandate_grant(**arguments)


@pytest.fixture
def blind_duplicate_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide committed mandates from ``exists()``, as a concurrent, not yet visible grant would be.

    The services' own check then passes and only the database constraint stands
    in the way, exactly as when two requests race.
    """
    real_exists = QuerySet.exists

    def exists(self: QuerySet[Any]) -> bool:
        return False if self.model is Mandate else real_exists(self)

    monkeypatch.setattr(QuerySet, "exists", exists)


# mandate_grant


def test_an_agent_grants_an_obtained_mandate_that_works_at_once(world: World) -> None:
    agent = factories.agent()
    clerk = factories.user()
    space_services.member_add(by=world.firm_admin, space=world.firm_space, user=clerk)
    seq = factories.audit_seq()
    mandate = _grant(world, by=agent, level="consult")
    assert (mandate.status, mandate.source, mandate.granted_by) == (
        MandateStatus.ACTIVE,
        MandateSource.AGENT,
        agent,
    )
    assert mandate.activated_at is not None
    assert can(clerk, "consult", world.employer, world.domain)
    assert not can(clerk, "act", world.employer, world.domain)
    [event] = factories.audit_events_since(seq)
    assert (event.action, event.actor_id, event.employer_id) == (
        "mandate.granted",
        agent.pk,
        world.employer.pk,
    )
    assert event.object_id == str(mandate.pk)
    assert event.data["kind"] == "obtained"
    assert event.data["space"] == world.firm_space.pk


def test_the_platform_grants_a_primary_mandate_to_the_employers_own_space(world: World) -> None:
    seq = factories.audit_seq()
    mandate = _grant(world, space=world.own_space, kind=MandateKind.PRIMARY)
    assert mandate.granted_by is None
    assert can(world.boss, "act", world.employer, world.domain)
    [event] = factories.audit_events_since(seq)
    assert (event.action, event.actor_id, event.employer_id) == (
        "mandate.granted",
        None,
        world.employer.pk,
    )


def test_a_person_who_is_not_an_agent_cannot_grant(world: World) -> None:
    with factories.refused("agent_required", Mandate):
        _grant(world, by=world.boss)


def test_an_inactive_agent_cannot_grant(world: World) -> None:
    retired = factories.user(agent=True, is_active=False)
    with factories.refused("agent_required", Mandate):
        _grant(world, by=retired)


def test_a_primary_mandate_goes_only_to_the_employers_own_space(world: World) -> None:
    with factories.refused("space_not_eligible", Mandate):
        _grant(world, space=world.firm_space, kind=MandateKind.PRIMARY)


def test_an_employer_does_not_obtain_a_mandate_from_itself(world: World) -> None:
    # Even a fiduciary that is its own employer holds its own rights as primary mandates.
    registry_services.representative_register(
        by=factories.agent(),
        organisation=world.employer.organisation,
        registration_number="2099999999999",
        denomination=world.employer.name,
        address=factories.ADDRESS,
    )
    with factories.refused("space_not_eligible", Mandate):
        _grant(world, space=world.own_space, kind=MandateKind.OBTAINED)


def test_only_a_registered_representatives_space_obtains_a_mandate(world: World) -> None:
    neighbour = factories.space_of(factories.organisation("Not A Representative"))
    with factories.refused("space_not_eligible", Mandate):
        _grant(world, space=neighbour)


def test_a_private_space_holds_no_mandate(world: World) -> None:
    private = space_services.space_create(by=world.firm_admin, kind=SpaceKind.PRIVATE)
    with factories.refused("space_not_eligible", Mandate):
        _grant(world, space=private)


def test_a_closed_space_holds_no_new_mandate(world: World) -> None:
    Space.objects.filter(pk=world.firm_space.pk).update(closed_at=time.now())
    world.firm_space.refresh_from_db()
    with factories.refused("space_not_eligible", Mandate):
        _grant(world)


def test_a_domain_of_another_institution_is_refused(world: World) -> None:
    foreign = Domain.objects.get(institution=factories.institution())
    with factories.refused("domain_mismatch", Mandate):
        _grant(world, domain=foreign)


@pytest.mark.parametrize("length", [dt.timedelta(0), -DAY])
def test_a_mandate_must_end_after_it_starts(world: World, length: dt.timedelta) -> None:
    start = time.now() + DAY
    with factories.refused("validity_invalid", Mandate):
        _grant(world, valid_from=start, valid_until=start + length)


def test_a_mandate_without_a_start_must_end_in_the_future(world: World) -> None:
    with factories.refused("validity_invalid", Mandate):
        _grant(world, valid_until=time.now() - DAY)


def test_a_space_holds_one_active_mandate_per_employer_and_domain(world: World) -> None:
    _grant(world, level="consult")
    with factories.refused("mandate_exists", Mandate):
        _grant(world, level="act")


def test_a_duplicate_that_slips_past_the_check_is_refused_by_the_database(
    world: World, blind_duplicate_check: None
) -> None:
    _grant(world)
    with factories.refused("mandate_exists", Mandate):
        _grant(world)
    assert Mandate.objects.filter(status=MandateStatus.ACTIVE).count() == 1


def test_the_same_space_may_hold_mandates_for_other_domains_and_employers(world: World) -> None:
    _grant(world)
    _grant(world, domain=factories.domain("BILLING"))
    _grant(world, employer=factories.employer())
    assert Mandate.objects.filter(grantee_space=world.firm_space).count() == 3


def test_a_pending_mandate_may_wait_beside_an_active_one(world: World) -> None:
    _grant(world)
    pending = _grant(world, activate=False)
    assert (pending.status, pending.activated_at) == (MandateStatus.PENDING, None)


def test_an_unknown_kind_or_level_is_a_programming_error(world: World) -> None:
    with pytest.raises(ValueError, match="unknown kind or level"):
        _grant(world, level="admin")
    with pytest.raises(ValueError, match="unknown kind or level"):
        _grant(world, kind="borrowed")
    with pytest.raises(ValueError, match="unknown source"):
        _grant(world, source="rumour")
    assert not Mandate.objects.exists()


# mandate_activate


def test_a_pending_mandate_is_activated_and_works_from_then_on(world: World) -> None:
    pending = _grant(world, activate=False)
    assert not can(world.firm_admin, "act", world.employer, world.domain)
    seq = factories.audit_seq()
    mandate = services.mandate_activate(by=None, mandate=pending)
    assert mandate.status == MandateStatus.ACTIVE
    assert mandate.activated_at is not None
    assert can(world.firm_admin, "act", world.employer, world.domain)
    [event] = factories.audit_events_since(seq)
    assert (event.action, event.employer_id) == ("mandate.activated", world.employer.pk)


@pytest.mark.parametrize("ending", ["active", "revoked", "expired"])
def test_only_a_pending_mandate_is_activated(world: World, ending: str) -> None:
    mandate = _grant(world, valid_from=time.now() - 2 * DAY, valid_until=time.now() - DAY)
    if ending == "revoked":
        services.mandate_revoke(by=factories.agent(), mandate=mandate)
    elif ending == "expired":
        services.mandates_expire_due()
    with factories.refused("mandate_wrong_state"):
        services.mandate_activate(by=None, mandate=mandate)
    assert Mandate.objects.get(pk=mandate.pk).status == ending


def test_a_pending_mandate_is_not_activated_beside_an_active_one(world: World) -> None:
    _grant(world)
    pending = _grant(world, activate=False)
    with factories.refused("mandate_exists"):
        services.mandate_activate(by=None, mandate=pending)
    assert Mandate.objects.get(pk=pending.pk).status == MandateStatus.PENDING


def test_an_activation_racing_a_grant_is_refused_by_the_database(
    world: World, blind_duplicate_check: None
) -> None:
    pending = _grant(world, activate=False)
    _grant(world)
    with factories.refused("mandate_exists"):
        services.mandate_activate(by=None, mandate=pending)
    assert Mandate.objects.get(pk=pending.pk).status == MandateStatus.PENDING


# mandate_revoke


def test_the_employers_admin_revokes_and_the_next_check_refuses(certified: World) -> None:
    world = certified
    mandate = _grant(world)
    assert can(world.firm_admin, "act", world.employer, world.domain)
    seq = factories.audit_seq()
    services.mandate_revoke(by=world.boss, mandate=mandate, reason="contract over")
    mandate.refresh_from_db()
    assert (mandate.status, mandate.end_cause, mandate.ended_by) == (
        MandateStatus.REVOKED,
        EndCause.REVOKED,
        world.boss,
    )
    assert mandate.ended_at is not None
    assert not can(world.firm_admin, "act", world.employer, world.domain)
    [event] = factories.audit_events_since(seq)
    assert (event.action, event.actor_id, event.employer_id) == (
        "mandate.revoked",
        world.boss.pk,
        world.employer.pk,
    )
    assert event.data["reason"] == "contract over"


def test_an_agent_revokes(world: World) -> None:
    mandate = _grant(world)
    services.mandate_revoke(by=factories.agent(), mandate=mandate)
    assert Mandate.objects.get(pk=mandate.pk).status == MandateStatus.REVOKED


def test_a_pending_mandate_can_be_revoked(certified: World) -> None:
    world = certified
    pending = _grant(world, activate=False)
    services.mandate_revoke(by=world.boss, mandate=pending)
    assert Mandate.objects.get(pk=pending.pk).status == MandateStatus.REVOKED


def test_an_uncertified_employer_space_admin_cannot_revoke(world: World) -> None:
    mandate = _grant(world)
    with factories.refused("revoke_forbidden"):
        services.mandate_revoke(by=world.boss, mandate=mandate)
    assert Mandate.objects.get(pk=mandate.pk).status == MandateStatus.ACTIVE


def test_a_certification_for_another_domain_or_only_to_consult_does_not_let_revoke(
    world: World,
) -> None:
    mandate = _grant(world)
    factories.mandate(employer_=world.employer, space=world.own_space, domain_code="BILLING")
    factories.mandate(
        employer_=world.employer, space=world.own_space, domain_code="AFFILIATIONS", level="consult"
    )
    with factories.refused("revoke_forbidden"):
        services.mandate_revoke(by=world.boss, mandate=mandate)
    assert Mandate.objects.get(pk=mandate.pk).status == MandateStatus.ACTIVE


def test_an_expired_certification_does_not_let_revoke(world: World) -> None:
    mandate = _grant(world)
    now = time.now()
    factories.mandate(
        employer_=world.employer,
        space=world.own_space,
        valid_from=now - 2 * DAY,
        valid_until=now - DAY,  # run out, not swept yet
    )
    with factories.refused("revoke_forbidden"):
        services.mandate_revoke(by=world.boss, mandate=mandate)


def test_the_representative_cannot_revoke(certified: World) -> None:
    world = certified
    mandate = _grant(world)
    with factories.refused("revoke_forbidden"):
        services.mandate_revoke(by=world.firm_admin, mandate=mandate)
    assert Mandate.objects.get(pk=mandate.pk).status == MandateStatus.ACTIVE


def test_a_collaborator_of_the_employer_cannot_revoke(certified: World) -> None:
    world = certified
    mandate = _grant(world)
    clerk = factories.user()
    space_services.member_add(by=world.boss, space=world.own_space, user=clerk)
    with factories.refused("revoke_forbidden"):
        services.mandate_revoke(by=clerk, mandate=mandate)
    assert Mandate.objects.get(pk=mandate.pk).status == MandateStatus.ACTIVE


def test_an_ended_mandate_cannot_be_revoked_again(certified: World) -> None:
    world = certified
    mandate = _grant(world)
    services.mandate_revoke(by=world.boss, mandate=mandate)
    with factories.refused("mandate_wrong_state"):
        services.mandate_revoke(by=world.boss, mandate=mandate)


def _primary(world: World) -> Mandate:
    return Mandate.objects.get(
        employer=world.employer, grantee_space=world.own_space, kind=MandateKind.PRIMARY
    )


def test_the_employers_admin_cannot_revoke_the_own_space_s_primary_mandate(
    certified: World,
) -> None:
    world = certified
    with factories.refused("revoke_primary"):
        services.mandate_revoke(by=world.boss, mandate=_primary(world))
    assert _primary(world).status == MandateStatus.ACTIVE


def test_an_api_client_of_the_own_space_cannot_revoke_its_primary_mandate(
    certified: World,
) -> None:
    world = certified
    actor = services.SpaceActor(space_id=world.own_space.pk, client_id="mc_test")
    with factories.refused("revoke_primary"):
        services.mandate_revoke_as_space(client=actor, mandate=_primary(world))
    assert _primary(world).status == MandateStatus.ACTIVE
    given = _grant(world)  # what the employer gave a representative, it may revoke
    services.mandate_revoke_as_space(client=actor, mandate=given)
    assert Mandate.objects.get(pk=given.pk).status == MandateStatus.REVOKED


def test_an_agent_may_still_end_a_primary_mandate(certified: World) -> None:
    world = certified
    services.mandate_revoke(by=factories.agent(), mandate=_primary(world))
    assert _primary(world).status == MandateStatus.REVOKED


def test_a_revoked_mandate_makes_room_for_a_new_grant(certified: World) -> None:
    world = certified
    services.mandate_revoke(by=world.boss, mandate=_grant(world))
    again = _grant(world)
    assert again.status == MandateStatus.ACTIVE
    assert can(world.firm_admin, "act", world.employer, world.domain)


# mandate_renounce


def test_the_representatives_admin_renounces_an_obtained_mandate(world: World) -> None:
    mandate = _grant(world)
    seq = factories.audit_seq()
    services.mandate_renounce(by=world.firm_admin, mandate=mandate, reason="client left")
    mandate.refresh_from_db()
    assert (mandate.status, mandate.end_cause) == (MandateStatus.REVOKED, EndCause.RENOUNCED)
    assert not can(world.firm_admin, "act", world.employer, world.domain)
    [event] = factories.audit_events_since(seq)
    assert (event.action, event.actor_id, event.employer_id) == (
        "mandate.renounced",
        world.firm_admin.pk,
        world.employer.pk,
    )


def test_a_primary_mandate_cannot_be_renounced(world: World) -> None:
    primary = _grant(world, space=world.own_space, kind=MandateKind.PRIMARY)
    with factories.refused("renounce_primary"):
        services.mandate_renounce(by=world.boss, mandate=primary)
    assert Mandate.objects.get(pk=primary.pk).status == MandateStatus.ACTIVE


def test_a_collaborator_of_the_representative_cannot_renounce(world: World) -> None:
    mandate = _grant(world)
    clerk = factories.user()
    space_services.member_add(by=world.firm_admin, space=world.firm_space, user=clerk)
    with factories.refused("renounce_forbidden"):
        services.mandate_renounce(by=clerk, mandate=mandate)
    assert Mandate.objects.get(pk=mandate.pk).status == MandateStatus.ACTIVE


def test_the_employer_cannot_renounce_on_the_representatives_behalf(world: World) -> None:
    mandate = _grant(world)
    with factories.refused("renounce_forbidden"):
        services.mandate_renounce(by=world.boss, mandate=mandate)


def test_an_ended_mandate_cannot_be_renounced(certified: World) -> None:
    world = certified
    mandate = _grant(world)
    services.mandate_revoke(by=world.boss, mandate=mandate)
    with factories.refused("mandate_wrong_state"):
        services.mandate_renounce(by=world.firm_admin, mandate=mandate)
    assert Mandate.objects.get(pk=mandate.pk).end_cause == EndCause.REVOKED


# mandates_expire_due


def test_due_mandates_expire_with_one_event_each(world: World) -> None:
    now = time.now()
    ends = now - DAY
    due = [
        _grant(world, valid_from=now - 2 * DAY, valid_until=ends),
        _grant(
            world, domain=factories.domain("BILLING"), valid_from=now - 2 * DAY, valid_until=now
        ),
        _grant(world, domain=factories.domain("EMPLOYER"), valid_until=now + DAY, activate=False),
    ]
    not_due = [
        _grant(world, domain=factories.domain("REMUNERATIONS"), valid_until=now + 2 * DAY),
        _grant(world, employer=factories.employer()),  # open-ended
    ]
    seq = factories.audit_seq()
    assert services.mandates_expire_due(now=now + DAY) == 3
    for mandate in due:
        mandate.refresh_from_db()
        assert (mandate.status, mandate.end_cause) == (MandateStatus.EXPIRED, EndCause.EXPIRED)
        assert mandate.ended_at == mandate.valid_until
    for mandate in not_due:
        mandate.refresh_from_db()
        assert mandate.status == MandateStatus.ACTIVE
    events = factories.audit_events_since(seq)
    assert sorted((e.action, e.object_id, e.employer_id) for e in events) == sorted(
        ("mandate.expired", str(m.pk), world.employer.pk) for m in due
    )


def test_an_ended_mandate_does_not_expire_again(certified: World) -> None:
    world = certified
    now = time.now()
    mandate = _grant(world, valid_until=now + DAY)
    services.mandate_revoke(by=world.boss, mandate=mandate)
    seq = factories.audit_seq()
    assert services.mandates_expire_due(now=now + 2 * DAY) == 0
    assert factories.audit_events_since(seq) == []
    mandate.refresh_from_db()
    assert (mandate.status, mandate.end_cause) == (MandateStatus.REVOKED, EndCause.REVOKED)


def test_the_sweep_is_idempotent_and_works_in_batches(world: World) -> None:
    now = time.now()
    for _ in range(5):
        _grant(world, employer=factories.employer(), valid_until=now + DAY)
    assert services.mandates_expire_due(now=now + DAY, batch=2) == 5
    assert services.mandates_expire_due(now=now + DAY, batch=2) == 0
    assert not Mandate.objects.exclude(status=MandateStatus.EXPIRED).exists()


def test_an_expired_mandate_cannot_be_revoked(certified: World) -> None:
    world = certified
    now = time.now()
    mandate = _grant(world, valid_until=now + DAY)
    services.mandates_expire_due(now=now + DAY)
    with factories.refused("mandate_wrong_state"):
        services.mandate_revoke(by=world.boss, mandate=mandate)


# The database keeps the invariants even when the services are bypassed.


def _row(world: World, **fields: Any) -> Mandate:
    now = time.now()
    values: dict[str, Any] = {
        "employer": world.employer,
        "domain": world.domain,
        "grantee_space": world.firm_space,
        "kind": MandateKind.OBTAINED,
        "level": "act",
        "source": MandateSource.AGENT,
        "status": MandateStatus.ACTIVE,
        "valid_from": now,
        "activated_at": now,
    }
    values.update(fields)
    return Mandate(**values)


def _refused_by_database(mandate: Mandate) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        mandate.save()


def test_the_database_accepts_a_well_formed_row(world: World) -> None:
    _row(world).save()
    _row(world, status=MandateStatus.PENDING, activated_at=None).save()
    _row(world, status=MandateStatus.REVOKED, ended_at=time.now()).save()
    assert Mandate.objects.count() == 3


def test_the_database_refuses_a_second_active_mandate(world: World) -> None:
    _row(world).save()
    _refused_by_database(_row(world, level="consult"))
    assert Mandate.objects.count() == 1


def test_the_database_refuses_an_active_mandate_without_activation_time(world: World) -> None:
    _refused_by_database(_row(world, activated_at=None))


@pytest.mark.parametrize("status", [MandateStatus.REVOKED, MandateStatus.EXPIRED])
def test_the_database_refuses_an_ended_mandate_without_end_time(world: World, status: str) -> None:
    _refused_by_database(_row(world, status=status, ended_at=None))


@pytest.mark.parametrize("length", [dt.timedelta(0), -DAY])
def test_the_database_refuses_a_validity_that_does_not_move_forward(
    world: World, length: dt.timedelta
) -> None:
    start = time.now()
    _refused_by_database(_row(world, valid_from=start, valid_until=start + length))


@pytest.mark.parametrize(("field", "value"), [("level", "admin"), ("status", "frozen")])
def test_the_database_refuses_an_unknown_level_or_status(
    world: World, field: str, value: str
) -> None:
    _refused_by_database(_row(world, **{field: value}))


def test_the_database_refuses_an_update_that_breaks_an_invariant(world: World) -> None:
    mandate = _grant(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        Mandate.objects.filter(pk=mandate.pk).update(status=MandateStatus.REVOKED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Mandate.objects.filter(pk=mandate.pk).update(activated_at=None)
    mandate.refresh_from_db()
    assert mandate.status == MandateStatus.ACTIVE
