"""Mandates given, in an employer's space: the list, the history, and ending a mandate."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse

from mandat.accounts.models import User
from mandat.core import time
from mandat.mandates import services as mandate_services
from mandat.mandates.models import Mandate, MandateStatus
from mandat.mandates.policies import can
from mandat.registry.models import Employer
from mandat.spaces import services as space_services
from mandat.spaces.models import Membership, Space
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


def _url(name: str, *args: object) -> str:
    return reverse(f"portal:{name}", args=args)


@dataclass(frozen=True)
class World:
    employer: Employer
    boss: User
    space: Space
    salary_admin: User
    salary_space: Space
    affiliations: Mandate  # act, given by an agent
    billing: Mandate  # consult


@pytest.fixture
def world() -> World:
    made = factories.certification_world()
    agent = factories.agent()
    affiliations = mandate_services.mandate_grant(
        by=agent,
        employer=made.employer,
        domain=factories.domain("AFFILIATIONS"),
        space=made.salary_space,
        kind="obtained",
        level="act",
    )
    billing = mandate_services.mandate_grant(
        by=agent,
        employer=made.employer,
        domain=factories.domain("BILLING"),
        space=made.salary_space,
        kind="obtained",
        level="consult",
    )
    # The employer's own certifications are no mandates *given* to a representative; acting
    # in a domain is what lets its administrators end that domain's mandates.
    for code in ("EMPLOYER", "AFFILIATIONS", "BILLING"):
        factories.mandate(employer_=made.employer, space=made.space, domain_code=code)
    return World(
        employer=made.employer,
        boss=made.boss,
        space=made.space,
        salary_admin=made.salary_admin,
        salary_space=made.salary_space,
        affiliations=affiliations,
        billing=billing,
    )


def test_the_tab_shows_in_an_employers_space_only(world: World) -> None:
    overview = _text(
        _client(world.boss).get(reverse("certification:certifications", args=[world.space.pk]))
    )
    assert _url("given", world.space.pk) in overview
    firm = _text(
        _client(world.salary_admin).get(
            reverse("certification:certifications", args=[world.salary_space.pk])
        )
    )
    assert _url("given", world.salary_space.pk) not in firm
    assert _client(world.salary_admin).get(_url("given", world.salary_space.pk)).status_code == 404


def test_the_page_lists_each_representatives_mandates(world: World) -> None:
    page = _text(_client(world.boss).get(_url("given", world.space.pk)))
    assert "Salary S.A." in page and "registration number 2020220124699" in page
    assert "Employee affiliations" in page and "Billing and accounting" in page
    assert "Employer general data" not in page  # the own certification
    assert "Act" in page and "Consult" in page
    assert "factory-agent" in page  # who granted it
    assert "No end date" in page
    assert _url("given_end", world.space.pk, world.affiliations.pk) in page
    assert "No mandate has ended yet." in page
    assert "<caption>Salary S.A." in page


def test_ending_asks_first_saying_what_stops_working(world: World) -> None:
    web = _client(world.boss)
    page = _text(web.get(_url("given_end", world.space.pk, world.affiliations.pk)))
    assert "End the mandate of Salary S.A. for Employee affiliations?" in page
    assert "View affiliations" in page and "Declare an entry or an exit" in page
    assert "act in" in page
    world.affiliations.refresh_from_db()
    assert world.affiliations.status == MandateStatus.ACTIVE
    consult_only = _text(web.get(_url("given_end", world.space.pk, world.billing.pk)))
    assert "act in" not in consult_only


def test_ending_takes_effect_at_the_very_next_check_and_is_audited(world: World) -> None:
    web = _client(world.boss)
    domain = world.affiliations.domain
    assert can(world.salary_admin, "act", world.employer, domain)
    seq = factories.audit_seq()
    response = web.post(_url("given_end", world.space.pk, world.affiliations.pk))
    assert response["Location"] == _url("given_ended", world.space.pk, world.affiliations.pk)
    assert not can(world.salary_admin, "consult", world.employer, domain)
    assert can(world.salary_admin, "consult", world.employer, world.billing.domain)
    [event] = factories.audit_events_since(seq)
    assert event.action == "mandate.revoked"
    assert event.actor_id == world.boss.pk
    assert event.employer_id == world.employer.pk

    panel = _text(web.get(response["Location"]))
    assert "Mandate ended" in panel
    assert "Salary S.A. can no longer work for you in Employee affiliations." in panel
    # The ended mandate moves to the history, with who ended it.
    page = _text(web.get(_url("given", world.space.pk)))
    history = page.split("Ended mandates", 1)[1]
    assert "Employee affiliations" in history and world.boss.username in history
    assert _url("given_end", world.space.pk, world.affiliations.pk) not in page
    # It cannot be ended twice.
    assert web.get(_url("given_end", world.space.pk, world.affiliations.pk)).status_code == 404
    assert web.post(_url("given_end", world.space.pk, world.affiliations.pk)).status_code == 404


def test_a_collaborator_sees_the_list_without_end_controls(world: World) -> None:
    clerk = factories.user()
    space_services.member_add(by=world.boss, space=world.space, user=clerk)
    web = _client(clerk)
    page = _text(web.get(_url("given", world.space.pk)))
    assert "Salary S.A." in page
    assert _url("given_end", world.space.pk, world.affiliations.pk) not in page
    assert web.get(_url("given_end", world.space.pk, world.affiliations.pk)).status_code == 404
    seq = factories.audit_seq()
    assert web.post(_url("given_end", world.space.pk, world.affiliations.pk)).status_code == 404
    assert factories.audit_events_since(seq) == []
    assert can(world.salary_admin, "act", world.employer, world.affiliations.domain)


def test_a_collaborator_restricted_away_from_the_employer_gets_404(world: World) -> None:
    clerk = factories.user()
    membership = space_services.member_add(by=world.boss, space=world.space, user=clerk)
    space_services.member_restrict(by=world.boss, membership=membership, employers=[], domains=None)
    assert _client(clerk).get(_url("given", world.space.pk)).status_code == 404


def test_a_collaborator_limited_to_a_domain_sees_only_that_domain(world: World) -> None:
    clerk = factories.user()
    membership = space_services.member_add(by=world.boss, space=world.space, user=clerk)
    space_services.member_restrict(
        by=world.boss, membership=membership, employers=None, domains=[world.billing.domain]
    )
    page = _text(_client(clerk).get(_url("given", world.space.pk)))
    assert "Billing and accounting" in page and "Employee affiliations" not in page


def test_strangers_and_other_employers_mandates_get_404(world: World) -> None:
    stranger = _client(factories.user())
    assert stranger.get(_url("given", world.space.pk)).status_code == 404
    other = factories.employer()
    foreign = mandate_services.mandate_grant(
        by=factories.agent(),
        employer=other,
        domain=factories.domain("AFFILIATIONS"),
        space=world.salary_space,
        kind="obtained",
        level="act",
    )
    web = _client(world.boss)
    assert web.get(_url("given_end", world.space.pk, foreign.pk)).status_code == 404
    assert web.post(_url("given_end", world.space.pk, foreign.pk)).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == MandateStatus.ACTIVE
    # The representative's admin may not end it from their own space either.
    salary = _client(world.salary_admin)
    assert (
        salary.get(_url("given_end", world.salary_space.pk, world.affiliations.pk)).status_code
        == 404
    )
    assert salary.get(_url("given_ended", world.space.pk, world.affiliations.pk)).status_code == 404


def test_a_removed_admin_can_no_longer_end(world: World) -> None:
    deputy = factories.user()
    membership = space_services.member_add(
        by=world.boss, space=world.space, user=deputy, role="admin"
    )
    web = _client(deputy)
    assert web.get(_url("given_end", world.space.pk, world.billing.pk)).status_code == 200
    space_services.member_remove(by=world.boss, membership=membership)
    assert web.post(_url("given_end", world.space.pk, world.billing.pk)).status_code == 404
    assert Mandate.objects.get(pk=world.billing.pk).status == MandateStatus.ACTIVE
    assert not Membership.objects.filter(user=deputy, removed_at__isnull=True).exists()


def test_an_expired_mandate_shows_in_the_history_without_a_person(world: World) -> None:
    now = time.now()
    ran_out = mandate_services.mandate_grant(
        by=None,  # granted by the platform: nobody to name
        employer=world.employer,
        domain=factories.domain("REMUNERATIONS"),
        space=world.salary_space,
        kind="obtained",
        level="consult",
        valid_from=now - dt.timedelta(days=2),
        valid_until=now - dt.timedelta(days=1),
    )
    # A current mandate the platform granted has nobody to name either.
    mandate_services.mandate_grant(
        by=None,
        employer=world.employer,
        domain=factories.domain("EMPLOYER"),
        space=world.salary_space,
        kind="obtained",
        level="consult",
    )
    web = _client(world.boss)
    # Run out but not swept yet: already history, and not to be ended.
    response = web.get(_url("given", world.space.pk))
    assert response.status_code == 200
    assert "Employer general data" in _text(response).split("Ended mandates", 1)[0]
    current, history = _text(response).split("Ended mandates", 1)
    assert "Remunerations and work incapacities" not in current
    assert "Remunerations and work incapacities" in history and "Expired" in history
    assert web.get(_url("given_end", world.space.pk, ran_out.pk)).status_code == 404
    # Swept: no one ended it, and the page still shows.
    mandate_services.mandates_expire_due()
    response = web.get(_url("given", world.space.pk))
    assert response.status_code == 200
    assert "Remunerations and work incapacities" in _text(response).split("Ended mandates", 1)[1]


def test_an_admin_ends_only_the_domains_their_space_is_certified_to_act_in(world: World) -> None:
    # The space holds the employer's certification to consult remunerations, not to act.
    factories.mandate(
        employer_=world.employer, space=world.space, domain_code="REMUNERATIONS", level="consult"
    )
    other = mandate_services.mandate_grant(
        by=factories.agent(),
        employer=world.employer,
        domain=factories.domain("REMUNERATIONS"),
        space=world.salary_space,
        kind="obtained",
        level="consult",
    )
    web = _client(world.boss)
    page = _text(web.get(_url("given", world.space.pk)))
    assert "Remunerations and work incapacities" in page  # listed, read-only
    assert _url("given_end", world.space.pk, other.pk) not in page
    assert _url("given_end", world.space.pk, world.billing.pk) in page
    assert web.get(_url("given_end", world.space.pk, other.pk)).status_code == 404
    assert web.post(_url("given_end", world.space.pk, other.pk)).status_code == 404
    assert Mandate.objects.get(pk=other.pk).status == MandateStatus.ACTIVE


def test_an_uncertified_employer_space_reads_its_mandates_but_ends_none() -> None:
    made = factories.certification_world()
    given = mandate_services.mandate_grant(
        by=factories.agent(),
        employer=made.employer,
        domain=factories.domain("AFFILIATIONS"),
        space=made.salary_space,
        kind="obtained",
        level="act",
    )
    web = _client(made.boss)
    page = _text(web.get(_url("given", made.space.pk)))
    assert "Employee affiliations" in page
    assert _url("given_end", made.space.pk, given.pk) not in page
    assert "once it is certified to act for you" in page
    assert web.post(_url("given_end", made.space.pk, given.pk)).status_code == 404
    assert Mandate.objects.get(pk=given.pk).status == MandateStatus.ACTIVE
