"""Register and revoke API clients. Only the space's administrators may."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.api import tokens
from mandat.api.models import ApiClient, AuthMethod
from mandat.catalog.models import Domain, Level
from mandat.core import audit, time
from mandat.core.errors import ApplicationError, NotFoundOrForbidden
from mandat.spaces import selectors as space_selectors
from mandat.spaces.models import Space, SpaceKind

#: The longest an API client may be registered for.
MAX_VALIDITY = dt.timedelta(days=2 * 366)


@dataclass(frozen=True)
class RegisteredClient:
    client: ApiClient
    #: The client secret, shown once; None for a client with a public key.
    secret: str | None


def _require_admin(*, by: User, space: Space) -> None:
    if not space_selectors.is_admin(user=by, space=space):
        raise NotFoundOrForbidden(
            _("This space does not exist or you may not manage its API clients."),
            code="not_found",
        )


def normalised_scopes(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """Sorted ``DOMAIN:action`` items, each domain known to the catalogue."""
    pairs = set(pairs)
    if not pairs:
        raise ApplicationError(
            _("Choose at least one domain and action."), code="scopes_required", field="scopes"
        )
    known = set(Domain.objects.values_list("code", flat=True))
    for domain, action in pairs:
        if domain not in known or action not in Level.values:
            raise ApplicationError(
                _("Choose domains and actions from the list."),
                code="scope_unknown",
                field="scopes",
            )
    return sorted(f"{domain}:{action}" for domain, action in pairs)


@transaction.atomic(durable=True)
def api_client_register(
    *,
    by: User,
    space: Space,
    name: str,
    scopes: Iterable[tuple[str, str]],
    expires_at: dt.datetime,
    public_jwk: dict[str, Any] | None = None,
) -> RegisteredClient:
    """Register a client that acts as ``space``: with ``public_jwk`` (``private_key_jwt``),
    or without it, with a client secret returned once and kept only as a keyed hash."""
    _require_admin(by=by, space=space)
    if space.kind != SpaceKind.PROFESSIONAL or space.closed_at is not None:
        raise ApplicationError(
            _("Only an open professional space can have API clients."), code="space_not_eligible"
        )
    name = name.strip()
    if not name:
        raise ApplicationError(
            _("Enter a name for the client."), code="name_required", field="name"
        )
    if len(name) > 100:
        raise ApplicationError(
            _("The name must be 100 characters or fewer."), code="name_too_long", field="name"
        )
    scope_items = normalised_scopes(scopes)
    now = time.now()
    if expires_at <= now:
        raise ApplicationError(
            _("The expiry date must be in the future."), code="expiry_past", field="expires_at"
        )
    if expires_at > now + MAX_VALIDITY:
        raise ApplicationError(
            _("A client may be registered for two years at most."),
            code="expiry_too_far",
            field="expires_at",
        )
    secret = None
    if public_jwk is not None:
        method = AuthMethod.PRIVATE_KEY_JWT
        jwk = tokens.public_jwk_from_text(json.dumps(public_jwk))
        secret_hash = ""
    else:
        method = AuthMethod.CLIENT_SECRET
        jwk = None
        secret = tokens.new_client_secret()
        secret_hash = tokens.secret_digest(secret)
    client = ApiClient.objects.create(
        space=space,
        name=name,
        client_id=tokens.new_client_id(),
        scopes=scope_items,
        auth_method=method,
        public_jwk=jwk,
        secret_hash=secret_hash,
        expires_at=expires_at,
        created_by=by,
    )
    audit.record(
        "api_client.registered",
        actor_id=by.pk,
        obj=client,
        data={
            "space": space.pk,
            "client_id": client.client_id,
            "name": name,
            "scopes": scope_items,
            "auth_method": method,
            "expires_at": time.utc_iso(expires_at),
            "key_thumbprint": _thumbprint(jwk),
        },
    )
    return RegisteredClient(client=client, secret=secret)


def _thumbprint(jwk: dict[str, Any] | None) -> str | None:
    if jwk is None:
        return None
    from joserfc.jwk import import_key

    return import_key(jwk).thumbprint()


@transaction.atomic(durable=True)
def api_client_revoke(*, by: User, client: ApiClient) -> ApiClient:
    """Revoke a client at once: its tokens stop working at their very next call."""
    client = ApiClient.objects.select_for_update().select_related("space").get(pk=client.pk)
    _require_admin(by=by, space=client.space)
    if client.revoked_at is not None:
        raise ApplicationError(
            _("This client has already been revoked."), code="client_already_revoked"
        )
    client.revoked_at = time.now()
    client.revoked_by = by
    client.save(update_fields=["revoked_at", "revoked_by"])
    audit.record(
        "api_client.revoked",
        actor_id=by.pk,
        obj=client,
        data={"space": client.space_id, "client_id": client.client_id},
    )
    return client
