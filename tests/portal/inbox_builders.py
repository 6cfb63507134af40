"""Documents in an e-Box, sent through the real services, for the portal's tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mandat.core import time
from mandat.documents import services as documents
from mandat.documents.content import StatementLine
from mandat.documents.models import Delivery, EDelivery
from mandat.registry.models import Employer
from mandat.spaces.models import Space
from tests import factories

LINES = (StatementLine("pension", Decimal("10000.00"), Decimal("8.00")),)


def edelivery(space: Space, employer: Employer, *domains: str, level: str = "consult") -> None:
    """The space holds a mandate for each domain and has switched eDelivery on for it."""
    for code in domains:
        factories.mandate(employer_=employer, space=space, domain_code=code, level=level)
        documents.edelivery_note_use(space=space, employer=employer, domain=factories.domain(code))


def edelivery_to(space: Space, employer: Employer, *domains: str) -> None:
    """eDelivery to a representative's space (the switch-on service only serves own spaces)."""
    for code in domains:
        factories.mandate(employer_=employer, space=space, domain_code=code, level="consult")
        EDelivery.objects.create(
            employer=employer, domain=factories.domain(code), space=space, activated_at=time.now()
        )


def statement(employer: Employer, domain: str = "BILLING", month: int = 10) -> Delivery:
    letter = documents.statement_send(
        employer=employer,
        domain=factories.domain(domain),
        period=dt.date(2026, month, 1),
        lines=LINES,
    )
    return Delivery.objects.get(letter=letter)
