"""Grant, end and expire mandates.

``grant`` and ``end`` are steps that run in their caller's transaction, so the
certification and proxy procedures can compose them; the ``mandate_*``
functions are the top-level services that own a transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.catalog.models import Domain, Level
from mandat.core import audit, time
from mandat.core.errors import ApplicationError
from mandat.mandates.models import EndCause, Mandate, MandateKind, MandateSource, MandateStatus
from mandat.registry.models import Employer, Representative
from mandat.spaces import selectors as space_selectors
from mandat.spaces.models import Space, SpaceKind


@dataclass(frozen=True)
class SpaceActor:
    """An API client acting as its space (no person behind the call)."""

    space_id: int
    client_id: str


def _snapshot(mandate: Mandate) -> dict[str, object]:
    return {
        "employer": mandate.employer_id,
        "domain": mandate.domain_id,
        "space": mandate.grantee_space_id,
        "kind": mandate.kind,
        "level": mandate.level,
        "source": mandate.source,
        "status": mandate.status,
    }


def _check_grantee(*, employer: Employer, domain: Domain, space: Space, kind: str) -> None:
    if domain.institution_id != employer.institution_id:
        raise ApplicationError(
            _("This domain does not belong to the employer's institution."),
            code="domain_mismatch",
        )
    if space.kind != SpaceKind.PROFESSIONAL or space.closed_at is not None:
        raise ApplicationError(
            _("Only an open professional space can hold a mandate."), code="space_not_eligible"
        )
    own_space = space.organisation_id == employer.organisation_id
    if kind == MandateKind.PRIMARY and not own_space:
        raise ApplicationError(
            _("A primary mandate is held by the employer's own space."), code="space_not_eligible"
        )
    if kind == MandateKind.OBTAINED:
        if own_space:
            raise ApplicationError(
                _("An employer does not obtain a mandate from itself; use the primary mandate."),
                code="space_not_eligible",
            )
        if not Representative.objects.filter(organisation__spaces=space).exists():
            raise ApplicationError(
                _("Only a registered representative's space can obtain a mandate."),
                code="space_not_eligible",
            )


def grant(
    *,
    by: User | None,
    employer: Employer,
    domain: Domain,
    space: Space,
    kind: str,
    level: str,
    source: str,
    valid_from: dt.datetime | None = None,
    valid_until: dt.datetime | None = None,
    activate: bool = True,
) -> Mandate:
    """Create a mandate, active at once unless ``activate`` is False. Needs a transaction."""
    if kind not in MandateKind.values or level not in Level.values:
        raise ValueError(f"unknown kind or level: {kind!r}, {level!r}")
    if source not in MandateSource.values:
        raise ValueError(f"unknown source {source!r}")
    _check_grantee(employer=employer, domain=domain, space=space, kind=kind)
    stamp = time.now()
    start = valid_from or stamp
    if valid_until is not None and valid_until <= start:
        raise ApplicationError(_("A mandate must end after it starts."), code="validity_invalid")
    mandate = Mandate(
        employer=employer,
        domain=domain,
        grantee_space=space,
        kind=kind,
        level=level,
        source=source,
        valid_from=start,
        valid_until=valid_until,
        granted_by=by,
        status=MandateStatus.ACTIVE if activate else MandateStatus.PENDING,
        activated_at=stamp if activate else None,
    )
    duplicate = ApplicationError(
        _("This space already holds an active mandate for this employer and domain."),
        code="mandate_exists",
    )
    if (
        activate
        and Mandate.objects.filter(
            grantee_space=space, domain=domain, employer=employer, status=MandateStatus.ACTIVE
        ).exists()
    ):
        raise duplicate
    try:
        with transaction.atomic():
            mandate.save()
    except IntegrityError as error:  # a concurrent grant won the race
        raise duplicate from error
    audit.record(
        "mandate.granted",
        actor_id=by.pk if by else None,
        employer_id=employer.pk,
        obj=mandate,
        data={
            **_snapshot(mandate),
            "valid_until": valid_until.isoformat() if valid_until else None,
        },
    )
    return mandate


def activate(*, by: User | None, mandate: Mandate) -> Mandate:
    """Turn a pending mandate active. Needs a transaction."""
    mandate = Mandate.objects.select_for_update().get(pk=mandate.pk)
    if mandate.status != MandateStatus.PENDING:
        raise ApplicationError(
            _("Only a pending mandate can be activated."), code="mandate_wrong_state"
        )
    duplicate = ApplicationError(
        _("This space already holds an active mandate for this employer and domain."),
        code="mandate_exists",
    )
    if Mandate.objects.filter(
        grantee_space_id=mandate.grantee_space_id,
        domain_id=mandate.domain_id,
        employer_id=mandate.employer_id,
        status=MandateStatus.ACTIVE,
    ).exists():
        raise duplicate
    mandate.status = MandateStatus.ACTIVE
    mandate.activated_at = time.now()
    try:
        with transaction.atomic():
            mandate.save(update_fields=["status", "activated_at"])
    except IntegrityError as error:  # a concurrent grant or activation won the race
        raise duplicate from error
    audit.record(
        "mandate.activated",
        actor_id=by.pk if by else None,
        employer_id=mandate.employer_id,
        obj=mandate,
        data=_snapshot(mandate),
    )
    return mandate


def end(
    *,
    by: User | None,
    mandate: Mandate,
    cause: str,
    reason: str = "",
    client: SpaceActor | None = None,
) -> Mandate:
    """End a pending or active mandate at once. Needs a transaction.

    ``client`` names the API client that ended it, acting as its space; the audit event
    records it, since no person is behind the call.
    """
    mandate = Mandate.objects.select_for_update().get(pk=mandate.pk)
    if mandate.status not in (MandateStatus.PENDING, MandateStatus.ACTIVE):
        raise ApplicationError(_("This mandate has already ended."), code="mandate_wrong_state")
    stamp = time.now()
    mandate.status = MandateStatus.EXPIRED if cause == EndCause.EXPIRED else MandateStatus.REVOKED
    mandate.ended_at = stamp
    mandate.ended_by = by
    mandate.end_cause = cause
    mandate.end_reason = reason
    mandate.save(update_fields=["status", "ended_at", "ended_by", "end_cause", "end_reason"])
    audit.record(
        f"mandate.{cause}",
        actor_id=by.pk if by else None,
        employer_id=mandate.employer_id,
        obj=mandate,
        data={
            **_snapshot(mandate),
            "reason": reason,
            **({"api_client": client.client_id, "acting_space": client.space_id} if client else {}),
        },
    )
    return mandate


def _require_agent_or_platform(by: User | None) -> None:
    if by is not None and not (by.is_agent and by.is_active):
        raise ApplicationError(
            _("Only an institution agent may grant a mandate directly."), code="agent_required"
        )


def _may_manage_for_employer(user: User, employer: Employer, domain_id: int) -> bool:
    """Institution agents, and the administrators of the employer's own space when that space
    is certified, at the action level, for the domain (the rule ``mandate_revoke_as_space``
    applies to API clients)."""
    from mandat.mandates.policies import space_can

    if user.is_agent and user.is_active:
        return True
    own_spaces = Space.objects.filter(
        organisation_id=employer.organisation_id,
        kind=SpaceKind.PROFESSIONAL,
        closed_at__isnull=True,
    )
    return any(
        space_selectors.is_admin(user=user, space=space)
        and space_can(space.pk, Level.ACT, employer.pk, domain_id)
        for space in own_spaces
    )


@transaction.atomic(durable=True)
def mandate_grant(
    *,
    by: User | None,
    employer: Employer,
    domain: Domain,
    space: Space,
    kind: str,
    level: str,
    source: str = MandateSource.AGENT,
    valid_from: dt.datetime | None = None,
    valid_until: dt.datetime | None = None,
    activate: bool = True,
) -> Mandate:
    """An agent (or the platform itself, ``by=None``) grants a mandate directly."""
    _require_agent_or_platform(by)
    return grant(
        by=by,
        employer=employer,
        domain=domain,
        space=space,
        kind=kind,
        level=level,
        source=source,
        valid_from=valid_from,
        valid_until=valid_until,
        activate=activate,
    )


@transaction.atomic(durable=True)
def mandate_activate(*, by: User | None, mandate: Mandate) -> Mandate:
    """An agent (or the platform itself) turns a pending mandate active."""
    _require_agent_or_platform(by)
    return activate(by=by, mandate=mandate)


@transaction.atomic(durable=True)
def mandate_revoke(*, by: User, mandate: Mandate, reason: str = "") -> Mandate:
    """The employer (or an agent) ends a mandate; it stops working at the very next check.

    The employer's administrators revoke obtained mandates only (``revoke_primary``);
    an agent may also end a primary one."""
    if not _may_manage_for_employer(by, mandate.employer, mandate.domain_id):
        raise ApplicationError(
            _("Only the employer's administrators or an agent may revoke this mandate."),
            code="revoke_forbidden",
        )
    if not (by.is_agent and by.is_active):
        _require_obtained(mandate)
    return end(by=by, mandate=mandate, cause=EndCause.REVOKED, reason=reason)


def _require_obtained(mandate: Mandate) -> None:
    """An employer revokes what it gave, never its own space's primary mandate: that one is
    its certification, which only an agent ends."""
    if mandate.kind != MandateKind.OBTAINED:
        raise ApplicationError(
            _("Only a mandate given to a representative can be revoked here."),
            code="revoke_primary",
        )


@transaction.atomic(durable=True)
def mandate_renounce(*, by: User, mandate: Mandate, reason: str = "") -> Mandate:
    """The representative gives a mandate up."""
    if mandate.kind != MandateKind.OBTAINED:
        raise ApplicationError(
            _("Only an obtained mandate can be renounced; an employer revokes its own."),
            code="renounce_primary",
        )
    if not space_selectors.is_admin(user=by, space=mandate.grantee_space):
        raise ApplicationError(
            _("Only an administrator of the representative's space may renounce."),
            code="renounce_forbidden",
        )
    return end(by=by, mandate=mandate, cause=EndCause.RENOUNCED, reason=reason)


@transaction.atomic(durable=True)
def mandate_renounce_as_space(*, client: SpaceActor, mandate: Mandate, reason: str = "") -> Mandate:
    """An API client of the representative's space gives an obtained mandate up."""
    if mandate.kind != MandateKind.OBTAINED:
        raise ApplicationError(
            _("Only an obtained mandate can be renounced; an employer revokes its own."),
            code="renounce_primary",
        )
    if mandate.grantee_space_id != client.space_id:
        raise ApplicationError(
            _("Only the space that holds a mandate may renounce it."), code="renounce_forbidden"
        )
    return end(by=None, mandate=mandate, cause=EndCause.RENOUNCED, reason=reason, client=client)


