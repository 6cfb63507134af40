from __future__ import annotations

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    """What a mandate allows in a domain. ``act`` covers ``consult``."""

    CONSULT = "consult", _("Consult")
    ACT = "act", _("Act")

    @classmethod
    def covering(cls, action: str) -> tuple[str, ...]:
        """The mandate levels that allow ``action``."""
        if action == cls.CONSULT:
            return (cls.CONSULT.value, cls.ACT.value)
        if action == cls.ACT:
            return (cls.ACT.value,)
        raise ValueError(f"unknown action {action!r}")


class Translated(models.Model):
    """A name kept in French, German and English, read in the active language."""

    name_fr = models.CharField(_("name (French)"), max_length=200)
    name_de = models.CharField(_("name (German)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)

    class Meta:
        abstract = True

    @property
    def name(self) -> str:
        language = (get_language() or "fr")[:2]
        return str(getattr(self, f"name_{language}", None) or self.name_fr)


class Institution(Translated):
    code = models.CharField(_("code"), max_length=20, unique=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")

    def __str__(self) -> str:
        return self.code


class Domain(Translated):
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="domains")
    code = models.CharField(_("code"), max_length=40)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["institution", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "code"], name="domain_code_unique"),
        ]
        verbose_name = _("domain")
        verbose_name_plural = _("domains")

    def __str__(self) -> str:
        return f"{self.institution.code}/{self.code}"


class Service(Translated):
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="services")
    code = models.CharField(_("code"), max_length=60)
    level = models.CharField(_("level needed"), max_length=10, choices=Level.choices)

    class Meta:
        ordering = ["domain", "code"]
        constraints = [
            models.UniqueConstraint(fields=["domain", "code"], name="service_code_unique"),
            models.CheckConstraint(
                condition=models.Q(level__in=Level.values), name="service_level_valid"
            ),
        ]
        verbose_name = _("service")
        verbose_name_plural = _("services")

    def __str__(self) -> str:
        return f"{self.domain}/{self.code}"
