"""The gate in front of every back-office page: agents only, everyone else gets a 404."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_protect

from mandat.accounts.models import User
from mandat.backoffice.selectors import is_agent
from mandat.core.errors import NotFoundOrForbidden

View = Callable[..., HttpResponse]


def agent_only(view: View) -> View:
    """Hide the view from anyone but an active agent, before anything else can answer.

    The CSRF check runs after this gate (the view is exempt from the middleware's own
    check), so a stranger's POST gets the missing page's 404, not a 403 that would
    reveal that the page exists.
    """
    protected = csrf_protect(view)

    @wraps(view)
    def gated(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_agent(request.user):
            raise Http404
        try:
            return protected(request, *args, **kwargs)
        except NotFoundOrForbidden as error:
            raise Http404(str(error)) from error

    gated.csrf_exempt = True  # type: ignore[attr-defined]
    return gated


def agent_of(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # noqa: S101 - agent_only guarantees it
    return request.user
