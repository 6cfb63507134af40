"""Builders for test data. They go through the services, as the platform would."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from django.db.models import Model

from mandat.accounts.models import User
from mandat.catalog.models import Domain, Institution
from mandat.certification.models import CertificationRequest
from mandat.core.errors import ApplicationError
from mandat.core.models import AuditEvent, AuditHead
from mandat.documents.models import Letter
from mandat.mandates import services as mandate_services
from mandat.mandates.models import Mandate, MandateKind
from mandat.registry import services as registry
from mandat.registry.identifiers import Scheme
from mandat.registry.models import Employer, Organisation, Representative
from mandat.spaces import services as space_services
from mandat.spaces.models import Space, SpaceKind

if TYPE_CHECKING:
    from mandat.api.models import ApiClient
    from mandat.certification.services import DelegationInput

_serial = itertools.count(1)
ADDRESS = registry.Address("1, rue de la Test", "1234", "Luxembourg")


def ccss() -> Institution:
    return Institution.objects.get(code="CCSS")


def domain(code: str = "AFFILIATIONS") -> Domain:
    return Domain.objects.get(institution__code="CCSS", code=code)


def user(username: str | None = None, *, agent: bool = False, **extra: object) -> User:
    """A user with password "pw" and a verified e-mail address, so a real login works."""
    from allauth.account.models import EmailAddress

    name = username or f"user{next(_serial)}"
    made = User.objects.create_user(
        username=name, email=f"{name}@example.test", password="pw", is_agent=agent, **extra
    )
    EmailAddress.objects.create(user=made, email=made.email, verified=True, primary=True)
    return made


def agent() -> User:
    existing = User.objects.filter(username="factory-agent").first()
    return existing or user("factory-agent", agent=True)


def organisation(name: str | None = None) -> Organisation:
    number = next(_serial)
    return registry.organisation_create(
        by=agent(),
        name=name or f"Organisation {number}",
        scheme=Scheme.LU_NATIONAL,
        identifier=f"{20000000000 + number}",
    )


def employer(name: str | None = None, *, org: Organisation | None = None) -> Employer:
    org = org or organisation(name)
    return registry.employer_register(
        by=agent(),
        organisation=org,
        institution=ccss(),
        employer_number=org.identifier,
        name=name or org.name,
        address=ADDRESS,
    )


def representative(name: str | None = None) -> Representative:
    org = organisation(name)
    return registry.representative_register(
        by=agent(),
        organisation=org,
        registration_number=f"{2020000000000 + next(_serial)}",
        denomination=name or org.name,
        address=ADDRESS,
    )


def space_of(org: Organisation, *, admin: User | None = None) -> Space:
    existing = Space.objects.filter(organisation=org, closed_at__isnull=True).first()
    if existing is not None:
        return existing
    return space_services.space_create(
        by=admin or user(), kind=SpaceKind.PROFESSIONAL, organisation=org
    )


def mandate(
    *,
    employer_: Employer,
    space: Space,
    domain_code: str = "AFFILIATIONS",
    level: str = "act",
    **extra: object,
) -> Mandate:
    kind = (
        MandateKind.PRIMARY
        if space.organisation_id == employer_.organisation_id
        else (MandateKind.OBTAINED)
    )
    return mandate_services.mandate_grant(
        by=None,
        employer=employer_,
        domain=domain(domain_code),
        space=space,
        kind=kind,
        level=level,
        **extra,  # type: ignore[arg-type]
    )


def institution(code: str = "OTHER") -> Institution:
    """Another institution with one domain, as a catalogue fixture would add it."""
    existing = Institution.objects.filter(code=code).first()
    if existing is not None:
        return existing
    made = Institution.objects.create(code=code, name_fr=code, name_de=code, name_en=code)
    Domain.objects.create(
        institution=made, code="GENERAL", name_fr="Général", name_de="Allgemein", name_en="General"
    )
    return made


def audit_seq() -> int:
    """The sequence number of the newest audit event, 0 before the first one."""
    return AuditHead.objects.get(pk=1).seq


def audit_events_since(seq: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq"))


@contextlib.contextmanager
def refused(code: str, *models: type[Model]) -> Iterator[pytest.ExceptionInfo[ApplicationError]]:
    """Expect the block to raise ``ApplicationError(code)`` leaving no trace.

    A refusal writes no audit event and adds no row to any of ``models``.
    """
    seq = audit_seq()
    counts = [model._default_manager.count() for model in models]
    with pytest.raises(ApplicationError) as caught:
        yield caught
    assert caught.value.code == code, f"refused with {caught.value.code!r}, expected {code!r}"
    assert audit_events_since(seq) == [], "a refused operation wrote an audit event"
    assert [model._default_manager.count() for model in models] == counts, "rows were added"


# --- certification requests (back-office tests) ---------------------------------------------


def transmitted_request(
    employer_: Employer | None = None,
    *,
    delegated: dict[str, str] | None = None,
    filer_name: str = "Anna Filer",
) -> CertificationRequest:
    """A request walked through every step of procedure B, up to transmission.

    ``delegated`` maps domain codes to levels, all given to one new representative.
    """
    from mandat.certification import services as certification

    employer_ = employer_ or employer()
    admin = user()
    space = space_of(employer_.organisation, admin=admin)
    request = certification.request_start(by=admin, space=space, institution=ccss())
    certification.request_consent(by=admin, request=request, consent=True)
    certification.request_set_filer(
        by=admin,
        request=request,
        name=filer_name,
        email="filer@example.test",
        phone="+352 247 86 000",
    )
    certification.request_set_employer(
        by=admin,
        request=request,
        employer_number=employer_.employer_number,
        employer_name=employer_.name,
    )
    firm = representative() if delegated else None
    certification.request_set_representatives(
        by=admin,
        request=request,
        has_representative=bool(delegated),
        same_representative=True if delegated else None,
        delegations=[
            certification.DelegationInput(
                domain_code=code,
                registration_number=firm.registration_number,
                name=firm.denomination,
                level=level,
            )
            for code, level in (delegated or {}).items()
            if firm is not None
        ],
    )
    certification.request_set_security_code(
        by=admin, request=request, security_code="s3cret-42", confirmation="s3cret-42"
    )
    certification.request_sign(by=admin, request=request)
    return certification.request_transmit(by=admin, request=request, confirmed=True)


def issued_request(
    employer_: Employer | None = None, *, delegated: dict[str, str] | None = None
) -> CertificationRequest:
    from mandat.certification.issuing import request_issue

    request = transmitted_request(employer_, delegated=delegated)
    return request_issue(by=agent(), request=request)


# --- the seed's representative ------------------------------------------------------------


def salary_sa() -> Representative:
    """The seed's representative: Salary S.A., registration number 2020220124699."""
    existing = Representative.objects.filter(registration_number="2020220124699").first()
    if existing is not None:
        return existing
    return registry.representative_register(
        by=agent(),
        organisation=organisation("Salary S.A."),
        registration_number="2020220124699",
        denomination="Salary S.A.",
        address=ADDRESS,
    )


