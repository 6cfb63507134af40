"""What a letter says, independent of how it is rendered (``documents.rendering``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import ClassVar

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


@dataclass(frozen=True)
class StatementLine:
    """One contribution of a statement: what it is for (``CONTRIBUTIONS``), its base and rate."""

    contribution: str
    base: Decimal
    rate: Decimal

    @property
    def amount(self) -> Decimal:
        return (self.base * self.rate / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ContributionStatement:
    """A month's statement of the employer's social security contributions, for one domain."""

    language: str
    reference: str
    employer_name: str
    employer_number: str
    recipient: Recipient
    issued_at: dt.datetime
    domain: Domain
    period: dt.date
    due_date: dt.date
    lines: tuple[StatementLine, ...]

    kind: ClassVar[str] = "contribution_statement"

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))
