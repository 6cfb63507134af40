"""Reads of the portal pages: the home page, notices, the Inbox (e-Box), and a space's domain."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.catalog.models import Domain, Level, Service
from mandat.certification.models import (
    OPEN_STATUSES,
    AccessCode,
    CertificationRequest,
    CodeKind,
    RequestStatus,
)
from mandat.core import time
from mandat.core.errors import NotFoundOrForbidden
from mandat.documents.models import Delivery, EDelivery, Letter, Notice, NoticeKind
from mandat.documents.selectors import deliveries_visible_to
from mandat.mandates import policies
from mandat.mandates import selectors as mandate_selectors
from mandat.mandates.models import Mandate, MandateKind
from mandat.spaces import selectors as space_selectors
from mandat.spaces.models import Membership, Role, Space


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


#: The overview shows this many unread notices, newest first, and counts the rest.
NOTICES_SHOWN = 20


def notices_visible_to(
    *, user: User, space: Space, deliveries: QuerySet[Delivery] | None = None
) -> QuerySet[Notice]:
    """The space's notices ``user`` may read (and mark read).

    Administrators read them all. Another member reads the "new document" notice of a
    document they may open (``deliveries_visible_to``, pass it when already built) and
    nothing of the space's certification requests, whose access codes go to administrators.
    """
    visible = (
        deliveries if deliveries is not None else deliveries_visible_to(user=user, space=space)
    )
    admin = Membership.objects.filter(
        space=space, user=user, role=Role.ADMIN, removed_at__isnull=True, user__is_active=True
    )
    return Notice.objects.filter(space=space).filter(
        Exists(admin) | Q(kind=NoticeKind.DOCUMENT_DELIVERED, delivery__in=visible.values("pk"))
    )


@dataclass(frozen=True)
class Notices:
    """The newest unread notices, and how many more wait."""

    shown: list[NoticeView]
    more: int


def unread_notices(*, user: User, space: Space) -> Notices:
    unread = notices_visible_to(user=user, space=space).filter(read_at__isnull=True)
    notices = list(unread.order_by("-created_at", "-pk")[:NOTICES_SHOWN])
    more = unread.count() - len(notices) if len(notices) == NOTICES_SHOWN else 0
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
    return Notices(shown=views, more=more)


def notice_of_space(*, user: User, space: Space, notice_id: int) -> Notice:
    """A notice ``user`` may read; one error for missing and for not theirs to see."""
    notice = notices_visible_to(user=user, space=space).filter(pk=notice_id).first()
    if notice is None:
        raise NotFoundOrForbidden(
            _("This notice does not exist or you may not see it."), code="not_found"
        )
    return notice


def _documents(*, user: User, space: Space) -> QuerySet[Delivery]:
    return (
        deliveries_visible_to(user=user, space=space)
        .select_related("letter", "employer", "read_by")
        .prefetch_related("letter__domains")
        .defer("letter__pdf_encrypted")
        .order_by("-created_at", "-pk")
    )


def latest_documents(*, user: User, space: Space, limit: int = 5) -> list[Delivery]:
    """The newest documents of the space's e-Box that ``user`` may open."""
    return list(_documents(user=user, space=space)[:limit])


def unread_document_count(*, user: User, space: Space) -> int:
    return deliveries_visible_to(user=user, space=space).filter(read_at__isnull=True).count()


@dataclass(frozen=True)
class InboxFilters:
    """What the Inbox is narrowed to: an employer (number or name), a domain, unread only."""

    employer: str = ""
    domain: str = ""
    unread: bool = False

    @property
    def active(self) -> bool:
        return bool(self.employer or self.domain or self.unread)


def inbox(*, user: User, space: Space, filters: InboxFilters) -> QuerySet[Delivery]:
    """The space's e-Box as ``user`` may see it, newest first, narrowed by ``filters``."""
    documents = _documents(user=user, space=space)
    term = filters.employer.strip()
    if term:
        number = term.replace(" ", "")
        match = Q(employer__name__icontains=term)
        if number.isdigit():
            match |= Q(employer__employer_number__startswith=number)
        documents = documents.filter(match)
    if filters.domain:
        in_domain = Letter.domains.through.objects.filter(
            letter_id=OuterRef("letter_id"), domain__code=filters.domain
        )
        documents = documents.filter(Exists(in_domain))
    if filters.unread:
        documents = documents.filter(read_at__isnull=True)
    return documents


