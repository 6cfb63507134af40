"""Reads for the institution's back-office: the request queue, letters, batches, counters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.certification.issuing import reference
from mandat.certification.models import (
    AccessCode,
    CertificationRequest,
    Delegation,
    RequestStatus,
)
from mandat.core import time
from mandat.core.errors import NotFoundOrForbidden
from mandat.documents.models import DispatchBatch, Letter, LetterStatus

#: The statuses a request reaches once its filer sent it to the institution. Drafts and
#: signed requests stay the filer's business until they are transmitted.
BACKOFFICE_STATUSES: tuple[RequestStatus, ...] = (
    RequestStatus.TRANSMITTED,
    RequestStatus.ISSUED,
    RequestStatus.REJECTED,
    RequestStatus.COMPLETED,
    RequestStatus.EXPIRED,
)
#: Codes whose deadline falls within this many days are counted as expiring soon.
EXPIRING_SOON_DAYS = 7


def is_agent(user: object) -> bool:
    return isinstance(user, User) and user.is_active and user.is_agent


def _not_found() -> NotFoundOrForbidden:
    return NotFoundOrForbidden(_("This page does not exist."), code="not_found")


def promise_hours() -> int:
    return int(settings.MANDAT_DISPATCH_PROMISE_HOURS)


@dataclass(frozen=True)
class Wait:
    """How long a request has waited for the institution, against the dispatch promise."""

    hours: int
    promise: int
    overdue: bool


def wait_of(request: CertificationRequest, *, now: dt.datetime) -> Wait | None:
    """From transmission to the decision (or to ``now`` while it waits); None if never sent."""
    if request.transmitted_at is None:
        return None
    if request.status == RequestStatus.TRANSMITTED:
        end = now
    else:
        end = request.issued_at or request.rejected_at or request.closed_at or now
    elapsed = end - request.transmitted_at
    promise = promise_hours()
    return Wait(
        hours=max(int(elapsed.total_seconds() // 3600), 0),
        promise=promise,
        overdue=elapsed > dt.timedelta(hours=promise),
    )


def request_queue(*, status: str | None, newest_first: bool) -> QuerySet[CertificationRequest]:
    """Requests sent to the institution, with the number of delegated domains, by age.

    ``status=None`` means every status the back-office sees.
    """
    statuses = [status] if status else list(BACKOFFICE_STATUSES)
    sent = F("transmitted_at")
    order = sent.desc(nulls_last=True) if newest_first else sent.asc(nulls_last=True)
    return (
        CertificationRequest.objects.filter(status__in=statuses)
        .select_related("employer")
        .defer("signed_pdf")
        .annotate(delegated_domains=Count("delegations"))
        .order_by(order, "-pk" if newest_first else "pk")
    )


def access_request(*, request_id: int) -> CertificationRequest:
    """A request the back-office may open; the same error whether it is missing or a draft."""
    found = (
        CertificationRequest.objects.filter(pk=request_id, status__in=BACKOFFICE_STATUSES)
        .select_related("employer", "space", "signed_by", "issued_by", "rejected_by")
        .first()
    )
    if found is None:
        raise _not_found()
    return found


def request_pdf(*, request_id: int) -> tuple[str, bytes]:
    """The signed request document: a file name and its bytes."""
    found = (
        CertificationRequest.objects.filter(
            pk=request_id, status__in=BACKOFFICE_STATUSES, signed_pdf__isnull=False
        )
        .only("pk", "signed_pdf")
        .first()
    )
    if found is None or found.signed_pdf is None:
        raise _not_found()
    return f"{reference(found)}.pdf", bytes(found.signed_pdf)


def delegations_of(request: CertificationRequest) -> QuerySet[Delegation]:
    return request.delegations.select_related("domain", "representative").order_by(
        "domain__position"
    )


def letters_of_request(request: CertificationRequest) -> QuerySet[Letter]:
    return (
        Letter.objects.filter(request=request)
        .select_related("request", "batch", "replaces", "replaced_by")
        .defer(
            "pdf_encrypted",
            "request__signed_pdf",
            "replaces__pdf_encrypted",
            "replaced_by__pdf_encrypted",
        )
        .order_by("created_at", "pk")
    )


def access_letter(*, letter_id: int) -> Letter:
    found = (
        Letter.objects.filter(pk=letter_id, request__status__in=BACKOFFICE_STATUSES)
        .select_related("request", "request__employer")
        .defer("pdf_encrypted")
        .first()
    )
    if found is None:
        raise _not_found()
    return found


def letter_can_be_reprinted(letter: Letter) -> bool:
    """Whether the re-print action applies; the service makes the final decision."""
    request = letter.request
    return (
        request is not None
        and request.status == RequestStatus.ISSUED
        and letter.status != LetterStatus.CANCELLED
        and not hasattr(letter, "replaced_by")
    )


def letters_waiting() -> QuerySet[Letter]:
    """Letters waiting for the post, in the address order of ``documents.queued_letters``."""
    return (
        Letter.objects.filter(status=LetterStatus.QUEUED, batch__isnull=True)
        .select_related("request")
        .defer("pdf_encrypted", "request__signed_pdf")
        .order_by("country", "postcode", "city", "recipient", "pk")
    )


def batches() -> QuerySet[DispatchBatch]:
    return DispatchBatch.objects.select_related("created_by", "dispatched_by").order_by(
        "-created_at", "-pk"
    )


def access_batch(*, batch_id: int) -> DispatchBatch:
    found = batches().filter(pk=batch_id).first()
    if found is None:
        raise _not_found()
    return found


@dataclass(frozen=True)
class Counters:
    requests_waiting: int
    requests_overdue: int
    letters_to_print: int
    codes_expiring: int


def counters(*, now: dt.datetime | None = None) -> Counters:
    moment = now or time.now()
    overdue_before = moment - dt.timedelta(hours=promise_hours())
    waiting = CertificationRequest.objects.filter(status=RequestStatus.TRANSMITTED).aggregate(
        total=Count("pk"), overdue=Count("pk", filter=Q(transmitted_at__lt=overdue_before))
    )
    return Counters(
        requests_waiting=waiting["total"],
        requests_overdue=waiting["overdue"],
        letters_to_print=letters_waiting().count(),
        codes_expiring=AccessCode.objects.filter(
            used_at__isnull=True,
            invalidated_at__isnull=True,
            expires_at__gt=moment,
            expires_at__lte=moment + dt.timedelta(days=EXPIRING_SOON_DAYS),
        ).count(),
    )
