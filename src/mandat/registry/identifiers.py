"""Identifier schemes of the registry, validated with python-stdnum where it knows the scheme."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from stdnum.be import vat as be_enterprise
from stdnum.exceptions import ValidationError as StdnumError

from mandat.core.errors import ApplicationError


class Scheme(models.TextChoices):
    BE_ENTERPRISE = "be_enterprise", _("Belgian enterprise number")
    LU_NATIONAL = "lu_national", _("Luxembourg national identifier (11 or 13 digits)")


def normalize(scheme: str, value: str) -> str:
    """The canonical form of ``value`` under ``scheme``, or ``ApplicationError``.

    - Belgian enterprise numbers (BCE/KBO) are 10 digits with a mod-97 check,
      as python-stdnum implements it; dots, spaces and a ``BE`` prefix are accepted.
    - Luxembourg numbers (employer and representative numbers) are 11 digits for
      a legal person and 13 for a natural person; only their format is checked.
    """
    if scheme == Scheme.BE_ENTERPRISE:
        try:
            return str(be_enterprise.validate(value))
        except StdnumError as error:
            raise ApplicationError(
                _("This is not a valid Belgian enterprise number."), code="identifier_invalid"
            ) from error
    if scheme == Scheme.LU_NATIONAL:
        digits = "".join(value.split())
        if not (digits.isascii() and digits.isdigit()) or len(digits) not in (11, 13):
            raise ApplicationError(
                _("A Luxembourg number has 11 or 13 digits."), code="identifier_invalid"
            )
        return digits
    raise ValueError(f"unknown identifier scheme {scheme!r}")