def inbox_domains() -> QuerySet[Domain]:
    """The domains a document may concern, for the Inbox's filter."""
    return Domain.objects.select_related("institution").order_by(
        "institution__code", "position", "code"
    )


def delivery_of_space(*, user: User, space: Space, delivery_id: int) -> Delivery:
    """A document of the space's e-Box; one error for missing and for not allowed.

    A letter with access codes opens to the space's administrators only; any
    other document to members who may consult its employer in all its domains,
    so a collaborator restricted away from a client does not read its mail
    (``documents.selectors.deliveries_visible_to``, the same rule as the list).
    """
    delivery = (
        deliveries_visible_to(user=user, space=space)
        .filter(pk=delivery_id)
        .select_related("letter", "space")
        .first()
    )
    if delivery is None:
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


# The home page: each space at a glance, in a fixed number of queries per space


@dataclass(frozen=True)
class SpaceSummary:
    """One space on the home page: what it holds, what waits to be done, what is unread."""

    space: Space
    certifications: list[Mandate]
    obtained_mandates: int
    obtained_clients: int
    request: CertificationRequest | None
    holder_codes_pending: int
    representative_codes_pending: int
    unread_documents: int
    unread_notices: int

    @property
    def has_actions(self) -> bool:
        return self.request is not None and (
            self.request.status in (RequestStatus.DRAFT, RequestStatus.SIGNED)
            or (self.request.status == RequestStatus.ISSUED and self.holder_codes_pending > 0)
        )


def _within_restrictions(*, user: User, space: Space) -> Q:
    """Mandates of the space that the person's membership is not restricted away from.

    The membership part of the policy, as a condition on mandates (no extra query).
    """
    mine = Membership.objects.filter(space=space, user=user, removed_at__isnull=True)
    employers = Membership.allowed_employers.through.objects.filter(
        membership__in=mine, employer_id=OuterRef("employer_id")
    )
    domains = Membership.allowed_domains.through.objects.filter(
        membership__in=mine, domain_id=OuterRef("domain_id")
    )
    return (~Exists(mine.filter(restrict_employers=True)) | Exists(employers)) & (
        ~Exists(mine.filter(restrict_domains=True)) | Exists(domains)
    )


#: The home page names at most this many certifications of a space; the tab lists them all.
HOME_CERTIFICATIONS = 12


def space_summary(*, user: User, space: Space) -> SpaceSummary:
    """The home page's view of one space: at most seven queries, however many clients it has.

    The counts are the person's: a collaborator restricted to some clients or domains
    counts only those, as the policy and the e-Box apply the restrictions.
    """
    now = time.now()
    certifications = list(
        mandate_selectors.certifications_of_space(space=space)[:HOME_CERTIFICATIONS]
    )
    obtained = (
        mandate_selectors.live_mandates(space=space, now=now)
        .filter(_within_restrictions(user=user, space=space), kind=MandateKind.OBTAINED)
        .aggregate(mandates=Count("pk"), clients=Count("employer_id", distinct=True))
    )
    request = (
        CertificationRequest.objects.filter(space=space, status__in=OPEN_STATUSES)
        .select_related("employer")
        .first()
    )
    pending: dict[str, int] = {CodeKind.HOLDER: 0, CodeKind.REPRESENTATIVE: 0}
    if request is not None and request.status == RequestStatus.ISSUED:
        counts = (
            AccessCode.objects.filter(
                Q(expires_at__isnull=True) | Q(expires_at__gt=now),
                request=request,
                used_at__isnull=True,
                invalidated_at__isnull=True,
                locked_at__isnull=True,
                kind__in=list(pending),
            )
            .order_by()
            .values("kind")
            .annotate(n=Count("pk"))
            .values_list("kind", "n")
        )
        for kind, count in counts:
            pending[kind] = count
    documents = deliveries_visible_to(user=user, space=space)
    return SpaceSummary(
        space=space,
        certifications=certifications,
        obtained_mandates=obtained["mandates"],
        obtained_clients=obtained["clients"],
        request=request,
        holder_codes_pending=pending[CodeKind.HOLDER],
        representative_codes_pending=pending[CodeKind.REPRESENTATIVE],
        unread_documents=documents.filter(read_at__isnull=True).count(),
        unread_notices=notices_visible_to(user=user, space=space, deliveries=documents)
        .filter(read_at__isnull=True)
        .count(),
    )


def home(*, user: User) -> list[SpaceSummary]:
    """Every open space of ``user``, summed up."""
    return [
        space_summary(user=user, space=space) for space in space_selectors.spaces_of_user(user=user)
    ]
