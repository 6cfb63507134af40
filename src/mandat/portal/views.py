from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from mandat.accounts.models import User
from mandat.core.errors import NotFoundOrForbidden
from mandat.mandates import selectors as mandate_selectors
from mandat.spaces import selectors as space_selectors


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # noqa: S101 - login_required guarantees it
    return request.user


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    spaces = space_selectors.spaces_of_user(user=user)
    overview = [(space, mandate_selectors.certifications_of_space(space=space)) for space in spaces]
    return render(request, "portal/home.html", {"overview": overview})


@login_required
def space_detail(request: HttpRequest, space_id: int) -> HttpResponse:
    user = _user(request)
    try:
        space = space_selectors.access_space(user=user, space_id=space_id)
    except NotFoundOrForbidden as error:
        raise Http404(str(error)) from error
    context = {
        "space": space,
        "certifications": mandate_selectors.certifications_of_space(space=space),
        "clients": mandate_selectors.obtained_mandates_of_space(space=space)[:50],
        "client_count": mandate_selectors.obtained_mandates_of_space(space=space).count(),
        "members": space_selectors.members_of_space(space=space),
    }
    return render(request, "portal/space.html", context)
