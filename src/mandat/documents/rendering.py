"""Printed documents as PDF: the two code letters and the request summary that the filer signs.

HTML templates in ``templates/documents/`` carry the words (through gettext) and
``letter.css`` the layout; WeasyPrint turns them into PDF. WeasyPrint is imported
inside the functions that need it, so importing this module stays cheap.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.template.loader import render_to_string, select_template
from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext, gettext_lazy

from mandat.catalog.models import Domain, Institution, Level
from mandat.core import time
from mandat.documents.content import CodeLetter, ContributionStatement, Recipient

if TYPE_CHECKING:
    from weasyprint import CSS  # type: ignore[import-untyped]
    from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]

    from mandat.certification.models import CertificationRequest

STYLESHEET = Path(__file__).resolve().parent / "templates" / "documents" / "letter.css"
LETTER_TEMPLATES = {
    "holder_codes": "documents/letter_holder_codes.html",
    "representative_codes": "documents/letter_representative_codes.html",
}
STATEMENT_TEMPLATE = "documents/letter_contribution_statement.html"
#: What each line of a contribution statement is for, in the letter's language.
CONTRIBUTIONS = {
    "pension": gettext_lazy("Pension insurance"),
    "health": gettext_lazy("Health insurance"),
    "accident": gettext_lazy("Accident insurance"),
    "mutual": gettext_lazy("Employers' mutual insurance"),
    "occupational_health": gettext_lazy("Occupational health service"),
}
#: Country lines for foreign addresses, in French as the Luxembourg post expects (UPU S42).
COUNTRY_NAMES = {
    "BE": "BELGIQUE",
    "DE": "ALLEMAGNE",
    "FR": "FRANCE",
    "NL": "PAYS-BAS",
    "CH": "SUISSE",
    "AT": "AUTRICHE",
    "IT": "ITALIE",
    "ES": "ESPAGNE",
    "PT": "PORTUGAL",
    "GB": "ROYAUME-UNI",
    "IE": "IRLANDE",
    "DK": "DANEMARK",
    "PL": "POLOGNE",
}

#: Dates in letters, in Luxembourg time, 24-hour clock.
LONG_DATE = {"fr": "j F Y", "de": "j. F Y", "en": "j F Y"}


#: One layout at a time per process: the shared font configuration is not made for threads,
#: and WeasyPrint's pure-Python layout would not run two at once under the GIL anyway.
_LAYOUT = threading.Lock()


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    pages: int


@functools.cache
def _style() -> tuple[CSS, FontConfiguration]:
    """The stylesheet, parsed once per process with the fonts it declares."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    # WeasyPrint reports each layout step at INFO: one line per step and letter.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    fonts = FontConfiguration()
    # Drop it before interpreter shutdown tears down the C bindings its finaliser needs.
    atexit.register(_style.cache_clear)
    return CSS(filename=str(STYLESHEET), font_config=fonts), fonts


def html_to_pdf(html: str) -> RenderedPdf:
    """Lay out ``html`` with the documents' stylesheet."""
    from weasyprint import HTML

    with _LAYOUT:
        stylesheet, fonts = _style()
        document = HTML(string=html, base_url=str(STYLESHEET.parent)).render(
            stylesheets=[stylesheet], font_config=fonts
        )
        return RenderedPdf(data=document.write_pdf(), pages=len(document.pages))


def address_lines(recipient: Recipient) -> list[str]:
    """The recipient block as posted: name, street lines, locality, country if abroad."""
    lines = [recipient.name, recipient.address_line1, recipient.address_line2]
    country = recipient.country.upper()
    if country == "LU":
        lines.append(f"L-{recipient.postcode.removeprefix('L-')} {recipient.city}")
    else:
        lines.append(f"{recipient.postcode} {recipient.city}")
        lines.append(COUNTRY_NAMES.get(country, country))
    return [line for line in lines if line.strip()]


def _date(value: dt.datetime) -> str:
    """A date as a letter writes it: month in full, never abbreviated (Django's default
    English format prints "Nov. 22")."""
    language = (translation.get_language() or "fr")[:2]
    return dateformat.format(timezone.localtime(value), LONG_DATE.get(language, "j F Y"))


def _time(value: dt.datetime) -> str:
    return dateformat.time_format(timezone.localtime(value), "H:i")


def level_label(level: str) -> str:
    if level == Level.ACT:
        return gettext("Action (read and change)")
    if level == Level.CONSULT:
        return gettext("Consultation (read only)")
    return ""


def _letterhead(institution: Institution) -> str:
    """The institution's own letterhead template if it has one, else the generic one."""
    template = select_template(
        [
            f"documents/letterhead/{institution.code.lower()}.html",
            "documents/letterhead/default.html",
        ]
    )
    return str(template.origin.template_name)


def letter_subject(kind: str) -> str:
    if kind == "holder_codes":
        return gettext("Your access codes to certify your professional space")
    return gettext("Access codes for your authorised representative")


