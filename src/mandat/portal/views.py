from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mandat.certification.pages import space_or_404, user_of
from mandat.core.errors import ApplicationError, NotFoundOrForbidden
from mandat.documents import services as documents
from mandat.mandates import selectors as mandate_selectors
from mandat.portal import selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The person's spaces: certifications, what waits to be done, what is unread."""
    return render(request, "portal/home.html", {"summaries": selectors.home(user=user_of(request))})


@login_required
def space_detail(request: HttpRequest, space_id: int) -> HttpResponse:
    space = space_or_404(request, space_id)
    user = user_of(request)
    context = {
        "space": space,
        "notices": selectors.unread_notices(user=user, space=space),
        "documents": selectors.latest_documents(user=user, space=space),
        "unread_documents": selectors.unread_document_count(user=user, space=space),
        "certifications": mandate_selectors.certifications_of_space(space=space),
    }
    return render(request, "portal/space.html", context)


@require_POST
@login_required
def notice_read(request: HttpRequest, space_id: int, notice_id: int) -> HttpResponse:
    space = space_or_404(request, space_id)
    try:
        notice = selectors.notice_of_space(user=user_of(request), space=space, notice_id=notice_id)
        documents.notice_mark_read(by=user_of(request), notice=notice)
    except ApplicationError as error:
        raise Http404(str(error)) from error
    return redirect("portal:space", space.pk)


@login_required
def ebox_letter(request: HttpRequest, space_id: int, delivery_id: int) -> HttpResponse:
    """A document of the space's e-Box, as PDF; opening it marks it read (audited)."""
    space = space_or_404(request, space_id)
    user = user_of(request)
    try:
        delivery = selectors.delivery_of_space(user=user, space=space, delivery_id=delivery_id)
        pdf = documents.delivery_open(by=user, delivery=delivery)
    except ApplicationError as error:
        raise Http404(str(error)) from error
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="letter-{delivery.letter_id}.pdf"'
    # The letter may carry access codes: no cache keeps a copy.
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def domain(request: HttpRequest, space_id: int, employer_id: int, domain_code: str) -> HttpResponse:
    """A domain's services for an employer; the first use by a certified space starts eDelivery."""
    space = space_or_404(request, space_id)
    try:
        page = selectors.domain_of_space(
            user=user_of(request), space=space, employer_id=employer_id, domain_code=domain_code
        )
    except NotFoundOrForbidden as error:
        raise Http404(str(error)) from error
    switched_on = documents.edelivery_note_use(
        space=space, employer=page.mandate.employer, domain=page.mandate.domain
    )
    context = {"space": space, "page": page, "switched_on": switched_on}
    return render(request, "portal/domain.html", context)