def transmitted_requests(count: int) -> list[CertificationRequest]:
    """``count`` transmitted requests, each through every service step, for queue tests.

    The first one renders and signs its PDF for real; the others reuse that signed PDF,
    because rendering and signing take half a second each and a queue never reads them.
    """
    from unittest import mock

    from mandat.certification import signing
    from mandat.documents import rendering

    first = transmitted_request()
    assert first.signed_pdf is not None
    signed = signing.SignedDocument(
        pdf=bytes(first.signed_pdf), method=first.signature_method, signer_name="Anna Filer"
    )
    with (
        mock.patch.object(rendering, "render_request_summary", return_value=b"%PDF-1.7"),
        mock.patch.object(signing, "sign_request_pdf", return_value=signed),
    ):
        return [first, *(transmitted_request() for _ in range(count - 1))]


# --- procedure B and C with the seed's case (certification tests) ---------------------------

#: The security code the filer of a ``certification_world`` request chooses.
SECURITY_CODE = "Zq8-Secret"
#: The seed's delegation: these three domains to Salary S.A., in consultation.
SEED_DELEGATED_DOMAINS = ("EMPLOYER", "AFFILIATIONS", "REMUNERATIONS")


@dataclass(frozen=True)
class CertificationWorld:
    """An employer with its own space, and Salary S.A. with its space, each with an admin."""

    employer: Employer
    boss: User  # admin of the employer's own space
    space: Space
    salary: Representative
    salary_admin: User
    salary_space: Space


