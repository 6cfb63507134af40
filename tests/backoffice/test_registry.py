"""The registry pages: search, an employer's page, registering and correcting entries."""

from __future__ import annotations

import re
from html import escape

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mandat.backoffice import registry_views
from mandat.core.models import AuditEvent
from mandat.registry.models import Employer, Organisation, Representative
from mandat.registry.selectors import registry_search
from tests import factories

pytestmark = pytest.mark.django_db

REGISTRY = "/backoffice/registry/"
NEW_EMPLOYER = "/backoffice/registry/employers/new/"
NEW_REPRESENTATIVE = "/backoffice/registry/representatives/new/"


def _text(response: object) -> str:
    body = response.content.decode()  # type: ignore[attr-defined]
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


def _names(response: object) -> list[str]:
    body = response.content.decode()  # type: ignore[attr-defined]
    return re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th>', body)


def _employer_post(**changes: str) -> dict[str, str]:
    data = {
        "scheme": "lu_national",
        "identifier": "19981234567",
        "institution": "CCSS",
        "employer_number": "19981234567",
        "name": "Menuiserie Nouvelle S.à r.l.",
        "address_line1": "12, rue du Bois",
        "address_line2": "",
        "postcode": "L-9999",
        "city": "Wiltz",
        "country": "lu",
        "correspondence_language": "de",
    }
    data.update(changes)
    return data


@pytest.fixture
def registry_world() -> dict[str, object]:
    return {
        "bakery": factories.employer("Boulangerie Muller S.à r.l."),
        "garage": factories.employer("Garage Schmit S.A."),
        "salary": factories.salary_sa(),
        "fiduciary": factories.representative("Fiduciaire Muller"),
    }


def test_searching_by_name_is_case_insensitive_and_covers_both_kinds(
    agent_client: Client, registry_world: dict[str, object]
) -> None:
    response = agent_client.get(REGISTRY, {"q": "mULLer"})

    assert response.status_code == 200
    assert _names(response) == ["Boulangerie Muller S.à r.l.", "Fiduciaire Muller"]
    text = _text(response)
    assert "2 results for “mULLer”." in text
    assert "Employer (CCSS)" in text and "Representative" in text

    only = agent_client.get(REGISTRY, {"q": "muller", "kind": "representatives"})
    assert _names(only) == ["Fiduciaire Muller"]
    employers = agent_client.get(REGISTRY, {"q": "muller", "kind": "employers"})
    assert _names(employers) == ["Boulangerie Muller S.à r.l."]


def test_searching_by_number_prefix(
    agent_client: Client, registry_world: dict[str, object]
) -> None:
    garage = registry_world["garage"]
    assert isinstance(garage, Employer)
    by_number = agent_client.get(REGISTRY, {"q": garage.employer_number[:9]})
    assert "Garage Schmit S.A." in _names(by_number)
    spaced = agent_client.get(REGISTRY, {"q": "2020 2201"})  # Salary S.A.: 2020220124699
    assert _names(spaced) == ["Salary S.A."]
    # A prefix only: the middle of a number finds nothing.
    assert _names(agent_client.get(REGISTRY, {"q": "220124699"})) == []
    none = agent_client.get(REGISTRY, {"q": "no such firm"})
    assert "0 results" in _text(none)
    assert "Nothing in the registry matches." in _text(none)


def test_an_empty_search_lists_the_whole_registry_in_pages(
    agent_client: Client, registry_world: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_views, "SEARCH_PAGE_SIZE", 3)

    first = agent_client.get(REGISTRY)
    second = agent_client.get(REGISTRY, {"page": "2"})

    assert "4 entries in the registry." in _text(first)
    assert _names(first) == [
        "Boulangerie Muller S.à r.l.",
        "Fiduciaire Muller",
        "Garage Schmit S.A.",
    ]
    assert _names(second) == ["Salary S.A."]
    assert "Page 1 of 2" in _text(first)
    assert 'href="?page=2"' in first.content.decode()


def test_an_employer_page_shows_its_mandates_and_certified_spaces(agent_client: Client) -> None:
    employer = factories.employer("Boucherie Weber")
    own = factories.space_of(employer.organisation)
    factories.mandate(employer_=employer, space=own, domain_code="AFFILIATIONS")
    factories.mandate(employer_=employer, space=own, domain_code="BILLING")
    salary = factories.salary_sa()
    firm = factories.space_of(salary.organisation)
    factories.mandate(employer_=employer, space=firm, domain_code="BILLING", level="consult")

    response = agent_client.get(reverse("backoffice:employer", args=[employer.pk]))

    text = _text(response)
    assert "Mandates in force 3" in text
    assert text.count("Boucherie Weber Employee affiliations") == 1
    assert f"{firm.name} Billing and accounting Obtained mandate Consult" in text
    assert reverse("backoffice:employer-audit", args=[employer.pk]) in response.content.decode()
    assert "Correspondence language French" in text


