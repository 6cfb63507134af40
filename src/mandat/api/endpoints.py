"""The token API: what an API client may ask, acting as its space.

Every call authenticates with an access token (``auth.CLIENT_AUTH``), reads the client
again and counts against its rate limit. A call outside the client's scopes is 403
``scope_missing``. The policy is the portal's (``mandates.policies``), minus the
membership part: the client acts as the space itself.
"""

from __future__ import annotations

import datetime as dt
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router
from ninja.errors import AuthenticationError

from mandat.api import checks
from mandat.api.auth import CLIENT_AUTH, CLIENT_TOKEN_ONLY, principal, token_holder
from mandat.api.models import ApiClient
from mandat.api.principal import ApiPrincipal, TokenHolder, format_scope
from mandat.api.problems import problems
from mandat.api.ratelimit import limiter
from mandat.api.schemas import (
    Action,
    BatchIn,
    BatchOut,
    CheckIn,
    CheckOut,
    ClientPage,
    ClientRef,
    Cursor,
    DomainCode,
    SpaceRef,
    WhoamiOut,
)
from mandat.catalog.models import Domain, Level
from mandat.core.errors import ApplicationError, NotFoundOrForbidden
from mandat.mandates import policies

router = Router(auth=CLIENT_AUTH, tags=["checks"], by_alias=True)

_ERRORS = problems(400, 401, 403, 422, 429)  # 400: a body that is not JSON


def require_scope(who: TokenHolder, domain: str, action: str, *, field: str = "domain") -> None:
    if not who.allows(domain, action):
        raise ApplicationError(
            _("This client's scopes do not cover %(action)s in %(domain)s."),
            code="scope_missing",
            field=field,
            action=action,
            domain=domain,
        )


@router.get(
    "/whoami",
    response={200: WhoamiOut, **problems(401, 429)},
    operation_id="whoami",
    tags=["session"],
)
def whoami(request: HttpRequest) -> WhoamiOut:
    """The space the client acts as, the client, and the scopes of its token."""
    who = principal(request)
    client = ApiClient.objects.select_related("space").get(pk=who.client_pk)
    return WhoamiOut(
        space=SpaceRef(id=client.space_id, name=client.space.name),
        client=ClientRef(
            client_id=client.client_id, name=client.name, expires_at=client.expires_at
        ),
        scopes=format_scope(set(who.scopes)),
    )


def _result(mandate_id: int | None) -> CheckOut:
    if mandate_id is None:
        return CheckOut(allowed=False, reason="no_active_mandate", mandate=None)
    return CheckOut(allowed=True, reason="active_mandate", mandate=mandate_id)


#: The three answers of ``POST /check``, encoded once (the endpoint sits on every request of
#: payroll software; a test holds them to the ``CheckOut`` schema).
_REFUSED_BODY = b'{"allowed": false, "reason": "no_active_mandate", "mandate": null}'
_ALLOWED_BODY = '{"allowed": true, "reason": "active_mandate", "mandate": %d}'


@router.post(
    "/check", response={200: CheckOut, **_ERRORS}, operation_id="check", auth=CLIENT_TOKEN_ONLY
)
def check(request: HttpRequest, payload: CheckIn) -> HttpResponse:
    """May the space ``action`` for this employer in this domain, now?

    An unknown employer and a forbidden action get the same answer: ``allowed`` false.
    """
    holder = token_holder(request)
    # The client and the rule in one statement: a client that may no longer call is
    # refused as authentication refuses it everywhere else, then counted, then its scopes.
    found = checks.client_check(
        holder.client_id, holder.space_id, payload.action, payload.employer, payload.domain
    )
    if found.client_pk is None:
        raise AuthenticationError()
    limiter.hit(found.client_pk)
    require_scope(holder, payload.domain, payload.action)
    body = _REFUSED_BODY if found.mandate_id is None else _ALLOWED_BODY % found.mandate_id
    return HttpResponse(body, content_type="application/json; charset=utf-8")


