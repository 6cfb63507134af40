"""The home page after login: each space's certifications, what waits to be done, what is unread."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries
from pytest_django.fixtures import Settings

from mandat.accounts.models import User
from mandat.certification import services as certification
from mandat.core import time
from mandat.documents.models import Notice, NoticeKind
from mandat.mandates.models import Mandate, MandateKind, MandateSource, MandateStatus
from mandat.registry.identifiers import Scheme
from mandat.registry.models import Employer, Organisation
from mandat.spaces.models import Space
from tests import factories
from tests.factories import CertificationWorld
from tests.portal.inbox_builders import edelivery, edelivery_to, statement

pytestmark = pytest.mark.django_db

#: Queries of the home page for a member of one space, and for each further space.
QUERIES_PER_SPACE = 7
QUERIES_BASE = 4  # session, user, the spaces, one spare
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _data_in_tmp(settings: Settings, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    settings.SEAL_KEY_FILE = settings.SEAL_CERT_FILE = ""


@pytest.fixture
def world() -> CertificationWorld:
    return factories.certification_world()


def _client(user: User) -> Client:
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    web.force_login(user)
    return web


def _home(user: User) -> str:
    response = _client(user).get(reverse("portal:home"))
    assert response.status_code == 200
    return response.content.decode()


def _clients(space: Space, count: int) -> None:
    """``count`` client employers, three obtained mandates each, bulk-made as the demo does."""
    domains = [factories.domain(code) for code in ("EMPLOYER", "AFFILIATIONS", "REMUNERATIONS")]
    ccss = factories.ccss()
    start = Employer.objects.count()
    organisations = Organisation.objects.bulk_create(
        Organisation(
            name=f"Client {start + i:05d} S.à r.l.",
            identifier_scheme=Scheme.LU_NATIONAL,
            identifier=f"1880{start + i:07d}",
        )
        for i in range(count)
    )
    employers = [
        Employer.objects.create(
            organisation=organisations[i],
            institution=ccss,
            employer_number=f"1880{start + i:07d}",
            name=f"Client {start + i:05d} S.à r.l.",
            postcode="1234",
            city="Luxembourg",
            address_line1="1, rue de la Test",
        )
        for i in range(count)
    ]
    now = time.now()
    Mandate.objects.bulk_create(
        Mandate(
            employer=employer,
            domain=domain,
            grantee_space=space,
            kind=MandateKind.OBTAINED,
            level="act",
            source=MandateSource.AGENT,
            status=MandateStatus.ACTIVE,
            valid_from=now,
            activated_at=now,
        )
        for employer in employers
        for domain in domains
    )


def test_a_certified_space_shows_its_domains_with_their_employer(
    world: CertificationWorld,
) -> None:
    factories.mandate(employer_=world.employer, space=world.space, domain_code="BILLING")
    page = _home(world.boss)
    assert "Billing and accounting</a> – Boulangerie Demo S.à r.l." in page
    assert reverse("portal:domain", args=[world.space.pk, world.employer.pk, "BILLING"]) in page
    assert "Nothing to do." in page
    assert "No unread document." in page


def test_a_representative_space_shows_a_count_of_its_mandates_not_rows(
    world: CertificationWorld,
) -> None:
    _clients(world.salary_space, 40)
    page = _home(world.salary_admin)
    assert "Holds 120 mandates from 40 clients." in page
    assert "Client 0" not in page, "no row per client"
    assert reverse("portal:clients", args=[world.salary_space.pk]) in page


def test_a_draft_request_is_to_be_continued(world: CertificationWorld) -> None:
    certification.request_start(by=world.boss, space=world.space, institution=factories.ccss())
    page = _home(world.boss)
    assert "Continue your certification request" in page
    assert f'href="{reverse("certification:request", args=[world.space.pk])}"' in page
    assert "Nothing to do." not in page


def test_a_signed_request_is_to_be_sent(world: CertificationWorld) -> None:
    draft = factories.request_answered(world)
    certification.request_sign(by=world.boss, request=draft)
    page = _home(world.boss)
    assert "Send your signed certification request" in page
    assert reverse("certification:request_transmit", args=[world.space.pk]) in page


def test_a_transmitted_request_is_no_action_but_is_said(world: CertificationWorld) -> None:
    factories.request_transmitted_for(world)
    page = _home(world.boss)
    assert "Nothing to do." in page
    assert "Your certification request is with the institution." in page


def test_issued_codes_not_all_used_show_with_their_deadline(world: CertificationWorld) -> None:
    request = factories.request_issued_for(world)
    assert request.activation_deadline is not None
    codes = factories.request_codes(request)
    page = _home(world.boss)
    assert "Enter 4 access codes" in page
    assert f'href="{reverse("certification:certification_add", args=[world.space.pk])}"' in page
    deadline = request.activation_deadline
    assert f"before {deadline.day} " in page or f"before {deadline:%b}" in page
    assert "3 representative access codes are still to be used by your representatives." in page
    # Once the holder codes are used, nothing is left to do in this space.
    from mandat.certification.redemption import code_redeem

    for domain in ("EMPLOYER", "AFFILIATIONS", "REMUNERATIONS", "BILLING"):
        code_redeem(
            by=world.boss,
            space=world.space,
            domain=factories.domain(domain),
            kind="holder",
            code=codes[(domain, "holder")],
            security_code=factories.SECURITY_CODE,
        )
    page = _home(world.boss)
    assert "access code" not in page.split("To do")[1].split("Inbox")[0].replace(
        "representative access code", ""
    )
    assert "Nothing to do." in page


def test_unread_documents_and_notices_are_counted_with_links(world: CertificationWorld) -> None:
    edelivery(world.space, world.employer, "BILLING")
    statement(world.employer, "BILLING", 9)
    statement(world.employer, "BILLING", 10)
    Notice.objects.create(space=world.space, kind=NoticeKind.REQUEST_EXPIRED, params={})
    page = _home(world.boss)
    inbox = reverse("portal:inbox", args=[world.space.pk])
    assert f'href="{inbox}?unread=1">2 unread documents' in page
    assert "3 new notices" in page, "two deliveries and one expiry"
    assert f"{reverse('portal:space', args=[world.space.pk])}#notices-title" in page


def test_the_home_page_costs_a_fixed_number_of_queries_per_space(
    world: CertificationWorld, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    boss = world.boss
    web = _client(boss)
    edelivery(world.space, world.employer, "BILLING")
    statement(world.employer, "BILLING")
    factories.request_transmitted_for(world)
    with CaptureQueriesContext(connection) as one_space:
        web.get(reverse("portal:home"))
    # The same person in a representative's space with many clients, and in a third space.
    from mandat.spaces import services as space_services

    space_services.member_add(by=world.salary_admin, space=world.salary_space, user=boss)
    factories.space_of(factories.organisation(), admin=boss)
    _clients(world.salary_space, 30)
    with CaptureQueriesContext(connection) as few_clients:
        web.get(reverse("portal:home"))
    _clients(world.salary_space, 300)
    with django_assert_max_num_queries(QUERIES_BASE + 3 * QUERIES_PER_SPACE):
        response = web.get(reverse("portal:home"))
    assert "Holds 990 mandates from 330 clients." in response.content.decode()
    assert len(one_space) <= QUERIES_BASE + QUERIES_PER_SPACE
    assert len(few_clients) <= QUERIES_BASE + 3 * QUERIES_PER_SPACE


def test_a_restricted_collaborator_counts_only_what_they_may_reach(
    world: CertificationWorld,
) -> None:
    from mandat.spaces import services as space_services

    edelivery_to(world.salary_space, world.employer, "BILLING")
    other = factories.employer("Other Client S.A.")
    edelivery_to(world.salary_space, other, "BILLING")
    factories.mandate(employer_=other, space=world.salary_space, domain_code="AFFILIATIONS")
    statement(world.employer, "BILLING")
    statement(other, "BILLING", 9)
    statement(other, "BILLING", 10)
    clerk = factories.user()
    space_services.member_add(
        by=world.salary_admin, space=world.salary_space, user=clerk, employers=[world.employer]
    )
    page = _home(clerk)
    assert "Holds 1 mandate from 1 client." in page
    assert "1 unread document" in page and "1 new notice" in page
    admin = _home(world.salary_admin)
    assert "Holds 3 mandates from 2 clients." in admin
    assert "3 unread documents" in admin and "3 new notices" in admin


def test_a_mandate_run_out_but_not_swept_is_not_counted(world: CertificationWorld) -> None:
    now = time.now()
    for code, until in (("AFFILIATIONS", now - HOUR), ("BILLING", None)):
        factories.mandate(
            employer_=world.employer,
            space=world.salary_space,
            domain_code=code,
            valid_from=now - 2 * HOUR,
            valid_until=until,
        )
    factories.mandate(
        employer_=world.employer,
        space=world.space,
        domain_code="EMPLOYER",
        valid_from=now - 2 * HOUR,
        valid_until=now - HOUR,
    )
    assert "Holds 1 mandate from 1 client." in _home(world.salary_admin)
    assert "Employer general data" not in _home(world.boss)


def test_locked_and_expired_codes_are_not_pending(world: CertificationWorld) -> None:
    from mandat.certification.models import AccessCode

    request = factories.request_issued_for(world)
    holder = AccessCode.objects.filter(request=request, kind="holder").order_by("pk")
    assert "Enter 4 access codes" in _home(world.boss)
    AccessCode.objects.filter(pk=holder[0].pk).update(locked_at=time.now())
    AccessCode.objects.filter(pk=holder[1].pk).update(expires_at=time.now() - HOUR)
    assert "Enter 2 access codes" in _home(world.boss)