def test_registering_an_employer_creates_its_organisation_too(agent_client: Client) -> None:
    response = agent_client.post(NEW_EMPLOYER, _employer_post(), follow=True)

    employer = Employer.objects.get(employer_number="19981234567")
    assert response.redirect_chain[-1][0] == reverse("backoffice:employer", args=[employer.pk])
    assert employer.organisation.identifier == "19981234567"
    assert employer.organisation.name == "Menuiserie Nouvelle S.à r.l."
    assert (employer.country, employer.language, employer.postcode) == ("LU", "de", "L-9999")
    body = response.content.decode()
    assert '<div class="panel" role="status">' in body
    assert "registered, with its organisation" in _text(response)
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions[-2:] == ["registry.organisation_created", "registry.employer_registered"]


def test_registering_an_employer_of_a_known_organisation_reuses_it(agent_client: Client) -> None:
    # The same name, written differently.
    organisation = factories.organisation("MENUISERIE NOUVELLE SARL")
    before = Organisation.objects.count()

    agent_client.post(NEW_EMPLOYER, _employer_post(identifier=organisation.identifier))

    assert Organisation.objects.count() == before
    assert Employer.objects.get(employer_number="19981234567").organisation == organisation


def test_an_identifier_of_an_organisation_with_another_name_is_refused_on_its_field(
    agent_client: Client,
) -> None:
    organisation = factories.organisation("Holding Nouvelle")

    response = agent_client.post(NEW_EMPLOYER, _employer_post(identifier=organisation.identifier))

    assert response.status_code == 400
    text = _text(response)
    assert "This identifier belongs to Holding Nouvelle" in text
    assert 'href="#identifier"' in response.content.decode()
    assert not Employer.objects.filter(employer_number="19981234567").exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"employer_number": "12AB"},
            "employer_number",
            "A Luxembourg number has 11 or 13 digits.",
        ),
        (
            {"scheme": "be_enterprise", "identifier": "0403.170.702"},
            "identifier",
            "This is not a valid Belgian enterprise number.",
        ),
        ({"name": ""}, "name", "Enter the employer's name."),
        ({"city": ""}, "city", "Enter the city."),
    ],
)
def test_registering_with_bad_input_explains_and_keeps_the_input(
    agent_client: Client, changes: dict[str, str], field: str, message: str
) -> None:
    before = Organisation.objects.count()
    data = _employer_post(**changes)

    response = agent_client.post(NEW_EMPLOYER, data)

    assert response.status_code == 400
    body = response.content.decode()
    assert f'<li><a href="#{field}">{escape(message)}</a></li>' in body
    assert f'id="{field}-error"' in body and 'aria-describedby="' in body
    assert 'value="12, rue du Bois"' in body  # what was typed stays
    for name in ("employer_number", "identifier"):
        assert f'value="{data[name]}"' in body
    assert not Employer.objects.exists()
    assert Organisation.objects.count() == before  # one transaction: no organisation alone


def test_errors_are_translated(agent: object) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(agent)  # type: ignore[arg-type]
    response = client.post(NEW_EMPLOYER, _employer_post(employer_number="123"))
    assert response.status_code == 400
    body = response.content.decode()
    assert (
        '<a href="#employer_number">Un matricule luxembourgeois compte 11 ou 13 chiffres.</a>'
        in body
    )
    assert 'value="123"' in body


def test_a_number_registered_already_is_refused_on_its_field(agent_client: Client) -> None:
    existing = factories.employer()
    response = agent_client.post(
        NEW_EMPLOYER, _employer_post(employer_number=existing.employer_number)
    )
    assert response.status_code == 400
    assert (
        '<a href="#employer_number">This employer number is already registered with this '
        "institution.</a>" in response.content.decode()
    )
    # The organisation the page would have created with it is rolled back too.
    assert not Organisation.objects.filter(identifier="19981234567").exists()


