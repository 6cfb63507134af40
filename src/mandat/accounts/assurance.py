"""Levels of assurance of a login session, and the step-up that raises them.

A session's level says how sure mandat is that the person at the keyboard owns the account:
``low`` after a password alone, ``substantial`` after a password and a second factor (at login
or by re-authenticating with it later), ``high`` after the national eID asserted the
high authentication context (``MANDAT_OIDC_ACR_HIGH``). Acts that bind an organisation — signing
or transmitting a request, redeeming a code, ending a mandate, managing members, registering API
clients — need ``MANDAT_STEP_UP_LEVEL``; a lower session is sent to step up and then back.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

LOW = "low"
SUBSTANTIAL = "substantial"
HIGH = "high"
#: Where a session keeps its level.
SESSION_KEY = "mandat.loa"
#: Where an eID login leaves the ``acr`` of its verified ID token until the login completes.
OIDC_ACR_SESSION_KEY = "mandat.oidc_acr"

_RANK = {LOW: 0, SUBSTANTIAL: 1, HIGH: 2}

View = TypeVar("View", bound=Callable[..., HttpResponse])


def level_of(request: HttpRequest) -> str:
    """The session's level; ``low`` when none was recorded (or an unknown value was)."""
    level = request.session.get(SESSION_KEY, LOW)
    return level if level in _RANK else LOW


def meets(level: str, required: str) -> bool:
    """Whether ``level`` is at least ``required``."""
    return _RANK.get(level, 0) >= _RANK[required]


def set_level(request: HttpRequest, level: str) -> None:
    """Record the session's level."""
    if level not in _RANK:
        raise ValueError(f"unknown level of assurance {level!r}")
    request.session[SESSION_KEY] = level


def level_from_login(*, records: list[dict[str, Any]], acr: str | None) -> str:
    """The level a fresh login earned, from allauth's authentication records of the session.

    The eID gives ``high`` only for the configured high ACR, read from the verified ID token; any
    other eID login counts as ``low`` (a lower ACR is not mapped onto ``substantial``, to keep
    one rule that an auditor can check). A second factor used in this login gives
    ``substantial``.
    """
    methods = {record.get("method") for record in records}
    high_acr = settings.MANDAT_OIDC_ACR_HIGH
    if "socialaccount" in methods and high_acr and acr == high_acr:
        return HIGH
    if "mfa" in methods:
        return SUBSTANTIAL
    return LOW


def step_up_url(next_url: str) -> str:
    return f"{reverse('accounts:step_up')}?{urlencode({'next': next_url})}"


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """``candidate`` if it is a path on this site, else the portal's home."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


def needs_step_up(request: HttpRequest) -> bool:
    """Whether an authenticated session is below the level that binding acts need."""
    return bool(request.user.is_authenticated) and not meets(
        level_of(request), settings.MANDAT_STEP_UP_LEVEL
    )


def assurance_required(view: View) -> View:
    """Send a session below ``MANDAT_STEP_UP_LEVEL`` to step up, then back to this page.

    Anonymous requests pass through to the view's own login check. After a POST the person comes
    back to the page (a GET), where they submit again: a form is never replayed behind their back.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if needs_step_up(request):
            return HttpResponseRedirect(step_up_url(request.get_full_path()))
        return view(request, *args, **kwargs)

    return cast(View, wrapped)
