"""A representative's client list, one client's page and renouncing, through HTTP."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mandat.accounts.models import User
from mandat.catalog.models import Domain
from mandat.mandates import policies
from mandat.mandates import services as mandate_services
from mandat.mandates.models import EndCause, Mandate, MandateStatus
from mandat.portal import client_selectors
from mandat.registry.models import Employer
from mandat.spaces import services as space_services
from mandat.spaces.models import Membership, Role, Space
from tests import factories

pytestmark = pytest.mark.django_db


@dataclass
class Firm:
    space: Space
    admin: User
    clerk: User
    clients: dict[str, Employer]


#: Client names, out of order on purpose, with accents and mixed case.
NAMES = [
    "Garage Muller S.A.",
    "Épicerie Weber S.à r.l.",
    "boulangerie Thill",
    "Atelier Schmit",
    "Fleuriste Hoffmann",
]


@pytest.fixture
def client() -> Client:
    """A browser that asks for English pages."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def firm() -> Firm:
    """A representative's space with five clients; Atelier and Fleuriste also give BILLING."""
    admin = factories.user("firm-admin")
    clerk = factories.user("firm-clerk")
    representative = factories.representative("Fiduciaire Test S.A.")
    space = factories.space_of(representative.organisation, admin=admin)
    space_services.member_add(by=admin, space=space, user=clerk, role=Role.COLLABORATOR)
    clients = {}
    for name in NAMES:
        employer = factories.employer(name)
        clients[name] = employer
        factories.mandate(employer_=employer, space=space, domain_code="EMPLOYER", level="consult")
        factories.mandate(employer_=employer, space=space, domain_code="AFFILIATIONS", level="act")
    for name in ("Atelier Schmit", "Fleuriste Hoffmann"):
        factories.mandate(
            employer_=clients[name], space=space, domain_code="BILLING", level="consult"
        )
    return Firm(space, admin, clerk, clients)


def _as(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def _listed(body: bytes) -> list[str]:
    """The client names of the list's table, in order."""
    rows = re.findall(rb'<td><a href="/spaces/\d+/clients/\d+/">([^<]+)</a></td>', body)
    return [row.decode().replace("&#x27;", "'") for row in rows]


def _list(client: Client, firm: Firm, **params: str) -> bytes:
    response = client.get(reverse("portal:clients", args=[firm.space.pk]), params)
    assert response.status_code == 200
    return bytes(response.content)


def test_the_list_shows_one_row_per_client_sorted_by_name_ignoring_case_and_accents(
    client: Client, firm: Firm
) -> None:
    body = _list(_as(client, firm.admin), firm)
    assert _listed(body) == [
        "Atelier Schmit",
        "boulangerie Thill",
        "Épicerie Weber S.à r.l.",
        "Fleuriste Hoffmann",
        "Garage Muller S.A.",
    ]
    assert "1–5 of 5 clients" in body.decode()
    atelier = firm.clients["Atelier Schmit"]
    row = body.decode().split(f"/clients/{atelier.pk}/")[1].split("</tr>")[0]
    assert atelier.employer_number in row
    assert "Employer general data" in row and "Billing and accounting" in row
    assert row.count('class="tag ok"') == 1  # AFFILIATIONS at the act level


def test_the_clients_tab_shows_in_a_representatives_space_only(client: Client, firm: Firm) -> None:
    tab = reverse("portal:clients", args=[firm.space.pk]).encode()
    assert tab in _as(client, firm.admin).get(reverse("portal:space", args=[firm.space.pk])).content
    owner = factories.user("plain-owner")
    plain = factories.space_of(factories.organisation("Plain S.A."), admin=owner)
    page = _as(Client(HTTP_ACCEPT_LANGUAGE="en"), owner).get(
        reverse("portal:space", args=[plain.pk])
    )
    assert reverse("portal:clients", args=[plain.pk]).encode() not in page.content


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("epicerie", ["Épicerie Weber S.à r.l."]),
        ("ÉPICERIE", ["Épicerie Weber S.à r.l."]),
        ("s.a", ["Épicerie Weber S.à r.l.", "Garage Muller S.A."]),
        ("BOULANG", ["boulangerie Thill"]),
        ("100%", []),
    ],
)
def test_search_by_name_ignores_case_and_accents(
    client: Client, firm: Firm, search: str, expected: list[str]
) -> None:
    body = _list(_as(client, firm.admin), firm, q=search)
    assert _listed(body) == expected
    assert f'value="{search}"'.encode() in body.replace(b"&#x27;", b"'")


