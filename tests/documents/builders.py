"""Requests and letters built through the real services, for the documents' tests."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO

from pypdf import PdfReader

from mandat.accounts.models import User
from mandat.certification import issuing
from mandat.certification import services as certification
from mandat.certification.models import CertificationRequest
from mandat.registry import services as registry
from mandat.registry.models import Employer, Representative
from tests import factories

SECURITY_CODE = "Zq8-Secret"
CODE = re.compile(r"\b[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}\b")


@dataclass(frozen=True)
class Filed:
    request: CertificationRequest
    admin: User
    employer: Employer


def employer(
    name: str = "Garage Muller S.à r.l.",
    *,
    language: str = "fr",
    address: registry.Address | None = None,
) -> Employer:
    org = factories.organisation(name)
    return registry.employer_register(
        by=factories.agent(),
        organisation=org,
        institution=factories.ccss(),
        employer_number=org.identifier,
        name=name,
        address=address or registry.Address("12, rue de la Gare", "1234", "Luxembourg"),
        language=language,
    )


def filed_request(
    *,
    employer_: Employer | None = None,
    delegations: Sequence[tuple[str, Representative, str]] = (),
    admin: User | None = None,
    sign: bool = True,
) -> Filed:
    """A request for ``employer_`` answered step by step; signed (by the seal) unless told."""
    employer_ = employer_ or employer()
    admin = admin or factories.user(first_name="Anne", last_name="Schmit")
    space = factories.space_of(employer_.organisation, admin=admin)
    request = certification.request_start(by=admin, space=space, institution=factories.ccss())
    certification.request_consent(by=admin, request=request, consent=True)
    certification.request_set_filer(
        by=admin,
        request=request,
        name="Anne Schmit",
        email="anne@garage.example",
        phone="+352 621 123 456",
    )
    certification.request_set_employer(
        by=admin,
        request=request,
        employer_number=employer_.employer_number,
        employer_name=employer_.name,
    )
    certification.request_set_representatives(
        by=admin,
        request=request,
        has_representative=bool(delegations),
        same_representative=(len({r.pk for _d, r, _l in delegations}) == 1)
        if delegations
        else None,
        delegations=[
            certification.DelegationInput(
                domain_code=code,
                registration_number=rep.registration_number,
                name=rep.denomination,
                level=level,
            )
            for code, rep, level in delegations
        ],
    )
    certification.request_set_security_code(
        by=admin, request=request, security_code=SECURITY_CODE, confirmation=SECURITY_CODE
    )
    if sign:
        request = certification.request_sign(by=admin, request=request)
    request.refresh_from_db()
    return Filed(request=request, admin=admin, employer=employer_)


def issued_request(**kwargs: object) -> Filed:
    """A request filed, signed, transmitted and issued by an agent: its letters exist."""
    filed = filed_request(**kwargs)  # type: ignore[arg-type]
    certification.request_transmit(by=filed.admin, request=filed.request, confirmed=True)
    request = issuing.request_issue(by=factories.agent(), request=filed.request)
    return Filed(request=request, admin=filed.admin, employer=filed.employer)


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)


def one_line(text: str) -> str:
    """Text with every run of white space made one space, since lines wrap anywhere."""
    return " ".join(text.split())
