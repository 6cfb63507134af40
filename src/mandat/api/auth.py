"""Who calls the API: the one place that decides it.

Two kinds of caller:

- software, through an API client: ``ClientToken`` checks the bearer access token
  (``mandat.api.tokens``) and then the client itself, on every call, so a revoked or
  expired client is refused at its very next call. ``request.auth`` is then an
  ``ApiPrincipal``: the client acting as its space, within its scopes; ``principal``
  returns it. Each call also counts against the client's rate limit.
- a person logged in to the portal, identified by the Django session cookie
  (``PortalSession``), for the certification endpoints; ``caller`` returns the user.

A session is a cookie that a browser sends by itself, so every unsafe method
(POST, PUT, PATCH, DELETE) must also carry Django's CSRF token in the
``X-CSRFToken`` header. ``GET /api/v1/session`` returns the token.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from mandat.accounts.models import User
from mandat.api import problems, tokens
from mandat.api.principal import ApiPrincipal, TokenHolder, parse_scope
from mandat.api.ratelimit import limiter
from mandat.core.errors import ApplicationError
from mandat.mandates import policies


class PortalSession(SessionAuth):
    """Django's session, with the CSRF check for unsafe methods kept on.

    A refused CSRF check is answered like any other refusal, as a problem
    document of its own type (``csrf_failed``), instead of ninja's bare 403.
    """

    openapi_description = (
        "The portal's session cookie. Unsafe methods also need the CSRF token "
        "(GET /api/v1/session) in the X-CSRFToken header."
    )

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        try:
            return super()._get_key(request)
        except HttpError as error:
            raise ApplicationError(
                _("The CSRF check failed. Send the CSRF token in the X-CSRFToken header."),
                code="csrf_failed",
            ) from error

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if isinstance(user, User) and user.is_active else None


#: How every endpoint authenticates unless it says ``auth=None`` (public).
API_AUTH = PortalSession()

# The client, read on every call straight from the driver (as the policy does): it must be
# unrevoked, unexpired and its space open. One indexed look-up by the unique client id.
_CLIENT_SQL = (
    "SELECT c.id, c.space_id FROM api_apiclient c JOIN spaces_space s ON s.id = c.space_id "
    "WHERE c.client_id = %s AND c.revoked_at IS NULL AND c.expires_at > %s "
    "AND s.closed_at IS NULL"
)


def _live_client(client_id: str) -> tuple[int, int] | None:
    """(pk, space id) of the client if it may call now; None when revoked, expired or gone."""
    vendor, driver = policies.driver()
    moment = dt.datetime.now(dt.UTC)
    if vendor == "sqlite":
        row = driver.execute(
            _CLIENT_SQL.replace("%s", "?"), (client_id, str(moment.replace(tzinfo=None)))
        ).fetchone()
    else:
        row = driver.execute(_CLIENT_SQL, (client_id, moment)).fetchone()
    return None if row is None else (int(row[0]), int(row[1]))


class ClientToken(HttpBearer):
    """An access token from ``POST /api/v1/oauth/token``, of a client that may still call.

    ``read_client=False`` is for ``POST /check`` alone: the token is verified here, and the
    endpoint reads the client in the same statement as the rule (``mandat.api.checks``),
    refusing a client that may not call exactly as this class does. ``request.auth`` is then
    a ``TokenHolder``, which ``principal`` refuses, so no other endpoint can skip the read.
    """

    openapi_description = (
        "An access token from POST /api/v1/oauth/token (OAuth 2.0 client credentials), "
        "in the Authorization header: `Bearer <token>`."
    )

    def __init__(self, *, read_client: bool = True) -> None:
        super().__init__()
        self.read_client = read_client

    def authenticate(self, request: HttpRequest, token: str) -> TokenHolder | None:
        claims = tokens.verified_claims(token)
        if claims is None:
            return None
        scopes = claims.get("_scopes")
        if scopes is None:  # parsed once per token: the claims are cached with it
            scopes = claims["_scopes"] = parse_scope(claims["scope"]) or frozenset()
        if not self.read_client:
            return TokenHolder(space_id=claims["space"], client_id=claims["sub"], scopes=scopes)
        live = _live_client(claims["sub"])
        if live is None or live[1] != claims["space"]:
            return None
        principal = ApiPrincipal(
            space_id=live[1], client_id=claims["sub"], client_pk=live[0], scopes=scopes
        )
        limiter.hit(principal.client_pk)
        return principal


#: How the token API authenticates.
CLIENT_AUTH = ClientToken()
#: ``POST /check`` only: the endpoint reads the client itself (see ``ClientToken``).
CLIENT_TOKEN_ONLY = ClientToken(read_client=False)


def token_holder(request: HttpRequest) -> TokenHolder:
    """The holder of a verified token whose client the endpoint must still read."""
    found = getattr(request, "auth", None)
    assert isinstance(found, TokenHolder)  # noqa: S101 - CLIENT_TOKEN_ONLY lets one through
    return found


def principal(request: HttpRequest) -> ApiPrincipal:
    """The API client on whose behalf the call acts; authentication has already run."""
    found = getattr(request, "auth", None)
    assert isinstance(found, ApiPrincipal)  # noqa: S101 - CLIENT_AUTH only lets one through
    return found


def caller(request: HttpRequest) -> User:
    """The person on whose behalf the API call acts; authentication has already run."""
    user = getattr(request, "auth", None)
    assert isinstance(user, User)  # noqa: S101 - API_AUTH only lets a User through
    return user


class SessionOut(Schema):
    username: str
    csrf_token: str


router = Router(tags=["session"], by_alias=True)


@router.get(
    "/session", response={200: SessionOut, **problems.problems(401)}, operation_id="session_get"
)
def session_get(request: HttpRequest) -> SessionOut:
    """The logged-in person and the CSRF token to send with unsafe methods."""
    return SessionOut(username=caller(request).get_username(), csrf_token=get_token(request))
