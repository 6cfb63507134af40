from __future__ import annotations

from django.db.models import QuerySet

from mandat.mandates.models import Mandate, MandateKind, MandateStatus
from mandat.registry.models import Employer
from mandat.spaces.models import Space


def active_mandates(*, space: Space) -> QuerySet[Mandate]:
    return Mandate.objects.filter(grantee_space=space, status=MandateStatus.ACTIVE)


def certifications_of_space(*, space: Space) -> QuerySet[Mandate]:
    """The space's own (primary) certifications, one per employer and domain."""
    return (
        active_mandates(space=space)
        .filter(kind=MandateKind.PRIMARY)
        .select_related("domain", "employer")
        .order_by("domain__position", "employer__name")
    )


def obtained_mandates_of_space(*, space: Space) -> QuerySet[Mandate]:
    return (
        active_mandates(space=space)
        .filter(kind=MandateKind.OBTAINED)
        .select_related("domain", "employer")
        .order_by("employer__name", "employer_id", "domain__position")
    )


def mandates_given(*, employer: Employer) -> QuerySet[Mandate]:
    """Every mandate an employer has given, newest first, ended ones included."""
    return (
        Mandate.objects.filter(employer=employer)
        .select_related("domain", "grantee_space")
        .order_by("-created_at", "-pk")
    )