def certification_world(name: str = "Boulangerie Demo S.à r.l.") -> CertificationWorld:
    from mandat.spaces.models import Membership, Role

    employer_ = employer(name)
    boss = user()
    salary = salary_sa()
    salary_space = Space.objects.filter(
        organisation=salary.organisation, closed_at__isnull=True
    ).first()
    if salary_space is None:
        salary_admin = user()
        salary_space = space_of(salary.organisation, admin=salary_admin)
    else:
        salary_admin = (
            Membership.objects.filter(space=salary_space, role=Role.ADMIN).order_by("pk").first()
        ).user  # type: ignore[union-attr]
    return CertificationWorld(
        employer=employer_,
        boss=boss,
        space=space_of(employer_.organisation, admin=boss),
        salary=salary,
        salary_admin=salary_admin,
        salary_space=salary_space,
    )


def seed_delegations(
    *,
    level: str = "consult",
    domains: tuple[str, ...] = SEED_DELEGATED_DOMAINS,
    registration_number: str = "2020220124699",
    name: str = "Salary S.A.",
) -> list[DelegationInput]:
    """The delegations of the seed's case, as the representatives step receives them."""
    from mandat.certification.services import DelegationInput

    return [
        DelegationInput(
            domain_code=code, registration_number=registration_number, name=name, level=level
        )
        for code in domains
    ]


def request_answered(
    world: CertificationWorld,
    *,
    delegations: list[DelegationInput] | None = None,
    security_code: str = SECURITY_CODE,
) -> CertificationRequest:
    """A draft with every step of procedure B answered (the seed's delegations by default).

    ``delegations=[]`` answers "no representative".
    """
    from mandat.certification import services as certification

    chosen = seed_delegations() if delegations is None else delegations
    by = world.boss
    request = certification.request_start(by=by, space=world.space, institution=ccss())
    certification.request_consent(by=by, request=request, consent=True)
    certification.request_set_filer(
        by=by,
        request=request,
        name="Anne Schmit",
        email="anne@example.test",
        phone="+352 621 123 456",
    )
    certification.request_set_employer(
        by=by,
        request=request,
        employer_number=world.employer.employer_number,
        employer_name=world.employer.name,
    )
    certification.request_set_representatives(
        by=by,
        request=request,
        has_representative=bool(chosen),
        same_representative=True if chosen else None,
        delegations=chosen,
    )
    return certification.request_set_security_code(
        by=by, request=request, security_code=security_code, confirmation=security_code
    )


def request_transmitted_for(world: CertificationWorld, **answers: object) -> CertificationRequest:
    """``request_answered``, then signed (platform seal) and transmitted."""
    from mandat.certification import services as certification

    request = request_answered(world, **answers)  # type: ignore[arg-type]
    request = certification.request_sign(by=world.boss, request=request)
    return certification.request_transmit(by=world.boss, request=request, confirmed=True)


def request_issued_for(world: CertificationWorld, **answers: object) -> CertificationRequest:
    """``request_transmitted_for``, then issued by an agent: the letters exist."""
    from mandat.certification.issuing import request_issue

    return request_issue(by=agent(), request=request_transmitted_for(world, **answers))


