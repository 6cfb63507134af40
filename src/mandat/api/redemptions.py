"""Bulk redemption over HTTP: payroll software redeems many representative codes at once.

``POST /redemptions`` takes JSON lines, ``POST /redemptions/csv`` an uploaded CSV file;
both answer 200 with one result per line (``mandat.certification.bulk``), whatever
each line's fate. Only a body that cannot be read at all, or more than 500 lines,
is refused whole (422).

Scope: a line creates an obtained mandate in the calling space, the same thing an
administrator does by typing the code from the letter into the portal. That is a
change to the space, so the client must hold ``act`` in at least one domain; a
consult-only client is a read-only integration and gets 403 ``scope_act_required``.
A line is limited to the domains the client may act in: a code for another domain
answers ``scope_missing``, only once its security code proved right (an unknown code
or a wrong security code answers ``code_unknown`` as ever, so a scope tells nothing
about a code), and that line neither uses the code nor counts a try. The answer
thus never shows a mandate outside the client's scopes.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import File, Router, Schema
from ninja.files import UploadedFile
from pydantic import Field

from mandat.api import auth, problems
from mandat.api.principal import ApiPrincipal
from mandat.catalog.models import Level
from mandat.certification import bulk
from mandat.certification.bulk import CodePair, LineResult
from mandat.core import throttle
from mandat.core.errors import ApplicationError, NotFoundOrForbidden
from mandat.mandates.models import Mandate, MandateStatus
from mandat.spaces.models import Space

router = Router(auth=auth.CLIENT_AUTH, tags=["redemptions"], by_alias=True)

#: How long one call tries lines: each checks a security code with Argon2id (0.1 to 0.4 s
#: in production), and a call must end well before gunicorn's 30-second worker timeout.
#: The lines not reached are ``not_attempted``, for the client to send again.
SECONDS_PER_CALL = 20.0

LineStatus = Literal[
    "redeemed",
    "already_redeemed_here",
    "duplicate_line",
    "line_invalid",
    "code_typo",
    "code_unknown",
    "code_locked",
    "code_expired",
    "code_invalidated",
    "code_used",
    "wrong_kind",
    "wrong_space",
    "mandate_exists",
    "scope_missing",
    "refused",
    "not_attempted",
]


class RedemptionLineIn(Schema):
    access_code: str = Field(
        max_length=1000, description="A representative access code, with or without dashes."
    )
    security_code: str = Field(
        max_length=1000, description="The security code the employer chose in its request."
    )


class RedemptionsIn(Schema):
    lines: list[RedemptionLineIn] = Field(min_length=1, max_length=bulk.MAX_LINES)


class EmployerRef(Schema):
    employer_number: str
    name: str


class DomainRef(Schema):
    institution: str
    code: str


class RedeemedMandate(Schema):
    id: int
    employer: EmployerRef
    domain: DomainRef
    level: Level
    status: MandateStatus
    valid_from: dt.datetime
    valid_until: dt.datetime | None


class RedemptionLineOut(Schema):
    line: int = Field(
        description="The line's position in `lines` (from 1), or its line number in the CSV "
        "file (the header is line 1)."
    )
    access_code: str = Field(description="The access code as sent.")
    status: LineStatus = Field(
        description="What happened. `redeemed` and `already_redeemed_here` carry the mandate; "
        "every other status is a failure of this line alone."
    )
    ok: bool = Field(description="True for `redeemed` and `already_redeemed_here`.")
    message: str = Field(description="In the language of the request.")
    mandate: RedeemedMandate | None = None
    first_line: int | None = Field(
        default=None, description="For `duplicate_line`: the line with the same code and secret."
    )
    reason: str | None = Field(
        default=None, description="For `refused`: the refusing rule's stable code."
    )
    field: Literal["access_code", "security_code"] | None = Field(
        default=None, description="For `line_invalid`: the value in question."
    )


class RedemptionsOut(Schema):
    redeemed: int = Field(description="Lines that created a mandate now.")
    already_redeemed_here: int = Field(description="Lines this space had redeemed before.")
    failed: int = Field(description="Every other line, `not_attempted` included.")
    not_attempted: int = Field(description="Lines not tried for lack of time: send them again.")
    lines: list[RedemptionLineOut]


_ERRORS = problems.problems(400, 401, 403, 422, 429)


def _space_of(request: HttpRequest) -> tuple[Space, ApiPrincipal]:
    """The calling client's space, once it is known to hold ``act`` somewhere, and it need
    not wait after too many wrong codes (429 ``too_many_failures`` with ``Retry-After``)."""
    principal = auth.principal(request)
    if not any(action == Level.ACT for _domain, action in principal.scopes):
        raise ApplicationError(
            _("Redeeming codes needs a client with the act scope in at least one domain."),
            code="scope_act_required",
        )
    space = Space.objects.filter(pk=principal.space_id, closed_at__isnull=True).first()
    if space is None:  # a space closed after the token was issued
        raise NotFoundOrForbidden(
            _("This space does not exist or you may not open it."), code="not_found"
        )
    throttle.check(
        scope=throttle.CODES,
        keys=throttle.keys(client=principal.client_id, address=throttle.address_of(request)),
    )
    return space, principal


def _act_domains(principal: ApiPrincipal) -> set[str]:
    """The domains whose codes the client may redeem: those it may act in."""
    return {domain for domain in principal.domains() if principal.allows(domain, Level.ACT)}


def _mandate_out(mandate: Mandate) -> RedeemedMandate:
    return RedeemedMandate(
        id=mandate.pk,
        employer=EmployerRef(
            employer_number=mandate.employer.employer_number, name=mandate.employer.name
        ),
        domain=DomainRef(institution=mandate.domain.institution.code, code=mandate.domain.code),
        level=Level(mandate.level),
        status=MandateStatus(mandate.status),
        valid_from=mandate.valid_from,
        valid_until=mandate.valid_until,
    )


def _answer(results: list[LineResult]) -> RedemptionsOut:
    lines = [
        RedemptionLineOut(
            line=result.line,
            access_code=result.access_code,
            status=result.status,  # type: ignore[arg-type]
            ok=result.ok,
            message=str(result.message),
            mandate=_mandate_out(result.mandate) if result.mandate is not None else None,
            first_line=result.first_line,
            reason=result.reason,
            field=result.field,  # type: ignore[arg-type]
        )
        for result in results
    ]
    redeemed = sum(1 for line in lines if line.status == bulk.REDEEMED)
    again = sum(1 for line in lines if line.status == bulk.ALREADY_REDEEMED_HERE)
    return RedemptionsOut(
        redeemed=redeemed,
        already_redeemed_here=again,
        failed=len(lines) - redeemed - again,
        not_attempted=sum(1 for line in lines if line.status == bulk.NOT_ATTEMPTED),
        lines=lines,
    )


@router.post(
    "/redemptions",
    response={200: RedemptionsOut, **_ERRORS},
    operation_id="redemptions_create",
)
def redemptions_create(request: HttpRequest, payload: RedemptionsIn) -> RedemptionsOut:
    """Redeem up to 500 representative access codes into the calling space.

    Each line runs alone: one bad line never blocks the others, and the answer says,
    per line, what happened. Replaying the same lines is harmless: a code this space
    already redeemed answers `already_redeemed_here`. A wrong security code counts as a
    try, as in the portal; the fifth locks the code. A code for a domain the client may
    not act in answers `scope_missing` (once its security code proved right; it neither
    uses the code nor counts a try). A call tries lines for 20 seconds at
    most (each checks a security code with a deliberately slow hash); the lines it did
    not reach answer `not_attempted`: send those again. Too many wrong codes make the
    client and its address wait, longer each time: a call during a wait is 429
    `too_many_failures` with `Retry-After`, and lines reached once a wait began are
    `not_attempted`.
    """
    space, principal = _space_of(request)
    pairs = [
        CodePair(line=index, access_code=line.access_code, security_code=line.security_code)
        for index, line in enumerate(payload.lines, start=1)
    ]
    return _answer(
        bulk.code_redeem_bulk(
            space=space,
            pairs=pairs,
            client_id=principal.client_id,
            seconds=SECONDS_PER_CALL,
            allowed_domains=_act_domains(principal),
            address=throttle.address_of(request),
        )
    )


@router.post(
    "/redemptions/csv",
    response={200: RedemptionsOut, **_ERRORS},
    operation_id="redemptions_create_csv",
)
def redemptions_create_csv(request: HttpRequest, file: File[UploadedFile]) -> RedemptionsOut:
    """The same from an uploaded CSV file (`multipart/form-data`, field `file`).

    The first line names the columns `access_code` and `security_code` (other columns
    are ignored); values are separated by `;` or `,`; UTF-8, with or without a BOM; at
    most 500 data lines. A line that cannot be read is `line_invalid` with its line
    number; a file that cannot be read at all is 422 `csv_unreadable`.
    """
    space, principal = _space_of(request)
    data = file.read(bulk.MAX_CSV_BYTES + 1)
    return _answer(
        bulk.code_redeem_csv(
            space=space,
            data=data,
            client_id=principal.client_id,
            seconds=SECONDS_PER_CALL,
            allowed_domains=_act_domains(principal),
            address=throttle.address_of(request),
        )
    )


class Pong(Schema):
    pong: bool


@router.get("/ping", response=Pong, auth=None, tags=["service"], operation_id="ping")
def ping(request: HttpRequest) -> Pong:
    """Does nothing, through the same middleware and framework as every endpoint.

    The HTTP benchmark (``bench/api_load.py``) measures it beside the real endpoints, so
    their cost can be told from the cost of serving any request at all.
    """
    return Pong(pong=True)
