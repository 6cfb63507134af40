"""Mandates and their changes, for an API client acting as its space."""

from __future__ import annotations

from typing import Literal

from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Path, Query, Router

from mandat.api.auth import CLIENT_AUTH, principal
from mandat.api.endpoints import cursor_value, require_scope, visible_mandates
from mandat.api.principal import ApiPrincipal
from mandat.api.problems import problems
from mandat.api.schemas import (
    Cursor,
    EmployerRef,
    EndIn,
    EventOut,
    EventPage,
    MandateOut,
    MandatePage,
)
from mandat.catalog.models import Domain
from mandat.core.errors import ApplicationError, NotFoundOrForbidden
from mandat.core.models import AuditEvent, AuditHead
from mandat.mandates import services
from mandat.mandates.models import Mandate
from mandat.registry.models import Employer

router = Router(auth=CLIENT_AUTH, tags=["mandates"], by_alias=True)

MandateId = Path[int]
EVENT_TYPES = ["granted", "activated", "revoked", "expired", "renounced"]


def _out(mandate: Mandate) -> MandateOut:
    return MandateOut(
        id=mandate.pk,
        employer=EmployerRef(
            employer_number=mandate.employer.employer_number, name=mandate.employer.name
        ),
        domain=mandate.domain.code,
        level=mandate.level,  # type: ignore[arg-type]
        kind=mandate.kind,  # type: ignore[arg-type]
        status=mandate.status,  # type: ignore[arg-type]
        end_cause=mandate.end_cause,  # type: ignore[arg-type]
        holder_space=mandate.grantee_space_id,
        valid_from=mandate.valid_from,
        valid_until=mandate.valid_until,
        activated_at=mandate.activated_at,
        ended_at=mandate.ended_at,
    )


def _limit(limit: int) -> int:
    if not 1 <= limit <= 1000:
        raise ApplicationError(
            _("limit must be between 1 and 1000."), code="limit_invalid", field="limit"
        )
    return limit


