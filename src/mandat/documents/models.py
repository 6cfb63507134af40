from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mandat.catalog.models import Domain
from mandat.registry.models import Employer, Language
from mandat.spaces.models import Space


class LetterKind(models.TextChoices):
    HOLDER_CODES = "holder_codes", _("Holder access codes and revocation codes")
    REPRESENTATIVE_CODES = "representative_codes", _("Representative access codes")
    CONTRIBUTION_STATEMENT = "contribution_statement", _("Statement of contributions")


#: Letters that carry access codes: in an e-Box they open to the space's administrators only.
CODE_LETTER_KINDS = (LetterKind.HOLDER_CODES.value, LetterKind.REPRESENTATIVE_CODES.value)


class LetterStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting for printing")
    DISPATCHED = "dispatched", _("Posted")
    DELIVERED = "delivered", _("Delivered to the e-Box")
    CANCELLED = "cancelled", _("Cancelled")


class DispatchBatch(models.Model):
    """One print run: the day's letters in one PDF, in address order, with a CSV manifest."""

    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    letter_count = models.PositiveIntegerField(default=0)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("print batch")
        verbose_name_plural = _("print batches")

    def __str__(self) -> str:
        return f"batch #{self.pk} ({self.letter_count} letters)"


class Letter(models.Model):
    """A document for an employer, posted or delivered to its e-Box.

    A letter carrying access codes is the only place the codes exist in clear,
    so its PDF is kept encrypted (``documents.vault``) and erased once posted.
    """

    employer = models.ForeignKey(Employer, on_delete=models.PROTECT, related_name="letters")
    request = models.ForeignKey(
        "certification.CertificationRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="letters",
    )
    kind = models.CharField(max_length=24, choices=LetterKind.choices)
    language = models.CharField(max_length=2, choices=Language.choices)
    status = models.CharField(
        max_length=12, choices=LetterStatus.choices, default=LetterStatus.QUEUED
    )
    domains = models.ManyToManyField(Domain, related_name="+")
    recipient = models.CharField(max_length=200)
    address_line1 = models.CharField(max_length=200)
    address_line2 = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=20)
    city = models.CharField(max_length=100)
    country = models.CharField(max_length=2)
    pdf_encrypted = models.BinaryField(null=True, blank=True, editable=False)
    pdf_sha256 = models.CharField(max_length=64)
    pages = models.PositiveSmallIntegerField(default=1)
    #: The month a statement covers (its first day); empty for the code letters.
    period = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    batch = models.ForeignKey(
        DispatchBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="letters"
    )
    dispatched_at = models.DateTimeField(null=True, blank=True)
    delivered_to = models.ForeignKey(
        Space, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )

    class Meta:
        ordering = ["postcode", "city", "recipient", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="dispatched") | Q(dispatched_at__isnull=False),
                name="dispatched_letter_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="delivered") | Q(delivered_to__isnull=False),
                name="delivered_letter_has_space",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="letter_queue_idx")]
        verbose_name = _("letter")
        verbose_name_plural = _("letters")

    def __str__(self) -> str:
        return f"{self.kind} letter to {self.recipient} ({self.status})"


class EDelivery(models.Model):
    """eDelivery for one employer and domain: its documents go to this space's e-Box."""

    employer = models.ForeignKey(Employer, on_delete=models.PROTECT, related_name="+")
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="+")
    space = models.ForeignKey(Space, on_delete=models.PROTECT, related_name="edeliveries")
    activated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["employer", "domain"], name="one_edelivery_per_domain"),
        ]
        verbose_name = _("eDelivery subscription")
        verbose_name_plural = _("eDelivery subscriptions")

    def __str__(self) -> str:
        return f"eDelivery {self.employer_id}/{self.domain_id} → {self.space_id}"


class Delivery(models.Model):
    """A document in a space's e-Box.

    Read or unread is the space's, not each member's: the e-Box is the
    organisation's mailbox, and once a colleague has opened a document it has
    reached the organisation (``read_by`` says who).
    """

    space = models.ForeignKey(Space, on_delete=models.PROTECT, related_name="deliveries")
    employer = models.ForeignKey(Employer, on_delete=models.PROTECT, related_name="+")
    letter = models.OneToOneField(Letter, on_delete=models.PROTECT, related_name="delivery")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(read_at__isnull=True, read_by__isnull=True)
                | Q(read_at__isnull=False, read_by__isnull=False),
                name="read_delivery_names_its_reader",
            ),
        ]
        indexes = [
            models.Index(fields=["space", "-created_at", "-id"], name="delivery_inbox_idx"),
            models.Index(
                fields=["space"], condition=Q(read_at__isnull=True), name="delivery_unread_idx"
            ),
        ]
        verbose_name = _("e-Box document")
        verbose_name_plural = _("e-Box documents")

    def __str__(self) -> str:
        return f"e-Box {self.space_id}: letter {self.letter_id}"


class NoticeKind(models.TextChoices):
    ACTIVATION_REMINDER = "activation_reminder", _("Access codes waiting to be redeemed")
    REQUEST_EXPIRED = "request_expired", _("Certification request expired")
    REQUEST_REJECTED = "request_rejected", _("Certification request rejected")
    DOCUMENT_DELIVERED = "document_delivered", _("New document in the e-Box")


class Notice(models.Model):
    """Something a space should know about; rendered in the reader's language from ``params``."""

    space = models.ForeignKey(Space, on_delete=models.PROTECT, related_name="notices")
    kind = models.CharField(max_length=24, choices=NoticeKind.choices)
    #: The document a "new document" notice announces: whoever may see it sees the notice.
    delivery = models.ForeignKey(
        "Delivery", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    params = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")

    def __str__(self) -> str:
        return f"{self.kind} for space {self.space_id}"
