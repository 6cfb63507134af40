"""The space's profile: who the space belongs to, as the registry knows it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mandat.certification.pages import space_or_404
from mandat.portal import given_selectors
from mandat.registry.models import Representative
from mandat.spaces import selectors as space_selectors


@login_required
def profile(request: HttpRequest, space_id: int) -> HttpResponse:
    space = space_or_404(request, space_id)
    organisation = space.organisation
    representative = (
        Representative.objects.filter(organisation=organisation).first()
        if organisation is not None
        else None
    )
    context = {
        "space": space,
        "organisation": organisation,
        "employers": given_selectors.employers_of_space(space=space),
        "representative": representative,
        "admins": space_selectors.admins_of_space(space=space),
    }
    return render(request, "portal/profile.html", context)
