"""Registry look-ups. A check answers "no match" alike for unknown and mismatching entries."""

from __future__ import annotations

import unicodedata

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from mandat.catalog.models import Institution
from mandat.core.errors import ApplicationError
from mandat.registry import identifiers
from mandat.registry.models import Employer, Representative


def comparable_name(value: str) -> str:
    """Names compare without regard to case, accents, punctuation or spacing."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


def _no_match(kind: str) -> ApplicationError:
    messages = {
        "employer": _("No employer matches this number and name. Check both and try again."),
        "representative": _(
            "No representative matches this registration number and name. Check both and try again."
        ),
    }
    return ApplicationError(messages[kind], code=f"{kind}_no_match")


def employer_match(*, institution: Institution, employer_number: str, name: str) -> Employer:
    """The employer registered under this number with this name, or one and the same error."""
    try:
        number = identifiers.normalize(identifiers.Scheme.LU_NATIONAL, employer_number)
    except ApplicationError:
        raise _no_match("employer") from None
    employer = Employer.objects.filter(institution=institution, employer_number=number).first()
    if employer is None or comparable_name(employer.name) != comparable_name(name):
        raise _no_match("employer")
    return employer


def representative_match(*, registration_number: str, name: str) -> Representative:
    try:
        number = identifiers.normalize(identifiers.Scheme.LU_NATIONAL, registration_number)
    except ApplicationError:
        raise _no_match("representative") from None
    representative = Representative.objects.filter(registration_number=number).first()
    if representative is None or comparable_name(representative.denomination) != comparable_name(
        name
    ):
        raise _no_match("representative")
    return representative


def employers_search(
    *, text: str = "", institution: Institution | None = None
) -> QuerySet[Employer]:
    employers = Employer.objects.select_related("institution")
    if institution is not None:
        employers = employers.filter(institution=institution)
    if text:
        employers = employers.filter(Q(name__icontains=text) | Q(employer_number__startswith=text))
    return employers.order_by("name", "pk")
