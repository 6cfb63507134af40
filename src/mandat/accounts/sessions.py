"""Session limits: idle and absolute time-outs, and "log out everywhere".

A session remembers when its login happened and when it was last seen. It ends after
``MANDAT_SESSION_IDLE_SECONDS`` without a request or ``MANDAT_SESSION_ABSOLUTE_SECONDS`` after the
login, whatever happens in between (OWASP ASVS 7.3). "Log out everywhere" raises the user's
``session_generation``; a session started under a lower number ends at its next request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from mandat.core import time

LOGIN_AT = "mandat.login_at"
SEEN_AT = "mandat.seen_at"
GENERATION = "mandat.generation"
#: Last-seen is written at most this often, so that reading pages does not write the session.
SEEN_RESOLUTION_SECONDS = 60


def _now() -> float:
    return time.now().timestamp()


def start(request: HttpRequest, user: Any) -> None:
    """Stamp a fresh login: its time, and the generation of sessions it belongs to."""
    stamp = _now()
    request.session[LOGIN_AT] = stamp
    request.session[SEEN_AT] = stamp
    request.session[GENERATION] = getattr(user, "session_generation", 0)


def expired_reason(request: HttpRequest, user: Any, now: float) -> str | None:
    """Why this session must end now, or None while it may go on."""
    session = request.session
    login_at = session.get(LOGIN_AT)
    seen_at = session.get(SEEN_AT)
    if session.get(GENERATION, 0) != getattr(user, "session_generation", 0):
        return "logged-out-everywhere"
    if not isinstance(login_at, int | float) or not isinstance(seen_at, int | float):
        return None
    if now - login_at > settings.MANDAT_SESSION_ABSOLUTE_SECONDS:
        return "absolute"
    if now - seen_at > settings.MANDAT_SESSION_IDLE_SECONDS:
        return "idle"
    return None


class SessionLimitsMiddleware:
    """End sessions past their limits; keep last-seen fresh without writing on every request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # No session cookie, or no login in it: nothing to check, and no query made.
        if AUTH_SESSION_KEY in request.session and request.user.is_authenticated:
            self._check(request)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> None:
        now = _now()
        session = request.session
        if LOGIN_AT not in session:
            # A session from before these limits: its limits start now.
            start(request, request.user)
            return
        reason = expired_reason(request, request.user, now)
        if reason is not None:
            logout(request)
            messages.info(
                request, _("Your session has ended. Please log in again."), fail_silently=True
            )
            return
        if now - session.get(SEEN_AT, 0) >= SEEN_RESOLUTION_SECONDS:
            session[SEEN_AT] = now
