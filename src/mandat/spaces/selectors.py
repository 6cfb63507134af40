from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.core.errors import NotFoundOrForbidden
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
