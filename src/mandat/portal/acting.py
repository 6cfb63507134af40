"""The "acting for this client" context a person chooses in a space, kept in the session.

The session only remembers the choice ``{space, employer}``. Whether it still
holds is asked again on every request (``current``): when the person may no
longer consult that client through that space (the mandate ended, the member was
removed or restricted), the context is dropped and the banner disappears.
"""

from __future__ import annotations

from django.http import HttpRequest

from mandat.portal import client_selectors
from mandat.portal.client_selectors import ActingClient

SESSION_KEY = "mandat_acting"
_CACHE_ATTRIBUTE = "_mandat_acting"


def start(request: HttpRequest, *, space_id: int, employer_id: int) -> None:
    request.session[SESSION_KEY] = {"space": space_id, "employer": employer_id}
    request.__dict__.pop(_CACHE_ATTRIBUTE, None)


def stop(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
    request.__dict__[_CACHE_ATTRIBUTE] = None


def _remembered(request: HttpRequest) -> tuple[int, int] | None:
    value = request.session.get(SESSION_KEY)
    if not isinstance(value, dict):
        return None
    space, employer = value.get("space"), value.get("employer")
    if type(space) is not int or type(employer) is not int:
        return None
    return space, employer


def current(request: HttpRequest) -> ActingClient | None:
    """The client the person acts for, re-checked now; ``None`` (and forgotten) when it ended.

    Anonymous visitors cost nothing; a signed-in person at most one indexed query
    per request, whatever the number of templates rendered.
    """
    if _CACHE_ATTRIBUTE in request.__dict__:
        cached: ActingClient | None = request.__dict__[_CACHE_ATTRIBUTE]
        return cached
    found = None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and hasattr(request, "session"):
        remembered = _remembered(request)
        if remembered is not None:
            found = client_selectors.acting_client(
                user_id=user.pk, space_id=remembered[0], employer_id=remembered[1]
            )
            if found is None:
                request.session.pop(SESSION_KEY, None)
        elif SESSION_KEY in request.session:
            request.session.pop(SESSION_KEY, None)
    request.__dict__[_CACHE_ATTRIBUTE] = found
    return found
