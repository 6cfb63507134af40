"""An employer's audit trail: its events, a check of the whole chain, and its provable export."""

from __future__ import annotations

import json
import time as clock

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from mandat.backoffice import registry_selectors as selectors
from mandat.backoffice.gate import agent_only
from mandat.core import audit
from mandat.registry.models import Employer

AUDIT_PAGE_SIZE = 50

#: ``audit.Verdict.reason`` is an English phrase for logs and the command line; the page
#: shows it in the reader's language.
REASONS = {
    "event missing or out of order": _("an event is missing or out of order"),
    "previous hash does not match the chain": _("the event does not point to the event before it"),
    "content differs from its digest": _("the event's content was changed"),
    "hash does not match its link": _("the event's link was changed"),
    "events missing at the end of the chain": _("events are missing at the end of the chain"),
    "events beyond the chain head": _("there are events beyond the recorded end of the chain"),
    "the chain does not end at its recorded head": _("the chain does not end at its recorded end"),
}


def _trail(
    request: HttpRequest,
    employer: Employer,
    *,
    verdict: audit.Verdict | None = None,
    seconds: float | None = None,
) -> HttpResponse:
    page = Paginator(selectors.audit_events_of(employer_id=employer.pk), AUDIT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    events = list(page)
    actors = selectors.actor_names(events)
    # Absolute links: after "Verify chain" the page stands at the POST-only address.
    trail = reverse("backoffice:employer-audit", args=[employer.pk])
    context = {
        "employer": employer,
        "page": page,
        "events": [(event, actors.get(event.actor_id or 0)) for event in events],
        "prev_href": f"{trail}?page={page.previous_page_number()}" if page.has_previous() else "",
        "next_href": f"{trail}?page={page.next_page_number()}" if page.has_next() else "",
        "verdict": verdict,
        "reason": REASONS.get(verdict.reason, verdict.reason) if verdict else "",
        "valid_up_to": (
            None if verdict is None or verdict.broken_seq is None else verdict.broken_seq - 1
        ),
        "seconds": seconds,
    }
    return render(request, "backoffice/registry/audit.html", context)


@agent_only
@require_GET
def employer_audit(request: HttpRequest, employer_id: int) -> HttpResponse:
    employer = selectors.access_employer(employer_id=employer_id)
    return _trail(request, employer)


@agent_only
@require_http_methods(["POST"])
def audit_verify(request: HttpRequest, employer_id: int) -> HttpResponse:
    """Walk the whole chain now (about a second for the demo's 17,000 events); show the result."""
    employer = selectors.access_employer(employer_id=employer_id)
    started = clock.perf_counter()
    verdict = audit.verify()
    return _trail(request, employer, verdict=verdict, seconds=clock.perf_counter() - started)


@agent_only
@require_GET
def employer_audit_export(request: HttpRequest, employer_id: int) -> HttpResponse:
    employer = selectors.access_employer(employer_id=employer_id)
    document = audit.export_for_employer(employer.pk)
    response = HttpResponse(
        json.dumps(document, ensure_ascii=False, separators=(",", ":")),
        content_type="application/json; charset=utf-8",
    )
    name = f"audit-employer-{employer.employer_number}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
