from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person who logs in: an employer's staff, a representative's staff or an agent."""

    email = models.EmailField(_("e-mail address"), unique=True)
    is_agent = models.BooleanField(
        _("institution agent"),
        default=False,
        help_text=_("Back-office staff of the institution: may change the registry."),
    )
    language = models.CharField(_("language"), max_length=2, default="fr")

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
