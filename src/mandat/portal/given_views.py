"""Mandates given: what an employer's representatives may do for it, and ending a mandate."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from mandat.accounts.assurance import assurance_required
from mandat.certification.forms import PageErrors
from mandat.certification.pages import space_or_404, user_of
from mandat.core.errors import ApplicationError, NotFoundOrForbidden
from mandat.mandates import services as mandate_services
from mandat.portal import given_selectors


@login_required
def given(request: HttpRequest, space_id: int) -> HttpResponse:
    space = space_or_404(request, space_id)
    try:
        page = given_selectors.given_page(user=user_of(request), space=space)
    except NotFoundOrForbidden as error:
        raise Http404(str(error)) from error
    return render(request, "portal/given.html", {"space": space, "page": page})


@login_required
@assurance_required
def given_end(request: HttpRequest, space_id: int, mandate_id: int) -> HttpResponse:
    """Ask, saying what stops working; then end the mandate at once."""
    space = space_or_404(request, space_id)
    user = user_of(request)
    try:
        mandate = given_selectors.given_mandate(user=user, space=space, mandate_id=mandate_id)
    except NotFoundOrForbidden as error:
        raise Http404(str(error)) from error
    errors = PageErrors("end")
    if request.method == "POST":
        try:
            mandate_services.mandate_revoke(by=user, mandate=mandate)
        except ApplicationError as error:
            errors.add("end", error)
        else:
            return redirect(reverse("portal:given_ended", args=[space.pk, mandate.pk]))
    context = {
        "space": space,
        "mandate": mandate,
        "representative": given_selectors.representative_name(mandate),
        "lost": given_selectors.services_lost(mandate=mandate),
        "errors": errors,
        "back_url": reverse("portal:given", args=[space.pk]),
    }
    return render(request, "portal/given_end.html", context)


@login_required
def given_ended(request: HttpRequest, space_id: int, mandate_id: int) -> HttpResponse:
    space = space_or_404(request, space_id)
    try:
        mandate = given_selectors.given_ended(
            user=user_of(request), space=space, mandate_id=mandate_id
        )
    except NotFoundOrForbidden as error:
        raise Http404(str(error)) from error
    context = {
        "space": space,
        "mandate": mandate,
        "representative": given_selectors.representative_name(mandate),
        "errors": None,
    }
    return render(request, "portal/given_ended.html", context)
