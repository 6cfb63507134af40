"""The Inbox tab: a space's e-Box, filtered and paginated, with read and unread."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from mandat.certification.pages import space_or_404, user_of
from mandat.core.errors import ApplicationError
from mandat.documents import services as documents
from mandat.portal import selectors

PAGE_SIZE = 25


def _filters(request: HttpRequest) -> selectors.InboxFilters:
    domain = request.GET.get("domain", "").strip()
    return selectors.InboxFilters(
        employer=request.GET.get("employer", "").strip()[:200],
        domain=domain if domain.replace("_", "").isalnum() else "",
        unread=request.GET.get("unread") == "1",
    )


@login_required
def inbox(request: HttpRequest, space_id: int) -> HttpResponse:
    """Documents of the space's e-Box that the person may open, newest first."""
    space = space_or_404(request, space_id)
    user = user_of(request)
    filters = _filters(request)
    documents_found = selectors.inbox(user=user, space=space, filters=filters)
    page = Paginator(documents_found, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "space": space,
        "filters": filters,
        "domains": selectors.inbox_domains(),
        "page": page,
        "query": query.urlencode(),
        "here": request.get_full_path(),
        "unread_documents": selectors.unread_document_count(user=user, space=space),
    }
    return render(request, "portal/inbox.html", context)


def _back(request: HttpRequest, space_id: int) -> HttpResponse:
    """Back to the Inbox page the person came from (its filters and page), else the Inbox."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("portal:inbox", args=[space_id])
    return redirect(target)


@require_POST
@login_required
def delivery_read(request: HttpRequest, space_id: int, delivery_id: int) -> HttpResponse:
    return _set_read(request, space_id, delivery_id, read=True)


@require_POST
@login_required
def delivery_unread(request: HttpRequest, space_id: int, delivery_id: int) -> HttpResponse:
    return _set_read(request, space_id, delivery_id, read=False)


def _set_read(request: HttpRequest, space_id: int, delivery_id: int, *, read: bool) -> HttpResponse:
    space = space_or_404(request, space_id)
    user = user_of(request)
    try:
        delivery = selectors.delivery_of_space(user=user, space=space, delivery_id=delivery_id)
        if read:
            documents.delivery_mark_read(by=user, delivery=delivery)
        else:
            documents.delivery_mark_unread(by=user, delivery=delivery)
    except ApplicationError as error:
        raise Http404(str(error)) from error
    return _back(request, space.pk)