def letter_html(content: CodeLetter) -> str:
    """The letter as HTML, in the letter's language (the employer's)."""
    with translation.override(content.language):
        institution = content.lines[0].domain.institution
        context: dict[str, Any] = {
            "language": content.language,
            "institution": institution,
            "letterhead": _letterhead(institution),
            "subject": letter_subject(content.kind),
            "recipient_lines": address_lines(content.recipient),
            "reference": content.reference,
            "employer_name": content.employer_name,
            "employer_number": content.employer_number,
            "date": _date(content.issued_at),
            "deadline_date": _date(content.activation_deadline),
            "deadline_time": _time(content.activation_deadline),
            "replaces_reference": content.replaces_reference,
            "max_tries": settings.MANDAT_CODE_MAX_TRIES,
            "lines": [
                {
                    "domain_name": line.domain.name,
                    "access_code": line.access_code,
                    "revocation_code": line.revocation_code,
                    "representative": line.representative,
                    "level_label": level_label(line.level),
                }
                for line in content.lines
            ],
        }
        return render_to_string(LETTER_TEMPLATES[content.kind], context)


def render_code_letter(content: CodeLetter) -> RenderedPdf:
    """Letter 1 (holder and revocation codes) or letter 2 (representative codes), as PDF."""
    if content.kind not in LETTER_TEMPLATES:
        raise ValueError(f"unknown letter kind {content.kind!r}")
    if not content.lines:
        raise ValueError("a code letter needs at least one domain")
    return html_to_pdf(letter_html(content))


def request_summary_html(request: CertificationRequest) -> str:
    """The summary in the active language: what the filer reads on screen is what they sign."""
    from mandat.certification.issuing import reference

    employer = request.employer
    if employer is None:
        raise ValueError("a request summary needs the request's employer")
    language = (translation.get_language() or settings.LANGUAGE_CODE)[:2]
    if language not in {code for code, _name in settings.LANGUAGES}:
        language = settings.LANGUAGE_CODE
    now = time.now()
    with translation.override(language):
        institution = request.institution
        delegations = {
            d.domain_id: d for d in request.delegations.select_related("domain", "representative")
        }
        domains = []
        for domain in Domain.objects.filter(institution=institution).order_by("position", "code"):
            delegation = delegations.get(domain.pk)
            representative = delegation.representative if delegation else None
            domains.append(
                {
                    "name": domain.name,
                    "representative": (
                        f"{representative.denomination} ({representative.registration_number})"
                        if representative
                        else ""
                    ),
                    "level_label": level_label(delegation.level) if delegation else "—",
                }
            )
        recipient = Recipient(
            name=employer.name,
            address_line1=employer.address_line1,
            address_line2=employer.address_line2,
            postcode=employer.postcode,
            city=employer.city,
            country=employer.country,
        )
        context: dict[str, Any] = {
            "language": language,
            "institution": institution,
            "institution_name": institution.name,
            "letterhead": _letterhead(institution),
            "reference": reference(request),
            "date": f"{_date(now)}, {_time(now)}",
            "employer_number": employer.employer_number,
            "employer_name": employer.name,
            "address_lines": address_lines(recipient)[1:],
            "filer_name": request.filer_name,
            "filer_email": request.filer_email,
            "filer_phone": request.filer_phone,
            "domains": domains,
            "has_delegations": bool(delegations),
        }
        return render_to_string("documents/request_summary.html", context)


def render_request_summary(request: CertificationRequest) -> bytes:
    """The request as the PDF document the filer signs. It never shows the security code."""
    return html_to_pdf(request_summary_html(request)).data


_THIN_SPACE = "\u202f"


def _month(value: dt.date) -> str:
    return dateformat.format(value, "F Y")


def _money(value: object) -> str:
    """An amount as a Luxembourg statement prints it: two decimals, thin-space thousands."""
    whole, _dot, cents = f"{value:,.2f}".partition(".")
    return f"{whole.replace(',', _THIN_SPACE)},{cents} EUR"


def statement_html(content: ContributionStatement) -> str:
    """A contribution statement as HTML, in the letter's language (the employer's)."""
    date_format = LONG_DATE.get(content.language, "j F Y")
    with translation.override(content.language):
        institution = content.domain.institution
        context: dict[str, Any] = {
            "language": content.language,
            "institution": institution,
            "letterhead": _letterhead(institution),
            "subject": gettext("Statement of contributions for %(month)s")
            % {"month": _month(content.period)},
            "recipient_lines": address_lines(content.recipient),
            "reference": content.reference,
            "employer_name": content.employer_name,
            "employer_number": content.employer_number,
            "date": _date(content.issued_at),
            "domain_name": content.domain.name,
            "month": _month(content.period),
            "due_date": dateformat.format(content.due_date, date_format),
            "total": _money(content.total),
            "lines": [
                {
                    "label": str(CONTRIBUTIONS.get(line.contribution, line.contribution)),
                    "base": _money(line.base),
                    "rate": f"{line.rate:.2f}".replace(".", ","),
                    "amount": _money(line.amount),
                }
                for line in content.lines
            ],
        }
        return render_to_string(STATEMENT_TEMPLATE, context)


def render_statement(content: ContributionStatement) -> RenderedPdf:
    """A contribution statement, as PDF."""
    if not content.lines:
        raise ValueError("a statement needs at least one contribution")
    return html_to_pdf(statement_html(content))
