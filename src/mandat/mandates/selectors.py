from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from mandat.core import time
from mandat.mandates.models import Mandate, MandateKind, MandateStatus
from mandat.registry.models import Employer
from mandat.spaces.models import Space


def active_mandates(*, space: Space) -> QuerySet[Mandate]:
    return Mandate.objects.filter(grantee_space=space, status=MandateStatus.ACTIVE)


def in_force(now: dt.datetime | None = None) -> Q:
    """Mandates that grant rights at ``now``: the policy's condition (``policies._FROM_AND_RULE``).

    An active mandate past its ``valid_until`` stops working at once, before the
    expiry sweep turns its status to expired; it is history from that moment.
    """
    moment = now or time.now()
    return Q(status=MandateStatus.ACTIVE, valid_from__lte=moment) & (
        Q(valid_until__isnull=True) | Q(valid_until__gt=moment)
    )


def not_run_out(now: dt.datetime | None = None) -> Q:
    """Pending or active mandates whose validity has not run out: the ones still to come or
    in force, that an employer may still end (the rest is history)."""
    moment = now or time.now()
    return Q(status__in=[MandateStatus.PENDING, MandateStatus.ACTIVE]) & (
        Q(valid_until__isnull=True) | Q(valid_until__gt=moment)
    )


def live_mandates(
    *, space: Space | None = None, now: dt.datetime | None = None
) -> QuerySet[Mandate]:
    """The mandates in force at ``now`` (of ``space`` when given)."""
    mandates = Mandate.objects.filter(in_force(now))
    return mandates if space is None else mandates.filter(grantee_space=space)


def certifications_of_space(*, space: Space) -> QuerySet[Mandate]:
    """The space's own (primary) certifications in force, one per employer and domain."""
    return (
        live_mandates(space=space)
        .filter(kind=MandateKind.PRIMARY)
        .select_related("domain", "employer")
        .order_by("domain__position", "employer__name")
    )


def obtained_mandates_of_space(*, space: Space) -> QuerySet[Mandate]:
    return (
        live_mandates(space=space)
        .filter(kind=MandateKind.OBTAINED)
        .select_related("domain", "employer")
        .order_by("employer__name", "employer_id", "domain__position")
    )


def mandates_given(*, employer: Employer, obtained_only: bool = False) -> QuerySet[Mandate]:
    """Every mandate an employer has given, newest first, ended ones included.

    ``obtained_only`` leaves out the employer's own (primary) certifications:
    what remains are the mandates its representatives hold.
    """
    given = Mandate.objects.filter(employer=employer)
    if obtained_only:
        given = given.filter(kind=MandateKind.OBTAINED)
    return given.select_related(
        "domain",
        "grantee_space__organisation__representative",
        "granted_by",
        "ended_by",
    ).order_by("-created_at", "-pk")
