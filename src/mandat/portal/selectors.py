"""Reads of the space pages: notices, the e-Box, and the domain a space works in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.catalog.models import Domain, Level, Service
from mandat.certification.models import CertificationRequest
from mandat.core.errors import NotFoundOrForbidden
from mandat.documents.models import Delivery, EDelivery, LetterKind, Notice
from mandat.mandates import policies
from mandat.mandates import selectors as mandate_selectors
from mandat.mandates.models import Mandate
from mandat.spaces.models import Space
from mandat.spaces.selectors import is_admin


@dataclass(frozen=True)
class PendingCode:
    domain: str
    kind: str
    representative: str


@dataclass(frozen=True)
class NoticeView:
    """A notice with its parameters read for display, in the reader's language."""

    notice: Notice
    kind: str
    reference: str = ""
    reason: str = ""
    employer: str = ""
    deadline: dt.datetime | None = None
    pending: list[PendingCode] = field(default_factory=list)


def _deadline(value: object) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _domain_names(notices: list[Notice]) -> dict[tuple[int, str], str]:
    """Names of the domains that reminders name by code, in each request's institution."""
    request_ids = {n.params.get("request") for n in notices if n.params.get("pending")}
    institution_of = dict(
        CertificationRequest.objects.filter(pk__in=request_ids).values_list("pk", "institution_id")
    )
    names = {
        (d.institution_id, d.code): d.name
        for d in Domain.objects.filter(institution_id__in=set(institution_of.values()))
    }
    return {
        (request_id, code): name
        for request_id, institution_id in institution_of.items()
        for (owner, code), name in names.items()
        if owner == institution_id
    }


def unread_notices(*, space: Space) -> list[NoticeView]:
    notices = list(Notice.objects.filter(space=space, read_at__isnull=True).order_by("-created_at"))
    domains = _domain_names(notices)
    views = []
    for notice in notices:
        params = notice.params
        request_id = params.get("request")
        pending = [
            PendingCode(
                domain=domains.get((request_id, str(item.get("domain"))), str(item.get("domain"))),
                kind=str(item.get("kind", "")),
                representative=str(item.get("representative", "")),
            )
            for item in params.get("pending", [])
            if isinstance(item, dict)
        ]
        views.append(
            NoticeView(
                notice=notice,
                kind=notice.kind,
                reference=str(params.get("reference", "")),
                reason=str(params.get("reason", "")),
                employer=str(params.get("employer", "")),
                deadline=_deadline(params.get("deadline")),
                pending=pending,
            )
        )
    return views


def notice_of_space(*, space: Space, notice_id: int) -> Notice:
    notice = Notice.objects.filter(space=space, pk=notice_id).first()
    if notice is None:
        raise NotFoundOrForbidden(
            _("This notice does not exist or you may not see it."), code="not_found"
        )
    return notice


def ebox(*, space: Space, limit: int = 50) -> list[Delivery]:
    """The newest documents delivered to the space's e-Box."""
    return list(
        Delivery.objects.filter(space=space)
        .select_related("letter", "employer")
        .prefetch_related("letter__domains")
        .order_by("-created_at", "-pk")[:limit]
    )


def delivery_of_space(*, user: User, space: Space, delivery_id: int) -> Delivery:
    """A document of the space's e-Box; one error for missing and for not allowed.

    A letter with access codes opens to the space's administrators only; any
    other document to members who may consult its employer in all its domains,
    so a collaborator restricted away from a client does not read its mail.
    """
    delivery = (
        Delivery.objects.filter(space=space, pk=delivery_id)
        .select_related("letter")
        .prefetch_related("letter__domains")
        .first()
    )
    allowed = delivery is not None and (
        is_admin(user=user, space=space)
        if delivery.letter.kind in LetterKind.values
        else all(
            policies.can(user, "consult", delivery.employer_id, domain)
            for domain in delivery.letter.domains.all()
        )
    )
    if delivery is None or not allowed:
        raise NotFoundOrForbidden(
            _("This document does not exist or you may not see it."), code="not_found"
        )
    return delivery


@dataclass(frozen=True)
class ServiceView:
    service: Service
    usable: bool


@dataclass(frozen=True)
class DomainView:
    mandate: Mandate
    services: list[ServiceView]
    can_act: bool
    edelivery: EDelivery | None


def domain_of_space(*, user: User, space: Space, employer_id: int, domain_code: str) -> DomainView:
    """A domain the space holds a mandate for and the person may consult; else not found.

    The answer for "no such employer or domain" and "you may not" is the same.
    """
    mandate = (
        mandate_selectors.active_mandates(space=space)
        .filter(employer_id=employer_id, domain__code=domain_code)
        .select_related("domain", "employer")
        .first()
    )
    if mandate is None or not policies.can(
        user, Level.CONSULT, mandate.employer_id, mandate.domain_id
    ):
        raise NotFoundOrForbidden(
            _("This domain does not exist or you may not open it."), code="not_found"
        )
    can_act = policies.can(user, Level.ACT, mandate.employer_id, mandate.domain_id)
    services = [
        ServiceView(service=s, usable=can_act or s.level == Level.CONSULT)
        for s in Service.objects.filter(domain=mandate.domain).order_by("level", "code")
    ]
    edelivery = EDelivery.objects.filter(employer=mandate.employer, domain=mandate.domain).first()
    return DomainView(mandate=mandate, services=services, can_act=can_act, edelivery=edelivery)
