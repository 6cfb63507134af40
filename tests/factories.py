"""Builders for test data. They go through the services, as the platform would."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator

import pytest
from django.db.models import Model

from mandat.accounts.models import User
from mandat.catalog.models import Domain, Institution
from mandat.core.errors import ApplicationError
from mandat.core.models import AuditEvent, AuditHead
from mandat.mandates import services as mandate_services
from mandat.mandates.models import Mandate, MandateKind
from mandat.registry import services as registry
from mandat.registry.identifiers import Scheme
from mandat.registry.models import Employer, Organisation, Representative
from mandat.spaces import services as space_services
from mandat.spaces.models import Space, SpaceKind

_serial = itertools.count(1)
ADDRESS = registry.Address("1, rue de la Test", "1234", "Luxembourg")


def ccss() -> Institution:
    return Institution.objects.get(code="CCSS")


def domain(code: str = "AFFILIATIONS") -> Domain:
    return Domain.objects.get(institution__code="CCSS", code=code)


def user(username: str | None = None, *, agent: bool = False, **extra: object) -> User:
    name = username or f"user{next(_serial)}"
    return User.objects.create_user(
        username=name, email=f"{name}@example.test", password="pw", is_agent=agent, **extra
    )


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
