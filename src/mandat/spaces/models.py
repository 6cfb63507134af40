from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mandat.catalog.models import Domain
from mandat.registry.models import Employer, Organisation


class SpaceKind(models.TextChoices):
    PROFESSIONAL = "professional", _("Professional space")
    PRIVATE = "private", _("Private space")


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    COLLABORATOR = "collaborator", _("Collaborator")


class Space(models.Model):
    """Where people work: an organisation's professional space or a person's private space.

    Mandates are held by spaces, never by persons: a person acts through the
    spaces they are a member of.
    """

    kind = models.CharField(_("kind"), max_length=12, choices=SpaceKind.choices)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="spaces"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="private_spaces",
    )
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind=SpaceKind.PROFESSIONAL, organisation__isnull=False, person__isnull=True)
                    | Q(kind=SpaceKind.PRIVATE, organisation__isnull=True, person__isnull=False)
                ),
                name="space_owner_matches_kind",
            ),
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(closed_at__isnull=True, kind=SpaceKind.PROFESSIONAL),
                name="one_open_professional_space_per_organisation",
            ),
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(closed_at__isnull=True, kind=SpaceKind.PRIVATE),
                name="one_open_private_space_per_person",
            ),
        ]
        verbose_name = _("space")
        verbose_name_plural = _("spaces")

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A person in a space. A removed membership is kept, with ``removed_at`` set."""

    space = models.ForeignKey(Space, on_delete=models.PROTECT, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=12, choices=Role.choices)
    restrict_employers = models.BooleanField(_("restricted to some clients"), default=False)
    allowed_employers = models.ManyToManyField(Employer, blank=True, related_name="+")
    restrict_domains = models.BooleanField(_("restricted to some domains"), default=False)
    allowed_domains = models.ManyToManyField(Domain, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["space", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["space", "user"],
                condition=Q(removed_at__isnull=True),
                name="one_active_membership_per_user_and_space",
            ),
        ]
        indexes = [
            models.Index(
                fields=["user", "space"],
                condition=Q(removed_at__isnull=True),
                name="membership_active_user_idx",
            ),
        ]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} in {self.space} ({self.role})"

    @property
    def is_active(self) -> bool:
        return self.removed_at is None