def test_search_by_the_start_of_the_employer_number(client: Client, firm: Firm) -> None:
    garage = firm.clients["Garage Muller S.A."]
    body = _list(_as(client, firm.admin), firm, q=garage.employer_number[:-1])
    assert "Garage Muller S.A." in _listed(body)
    assert _listed(_list(client, firm, q=garage.employer_number)) == ["Garage Muller S.A."]
    assert _listed(_list(client, firm, q=garage.employer_number[1:])) == []


def test_filter_by_domain_and_by_level(client: Client, firm: Firm) -> None:
    _as(client, firm.admin)
    assert _listed(_list(client, firm, domain="BILLING")) == [
        "Atelier Schmit",
        "Fleuriste Hoffmann",
    ]
    assert _listed(_list(client, firm, domain="BILLING", level="act")) == []
    assert len(_listed(_list(client, firm, domain="AFFILIATIONS", level="act"))) == 5
    assert len(_listed(_list(client, firm, level="consult"))) == 5
    body = _list(client, firm, domain="REMUNERATIONS").decode()
    assert "No client matches these filters." in body


def test_sort_by_number_and_since_both_ways(client: Client, firm: Firm) -> None:
    _as(client, firm.admin)
    by_number = sorted(NAMES, key=lambda name: firm.clients[name].employer_number)
    assert _listed(_list(client, firm, sort="number")) == by_number
    assert _listed(_list(client, firm, sort="-number")) == by_number[::-1]
    # The fixture gave the mandates in the order of NAMES.
    assert _listed(_list(client, firm, sort="since")) == NAMES
    assert _listed(_list(client, firm, sort="-since")) == NAMES[::-1]


def test_bad_filters_are_reported_and_the_rest_of_the_query_still_applies(
    client: Client, firm: Firm
) -> None:
    body = _list(_as(client, firm.admin), firm, q="garage", domain="NOPE", page="x").decode()
    assert 'class="error-summary"' in body
    assert '<a href="#domain">Choose a domain from the list.</a>' in body
    assert "The page number must be a whole number." in body
    assert _listed(body.encode()) == ["Garage Muller S.A."]
    assert 'value="garage"' in body


@pytest.fixture
def big_firm(firm: Firm) -> Firm:
    """The firm with 55 clients in all: two pages."""
    for index in range(50):
        employer = factories.employer(f"Zeta Client {index:02d}")
        firm.clients[employer.name] = employer
        factories.mandate(employer_=employer, space=firm.space, domain_code="EMPLOYER")
    return firm


def test_pages_of_fifty_with_links_and_the_last_page(client: Client, big_firm: Firm) -> None:
    _as(client, big_firm.admin)
    first = _list(client, big_firm).decode()
    assert "1–50 of 55 clients" in first
    assert len(_listed(first.encode())) == 50
    assert 'href="?page=2" rel="next"' in first
    last = _list(client, big_firm, page="2").decode()
    assert "51–55 of 55 clients" in last
    assert _listed(last.encode()) == [f"Zeta Client {i:02d}" for i in range(45, 50)]
    assert 'rel="next"' not in last and 'href="?page=1" rel="prev"' in last
    # A page past the end shows the last one.
    assert "51–55 of 55 clients" in _list(client, big_firm, page="9").decode()
    # The links keep the filters.
    filtered = _list(client, big_firm, level="act", sort="-name").decode()
    assert 'href="?level=act&amp;sort=-name&amp;page=2"' in filtered


def _csv(client: Client, firm: Firm, **params: str) -> tuple[bytes, list[list[str]]]:
    response = client.get(reverse("portal:clients_csv", args=[firm.space.pk]), params)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    raw = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return raw, list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_the_csv_holds_every_matching_client_with_a_bom_and_a_header(
    client: Client, big_firm: Firm
) -> None:
    raw, rows = _csv(_as(client, big_firm.admin), big_firm)
    assert raw.startswith(b"\xef\xbb\xbf")
    assert rows[0] == [
        "Employer",
        "Employer number",
        "Employer general data",
        "Employee affiliations",
        "Remunerations and work incapacities",
        "Billing and accounting",
        "Client since",
    ]
    assert len(rows) == 1 + 55  # every client, not one page
    atelier = big_firm.clients["Atelier Schmit"]
    assert rows[1][:6] == [
        "Atelier Schmit",
        atelier.employer_number,
        "Consult",
        "Act",
        "",
        "Consult",
    ]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", rows[1][6])
    _, billing = _csv(client, big_firm, domain="BILLING", sort="-name")
    assert [row[0] for row in billing[1:]] == ["Fleuriste Hoffmann", "Atelier Schmit"]


