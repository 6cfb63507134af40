"""Finding a person to add to a space: by e-mail address or by national identifier."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.core.errors import ApplicationError, NotFoundOrForbidden

#: A Luxembourg national identification number (matricule) has 13 digits.
NATIONAL_ID_LENGTH = 13
_SEPARATORS = str.maketrans("", "", " .-/\u00a0")


def normalize_national_id(value: str) -> str:
    """The 13 digits of a Luxembourg national identifier, separators dropped; else an error."""
    digits = value.strip().translate(_SEPARATORS)
    if not (digits.isascii() and digits.isdigit()) or len(digits) != NATIONAL_ID_LENGTH:
        raise ApplicationError(
            _("Enter a national identification number of 13 digits, like 1985 0312 123 45."),
            code="national_id_invalid",
            field="national_id",
        )
    return digits


def active_user_by_contact(*, email: str = "", national_id: str = "") -> User:
    """The active account with this e-mail address or national identifier.

    An unknown person and an account that is switched off get the same error,
    so the page does not tell who has an account.
    """
    if bool(email) == bool(national_id):
        raise ValueError("give exactly one of email or national_id")
    people = User.objects.filter(is_active=True)
    if email:
        people = people.filter(email__iexact=email.strip())
    else:
        people = people.filter(national_id=normalize_national_id(national_id))
    # Two accounts may share an address (the database compares it case-sensitively):
    # then it names nobody for sure, and the answer is the same as for nobody.
    matches = list(people.order_by("pk")[:2])
    found = matches[0] if len(matches) == 1 else None
    if found is None:
        raise NotFoundOrForbidden(
            _("We found no active account for this person. Check what you typed."),
            code="person_unknown",
            field="email" if email else "national_id",
        )
    return found