def test_correcting_an_employer_after_a_validation_error(agent_client: Client) -> None:
    employer = factories.employer("Garage Ancien")
    url = reverse("backoffice:employer-edit", args=[employer.pk])
    form = agent_client.get(url)
    assert 'value="Garage Ancien"' in form.content.decode()
    data = {
        "name": "   ",
        "address_line1": "3, route d'Arlon",
        "address_line2": "",
        "postcode": "8009",
        "city": "Strassen",
        "country": "LU",
        "correspondence_language": "en",
    }

    refused = agent_client.post(url, data)

    assert refused.status_code == 400
    assert '<a href="#name">' in refused.content.decode()
    assert "3, route d&#x27;Arlon" in refused.content.decode()
    employer.refresh_from_db()
    assert employer.name == "Garage Ancien"

    done = agent_client.post(url, {**data, "name": "Garage Nouveau"}, follow=True)

    employer.refresh_from_db()
    assert (employer.name, employer.city, employer.language) == ("Garage Nouveau", "Strassen", "en")
    assert "The registry entry of Garage Nouveau is corrected." in _text(done)
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None and event.action == "registry.employer_updated"
    assert event.employer_id == employer.pk


def test_registering_and_correcting_a_representative(agent_client: Client) -> None:
    data = {
        "scheme": "lu_national",
        "identifier": "20201234567",
        "registration_number": "2020123456789",
        "denomination": "Paie Express S.A.",
        "address_line1": "5, rue Neuve",
        "address_line2": "",
        "postcode": "1111",
        "city": "Luxembourg",
        "country": "LU",
    }
    bad = agent_client.post(NEW_REPRESENTATIVE, {**data, "registration_number": "99"})
    assert bad.status_code == 400
    assert '<a href="#registration_number">' in bad.content.decode()
    assert not Representative.objects.exists()

    done = agent_client.post(NEW_REPRESENTATIVE, data, follow=True)

    representative = Representative.objects.get()
    assert representative.organisation.identifier == "20201234567"
    assert "Representative Paie Express S.A. (2020123456789) registered" in _text(done)

    url = reverse("backoffice:representative-edit", args=[representative.pk])
    corrected = agent_client.post(
        url, {**data, "denomination": "Paie Express Lux S.A."}, follow=True
    )
    representative.refresh_from_db()
    assert representative.denomination == "Paie Express Lux S.A."
    assert "Paie Express Lux S.A." in _text(corrected)


SEARCH_NAMES = ("Boulangerie Muller S.a r.l.", "Garage Schmit S.A.", "Fiduciaire Weber")


@pytest.fixture
def searchable() -> list[tuple[str, str]]:
    """(name, number) of a few employers and one representative."""
    found = [(e.name, e.employer_number) for e in map(factories.employer, SEARCH_NAMES[:2])]
    representative = factories.representative(SEARCH_NAMES[2])
    return [*found, (representative.denomination, representative.registration_number)]


def _matches(row: tuple[str, ...], query: str) -> bool:
    return query.casefold() in row[2].casefold() or row[3].startswith(query)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_search_finds_by_any_part_of_the_name_in_any_case_and_any_number_prefix(
    searchable: list[tuple[str, str]], data: st.DataObject
) -> None:
    name, number = data.draw(st.sampled_from(searchable))
    start = data.draw(st.integers(0, len(name) - 1))
    end = data.draw(st.integers(start + 1, len(name)))
    part = " ".join(name[start:end].split()) or name
    flips = data.draw(st.lists(st.booleans(), min_size=len(part), max_size=len(part)))
    in_any_case = "".join(c.swapcase() if flip else c for c, flip in zip(part, flips, strict=True))
    prefix = number[: data.draw(st.integers(1, len(number)))]

    for query in (in_any_case, prefix):
        rows = list(registry_search(text=query))
        assert number in {row[3] for row in rows}, query
        assert all(_matches(row, query) for row in rows), (query, rows)


def test_a_representative_page_counts_the_mandates_its_spaces_hold(agent_client: Client) -> None:
    salary = factories.salary_sa()
    firm = factories.space_of(salary.organisation)
    for name in ("Client One", "Client Two"):
        factories.mandate(employer_=factories.employer(name), space=firm, domain_code="BILLING")

    response = agent_client.get(reverse("backoffice:representative", args=[salary.pk]))

    text = _text(response)
    assert "Registration number 2020220124699" in text
    assert "2 mandates in force, held by its spaces" in text
    assert reverse("backoffice:representative-edit", args=[salary.pk]) in response.content.decode()
