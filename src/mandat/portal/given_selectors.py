"""Reads of the "Mandates given" page of an employer's space."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.catalog.models import Level, Service
from mandat.core import time
from mandat.core.errors import NotFoundOrForbidden
from mandat.mandates import selectors as mandate_selectors
from mandat.mandates.models import Mandate, MandateKind
from mandat.registry.models import Employer
from mandat.spaces import selectors as space_selectors
from mandat.spaces.models import Membership, Space

#: How many ended mandates the history shows, newest first.
HISTORY_LIMIT = 200


def employers_of_space(*, space: Space) -> list[Employer]:
    """The employers the space's organisation is registered as (one per institution)."""
    if space.organisation_id is None:
        return []
    return list(
        Employer.objects.filter(organisation_id=space.organisation_id)
        .select_related("institution")
        .order_by("institution__code")
    )


def gives_mandates(*, space: Space) -> bool:
    return (
        space.organisation_id is not None
        and Employer.objects.filter(organisation_id=space.organisation_id).exists()
    )


def representative_name(mandate: Mandate) -> str:
    """The representative's registered denomination, else its space's name."""
    organisation = mandate.grantee_space.organisation
    representative = getattr(organisation, "representative", None) if organisation else None
    return representative.denomination if representative else mandate.grantee_space.name


@dataclass(frozen=True)
class RepresentativeGroup:
    space: Space
    name: str
    registration_number: str
    mandates: list[Mandate]


@dataclass(frozen=True)
class GivenPage:
    employers: list[Employer]
    current: list[RepresentativeGroup]
    history: list[Mandate]
    #: The ids of the current mandates this person may end.
    endable: frozenset[int]

    @property
    def may_end(self) -> bool:
        return bool(self.endable)


def _certified_to_act(*, user: User, space: Space) -> set[tuple[int, int]]:
    """The (employer, domain) pairs whose mandates this person may end from this space.

    The rule of ``mandates.services.mandate_revoke``: an administrator of the employer's
    space, when the space holds the employer's certification at the action level for
    that domain. Administrators of an uncertified space only read.
    """
    if not space_selectors.is_admin(user=user, space=space):
        return set()
    return set(
        mandate_selectors.live_mandates(space=space)
        .filter(kind=MandateKind.PRIMARY, level__in=Level.covering(Level.ACT))
        .values_list("employer_id", "domain_id")
    )


def _visible(user: User, space: Space) -> tuple[Membership, list[Employer]]:
    """The person's membership and the space's employers they may see the mandates of.

    Administrators see them all; a collaborator sees those of the employers and
    domains they are not restricted away from.
    """
    membership = space_selectors.membership_of(user=user, space=space)
    employers = employers_of_space(space=space)
    if membership is not None and membership.restrict_employers:
        allowed = set(membership.allowed_employers.values_list("pk", flat=True))
        employers = [e for e in employers if e.pk in allowed]
    if membership is None or not employers or not user.is_active:
        raise NotFoundOrForbidden(
            _("This page does not exist or you may not open it."), code="not_found"
        )
    return membership, employers


def _of(membership: Membership, employers: list[Employer]) -> Q:
    where = Q(employer__in=employers)
    if membership.restrict_domains:
        where &= Q(domain__in=membership.allowed_domains.all())
    return where


def given_page(*, user: User, space: Space) -> GivenPage:
    membership, employers = _visible(user, space)
    given = Mandate.objects.none()
    for employer in employers:
        given |= mandate_selectors.mandates_given(employer=employer, obtained_only=True)
    given = given.filter(_of(membership, employers)).select_related(
        "domain", "grantee_space__organisation__representative", "granted_by", "ended_by"
    )
    now = time.now()
    current = mandate_selectors.not_run_out(now)
    certified = _certified_to_act(user=user, space=space)
    groups: dict[int, RepresentativeGroup] = {}
    endable: set[int] = set()
    for mandate in given.filter(current).order_by("grantee_space__name", "domain__position"):
        group = groups.get(mandate.grantee_space_id)
        if group is None:
            organisation = mandate.grantee_space.organisation
            representative = getattr(organisation, "representative", None)
            group = groups[mandate.grantee_space_id] = RepresentativeGroup(
                space=mandate.grantee_space,
                name=representative_name(mandate),
                registration_number=representative.registration_number if representative else "",
                mandates=[],
            )
        group.mandates.append(mandate)
        if (mandate.employer_id, mandate.domain_id) in certified:
            endable.add(mandate.pk)
    # A mandate whose validity ran out is history at once, before the sweep marks it expired.
    ended = Coalesce("ended_at", "valid_until")
    history = list(given.exclude(current).order_by(ended.desc(), "-pk")[:HISTORY_LIMIT])
    return GivenPage(
        employers=employers,
        current=list(groups.values()),
        history=history,
        endable=frozenset(endable),
    )


def given_mandate(*, user: User, space: Space, mandate_id: int) -> Mandate:
    """A running mandate the space's employer gave, that this administrator may end.

    Anything else (someone else's mandate, an ended one, a collaborator) is the
    same "not found".
    """
    mandate = (
        Mandate.objects.filter(
            mandate_selectors.not_run_out(),
            pk=mandate_id,
            kind=MandateKind.OBTAINED,
            employer__in=employers_of_space(space=space),
        )
        .select_related("domain", "employer", "grantee_space__organisation__representative")
        .first()
    )
    if mandate is not None and (mandate.employer_id, mandate.domain_id) not in _certified_to_act(
        user=user, space=space
    ):
        mandate = None
    if mandate is None:
        raise NotFoundOrForbidden(
            _("This mandate does not exist or you may not end it."), code="not_found"
        )
    return mandate


def given_ended(*, user: User, space: Space, mandate_id: int) -> Mandate:
    """A mandate of the space's employer that has ended, for its confirmation panel."""
    mandate = None
    if space_selectors.is_admin(user=user, space=space):
        mandate = (
            Mandate.objects.filter(
                pk=mandate_id,
                kind=MandateKind.OBTAINED,
                employer__in=employers_of_space(space=space),
            )
            .exclude(mandate_selectors.not_run_out())
            .select_related("domain", "employer", "grantee_space__organisation__representative")
            .first()
        )
    if mandate is None:
        raise NotFoundOrForbidden(
            _("This mandate does not exist or you may not see it."), code="not_found"
        )
    return mandate


@dataclass(frozen=True)
class ServicesLost:
    consult: list[Service]
    act: list[Service]


def services_lost(*, mandate: Mandate) -> ServicesLost:
    """The domain's services the representative no longer consults (and acts in)."""
    services = list(Service.objects.filter(domain_id=mandate.domain_id).order_by("level", "code"))
    consult = [s for s in services if s.level == Level.CONSULT]
    act = [s for s in services if s.level == Level.ACT] if mandate.level == Level.ACT else []
    return ServicesLost(consult=consult, act=act)