def test_the_csv_defuses_spreadsheet_formulas(client: Client, firm: Firm) -> None:
    for name in ('=HYPERLINK("http://evil.test","x")', "+1+1", "-2", "@SUM(A1)"):
        factories.mandate(employer_=factories.employer(name), space=firm.space)
    _, rows = _csv(_as(client, firm.admin), firm)
    names = {row[0] for row in rows[1:]}
    assert '\'=HYPERLINK("http://evil.test","x")' in names
    assert {"'+1+1", "'-2", "'@SUM(A1)"} <= names
    assert not any(cell[:1] in "=+-@" and cell for row in rows for cell in row)


def _restrict(firm: Firm, *, employers: list[str] | None, domains: list[str] | None) -> None:
    membership = Membership.objects.get(space=firm.space, user=firm.clerk, removed_at=None)
    space_services.member_restrict(
        by=firm.admin,
        membership=membership,
        employers=None if employers is None else [firm.clients[n] for n in employers],
        domains=None if domains is None else [factories.domain(code) for code in domains],
    )


def test_a_restricted_collaborator_sees_only_the_clients_and_domains_allowed(
    client: Client, firm: Firm
) -> None:
    _restrict(firm, employers=["Garage Muller S.A.", "Atelier Schmit"], domains=["BILLING"])
    _as(client, firm.clerk)
    # Garage gives no BILLING mandate: only Atelier is left, with only BILLING.
    body = _list(client, firm).decode()
    assert _listed(body.encode()) == ["Atelier Schmit"]
    assert "Employer general data" not in body.split("<tbody>")[1]
    _, rows = _csv(client, firm)
    assert [row[0] for row in rows[1:]] == ["Atelier Schmit"]
    assert rows[1][2:6] == ["", "", "", "Consult"]
    garage = firm.clients["Garage Muller S.A."]
    assert client.get(reverse("portal:client", args=[firm.space.pk, garage.pk])).status_code == 404
    # The same rule as the policy: what the list shows is what ``can`` allows.
    atelier = firm.clients["Atelier Schmit"]
    assert policies.can(firm.clerk, "consult", atelier, factories.domain("BILLING"))
    assert not policies.can(firm.clerk, "consult", atelier, factories.domain("EMPLOYER"))


