"""Reads of the back-office's registry pages: employers, representatives and their audit trail."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.core import time
from mandat.core.errors import NotFoundOrForbidden
from mandat.core.models import AuditEvent
from mandat.mandates.models import Mandate, MandateStatus
from mandat.registry.models import Employer, Representative


def _not_found() -> NotFoundOrForbidden:
    return NotFoundOrForbidden(_("This page does not exist."), code="not_found")


@dataclass(frozen=True)
class RegistryRow:
    """One line of a registry search: an employer or a representative."""

    kind: str
    id: int
    name: str
    number: str
    institution: str
    city: str

    @property
    def is_employer(self) -> bool:
        return self.kind == "employer"


def registry_rows(rows: object) -> list[RegistryRow]:
    """The tuples of ``registry.selectors.registry_search`` (a page of them) as rows."""
    return [RegistryRow(*row) for row in rows]  # type: ignore[attr-defined]


def access_employer(*, employer_id: int) -> Employer:
    found = (
        Employer.objects.filter(pk=employer_id)
        .select_related("institution", "organisation")
        .first()
    )
    if found is None:
        raise _not_found()
    return found


def access_representative(*, representative_id: int) -> Representative:
    found = (
        Representative.objects.filter(pk=representative_id).select_related("organisation").first()
    )
    if found is None:
        raise _not_found()
    return found


def _active_now() -> Q:
    now = time.now()
    return Q(status=MandateStatus.ACTIVE, valid_from__lte=now) & (
        Q(valid_until__isnull=True) | Q(valid_until__gt=now)
    )


def active_mandates_count(employer: Employer) -> int:
    """Mandates of the employer that grant rights right now, held by any space."""
    return Mandate.objects.filter(_active_now(), employer=employer).count()


def certified_spaces(employer: Employer) -> QuerySet[Mandate]:
    """The employer's mandates in force, with the space holding each: its certifications."""
    return (
        Mandate.objects.filter(_active_now(), employer=employer)
        .select_related("grantee_space", "domain")
        .order_by("grantee_space__name", "grantee_space_id", "domain__position")
    )


def mandates_held_count(representative: Representative) -> int:
    """Mandates in force held by the spaces of the representative's organisation."""
    return Mandate.objects.filter(
        _active_now(), grantee_space__organisation_id=representative.organisation_id
    ).count()


def employers_of_organisation(representative: Representative) -> QuerySet[Employer]:
    """Employers registered for the representative's organisation (an organisation can be both)."""
    return Employer.objects.filter(organisation_id=representative.organisation_id).select_related(
        "institution"
    )


def audit_events_of(*, employer_id: int) -> QuerySet[AuditEvent]:
    """The employer's events, newest first."""
    return AuditEvent.objects.filter(employer_id=employer_id).order_by("-seq")


def actor_names(events: list[AuditEvent]) -> dict[int, str]:
    """Who each actor of these events is, by user id (full name, or user name)."""
    ids = {event.actor_id for event in events if event.actor_id is not None}
    return {
        user.pk: user.get_full_name() or user.username
        for user in User.objects.filter(pk__in=ids).only(
            "pk", "first_name", "last_name", "username"
        )
    }
