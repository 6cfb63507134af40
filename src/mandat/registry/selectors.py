"""Registry look-ups. A check answers "no match" alike for unknown and mismatching entries."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.db.models import CharField, F, Q, QuerySet, Value
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


def representatives_search(*, text: str = "") -> QuerySet[Representative]:
    representatives = Representative.objects.all()
    if text:
        representatives = representatives.filter(
            Q(denomination__icontains=text) | Q(registration_number__startswith=text)
        )
    return representatives.order_by("denomination", "pk")


EMPLOYERS, REPRESENTATIVES, BOTH = "employers", "representatives", "both"


def registry_search(*, text: str = "", kind: str = BOTH) -> QuerySet[Any]:
    """Employers and/or representatives whose name contains ``text`` or whose number starts
    with it (spaces ignored), as rows of ``kind, id, name, number, institution, city``.

    One query ordered by name, so a page of the result is a slice of it.
    """
    text = " ".join(text.split())
    digits = "".join(text.split())
    number_prefix = digits if digits.isascii() and digits.isdigit() else None
    employers: QuerySet[Any] = Employer.objects.annotate(
        kind=Value("employer", output_field=CharField()),
        number=F("employer_number"),
        institution_code=F("institution__code"),
    )
    representatives: QuerySet[Any] = Representative.objects.annotate(
        kind=Value("representative", output_field=CharField()),
        name=F("denomination"),
        number=F("registration_number"),
        institution_code=Value("", output_field=CharField()),
    )
    if text:
        employers = employers.filter(
            Q(name__icontains=text) | Q(employer_number__startswith=number_prefix or text)
        )
        representatives = representatives.filter(
            Q(denomination__icontains=text)
            | Q(registration_number__startswith=number_prefix or text)
        )
    columns = ("kind", "id", "name", "number", "institution_code", "city")
    # No ordering inside the parts: a compound statement orders only as a whole.
    employer_rows = employers.order_by().values_list(*columns)
    representative_rows = representatives.order_by().values_list(*columns)
    if kind == EMPLOYERS:
        rows = employer_rows
    elif kind == REPRESENTATIVES:
        rows = representative_rows
    else:
        rows = employer_rows.union(representative_rows, all=True)
    return rows.order_by("name", "kind", "id")
