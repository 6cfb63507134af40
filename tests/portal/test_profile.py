"""The space profile and its Certifications tab."""

from __future__ import annotations

import html

import pytest
from django.test import Client
from django.urls import reverse

from mandat.accounts.models import User
from mandat.spaces import services as space_services
from tests import factories

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


def _text(response: object) -> str:
    content = getattr(response, "content", b"")
    assert isinstance(content, bytes)
    return html.unescape(content.decode())


def test_the_profile_of_an_employers_space_shows_its_registry_entries() -> None:
    boss = factories.user("boss", first_name="Bea", last_name="Boss")
    employer = factories.employer("Boulangerie Test S.à r.l.")
    space = factories.space_of(employer.organisation, admin=boss)
    clerk = factories.user("clerk", first_name="Carl", last_name="Clerk")
    space_services.member_add(by=boss, space=space, user=clerk)
    page = _text(_client(clerk).get(reverse("portal:profile", args=[space.pk])))
    assert "Boulangerie Test S.à r.l." in page
    assert employer.organisation.identifier in page
    assert "Luxembourg national identifier" in page
    assert "Professional space" in page
    assert f"{employer.employer_number}</td><td>" in page and "(CCSS)" in page
    administrators = page.split("Administrators", 1)[1]
    assert "Bea Boss" in administrators and "Carl Clerk" not in administrators
    # The tabs: Profile is the current one; Mandates given shows for an employer.
    assert f'href="{reverse("portal:profile", args=[space.pk])}" aria-current="page"' in page
    assert reverse("portal:members", args=[space.pk]) in page
    assert reverse("portal:given", args=[space.pk]) in page


def test_the_profile_of_a_representatives_space_shows_its_registration_number() -> None:
    admin = factories.user()
    firm = factories.representative("Fiduciaire Test S.A.")
    space = factories.space_of(firm.organisation, admin=admin)
    page = _text(_client(admin).get(reverse("portal:profile", args=[space.pk])))
    assert firm.registration_number in page and "Representative" in page
    assert reverse("portal:given", args=[space.pk]) not in page


def test_the_profile_is_not_found_for_a_stranger() -> None:
    space = factories.space_of(factories.organisation(), admin=factories.user())
    assert (
        _client(factories.user()).get(reverse("portal:profile", args=[space.pk])).status_code == 404
    )


def test_the_certifications_tab_names_the_mandate_and_how_to_add_one() -> None:
    boss = factories.user()
    employer = factories.employer()
    space = factories.space_of(employer.organisation, admin=boss)
    mandate = factories.mandate(employer_=employer, space=space, domain_code="BILLING")
    page = _text(_client(boss).get(reverse("certification:certifications", args=[space.pk])))
    assert f"No. {mandate.pk}" in page and "by an institution agent" in page
    add = reverse("certification:certification_add", args=[space.pk])
    affiliations = factories.domain("AFFILIATIONS")
    assert f"{add}?domain={affiliations.pk}" in page
    billing = factories.domain("BILLING")
    assert f"{add}?domain={billing.pk}" not in page
    assert page.count("Add with an access code") == 3
