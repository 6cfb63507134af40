"""Reads for the portal's API client pages."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.api.models import ApiClient
from mandat.core.errors import NotFoundOrForbidden
from mandat.spaces import selectors as space_selectors
from mandat.spaces.models import Space


def api_clients_of_space(*, space: Space) -> QuerySet[ApiClient]:
    return ApiClient.objects.filter(space=space).order_by("revoked_at", "-created_at", "-pk")


def access_api_client(*, user: User, space: Space, client_pk: int) -> ApiClient:
    """A client of ``space`` if ``user`` administers it; one error for missing and forbidden."""
    client = ApiClient.objects.filter(space=space, pk=client_pk).first()
    if client is None or not space_selectors.is_admin(user=user, space=space):
        raise NotFoundOrForbidden(
            _("This API client does not exist or you may not manage it."), code="not_found"
        )
    return client
