"""Reads of the Members tab: each member's restrictions and what a removal takes away."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Count, F, Prefetch, Window
from django.db.models.functions import RowNumber

from mandat.accounts.models import User
from mandat.catalog.models import Domain
from mandat.mandates import selectors as mandate_selectors
from mandat.mandates.models import MandateKind
from mandat.spaces import selectors as space_selectors
from mandat.spaces.models import Membership, Space

#: How many of a member's allowed employer numbers a page names; the rest are counted.
SAMPLE = 5


@dataclass(frozen=True)
class MemberRow:
    membership: Membership
    restrict_clients: bool
    client_count: int
    client_sample: list[str]
    restrict_domains: bool
    domains: list[Domain] = field(default_factory=list)
    #: The reader sees that the member is restricted, not to what (their clients' numbers).
    hidden: bool = False

    @property
    def restricted(self) -> bool:
        return self.restrict_clients or self.restrict_domains

    @property
    def more_clients(self) -> int:
        return max(self.client_count - len(self.client_sample), 0)


def _row(
    membership: Membership,
    client_count: int,
    sample: list[str],
    domains: list[Domain],
    *,
    shown: bool,
) -> MemberRow:
    return MemberRow(
        membership=membership,
        restrict_clients=membership.restrict_employers,
        client_count=client_count if shown else 0,
        client_sample=sample if shown and membership.restrict_employers else [],
        restrict_domains=membership.restrict_domains,
        domains=domains if shown and membership.restrict_domains else [],
        hidden=not shown,
    )


def _samples(memberships: Sequence[Membership]) -> dict[int, list[str]]:
    """The first allowed employer numbers of each client-restricted member, in one query."""
    ids = [m.pk for m in memberships if m.restrict_employers]
    if not ids:
        return {}
    allowed = Membership.allowed_employers.through.objects.filter(membership_id__in=ids)
    ranked = allowed.annotate(
        rank=Window(
            RowNumber(),
            partition_by=F("membership_id"),
            order_by=[F("employer__employer_number").asc(), F("employer_id").asc()],
        )
    ).filter(**{"rank__lte": SAMPLE})  # an annotation the stubs do not follow
    samples: dict[int, list[str]] = {}
    for membership_id, number in ranked.order_by("membership_id", "rank").values_list(
        "membership_id", "employer__employer_number"
    ):
        samples.setdefault(membership_id, []).append(number)
    return samples


def _shown(viewer: User, membership: Membership, is_admin: bool) -> bool:
    """Administrators see everyone's restrictions; a collaborator sees their own."""
    return is_admin or membership.user_id == viewer.pk


def member_rows(*, space: Space, viewer: User) -> list[MemberRow]:
    """The active members with their restrictions, in a fixed number of queries."""
    members = list(
        space_selectors.members_of_space(space=space)
        .annotate(allowed_count=Count("allowed_employers", distinct=True))
        .prefetch_related(
            Prefetch(
                "allowed_domains",
                queryset=Domain.objects.order_by("institution__code", "position"),
            )
        )
    )
    is_admin = space_selectors.is_admin(user=viewer, space=space)
    shown = [m for m in members if _shown(viewer, m, is_admin)]
    samples = _samples(shown)
    return [
        _row(
            m,
            int(getattr(m, "allowed_count", 0)),
            samples.get(m.pk, []),
            list(m.allowed_domains.all()),
            shown=_shown(viewer, m, is_admin),
        )
        for m in members
    ]


def member_row(*, membership: Membership, viewer: User) -> MemberRow:
    shown = _shown(
        viewer, membership, space_selectors.is_admin(user=viewer, space=membership.space)
    )
    return _row(
        membership,
        membership.allowed_employers.count(),
        _samples([membership]).get(membership.pk, []) if shown else [],
        list(membership.allowed_domains.order_by("institution__code", "position")),
        shown=shown,
    )


def allowed_employer_numbers(*, membership: Membership) -> list[str]:
    """Every employer number a member is limited to, to prefill the restrictions page."""
    if not membership.restrict_employers:
        return []
    return list(
        membership.allowed_employers.order_by("employer_number")
        .values_list("employer_number", flat=True)
        .distinct()
    )


@dataclass(frozen=True)
class Loss:
    """What a member stops reaching through the space when they leave it."""

    is_admin: bool
    own_domains: list[Domain]
    client_count: int


def what_member_loses(*, membership: Membership) -> Loss:
    """The space's own certified domains and the clients the member reaches through it."""
    space = membership.space
    mandates = mandate_selectors.live_mandates(space=space)
    if membership.restrict_domains:
        mandates = mandates.filter(domain__in=membership.allowed_domains.all())
    own = mandates.filter(kind=MandateKind.PRIMARY)
    clients = mandates.filter(kind=MandateKind.OBTAINED)
    if membership.restrict_employers:
        own = own.filter(employer__in=membership.allowed_employers.all())
        clients = clients.filter(employer__in=membership.allowed_employers.all())
    own_domains = sorted(
        {m.domain for m in own.select_related("domain")}, key=lambda d: (d.position, d.code)
    )
    return Loss(
        is_admin=membership.role == "admin",
        own_domains=own_domains,
        client_count=clients.values("employer_id").distinct().count(),
    )
