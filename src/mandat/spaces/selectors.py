from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.core.errors import NotFoundOrForbidden
from mandat.registry.models import Employer
from mandat.spaces.models import Membership, Role, Space


def spaces_of_user(*, user: User) -> QuerySet[Space]:
    return Space.objects.filter(
        memberships__user=user, memberships__removed_at__isnull=True, closed_at__isnull=True
    ).order_by("name", "pk")


def is_admin(*, user: User, space: Space) -> bool:
    """An active account with an active administrator membership of ``space``.

    The account's state is read from the database, so switching an account off
    takes its administrator powers away at the very next call.
    """
    return Membership.objects.filter(
        space=space, user=user, role=Role.ADMIN, removed_at__isnull=True, user__is_active=True
    ).exists()


def access_space(*, user: User, space_id: int) -> Space:
    """The space if ``user`` is an active member of it; the same error if missing or not."""
    space = spaces_of_user(user=user).filter(pk=space_id).first()
    if space is None:
        raise NotFoundOrForbidden(
            _("This space does not exist or you may not open it."), code="not_found"
        )
    return space


def members_of_space(*, space: Space) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(space=space, removed_at__isnull=True)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "pk")
    )


def membership_of(*, user: User, space: Space) -> Membership | None:
    """The person's active membership of ``space``, if any."""
    return Membership.objects.filter(space=space, user=user, removed_at__isnull=True).first()


def access_membership(*, space: Space, membership_id: int) -> Membership:
    """An active member of ``space``; the same error for missing and for another space's."""
    membership = members_of_space(space=space).filter(pk=membership_id).first()
    if membership is None:
        raise NotFoundOrForbidden(
            _("This member does not exist or you may not see them."), code="not_found"
        )
    return membership


def admins_of_space(*, space: Space) -> QuerySet[Membership]:
    return members_of_space(space=space).filter(role=Role.ADMIN)


def _client_ids(*, space: Space, employer_ids: Iterable[int]) -> set[int]:
    """Which of ``employer_ids`` are clients of the space (see ``not_clients``)."""
    from mandat.mandates.models import Mandate, MandateStatus
    from mandat.mandates.selectors import not_run_out

    wanted = set(employer_ids)
    held = set(
        Mandate.objects.filter(
            not_run_out(), grantee_space=space, status=MandateStatus.ACTIVE, employer_id__in=wanted
        ).values_list("employer_id", flat=True)
    )
    if space.organisation_id is not None:
        held |= set(
            Employer.objects.filter(
                organisation_id=space.organisation_id, pk__in=wanted
            ).values_list("pk", flat=True)
        )
    return held


def not_clients(*, space: Space, employer_ids: Iterable[int]) -> set[int]:
    """The employers a member of the space cannot be limited to.

    A client is an employer the space holds an active mandate from or, in an
    employer's own space, that employer itself.
    """
    wanted = set(employer_ids)
    return wanted - _client_ids(space=space, employer_ids=wanted)


@dataclass(frozen=True)
class ClientLookup:
    """Employer numbers as typed, one per line: the clients found and the lines that are not."""

    clients: list[Employer]
    bad_lines: list[tuple[int, str]]


def clients_by_numbers(*, space: Space, lines: Iterable[str]) -> ClientLookup:
    """Read typed employer numbers (one per line, blank lines skipped) as clients of the space.

    A number matches every employer of that number that is a client (an
    organisation may be registered with several institutions).
    """
    typed = [(number, "".join(line.split())) for number, line in enumerate(lines, start=1)]
    typed = [(number, value) for number, value in typed if value]
    candidates: dict[str, list[Employer]] = {}
    for employer in Employer.objects.filter(employer_number__in={value for _line, value in typed}):
        candidates.setdefault(employer.employer_number, []).append(employer)
    allowed = _client_ids(
        space=space, employer_ids=[e.pk for found in candidates.values() for e in found]
    )
    clients: dict[int, Employer] = {}
    bad: list[tuple[int, str]] = []
    for number, value in typed:
        matches = [e for e in candidates.get(value, []) if e.pk in allowed]
        if not matches:
            bad.append((number, value))
        for employer in matches:
            clients.setdefault(employer.pk, employer)
    return ClientLookup(clients=list(clients.values()), bad_lines=bad)