def test_a_member_of_another_space_gets_404_everywhere(client: Client, firm: Firm) -> None:
    outsider = factories.user("outsider")
    factories.space_of(factories.organisation("Elsewhere S.A."), admin=outsider)
    garage = firm.clients["Garage Muller S.A."]
    mandate = Mandate.objects.get(
        employer=garage, grantee_space=firm.space, domain__code="EMPLOYER"
    )
    _as(client, outsider)
    space_id = firm.space.pk
    for url in (
        reverse("portal:clients", args=[space_id]),
        reverse("portal:clients_csv", args=[space_id]),
        reverse("portal:client", args=[space_id, garage.pk]),
        reverse("portal:renounce", args=[space_id, garage.pk, mandate.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("portal:act_for", args=[space_id, garage.pk])).status_code == 404
    assert (
        client.post(reverse("portal:renounce", args=[space_id, garage.pk, mandate.pk])).status_code
        == 404
    )
    assert Mandate.objects.get(pk=mandate.pk).status == MandateStatus.ACTIVE


def test_the_client_page_lists_its_mandates_with_links_to_the_domains(
    client: Client, firm: Firm
) -> None:
    atelier = firm.clients["Atelier Schmit"]
    response = _as(client, firm.admin).get(
        reverse("portal:client", args=[firm.space.pk, atelier.pk])
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert atelier.employer_number in body
    for code in ("EMPLOYER", "AFFILIATIONS", "BILLING"):
        assert reverse("portal:domain", args=[firm.space.pk, atelier.pk, code]) in body
    assert body.count(">Renounce<") == 3
    assert "Act for this client" in body
    missing = reverse("portal:client", args=[firm.space.pk, 999_999])
    assert client.get(missing).status_code == 404


def test_renouncing_asks_first_then_ends_the_mandate_at_once_and_audits_it(
    client: Client, firm: Firm
) -> None:
    atelier = firm.clients["Atelier Schmit"]
    billing = factories.domain("BILLING")
    mandate = Mandate.objects.get(employer=atelier, grantee_space=firm.space, domain=billing)
    url = reverse("portal:renounce", args=[firm.space.pk, atelier.pk, mandate.pk])
    confirm = _as(client, firm.admin).get(url).content.decode()
    assert "What will stop working" in confirm
    assert "Billing and accounting" in confirm and "csrfmiddlewaretoken" in confirm
    assert "Employer general data, Employee affiliations" in confirm  # what stays
    assert policies.can(firm.admin, "consult", atelier, billing)
    seq = factories.audit_seq()
    response = client.post(url)
    assert response.status_code == 302
    assert not policies.can(firm.admin, "consult", atelier, billing)
    assert not policies.can(firm.clerk, "consult", atelier, billing)
    ended = Mandate.objects.get(pk=mandate.pk)
    assert ended.end_cause == EndCause.RENOUNCED and ended.ended_by == firm.admin
    assert [e.action for e in factories.audit_events_since(seq)] == ["mandate.renounced"]
    done = client.get(response["Location"]).content.decode()
    assert 'class="panel"' in done and "Mandate renounced" in done
    # The client stays on the list with its other domains; the renounced one is gone.
    body = _list(client, firm, domain="BILLING").decode()
    assert _listed(body.encode()) == ["Fleuriste Hoffmann"]
    assert client.get(url).status_code == 404


def test_a_collaborator_cannot_renounce(client: Client, firm: Firm) -> None:
    garage = firm.clients["Garage Muller S.A."]
    mandate = Mandate.objects.get(
        employer=garage, grantee_space=firm.space, domain__code="EMPLOYER"
    )
    _as(client, firm.clerk)
    page = client.get(reverse("portal:client", args=[firm.space.pk, garage.pk])).content.decode()
    assert ">Renounce<" not in page
    url = reverse("portal:renounce", args=[firm.space.pk, garage.pk, mandate.pk])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert Mandate.objects.get(pk=mandate.pk).status == MandateStatus.ACTIVE


@pytest.mark.parametrize(
    ("employers", "domains"),
    [
        (None, None),
        (["Garage Muller S.A.", "Atelier Schmit"], None),
        (None, ["BILLING", "EMPLOYER"]),
        (["Fleuriste Hoffmann", "Atelier Schmit"], ["BILLING"]),
        ([], None),
    ],
)
def test_the_list_shows_exactly_what_the_policy_allows(
    firm: Firm, employers: list[str] | None, domains: list[str] | None
) -> None:
    _restrict(firm, employers=employers, domains=domains)
    # One mandate outside its validity window and one ended: neither may show.
    late = factories.employer("Not Yet S.A.")
    factories.mandate(
        employer_=late,
        space=firm.space,
        valid_from=timezone.now() + dt.timedelta(days=3),
    )
    ended = Mandate.objects.get(
        employer=firm.clients["Garage Muller S.A."],
        grantee_space=firm.space,
        domain__code="EMPLOYER",
    )
    mandate_services.mandate_revoke(by=factories.agent(), mandate=ended)
    listed = {
        (row.employer_id, mandate.domain.pk)
        for row in client_selectors.iter_clients(
            user_id=firm.clerk.pk, space_id=firm.space.pk, query=client_selectors.ClientQuery()
        )
        for mandate in row.mandates
    }
    allowed = {
        (employer.pk, domain.pk)
        for employer in [*firm.clients.values(), late]
        for domain in Domain.objects.all()
        if policies.can(firm.clerk, "consult", employer, domain)
    }
    assert listed == allowed


def test_a_search_too_long_is_refused_and_kept(client: Client, firm: Firm) -> None:
    body = _list(_as(client, firm.admin), firm, q="x" * 101).decode()
    assert '<a href="#q">Enter at most 100 characters to search for.</a>' in body
    assert f'value="{"x" * 101}"' in body
    assert len(_listed(body.encode())) == 5  # the search is left out, the list still shows