@router.get(
    "/mandates",
    response={200: MandatePage, **problems(401, 422, 429)},
    operation_id="mandates_list",
)
def mandates_list(
    request: HttpRequest,
    role: Query[Literal["held", "granted"]] = "held",
    status: Query[Literal["pending", "active", "revoked", "expired"] | None] = None,
    cursor: Query[Cursor | None] = None,
    limit: Query[int] = 100,
) -> MandatePage:
    """The mandates the space holds (``role=held``), or those its own employer gave
    (``role=granted``), in the client's domains, by ascending id."""
    who = principal(request)
    limit = _limit(limit)
    rows = Mandate.objects.filter(pk__gt=cursor_value(cursor), domain__code__in=who.domains())
    if role == "held":
        rows = rows.filter(grantee_space_id=who.space_id)
    else:
        rows = rows.filter(employer__organisation__spaces__id=who.space_id)
    if status:
        rows = rows.filter(status=status)
    page = list(rows.select_related("employer", "domain").order_by("pk")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return MandatePage(
        items=[_out(m) for m in page], next_cursor=str(page[-1].pk) if more and page else None
    )


def _access(who: ApiPrincipal, mandate_id: int) -> Mandate:
    mandate = (
        Mandate.objects.filter(visible_mandates(who), pk=mandate_id)
        .select_related("employer", "domain")
        .first()
    )
    if mandate is None:
        raise NotFoundOrForbidden(
            _("This mandate does not exist or you may not see it."), code="not_found"
        )
    return mandate


@router.get(
    "/mandates/{mandate_id}",
    response={200: MandateOut, **problems(401, 404, 422, 429)},
    operation_id="mandate_get",
)
def mandate_get(request: HttpRequest, mandate_id: MandateId) -> MandateOut:
    """One mandate the space holds or its employer gave; 404 for any other."""
    return _out(_access(principal(request), mandate_id))


def _actor(who: ApiPrincipal) -> services.SpaceActor:
    return services.SpaceActor(space_id=who.space_id, client_id=who.client_id)


@router.post(
    "/mandates/{mandate_id}/renounce",
    response={200: MandateOut, **problems(400, 401, 403, 404, 409, 422, 429)},
    operation_id="mandate_renounce",
)
def mandate_renounce(
    request: HttpRequest, mandate_id: MandateId, payload: EndIn | None = None
) -> MandateOut:
    """Give up a mandate the space obtained from a client; it ends at once.

    Needs the ``act`` scope for the mandate's domain.
    """
    who = principal(request)
    mandate = _access(who, mandate_id)
    require_scope(who, mandate.domain.code, "act")
    ended = services.mandate_renounce_as_space(
        client=_actor(who), mandate=mandate, reason=payload.reason if payload else ""
    )
    return _out(Mandate.objects.select_related("employer", "domain").get(pk=ended.pk))


@router.post(
    "/mandates/{mandate_id}/revoke",
    response={200: MandateOut, **problems(400, 401, 403, 404, 409, 422, 429)},
    operation_id="mandate_revoke",
)
def mandate_revoke(
    request: HttpRequest, mandate_id: MandateId, payload: EndIn | None = None
) -> MandateOut:
    """The employer's own certified space revokes a mandate its employer gave; it stops
    working at the very next check. Needs the ``act`` scope for the mandate's domain."""
    who = principal(request)
    mandate = _access(who, mandate_id)
    require_scope(who, mandate.domain.code, "act")
    ended = services.mandate_revoke_as_space(
        client=_actor(who), mandate=mandate, reason=payload.reason if payload else ""
    )
    return _out(Mandate.objects.select_related("employer", "domain").get(pk=ended.pk))


@router.get(
    "/events",
    response={200: EventPage, **problems(401, 422, 429)},
    operation_id="events_list",
)
def events_list(
    request: HttpRequest, cursor: Query[Cursor | None] = None, limit: Query[int] = 100
) -> EventPage:
    """Changes of the space's mandates (held, or given by its own employer), oldest first.

    Read from the audit trail: ``id`` is the event's sequence number there, so the feed
    has no gap and never reorders. Keep ``next_cursor`` and poll with it: once the feed is
    read to its end, it is the trail's head, so it moves on even while nothing happens to
    this space.
    """
    who = principal(request)
    limit = _limit(limit)
    after = cursor_value(cursor)
    # Every event up to the head is committed (appenders lock the head row), so a page
    # bounded by it is final and the head is a safe cursor once the page is not full.
    head = AuditHead.objects.values_list("seq", flat=True).get(pk=1)
    domains = dict(Domain.objects.filter(code__in=who.domains()).values_list("pk", "code"))
    own_employers = Employer.objects.filter(organisation__spaces__id=who.space_id).values("pk")
    rows = list(
        AuditEvent.objects.filter(
            seq__gt=after,
            seq__lte=head,
            object_type="mandates.mandate",
            action__in=[f"mandate.{kind}" for kind in EVENT_TYPES],
            data__domain__in=list(domains),
        )
        # the space holds the mandate, or the space's own employer gave it
        .filter(Q(data__space=who.space_id) | Q(employer_id__in=own_employers))
        .order_by("seq")
        .only("seq", "at", "action", "object_id", "data")[:limit]
    )
    numbers = dict(
        Employer.objects.filter(pk__in={row.data["employer"] for row in rows}).values_list(
            "pk", "employer_number"
        )
    )
    items = [
        EventOut(
            id=row.seq,
            type=row.action.removeprefix("mandate."),  # type: ignore[arg-type]
            at=row.at,
            mandate=int(row.object_id),
            employer=numbers.get(row.data["employer"], ""),
            domain=domains[row.data["domain"]],
            level=row.data["level"],
            kind=row.data["kind"],
            holder_space=row.data["space"],
        )
        for row in rows
    ]
    last = rows[-1].seq if len(rows) == limit else max(head, after)
    return EventPage(items=items, next_cursor=str(last))
