"""Who calls the API: the one place that decides it.

For now a caller is a person logged in to the portal, identified by the Django
session cookie. Strong client authentication (OAuth client credentials with
``private_key_jwt``) will replace ``API_AUTH`` and ``caller`` here, and nothing
else: endpoints only ever ask ``caller(request)`` for the acting user.

A session is a cookie that a browser sends by itself, so every unsafe method
(POST, PUT, PATCH, DELETE) must also carry Django's CSRF token in the
``X-CSRFToken`` header. ``GET /api/v1/session`` returns the token.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.security import SessionAuth

from mandat.accounts.models import User
from mandat.api import problems
from mandat.core.errors import ApplicationError


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
