from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mandat.catalog.models import Domain, Institution, Level
from mandat.registry.models import Employer, Representative
from mandat.spaces.models import Space


class RequestStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SIGNED = "signed", _("Signed")
    TRANSMITTED = "transmitted", _("Transmitted")
    ISSUED = "issued", _("Codes issued")
    REJECTED = "rejected", _("Rejected")
    COMPLETED = "completed", _("Completed")
    EXPIRED = "expired", _("Expired")


#: A request in one of these states blocks another request for the same employer.
OPEN_STATUSES = [
    RequestStatus.DRAFT,
    RequestStatus.SIGNED,
    RequestStatus.TRANSMITTED,
    RequestStatus.ISSUED,
]


class SignatureMethod(models.TextChoices):
    PADES = "pades", _("Signed with the signer's certificate (PAdES)")
    SEAL = "seal", _("Sealed by the platform for the authenticated signer")


class CertificationRequest(models.Model):
    """Procedure B: an employer asks the institution for access codes, per domain.

    The draft keeps every answer as typed, so the filer can leave and come back,
    and "Back" never loses anything. Only the security code is never kept in
    clear: its Argon2id hash is.
    """

    space = models.ForeignKey(
        Space, on_delete=models.PROTECT, related_name="certification_requests"
    )
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("status"), max_length=12, choices=RequestStatus.choices, default=RequestStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    consent_at = models.DateTimeField(_("data-protection consent given at"), null=True, blank=True)
    filer_name = models.CharField(_("name"), max_length=200, blank=True)
    filer_email = models.EmailField(_("e-mail address"), blank=True)
    filer_phone = models.CharField(_("phone number"), max_length=40, blank=True)
    employer_number_typed = models.CharField(_("employer number"), max_length=20, blank=True)
    employer_name_typed = models.CharField(_("employer name"), max_length=200, blank=True)
    employer = models.ForeignKey(
        Employer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="certification_requests",
    )
    has_representative = models.BooleanField(null=True, blank=True)
    same_representative = models.BooleanField(null=True, blank=True)
    security_code_hash = models.CharField(max_length=200, blank=True)

    summary_sha256 = models.CharField(max_length=64, blank=True)
    signed_pdf = models.BinaryField(null=True, blank=True, editable=False)
    signed_pdf_sha256 = models.CharField(max_length=64, blank=True)
    signature_method = models.CharField(max_length=8, choices=SignatureMethod.choices, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    transmitted_at = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    activation_deadline = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rejection_reason = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["employer"],
                condition=Q(status__in=["draft", "signed", "transmitted", "issued"]),
                name="one_open_request_per_employer",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(employer__isnull=False, signed_at__isnull=False),
                name="signed_request_has_employer_and_signature",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["issued", "completed", "expired"])
                | Q(issued_at__isnull=False, activation_deadline__isnull=False),
                name="issued_request_has_deadline",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | Q(rejected_at__isnull=False),
                name="rejected_request_has_time",
            ),
        ]
        indexes = [models.Index(fields=["status", "transmitted_at"], name="request_queue_idx")]
        verbose_name = _("certification request")
        verbose_name_plural = _("certification requests")

    def __str__(self) -> str:
        return f"request #{self.pk} ({self.status})"


class Delegation(models.Model):
    """One delegated domain of a request: to whom, at which level."""

    request = models.ForeignKey(
        CertificationRequest, on_delete=models.CASCADE, related_name="delegations"
    )
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="+")
    registration_number_typed = models.CharField(max_length=20, blank=True)
    name_typed = models.CharField(max_length=200, blank=True)
    representative = models.ForeignKey(
        Representative, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    level = models.CharField(_("level"), max_length=10, choices=Level.choices, blank=True)

    class Meta:
        ordering = ["domain__position"]
        constraints = [
            models.UniqueConstraint(fields=["request", "domain"], name="one_delegation_per_domain"),
        ]

    def __str__(self) -> str:
        return f"{self.domain_id} → {self.representative_id} ({self.level})"


class CodeKind(models.TextChoices):
    HOLDER = "holder", _("Holder access code")
    REPRESENTATIVE = "representative", _("Representative access code")
    REVOCATION = "revocation", _("Revocation code")


class AccessCode(models.Model):
    """A posted code. Only its keyed digest is stored; the clear text exists in the letter only."""

    request = models.ForeignKey(
        CertificationRequest, on_delete=models.PROTECT, related_name="codes"
    )
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=CodeKind.choices)
    representative = models.ForeignKey(
        Representative, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    level = models.CharField(max_length=10, choices=Level.choices)
    digest = models.CharField(max_length=64, unique=True)
    letter = models.ForeignKey(
        "documents.Letter", null=True, blank=True, on_delete=models.PROTECT, related_name="codes"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    locked_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    mandate = models.ForeignKey(
        "mandates.Mandate", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    invalidated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["request", "domain__position", "kind"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="representative", representative__isnull=False)
                | (~Q(kind="representative") & Q(representative__isnull=True)),
                name="representative_code_names_its_representative",
            ),
            models.CheckConstraint(
                condition=Q(kind="revocation") | Q(expires_at__isnull=False),
                name="access_code_expires",
            ),
            models.CheckConstraint(
                condition=Q(failed_attempts__lte=5), name="access_code_tries_bounded"
            ),
        ]
        verbose_name = _("access code")
        verbose_name_plural = _("access codes")

    def __str__(self) -> str:
        return f"{self.kind} code for {self.domain_id} (request {self.request_id})"
