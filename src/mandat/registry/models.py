from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from mandat.catalog.models import Institution
from mandat.registry.identifiers import Scheme


class Language(models.TextChoices):
    FR = "fr", _("French")
    DE = "de", _("German")
    EN = "en", _("English")


class PostalAddress(models.Model):
    address_line1 = models.CharField(_("address"), max_length=200)
    address_line2 = models.CharField(_("address (continued)"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, default="LU")

    class Meta:
        abstract = True


class Organisation(models.Model):
    """A legal entity: an employer, a representative, or both."""

    name = models.CharField(_("name"), max_length=200)
    identifier_scheme = models.CharField(
        _("identifier scheme"), max_length=20, choices=Scheme.choices
    )
    identifier = models.CharField(_("identifier"), max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["identifier_scheme", "identifier"], name="organisation_identifier_unique"
            ),
        ]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


class Employer(PostalAddress):
    """An organisation registered as employer with one institution."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="employers"
    )
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    employer_number = models.CharField(_("employer number"), max_length=13)
    name = models.CharField(_("name"), max_length=200)
    language = models.CharField(
        _("correspondence language"), max_length=2, choices=Language.choices, default="fr"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "employer_number"], name="employer_number_unique"
            ),
        ]
        indexes = [models.Index(fields=["name"], name="employer_name_idx")]
        verbose_name = _("employer")
        verbose_name_plural = _("employers")

    def __str__(self) -> str:
        return f"{self.name} ({self.employer_number})"


class Representative(PostalAddress):
    """A fiduciary, accountant, payroll firm or social secretariat allowed to hold mandates."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.PROTECT, related_name="representative"
    )
    registration_number = models.CharField(_("registration number"), max_length=13, unique=True)
    denomination = models.CharField(_("denomination"), max_length=200)

    class Meta:
        ordering = ["denomination"]
        verbose_name = _("representative")
        verbose_name_plural = _("representatives")

    def __str__(self) -> str:
        return f"{self.denomination} ({self.registration_number})"
