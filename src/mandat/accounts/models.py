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
    language = models.CharField(
        _("language"),
        max_length=2,
        blank=True,
        default="",
        help_text=_("The portal language the person chose; empty until they choose one."),
    )
    national_id = models.CharField(
        _("national identifier"),
        max_length=13,
        blank=True,
        default="",
        help_text=_("Luxembourg national identification number (13 digits), without spaces."),
    )
    session_generation = models.PositiveIntegerField(
        _("session generation"),
        default=0,
        help_text=_(
            'Raised by "log out everywhere": a session started under a lower number has ended.'
        ),
    )

    class Meta:
        constraints = [
            # Empty means "not known"; a known one names one person.
            models.UniqueConstraint(
                fields=["national_id"],
                condition=~models.Q(national_id=""),
                name="user_national_id_unique",
            ),
        ]
        verbose_name = _("user")
        verbose_name_plural = _("users")