@transaction.atomic(durable=True)
def mandate_revoke_as_space(*, client: SpaceActor, mandate: Mandate, reason: str = "") -> Mandate:
    """An API client of the employer's own space revokes a mandate the employer gave to a
    representative; never the space's own primary mandate (``revoke_primary``).

    The space must be the employer's own open professional space and certified, at the
    action level, for the mandate's domain (the API equivalent of its administrators).
    """
    from mandat.mandates.policies import space_can

    own = Space.objects.filter(
        pk=client.space_id,
        organisation_id=mandate.employer.organisation_id,
        kind=SpaceKind.PROFESSIONAL,
        closed_at__isnull=True,
    ).exists()
    if not own or not space_can(client.space_id, Level.ACT, mandate.employer_id, mandate.domain_id):
        raise ApplicationError(
            _("Only the employer's own certified space may revoke this mandate."),
            code="revoke_forbidden",
        )
    _require_obtained(mandate)
    return end(by=None, mandate=mandate, cause=EndCause.REVOKED, reason=reason, client=client)


def mandates_expire_due(*, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Mark every mandate whose validity has run out as expired; returns how many.

    The policy already refuses a mandate past its ``valid_until``; this sweep
    makes the status say so and records each expiry in the audit trail.
    Each batch is its own transaction, so a long sweep never holds a lock for long.
    """
    moment = now or time.now()
    expired = 0
    while True:
        with transaction.atomic(durable=True):
            due = list(
                Mandate.objects.select_for_update()
                .filter(
                    status__in=[MandateStatus.ACTIVE, MandateStatus.PENDING],
                    valid_until__lte=moment,
                )
                .order_by("pk")[:batch]
            )
            for mandate in due:
                mandate.status = MandateStatus.EXPIRED
                mandate.ended_at = mandate.valid_until
                mandate.end_cause = EndCause.EXPIRED
            Mandate.objects.bulk_update(due, ["status", "ended_at", "end_cause"])
            audit.record_many(
                audit.Entry(
                    action="mandate.expired",
                    employer_id=m.employer_id,
                    object_type="mandates.mandate",
                    object_id=str(m.pk),
                    data=_snapshot(m),
                )
                for m in due
            )
        expired += len(due)
        if len(due) < batch:
            return expired
