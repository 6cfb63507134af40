"""The demo world of ``mandat seed --demo``.

People, organisations and spaces are made through the services, as an agent
would. The big fiduciary's 5,000 clients are bulk-loaded in one transaction
(with one audit event per mandate), because 5,000 trips through the portal is
not what a demo is for. The bakery's Inbox gets three real monthly statements
(rendered PDFs), so the Inbox, its download and its unread count have something to show.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from mandat.accounts.models import User
from mandat.catalog.models import Domain, Institution, Level
from mandat.core import audit, time
from mandat.documents import services as documents
from mandat.documents.content import StatementLine
from mandat.documents.models import Delivery, EDelivery
from mandat.mandates.models import Mandate, MandateKind, MandateSource, MandateStatus
from mandat.registry import services as registry
from mandat.registry.identifiers import Scheme
from mandat.registry.models import Employer, Organisation
from mandat.spaces import services as spaces
from mandat.spaces.models import Space, SpaceKind

DEMO_PASSWORD = "demo-mandat-2026"  # noqa: S105 - printed by the command, demo data only
#: Every demo user's authenticator-app secret (RFC 6238, base32), so that the demo and the
#: browser tests reach the level of assurance "substantial" with password + code. Demo only:
#: published in the README.
DEMO_TOTP_SECRET = "MANDATDEMOTOTPSECRETFORTHEDEMO23"  # noqa: S105
BOULANGERIE_NUMBER = "20191234567"
SALARY_NUMBER = "2020220124699"
FIDUCIARY_NUMBER = "20081122334"
CLIENT_COUNT = 5000

_FIRST = [
    "Boulangerie",
    "Garage",
    "Cabinet",
    "Atelier",
    "Brasserie",
    "Pharmacie",
    "Menuiserie",
    "Librairie",
    "Boucherie",
    "Fleuriste",
    "Imprimerie",
    "Transports",
    "Construction",
    "Informatique",
    "Consulting",
    "Plâtrerie",
    "Toiture",
    "Optique",
    "Pâtisserie",
    "Hôtel",
]
_SECOND = [
    "Muller",
    "Schmit",
    "Weber",
    "Wagner",
    "Hoffmann",
    "Thill",
    "Klein",
    "Schroeder",
    "Reuter",
    "Kremer",
    "Becker",
    "Hansen",
    "du Centre",
    "de la Gare",
    "Moselle",
    "Ardennes",
    "Kirchberg",
    "Bonnevoie",
    "Esch",
    "Diekirch",
    "Clervaux",
    "Remich",
]
_FORMS = ["S.à r.l.", "S.A.", "S.à r.l.-S", "S.C.S."]
_CITIES = [
    ("1009", "Luxembourg"),
    ("4002", "Esch-sur-Alzette"),
    ("9201", "Diekirch"),
    ("6401", "Echternach"),
    ("3401", "Dudelange"),
    ("5501", "Remich"),
]


@dataclass(frozen=True)
class DemoWorld:
    created: bool
    users: dict[str, User]


def _user(username: str, first: str, last: str, *, agent: bool = False) -> User:
    user = User.objects.create_user(
        username=username,
        email=f"{username}@demo.mandat.lu",
        password=DEMO_PASSWORD,
        first_name=first,
        last_name=last,
        is_agent=agent,
        is_staff=agent,
    )
    # Demo people log in at once (a verified address) and have a second factor.
    from allauth.account.models import EmailAddress
    from allauth.mfa.totp.internal.auth import TOTP

    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    TOTP.activate(user, DEMO_TOTP_SECRET)
    return user


def _client_number(index: int) -> str:
    return f"1990{index:07d}"


def _address(index: int) -> registry.Address:
    postcode, city = _CITIES[index % len(_CITIES)]
    return registry.Address(
        address_line1=f"{1 + index % 180}, rue {_SECOND[index % len(_SECOND)]}",
        postcode=postcode,
        city=city,
    )


def seed_demo() -> DemoWorld:
    """Create the demo world once; a second call changes nothing."""
    if Employer.objects.filter(employer_number=BOULANGERIE_NUMBER).exists():
        if not _seeded_completely():
            raise RuntimeError(
                "The demo world is incomplete: an earlier seed was interrupted. "
                "Start from an empty database (remove var/mandat.sqlite3) and seed again."
            )
        return DemoWorld(created=False, users={})
    ccss = Institution.objects.get(code="CCSS")
    agent = _user("agent", "Anne", "Agent", agent=True)
    employer_admin = _user("employer", "Émile", "Boulanger")
    salary_admin = _user("salary", "Sophie", "Salaire")
    salary_clerk = _user("salary-clerk", "Marc", "Commis")
    fiduciary_admin = _user("fiduciary", "Fanny", "Fiduciaire")

    boulangerie_org = registry.organisation_create(
        by=agent,
        name="Boulangerie Demo S.à r.l.",
        scheme=Scheme.LU_NATIONAL,
        identifier=BOULANGERIE_NUMBER,
    )
    boulangerie = registry.employer_register(
        by=agent,
        organisation=boulangerie_org,
        institution=ccss,
        employer_number=BOULANGERIE_NUMBER,
        name="Boulangerie Demo S.à r.l.",
        address=registry.Address("12, rue du Fort Wallis", "2714", "Luxembourg"),
    )
    salary_org = registry.organisation_create(
        by=agent, name="Salary S.A.", scheme=Scheme.LU_NATIONAL, identifier=SALARY_NUMBER
    )
    registry.representative_register(
        by=agent,
        organisation=salary_org,
        registration_number=SALARY_NUMBER,
        denomination="Salary S.A.",
        address=registry.Address("5, avenue de la Gare", "1611", "Luxembourg"),
    )
    fiduciary_org = registry.organisation_create(
        by=agent,
        name="Fiduciaire Grand-Duché S.A.",
        scheme=Scheme.LU_NATIONAL,
        identifier=FIDUCIARY_NUMBER,
    )
    registry.representative_register(
        by=agent,
        organisation=fiduciary_org,
        registration_number=FIDUCIARY_NUMBER,
        denomination="Fiduciaire Grand-Duché S.A.",
        address=registry.Address("2, boulevard Royal", "2449", "Luxembourg"),
    )
    boulangerie_space = spaces.space_create(
        by=employer_admin, kind=SpaceKind.PROFESSIONAL, organisation=boulangerie_org
    )
    salary_space = spaces.space_create(
        by=salary_admin, kind=SpaceKind.PROFESSIONAL, organisation=salary_org
    )
    spaces.member_add(by=salary_admin, space=salary_space, user=salary_clerk)
    fiduciary_space = spaces.space_create(
        by=fiduciary_admin, kind=SpaceKind.PROFESSIONAL, organisation=fiduciary_org
    )
    _bulk_clients(ccss=ccss, space_id=fiduciary_space.pk, count=CLIENT_COUNT)
    _bakery_statements(employer=boulangerie, space=boulangerie_space, reader=employer_admin)
    return DemoWorld(
        created=True,
        users={
            "agent": agent,
            "employer": employer_admin,
            "salary": salary_admin,
            "salary-clerk": salary_clerk,
            "fiduciary": fiduciary_admin,
        },
    )


def _seeded_completely() -> bool:
    """Each step of the seed after the first left its mark: the last client employer, and
    every statement of the bakery (each one sent in its own transaction, last of all)."""
    last_client = Employer.objects.filter(employer_number=_client_number(CLIENT_COUNT))
    statements = Delivery.objects.filter(employer__employer_number=BOULANGERIE_NUMBER)
    return last_client.exists() and statements.count() >= len(_BAKERY_PAYROLL)


@transaction.atomic(durable=True)
def _bulk_clients(*, ccss: Institution, space_id: int, count: int) -> None:
    rng = random.Random(2026)  # noqa: S311 - reproducible demo names, not a secret
    domains = {d.code: d for d in Domain.objects.filter(institution=ccss)}
    organisations = Organisation.objects.bulk_create(
        Organisation(
            name=f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {rng.choice(_FORMS)} ({i:04d})",
            identifier_scheme=Scheme.LU_NATIONAL,
            identifier=f"1990{i:07d}",
        )
        for i in range(1, count + 1)
    )
    employers = Employer.objects.bulk_create(
        Employer(
            organisation=organisation,
            institution=ccss,
            employer_number=organisation.identifier,
            name=organisation.name,
            language=("fr", "de", "en")[i % 3],
            **_address(i).__dict__,
        )
        for i, organisation in enumerate(organisations, start=1)
    )
    now = time.now()
    mandates = []
    for i, employer in enumerate(employers):
        plan = [
            ("EMPLOYER", Level.CONSULT),
            ("AFFILIATIONS", Level.ACT),
            ("REMUNERATIONS", Level.ACT),
        ]
        if i % 3 == 0:
            plan.append(("BILLING", Level.CONSULT))
        mandates += [
            Mandate(
                employer=employer,
                domain=domains[code],
                grantee_space_id=space_id,
                kind=MandateKind.OBTAINED,
                level=level,
                source=MandateSource.AGENT,
                status=MandateStatus.ACTIVE,
                valid_from=now,
                activated_at=now,
            )
            for code, level in plan
        ]
    Mandate.objects.bulk_create(mandates, batch_size=2000)
    audit.record_many(
        audit.Entry(
            action="mandate.granted",
            employer_id=m.employer_id,
            object_type="mandates.mandate",
            object_id=str(m.pk),
            data={
                "employer": m.employer_id,
                "domain": m.domain_id,
                "space": space_id,
                "kind": m.kind,
                "level": m.level,
                "source": m.source,
                "status": m.status,
            },
        )
        for m in mandates
    )


#: The bakery's declared remunerations of the last three months, oldest first.
_BAKERY_PAYROLL = [Decimal("38400.00"), Decimal("38950.00"), Decimal("41200.00")]
_BAKERY_RATES = [
    ("pension", Decimal("8.00")),
    ("health", Decimal("3.05")),
    ("accident", Decimal("0.75")),
    ("mutual", Decimal("1.05")),
    ("occupational_health", Decimal("0.11")),
]


def _bakery_statements(*, employer: Employer, space: Space, reader: User) -> None:
    """Something in the bakery's Inbox: three monthly statements, the two older ones read.

    eDelivery is on for billing as if an agent had switched it on at the bakery's
    request; the bakery is not certified, so the demo's certification story still
    starts from nothing (and its code letters, for all domains, still go by post).
    """
    billing = Domain.objects.get(institution=employer.institution, code="BILLING")
    with transaction.atomic(durable=True):
        subscription = EDelivery.objects.create(
            employer=employer, domain=billing, space=space, activated_at=time.now()
        )
        audit.record(
            "edelivery.activated",
            employer_id=employer.pk,
            obj=subscription,
            data={"domain": billing.code, "space": space.pk},
        )
    month = time.now().date().replace(day=1)
    periods: list[dt.date] = []
    for _ in _BAKERY_PAYROLL:
        month = (month - dt.timedelta(days=1)).replace(day=1)
        periods.insert(0, month)
    letters = [
        documents.statement_send(
            employer=employer,
            domain=billing,
            period=period,
            lines=[StatementLine(kind, payroll, rate) for kind, rate in _BAKERY_RATES],
        )
        for period, payroll in zip(periods, _BAKERY_PAYROLL, strict=True)
    ]
    for letter in letters[:-1]:
        documents.delivery_mark_read(by=reader, delivery=Delivery.objects.get(letter=letter))
