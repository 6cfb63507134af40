"""The institution agents' pages. Anyone else gets the same 404 as for a missing page."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mandat.accounts.models import User
from mandat.backoffice import selectors
from mandat.backoffice.forms import QueueFilterForm, RejectForm
from mandat.backoffice.gate import agent_of, agent_only
from mandat.certification import issuing
from mandat.certification import services as certification
from mandat.certification.models import CertificationRequest, RequestStatus
from mandat.core import time
from mandat.core.errors import ApplicationError
from mandat.documents import services as documents

QUEUE_PAGE_SIZE = 50
LETTERS_PAGE_SIZE = 50
BATCHES_PAGE_SIZE = 20


def _agent(request: HttpRequest) -> User:
    return agent_of(request)


def _refused(request: HttpRequest, error: ApplicationError) -> None:
    messages.error(request, str(error))


@agent_only
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    now = time.now()
    context = {
        "counters": selectors.counters(now=now),
        "promise": selectors.promise_hours(),
        "expiring_days": selectors.EXPIRING_SOON_DAYS,
        "expiring_until": now + dt.timedelta(days=selectors.EXPIRING_SOON_DAYS),
    }
    return render(request, "backoffice/home.html", context)


@agent_only
@require_GET
def request_queue(request: HttpRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET)
    status, newest_first = form.filters()
    paginator = Paginator(
        selectors.request_queue(status=status, newest_first=newest_first), QUEUE_PAGE_SIZE
    )
    page = paginator.get_page(request.GET.get("page"))
    now = time.now()
    rows = [(item, issuing.reference(item), selectors.wait_of(item, now=now)) for item in page]
    return render(
        request,
        "backoffice/requests.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "status": status,
            "promise": selectors.promise_hours(),
        },
    )


def _detail(
    request: HttpRequest, item: CertificationRequest, reject_form: RejectForm, *, status: int = 200
) -> HttpResponse:
    letters = [
        (letter, selectors.letter_can_be_reprinted(letter))
        for letter in selectors.letters_of_request(item)
    ]
    context = {
        "item": item,
        "reference": issuing.reference(item),
        "wait": selectors.wait_of(item, now=time.now()),
        "delegations": selectors.delegations_of(item),
        "letters": letters,
        "reject_form": reject_form,
        "decidable": item.status == RequestStatus.TRANSMITTED,
    }
    return render(request, "backoffice/request.html", context, status=status)


@agent_only
@require_GET
def request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    item = selectors.access_request(request_id=request_id)
    return _detail(request, item, RejectForm())


@agent_only
@require_GET
def request_pdf(request: HttpRequest, request_id: int) -> HttpResponse:
    name, data = selectors.request_pdf(request_id=request_id)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@agent_only
@require_POST
def request_issue(request: HttpRequest, request_id: int) -> HttpResponse:
    item = selectors.access_request(request_id=request_id)
    try:
        issuing.request_issue(by=_agent(request), request=item)
    except ApplicationError as error:
        _refused(request, error)
    else:
        messages.success(
            request,
            _("The codes of %(reference)s are issued and its letters are queued for printing.")
            % {"reference": issuing.reference(item)},
        )
    return redirect("backoffice:request", request_id=item.pk)


@agent_only
@require_POST
def request_reject(request: HttpRequest, request_id: int) -> HttpResponse:
    item = selectors.access_request(request_id=request_id)
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            certification.request_reject(
                by=_agent(request), request=item, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as error:
            if error.field != "reason":
                _refused(request, error)
                return redirect("backoffice:request", request_id=item.pk)
            form.add_error("reason", str(error))
        else:
            messages.success(
                request,
                _("%(reference)s is rejected; the employer's space is told why.")
                % {"reference": issuing.reference(item)},
            )
            return redirect("backoffice:request", request_id=item.pk)
    return _detail(request, item, form, status=400)


@agent_only
@require_http_methods(["GET", "POST"])
def letter_reprint(request: HttpRequest, letter_id: int) -> HttpResponse:
    """GET asks for confirmation; POST re-prints."""
    letter = selectors.access_letter(letter_id=letter_id)
    assert letter.request is not None  # noqa: S101 - access_letter only finds request letters
    if request.method == "POST":
        try:
            issuing.letter_reprint(by=_agent(request), letter=letter)
        except ApplicationError as error:
            _refused(request, error)
        else:
            messages.success(
                request,
                _(
                    "A new letter with new codes is queued for printing; the old codes no "
                    "longer work."
                ),
            )
        return redirect("backoffice:request", request_id=letter.request.pk)
    return render(
        request,
        "backoffice/reprint_confirm.html",
        {
            "letter": letter,
            "reference": issuing.reference(letter.request),
            "possible": selectors.letter_can_be_reprinted(letter),
        },
    )


@agent_only
@require_GET
def dispatch(request: HttpRequest) -> HttpResponse:
    waiting = Paginator(selectors.letters_waiting(), LETTERS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    batch_page = Paginator(selectors.batches(), BATCHES_PAGE_SIZE).get_page(
        request.GET.get("batches")
    )
    waiting_rows = [
        (letter, issuing.reference(letter.request) if letter.request else "") for letter in waiting
    ]
    context = {"waiting": waiting, "waiting_rows": waiting_rows, "batch_page": batch_page}
    return render(request, "backoffice/letters.html", context)


@agent_only
@require_POST
def batch_create(request: HttpRequest) -> HttpResponse:
    try:
        batch = documents.batch_create(by=_agent(request))
    except ApplicationError as error:
        _refused(request, error)
    else:
        messages.success(
            request,
            ngettext(
                "Print batch #%(batch)s holds %(count)s letter.",
                "Print batch #%(batch)s holds %(count)s letters.",
                batch.letter_count,
            )
            % {"batch": batch.pk, "count": batch.letter_count},
        )
    return redirect("backoffice:letters")


def _download(data: bytes | str, *, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@agent_only
@require_GET
def batch_pdf(request: HttpRequest, batch_id: int) -> HttpResponse:
    from mandat.documents.batch import batch_pdf as render_batch

    batch = selectors.access_batch(batch_id=batch_id)
    try:
        data = render_batch(batch)
    except ApplicationError as error:
        return render(request, "backoffice/gone.html", {"message": str(error)}, status=410)
    return _download(data, content_type="application/pdf", name=f"batch-{batch.pk}.pdf")


@agent_only
@require_GET
def batch_manifest(request: HttpRequest, batch_id: int) -> HttpResponse:
    from mandat.documents.batch import batch_manifest_csv

    batch = selectors.access_batch(batch_id=batch_id)
    return _download(
        batch_manifest_csv(batch),
        content_type="text/csv; charset=utf-8",
        name=f"batch-{batch.pk}.csv",
    )


@agent_only
@require_http_methods(["GET", "POST"])
def batch_dispatch(request: HttpRequest, batch_id: int) -> HttpResponse:
    """GET asks for confirmation; POST marks the batch as posted."""
    batch = selectors.access_batch(batch_id=batch_id)
    if request.method == "POST":
        try:
            documents.batch_dispatch(by=_agent(request), batch=batch)
        except ApplicationError as error:
            _refused(request, error)
        else:
            messages.success(
                request,
                _("Print batch #%(batch)s is marked as posted; its letters' PDFs are erased.")
                % {"batch": batch.pk},
            )
        return redirect("backoffice:letters")
    return render(request, "backoffice/dispatch_confirm.html", {"batch": batch})