def codes_from_letter(letter: Letter) -> dict[tuple[str, str], str]:
    """The codes a letter prints, by (domain code, code kind), read from its decrypted PDF.

    Each code belongs to the nearest domain heading and code label printed before it,
    both looked up in the letter's language.
    """
    import io
    import re

    from django.utils import translation
    from django.utils.translation import gettext
    from pypdf import PdfReader

    from mandat.core.codes import ALPHABET
    from mandat.documents.services import letter_pdf

    pages = PdfReader(io.BytesIO(letter_pdf(letter))).pages
    text = " ".join(" ".join(page.extract_text() or "" for page in pages).split())
    with translation.override(letter.language):
        labels = {
            gettext("Holder access code"): "holder",
            gettext("Revocation code"): "revocation",
            gettext("Representative access code"): "representative",
        }
        names = {d.code: " ".join(d.name.split()) for d in letter.domains.all()}
    headings = sorted(
        (match.start(), code)
        for code, name in names.items()
        for match in re.finditer(rf"\b\d+\.\s*{re.escape(name)}", text)
    )
    marks = sorted(
        (match.end(), kind)
        for label, kind in labels.items()
        for match in re.finditer(re.escape(label), text)
    )
    symbol = f"[{ALPHABET}]"
    found: dict[tuple[str, str], str] = {}
    for match in re.finditer(rf"\b{symbol}{{4}}(?:-{symbol}{{4}}){{3}}\b", text):
        domains_before = [code for start, code in headings if start < match.start()]
        kinds_before = [kind for end, kind in marks if end <= match.start()]
        assert domains_before and kinds_before, f"cannot place {match.group()} in the letter"
        key = (domains_before[-1], kinds_before[-1])
        assert key not in found, f"two codes for {key} in the letter"
        found[key] = match.group()
    return found


def request_codes(request: CertificationRequest) -> dict[tuple[str, str], str]:
    """Every code of a request's letters still kept; a newer letter's codes win."""
    found: dict[tuple[str, str], str] = {}
    for letter in request.letters.filter(pdf_encrypted__isnull=False).order_by("pk"):
        found.update(codes_from_letter(letter))
    return found


# --- API clients (issue 6) ------------------------------------------------------------------


def api_client(
    space: Space,
    scopes: tuple[tuple[str, str], ...] = (("AFFILIATIONS", "act"),),
    *,
    secret: bool = False,
    admin: User | None = None,
    expires_at: object = None,
    name: str = "Payroll software",
) -> ApiClient:
    """A client of ``space`` registered by one of its admins (a new one unless given).

    With a public key (Ed25519), its private JWK is ``client.test_private_jwk``; with
    ``secret=True``, its secret is ``client.test_secret``.
    """
    import datetime as dt

    from joserfc.jwk import OKPKey

    from mandat.api import services as api_services
    from mandat.core import time
    from mandat.spaces.models import Membership, Role

    if admin is None:
        admin = user()
        Membership.objects.create(space=space, user=admin, role=Role.ADMIN)
    key = None if secret else OKPKey.generate_key("Ed25519", private=True)
    registered = api_services.api_client_register(
        by=admin,
        space=space,
        name=name,
        scopes=scopes,
        expires_at=expires_at or time.now() + dt.timedelta(days=30),  # type: ignore[arg-type]
        public_jwk=None if key is None else dict(key.as_dict(private=False)),
    )
    client = registered.client
    client.test_private_jwk = None if key is None else dict(key.as_dict(private=True))  # type: ignore[attr-defined]
    client.test_secret = registered.secret  # type: ignore[attr-defined]
    return client


def api_token(client: ApiClient, scopes: list[str] | None = None) -> str:
    """An access token for ``client``, as the token endpoint would issue it."""
    from mandat.api import tokens

    issued = tokens.issue(
        client_id=client.client_id,
        space_id=client.space_id,
        scopes=client.scopes if scopes is None else scopes,
    )
    return issued.access_token


def api_headers(client: ApiClient) -> dict[str, str]:
    """Headers for Django's test client: ``client.get(url, headers=api_headers(c))``."""
    return {"Authorization": f"Bearer {api_token(client)}"}
