"""Acting for a client: the session context, the banner on every page, and its re-checking."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from mandat.accounts.models import User
from mandat.mandates import services as mandate_services
from mandat.mandates.models import Mandate
from mandat.portal import acting, client_selectors
from mandat.registry.models import Employer
from mandat.spaces import services as space_services
from mandat.spaces.models import Membership, Role, Space
from tests import factories

pytestmark = pytest.mark.django_db

BANNER = "You are acting for"


@pytest.fixture
def client() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def admin() -> User:
    return factories.user("acting-admin")


@pytest.fixture
def clerk() -> User:
    return factories.user("acting-clerk")


@pytest.fixture
def space(admin: User, clerk: User) -> Space:
    made = factories.space_of(
        factories.representative("Salary Test S.A.").organisation, admin=admin
    )
    space_services.member_add(by=admin, space=made, user=clerk, role=Role.COLLABORATOR)
    return made


@pytest.fixture
def garage(space: Space) -> Employer:
    employer = factories.employer("Garage Muller S.A.")
    factories.mandate(employer_=employer, space=space, domain_code="AFFILIATIONS", level="act")
    return employer


def _act(client: Client, user: User, space: Space, employer: Employer) -> None:
    client.force_login(user)
    response = client.post(reverse("portal:act_for", args=[space.pk, employer.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:client", args=[space.pk, employer.pk])


def test_the_banner_names_the_client_on_every_page_until_stopped(
    client: Client, admin: User, space: Space, garage: Employer
) -> None:
    _act(client, admin, space, garage)
    for url in (reverse("portal:home"), reverse("portal:space", args=[space.pk])):
        body = client.get(url).content.decode()
        assert BANNER in body, url
        assert "Garage Muller S.A." in body and garage.employer_number in body
        assert "in Salary Test S.A." in body
        assert "Stop acting for this client" in body
    here = reverse("portal:space", args=[space.pk])
    response = client.post(reverse("portal:act_stop"), {"next": here})
    assert response.status_code == 302 and response["Location"] == here
    assert BANNER not in client.get(here).content.decode()
    assert acting.SESSION_KEY not in client.session


def test_stop_never_sends_the_person_to_another_site(
    client: Client, admin: User, space: Space, garage: Employer
) -> None:
    _act(client, admin, space, garage)
    response = client.post(reverse("portal:act_stop"), {"next": "https://evil.test/"})
    assert response["Location"] == reverse("portal:home")


def test_acting_needs_a_client_the_person_may_consult(
    client: Client, clerk: User, space: Space, garage: Employer
) -> None:
    other = factories.employer("Not A Client S.A.")
    client.force_login(clerk)
    response = client.post(reverse("portal:act_for", args=[space.pk, other.pk]))
    assert response.status_code == 404
    assert acting.SESSION_KEY not in client.session
    assert client.get(reverse("portal:act_for", args=[space.pk, garage.pk])).status_code == 405


def test_the_banner_goes_away_by_itself_when_the_mandate_ends(
    client: Client, admin: User, space: Space, garage: Employer
) -> None:
    _act(client, admin, space, garage)
    assert BANNER in client.get(reverse("portal:home")).content.decode()
    mandate = Mandate.objects.get(employer=garage, grantee_space=space)
    mandate_services.mandate_revoke(by=factories.agent(), mandate=mandate)
    assert BANNER not in client.get(reverse("portal:home")).content.decode()
    assert acting.SESSION_KEY not in client.session  # cleared, not merely hidden


def test_the_banner_goes_away_when_the_member_is_removed_or_restricted(
    client: Client, admin: User, clerk: User, space: Space, garage: Employer
) -> None:
    _act(client, clerk, space, garage)
    assert BANNER in client.get(reverse("portal:home")).content.decode()
    membership = Membership.objects.get(space=space, user=clerk, removed_at=None)
    space_services.member_restrict(by=admin, membership=membership, employers=[], domains=None)
    assert BANNER not in client.get(reverse("portal:home")).content.decode()
    space_services.member_restrict(by=admin, membership=membership, employers=None, domains=None)
    _act(client, clerk, space, garage)
    space_services.member_remove(by=admin, membership=membership)
    assert BANNER not in client.get(reverse("portal:home")).content.decode()


def test_the_context_is_checked_once_per_request(
    client: Client, admin: User, space: Space, garage: Employer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _act(client, admin, space, garage)
    calls = []
    real = client_selectors.acting_client

    def counted(**kwargs: int) -> client_selectors.ActingClient | None:
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(client_selectors, "acting_client", counted)
    client.get(reverse("portal:client", args=[space.pk, garage.pk]))
    assert len(calls) == 1


def test_anonymous_pages_render_without_a_context(client: Client) -> None:
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert BANNER not in response.content.decode()


def test_a_forged_session_value_is_dropped(
    client: Client, admin: User, space: Space, garage: Employer
) -> None:
    client.force_login(admin)
    session = client.session
    session[acting.SESSION_KEY] = {"space": "x", "employer": garage.pk}
    session.save()
    assert BANNER not in client.get(reverse("portal:home")).content.decode()
    assert acting.SESSION_KEY not in client.session
