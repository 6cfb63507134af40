from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from mandat.catalog.models import Domain, Level
from mandat.registry.models import Employer
from mandat.spaces.models import Space


class MandateKind(models.TextChoices):
    PRIMARY = "primary", _("Primary mandate")
    OBTAINED = "obtained", _("Obtained mandate")


class MandateSource(models.TextChoices):
    CERTIFICATION = "certification", _("Certification with access codes")
    PROXY = "proxy", _("Electronic proxy")
    AGENT = "agent", _("Institution agent")


class MandateStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACTIVE = "active", _("Active")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")


class EndCause(models.TextChoices):
    REVOKED = "revoked", _("Revoked")
    RENOUNCED = "renounced", _("Renounced by the representative")
    EXPIRED = "expired", _("Expired")


class Mandate(models.Model):
    """The right of a space to consult or act for an employer in one domain.

    Both national schemes produce these rows; the authorization policy reads
    nothing else.
    """

    employer = models.ForeignKey(Employer, on_delete=models.PROTECT, related_name="mandates")
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="mandates")
    grantee_space = models.ForeignKey(Space, on_delete=models.PROTECT, related_name="mandates_held")
    kind = models.CharField(_("kind"), max_length=10, choices=MandateKind.choices)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    source = models.CharField(_("source"), max_length=16, choices=MandateSource.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=MandateStatus.choices, default=MandateStatus.PENDING
    )
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    end_cause = models.CharField(
        _("end cause"), max_length=10, choices=EndCause.choices, blank=True
    )
    end_reason = models.TextField(_("reason for ending"), blank=True)

    class Meta:
        ordering = ["employer", "domain", "-created_at"]
        constraints = [
            # Column order serves both questions of the policy: a check looks up
            # (space, domain, employer) and employers_for scans (space, domain) in
            # employer order.
            models.UniqueConstraint(
                fields=["grantee_space", "domain", "employer"],
                condition=Q(status="active"),
                name="one_active_mandate_per_space_domain_employer",
            ),
            models.CheckConstraint(
                condition=~Q(status="active") | Q(activated_at__isnull=False),
                name="active_mandate_has_activation_time",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "active"]) | Q(ended_at__isnull=False),
                name="ended_mandate_has_end_time",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=F("valid_from")),
                name="mandate_validity_ordered",
            ),
            models.CheckConstraint(
                condition=Q(level__in=["consult", "act"]), name="mandate_level_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "active", "revoked", "expired"]),
                name="mandate_status_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["employer", "domain"],
                condition=Q(status="active"),
                name="mandate_active_employer_idx",
            ),
            models.Index(
                fields=["valid_until"],
                condition=Q(status="active", valid_until__isnull=False),
                name="mandate_expiry_idx",
            ),
        ]
        verbose_name = _("mandate")
        verbose_name_plural = _("mandates")

    def __str__(self) -> str:
        return (
            f"{self.employer_id}/{self.domain_id} → space {self.grantee_space_id} ({self.status})"
        )