@router.post("/check/batch", response={200: BatchOut, **_ERRORS}, operation_id="check_batch")
def check_batch(request: HttpRequest, payload: BatchIn) -> BatchOut:
    """Up to 1,000 checks at once, answered in order, in three database queries."""
    who = principal(request)
    for index, item in enumerate(payload.checks):
        require_scope(who, item.domain, item.action, field=f"checks.{index}.domain")
    found = policies.space_mandates_for(
        who.space_id,
        [item.employer for item in payload.checks],
        [item.domain for item in payload.checks],
    )
    results = []
    for item in payload.checks:
        usable = found.get((item.employer, item.domain))
        covers = usable is not None and usable.level in Level.covering(item.action)
        results.append(_result(usable.mandate_id if usable and covers else None))
    return BatchOut(results=results)


def domain_by_code(code: str, *, field: str = "domain") -> Domain:
    found = Domain.objects.filter(code=code).order_by("institution__code").first()
    if found is None:
        raise NotFoundOrForbidden(_("This domain does not exist."), code="not_found", field=field)
    return found


def _utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC (naive means UTC); a moment outside the years 1 to 9999 once in UTC
    (``0001-01-01T00:00:00+01:00``) is refused rather than overflowing."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise ApplicationError(
            _("changed_since must be a date and time between the years 1 and 9999 in UTC."),
            code="changed_since_invalid",
            field="changed_since",
        ) from None


def cursor_value(cursor: str | None) -> int:
    return int(cursor) if cursor else 0


@router.get(
    "/clients",
    response={200: ClientPage, **problems(401, 403, 404, 422, 429)},
    operation_id="clients_list",
    tags=["clients"],
)
def clients_list(
    request: HttpRequest,
    domain: Query[DomainCode],
    level: Query[Action] = "consult",
    changed_since: Query[dt.datetime | None] = None,
    cursor: Query[Cursor | None] = None,
    limit: Query[int] = 100,
) -> HttpResponse:
    """The employers the space may ``level`` for in ``domain``, by employer id, a page at a time.

    ``changed_since`` keeps the mandates that became active since then. Pass ``next_cursor``
    as ``cursor`` for the next page. ``limit``: 1 to 1,000.
    """
    who = principal(request)
    if not 1 <= limit <= 1000:
        raise ApplicationError(
            _("limit must be between 1 and 1000."), code="limit_invalid", field="limit"
        )
    require_scope(who, domain, level)
    domain_id = checks.domain_id_by_code(domain)
    if domain_id is None:
        raise NotFoundOrForbidden(
            _("This domain does not exist."), code="not_found", field="domain"
        )
    if changed_since is not None:
        changed_since = _utc(changed_since)
    page = policies.client_rows_for_space(
        who.space_id,
        domain_id,
        level,
        after=cursor_value(cursor),
        limit=limit,
        changed_since=changed_since,
    )
    # Encoded here, not through the ClientPage model: a page of 1,000 rows sits in payroll
    # software's sync loops, and validating each row cost more than reading it. A test holds
    # the body to the schema and to what the model would have rendered.
    body = {
        "items": [
            {
                "employer": {"employer_number": row.employer_number, "name": row.employer_name},
                "mandate": row.mandate_id,
                "level": row.level,
                "since": _JSON.default(row.since),
            }
            for row in page.rows
        ],
        "next_cursor": str(page.next_after) if page.next_after is not None else None,
    }
    return HttpResponse(json.dumps(body), content_type="application/json; charset=utf-8")


#: Dates and times as the API writes them everywhere (ninja's encoder is Django's).
_JSON = DjangoJSONEncoder()


def visible_mandates(who: ApiPrincipal) -> Q:
    """Mandates the space holds, and those its own employer gave, in the client's domains."""
    return (
        Q(grantee_space_id=who.space_id) | Q(employer__organisation__spaces__id=who.space_id)
    ) & Q(domain__code__in=sorted(who.domains()))
