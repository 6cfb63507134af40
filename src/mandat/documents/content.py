"""What a letter says, independent of how it is rendered (``documents.rendering``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mandat.catalog.models import Domain


@dataclass(frozen=True)
class Recipient:
    name: str
    address_line1: str
    address_line2: str
    postcode: str
    city: str
    country: str


@dataclass(frozen=True)
class CodeLine:
    """One domain of a code letter. Codes are in display form (``K7QM-2XRT-9HWP-4NDB``)."""

    domain: Domain
    access_code: str
    revocation_code: str = ""
    representative: str = ""
    level: str = ""


@dataclass(frozen=True)
class CodeLetter:
    """Letter 1 (holder codes and revocation codes) or letter 2 (representative codes)."""

    kind: str
    language: str
    reference: str
    employer_name: str
    employer_number: str
    recipient: Recipient
    issued_at: dt.datetime
    activation_deadline: dt.datetime
    lines: tuple[CodeLine, ...]
    replaces_reference: str = ""
