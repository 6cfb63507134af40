"""Procedures A (create a space) and D (members and their restrictions)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.catalog.models import Domain
from mandat.core import audit, time
from mandat.core.errors import ApplicationError
from mandat.registry.models import Employer, Organisation
from mandat.spaces import selectors
from mandat.spaces.models import Membership, Role, Space, SpaceKind


def _require_admin(user: User, space: Space) -> None:
    if not selectors.is_admin(user=user, space=space):
        raise ApplicationError(
            _("Only an administrator of this space may do this."), code="space_admin_required"
        )


def _lock(space_id: int) -> Space:
    """Lock the space's row: membership changes of one space run one after the other.

    Counting administrators cannot lock the rows it counts (PostgreSQL refuses FOR
    UPDATE with an aggregate, and a lock on rows misses the ones being added), so two
    administrators removing each other at once could otherwise both succeed.
    """
    return Space.objects.select_for_update().get(pk=space_id)


def _employer_of(space: Space) -> int | None:
    """Audit events of an employer's own space are filed under that employer."""
    if space.organisation_id is None:
        return None
    return (
        Employer.objects.filter(organisation_id=space.organisation_id)
        .values_list("pk", flat=True)
        .first()
    )


@transaction.atomic(durable=True)
def space_create(
    *, by: User, kind: str, organisation: Organisation | None = None, name: str = ""
) -> Space:
    """Create a space; its creator becomes its first administrator."""
    if kind == SpaceKind.PROFESSIONAL:
        if organisation is None:
            raise ApplicationError(
                _("A professional space belongs to an organisation."), code="organisation_required"
            )
        if Space.objects.filter(
            organisation=organisation, kind=kind, closed_at__isnull=True
        ).exists():
            raise ApplicationError(
                _("This organisation already has a professional space."), code="space_exists"
            )
        space = Space.objects.create(
            kind=kind, organisation=organisation, name=name or organisation.name
        )
    elif kind == SpaceKind.PRIVATE:
        if Space.objects.filter(person=by, kind=kind, closed_at__isnull=True).exists():
            raise ApplicationError(_("You already have a private space."), code="space_exists")
        space = Space.objects.create(
            kind=kind, person=by, name=name or by.get_full_name() or by.username
        )
    else:
        raise ValueError(f"unknown space kind {kind!r}")
    membership = Membership.objects.create(space=space, user=by, role=Role.ADMIN)
    audit.record(
        "space.created",
        actor_id=by.pk,
        employer_id=_employer_of(space),
        obj=space,
        data={"kind": kind, "name": space.name, "admin_membership": membership.pk},
    )
    return space


@transaction.atomic(durable=True)
def member_add(
    *,
    by: User,
    space: Space,
    user: User,
    role: str = Role.COLLABORATOR,
    employers: Iterable[Employer] | None = None,
    domains: Iterable[Domain] | None = None,
) -> Membership:
    """Add a person to a space (procedure D), with their restrictions if any, at once."""
    space = _lock(space.pk)
    _require_admin(by, space)
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    if not user.is_active:
        raise ApplicationError(_("This account is not active."), code="user_inactive")
    duplicate = ApplicationError(
        _("This person is already a member of this space."), code="member_exists"
    )
    if Membership.objects.filter(space=space, user=user, removed_at__isnull=True).exists():
        raise duplicate
    try:
        with transaction.atomic():
            membership = Membership.objects.create(space=space, user=user, role=role)
    except IntegrityError as error:  # added at the same moment by another administrator
        raise duplicate from error
    audit.record(
        "space.member_added",
        actor_id=by.pk,
        employer_id=_employer_of(space),
        obj=membership,
        data={"space": space.pk, "user": user.pk, "role": role},
    )
    if employers is not None or domains is not None:
        # In the same transaction: the person never holds wider rights than chosen.
        membership = _restrict(by=by, membership=membership, employers=employers, domains=domains)
    return membership


@transaction.atomic(durable=True)
def member_remove(*, by: User, membership: Membership) -> Membership:
    """Remove a member at once. The last administrator of a space cannot be removed."""
    return _remove(by=by, membership=membership, action="space.member_removed")


@transaction.atomic(durable=True)
def member_leave(*, by: User, space: Space) -> Membership:
    """A member leaves a space themselves; the last administrator cannot leave."""
    membership = Membership.objects.filter(space=space, user=by, removed_at__isnull=True).first()
    if membership is None:
        raise ApplicationError(_("This person is no longer a member."), code="member_removed")
    return _remove(by=by, membership=membership, action="space.member_left")


def _remove(*, by: User, membership: Membership, action: str) -> Membership:
    space = _lock(membership.space_id)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.removed_at is not None:
        raise ApplicationError(_("This person is no longer a member."), code="member_removed")
    if membership.user_id != by.pk:
        _require_admin(by, space)
    if membership.role == Role.ADMIN:
        admins = Membership.objects.filter(space=space, role=Role.ADMIN, removed_at__isnull=True)
        if admins.count() <= 1:
            raise ApplicationError(
                _("The last administrator of a space cannot be removed."), code="last_admin"
            )
    membership.removed_at = time.now()
    membership.save(update_fields=["removed_at"])
    audit.record(
        action,
        actor_id=by.pk,
        employer_id=_employer_of(space),
        obj=membership,
        data={"space": space.pk, "user": membership.user_id},
    )
    return membership


@transaction.atomic(durable=True)
def member_restrict(
    *,
    by: User,
    membership: Membership,
    employers: Iterable[Employer] | None,
    domains: Iterable[Domain] | None,
) -> Membership:
    """Limit a member to some clients and/or domains; ``None`` lifts that limit.

    An empty collection is a real restriction: the member then reaches no
    client (or no domain) through this space. Each client must be one the space
    holds an active mandate from, or, in an employer's own space, that employer.
    """
    return _restrict(by=by, membership=membership, employers=employers, domains=domains)


def _restrict(
    *,
    by: User,
    membership: Membership,
    employers: Iterable[Employer] | None,
    domains: Iterable[Domain] | None,
) -> Membership:
    _lock(membership.space_id)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    _require_admin(by, membership.space)
    if membership.removed_at is not None:
        raise ApplicationError(_("This person is no longer a member."), code="member_removed")
    if membership.role == Role.ADMIN:
        raise ApplicationError(
            _("An administrator cannot be restricted."), code="admin_unrestricted"
        )
    employer_list = None if employers is None else sorted({e.pk for e in employers})
    domain_list = None if domains is None else sorted({d.pk for d in domains})
    if employer_list and selectors.not_clients(space=membership.space, employer_ids=employer_list):
        raise ApplicationError(
            _("A member can only be limited to clients of this space."),
            code="not_a_client",
            field="clients",
        )
    membership.restrict_employers = employer_list is not None
    membership.restrict_domains = domain_list is not None
    membership.save(update_fields=["restrict_employers", "restrict_domains"])
    membership.allowed_employers.set(employer_list or [])
    membership.allowed_domains.set(domain_list or [])
    audit.record(
        "space.member_restricted",
        actor_id=by.pk,
        employer_id=_employer_of(membership.space),
        obj=membership,
        data={"employers": employer_list, "domains": domain_list},
    )
    return membership
