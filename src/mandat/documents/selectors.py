"""Reads of the e-Box: which of a space's documents a member may see and open."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from mandat.accounts.models import User
from mandat.catalog.models import Level
from mandat.core import time
from mandat.documents.models import CODE_LETTER_KINDS, Delivery, Letter
from mandat.mandates.models import Mandate, MandateStatus
from mandat.spaces.models import Membership, Role, Space


def deliveries_visible_to(*, user: User, space: Space) -> QuerySet[Delivery]:
    """The documents of ``space``'s e-Box that ``user`` may see, list and open.

    An administrator sees every document. Any other active member sees a
    document when it carries no access codes and, for each of its domains, the
    space may consult its employer there and the membership is not restricted
    away from that employer or domain. The rule is one SQL condition, so the
    list, the counts and the download cannot disagree.
    """
    membership = (
        Membership.objects.filter(
            space=space,
            user=user,
            removed_at__isnull=True,
            user__is_active=True,
            space__closed_at__isnull=True,
        )
        .only("pk", "role", "restrict_employers", "restrict_domains")
        .first()
    )
    deliveries = Delivery.objects.filter(space=space)
    if membership is None:
        return deliveries.none()
    if membership.role == Role.ADMIN:
        return deliveries
    now = time.now()
    consulting = Mandate.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=now),
        grantee_space=space,
        status=MandateStatus.ACTIVE,
        level__in=Level.covering(Level.CONSULT),
        valid_from__lte=now,
        employer_id=OuterRef(OuterRef("employer_id")),
        domain_id=OuterRef("domain_id"),
    )
    letter_domains = Letter.domains.through.objects.filter(letter_id=OuterRef("letter_id"))
    forbidden_domains = letter_domains.filter(~Exists(consulting))
    if membership.restrict_domains:
        allowed_domains = Membership.allowed_domains.through.objects.filter(
            membership_id=membership.pk
        ).values("domain_id")
        forbidden_domains = letter_domains.filter(
            ~Exists(consulting) | ~Q(domain_id__in=allowed_domains)
        )
    deliveries = deliveries.exclude(letter__kind__in=CODE_LETTER_KINDS).exclude(
        Exists(forbidden_domains)
    )
    if membership.restrict_employers:
        allowed_employers = Membership.allowed_employers.through.objects.filter(
            membership_id=membership.pk
        ).values("employer_id")
        deliveries = deliveries.filter(employer_id__in=allowed_employers)
    return deliveries
