"""The Members tab (procedure D) through HTTP: list, add, restrict, remove, leave."""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mandat.accounts.models import User
from mandat.core.models import AuditEvent
from mandat.mandates.policies import can
from mandat.registry.models import Employer
from mandat.spaces import services as space_services
from mandat.spaces.models import Membership, Role, Space
from tests import factories

pytestmark = pytest.mark.django_db

NATIONAL_ID = "1985031212345"


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


@pytest.fixture
def boss() -> User:
    return factories.user("boss", first_name="Bea", last_name="Boss")


@pytest.fixture
def firm_space(boss: User) -> Space:
    firm = factories.representative("Fiduciaire Test S.A.")
    return factories.space_of(firm.organisation, admin=boss)


@pytest.fixture
def clients(firm_space: Space) -> list[Employer]:
    made = [factories.employer(f"Client {n}") for n in range(3)]
    for employer in made:
        for code in ("AFFILIATIONS", "BILLING"):
            factories.mandate(employer_=employer, space=firm_space, domain_code=code)
    return made


@pytest.fixture
def clerk(boss: User, firm_space: Space) -> User:
    person = factories.user("clerk", first_name="Carl", last_name="Clerk")
    space_services.member_add(by=boss, space=firm_space, user=person)
    return person


@pytest.fixture
def web(boss: User) -> Client:
    return _client(boss)


def _membership(space: Space, user: User) -> Membership:
    return Membership.objects.get(space=space, user=user, removed_at__isnull=True)


# The list


def test_the_list_shows_each_member_with_role_and_restrictions(
    web: Client, firm_space: Space, clerk: User, clients: list[Employer], boss: User
) -> None:
    space_services.member_restrict(
        by=boss,
        membership=_membership(firm_space, clerk),
        employers=clients[:2],
        domains=[factories.domain("BILLING")],
    )
    page = _text(web.get(_url("members", firm_space.pk)))
    assert "Bea Boss" in page and "Carl Clerk" in page
    assert "clerk@example.test" in page
    assert "Administrator" in page and "Collaborator" in page
    assert "Only 2 clients:" in page
    assert clients[0].employer_number in page
    assert "Only these domains: Billing and accounting" in page
    assert _url("member_add", firm_space.pk) in page
    assert "<caption>2 members</caption>" in page
    assert 'scope="col"' in page


def test_a_collaborator_sees_colleagues_restricted_but_not_to_which_clients(
    firm_space: Space, clerk: User, clients: list[Employer], boss: User
) -> None:
    colleague = factories.user("colleague", first_name="Cleo", last_name="Colleague")
    space_services.member_add(
        by=boss, space=firm_space, user=colleague, employers=clients[1:], domains=None
    )
    space_services.member_restrict(
        by=boss,
        membership=_membership(firm_space, clerk),
        employers=clients[:1],
        domains=[factories.domain("BILLING")],
    )
    web = _client(clerk)
    page = _text(web.get(_url("members", firm_space.pk)))
    colleague_row = page.split("Cleo Colleague", 1)[1].split("</tr>", 1)[0]
    assert "Restricted" in colleague_row
    assert clients[1].employer_number not in page and clients[2].employer_number not in page
    # Their own restrictions, they see.
    assert clients[0].employer_number in page and "Only these domains" in page
    detail = _text(web.get(_url("member", firm_space.pk, _membership(firm_space, colleague).pk)))
    assert "Restricted" in detail and clients[1].employer_number not in detail
    # The administrator sees them all.
    admin_page = _text(_client(boss).get(_url("members", firm_space.pk)))
    assert clients[1].employer_number in admin_page and clients[0].employer_number in admin_page


def test_the_list_costs_the_same_queries_however_many_members_are_restricted(
    web: Client,
    firm_space: Space,
    clients: list[Employer],
    boss: User,
    django_assert_max_num_queries: Any,
) -> None:
    def restricted_member() -> None:
        space_services.member_add(
            by=boss,
            space=firm_space,
            user=factories.user(),
            employers=clients[:2],
            domains=[factories.domain("BILLING")],
        )

    restricted_member()
    with CaptureQueriesContext(connection) as one:
        assert web.get(_url("members", firm_space.pk)).status_code == 200
    for _ in range(4):
        restricted_member()
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert web.get(_url("members", firm_space.pk)).status_code == 200


def test_a_collaborator_sees_the_list_read_only(firm_space: Space, clerk: User) -> None:
    web = _client(clerk)
    page = _text(web.get(_url("members", firm_space.pk)))
    assert "Bea Boss" in page
    assert _url("member_add", firm_space.pk) not in page
    boss_membership = Membership.objects.get(space=firm_space, role=Role.ADMIN)
    detail = _text(web.get(_url("member", firm_space.pk, boss_membership.pk)))
    assert _url("member_remove", firm_space.pk, boss_membership.pk) not in detail
    for name in ("member_add", "member_add_role", "member_add_restrictions", "member_add_check"):
        assert web.get(_url(name, firm_space.pk)).status_code == 404
    for name in ("member_restrict", "member_remove"):
        assert web.get(_url(name, firm_space.pk, boss_membership.pk)).status_code == 404
        assert web.post(_url(name, firm_space.pk, boss_membership.pk)).status_code == 404
    assert _membership(firm_space, User.objects.get(username="boss")).removed_at is None


def test_strangers_and_unknown_members_get_404(
    web: Client, firm_space: Space, clerk: User, boss: User
) -> None:
    stranger = _client(factories.user())
    assert stranger.get(_url("members", firm_space.pk)).status_code == 404
    assert stranger.get(_url("profile", firm_space.pk)).status_code == 404
    other_space = factories.space_of(factories.organisation(), admin=factories.user())
    outsider = _membership(other_space, other_space.memberships.get().user)
    # A member of another space, asked through this space, is not found.
    assert web.get(_url("member", firm_space.pk, outsider.pk)).status_code == 404
    assert web.get(_url("member_remove", firm_space.pk, outsider.pk)).status_code == 404
    assert web.post(_url("member_remove", firm_space.pk, outsider.pk)).status_code == 404
    assert outsider.user.memberships.get().removed_at is None
    assert web.get(_url("member", firm_space.pk, 999_999)).status_code == 404
    # A removed member is no longer found either.
    membership = _membership(firm_space, clerk)
    space_services.member_remove(by=boss, membership=membership)
    assert web.get(_url("member", firm_space.pk, membership.pk)).status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in(firm_space: Space) -> None:
    response = Client().get(_url("members", firm_space.pk))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# Adding


def test_adding_by_e_mail_walks_one_question_per_page_and_adds_the_member(
    web: Client, firm_space: Space, boss: User
) -> None:
    newcomer = factories.user("newcomer", first_name="Nina", last_name="New")
    response = web.post(_url("member_add", firm_space.pk), {"person": "NEWCOMER@example.test"})
    assert response["Location"] == _url("member_add_role", firm_space.pk)
    response = web.post(_url("member_add_role", firm_space.pk), {"role": "admin"})
    assert response["Location"] == _url("member_add_check", firm_space.pk)
    check = _text(web.get(_url("member_add_check", firm_space.pk)))
    # What was typed, not whom it found: a look-up does not reveal a person's name.
    assert "NEWCOMER@example.test" in check and "Administrator" in check
    assert "Nina" not in check and "newcomer" not in check.replace("NEWCOMER", "")
    assert _url("member_add", firm_space.pk) + "?return=check" in check
    assert not Membership.objects.filter(user=newcomer).exists()

    seq = factories.audit_seq()
    response = web.post(_url("member_add_check", firm_space.pk))
    membership = _membership(firm_space, newcomer)
    assert response["Location"] == _url("member_added", firm_space.pk, membership.pk)
    assert membership.role == Role.ADMIN
    panel = _text(web.get(response["Location"]))
    assert "Member added" in panel and 'role="status"' in panel
    assert "Nina New" in panel  # a member now: the name shows
    assert [e.action for e in factories.audit_events_since(seq)] == ["space.member_added"]
    # The answers are forgotten: a new add starts afresh.
    assert web.get(_url("member_add_check", firm_space.pk))["Location"] == _url(
        "member_add", firm_space.pk
    )


def test_adding_by_national_id_with_restrictions_adds_them_in_one_step(
    web: Client, firm_space: Space, clients: list[Employer]
) -> None:
    newcomer = factories.user("newcomer", national_id=NATIONAL_ID)
    response = web.post(_url("member_add", firm_space.pk), {"person": "1985 0312 123 45"})
    assert response["Location"] == _url("member_add_role", firm_space.pk)
    response = web.post(_url("member_add_role", firm_space.pk), {"role": "collaborator"})
    assert response["Location"] == _url("member_add_restrictions", firm_space.pk)
    billing = factories.domain("BILLING")
    response = web.post(
        _url("member_add_restrictions", firm_space.pk),
        {
            "clients_scope": "some",
            "clients": f"{clients[0].employer_number}\n\n {clients[1].employer_number} \n",
            "domains_scope": "some",
            "domains": [str(billing.pk)],
        },
    )
    assert response["Location"] == _url("member_add_check", firm_space.pk)
    check = _text(web.get(_url("member_add_check", firm_space.pk)))
    assert "1985 0312 123 45" in check and "newcomer" not in check
    assert clients[0].name in check and clients[1].name in check and clients[2].name not in check
    assert "Billing and accounting" in check

    seq = factories.audit_seq()
    web.post(_url("member_add_check", firm_space.pk))
    membership = _membership(firm_space, newcomer)
    assert membership.role == Role.COLLABORATOR
    assert membership.restrict_employers and membership.restrict_domains
    assert {e.pk for e in membership.allowed_employers.all()} == {clients[0].pk, clients[1].pk}
    assert can(newcomer, "act", clients[0], billing)
    assert not can(newcomer, "act", clients[2], billing)
    assert not can(newcomer, "act", clients[0], factories.domain("AFFILIATIONS"))
    actions = [e.action for e in factories.audit_events_since(seq)]
    assert actions == ["space.member_added", "space.member_restricted"]


@pytest.mark.parametrize("typed", ["nobody@example.test", "sleeper@example.test"])
def test_an_unknown_person_and_an_inactive_account_get_the_same_error(
    web: Client, firm_space: Space, typed: str
) -> None:
    factories.user("sleeper", is_active=False)
    response = web.post(_url("member_add", firm_space.pk), {"person": typed})
    assert response.status_code == 200
    page = _text(response)
    assert "We found no active account for this person. Check what you typed." in page
    assert 'href="#person"' in page
    assert f'value="{typed}"' in page  # what was typed is kept
    assert 'aria-invalid="true"' in page


def test_a_malformed_national_id_and_an_existing_member_are_refused(
    web: Client, firm_space: Space, clerk: User
) -> None:
    page = _text(web.post(_url("member_add", firm_space.pk), {"person": "12345"}))
    assert "Enter a national identification number of 13 digits" in page
    page = _text(web.post(_url("member_add", firm_space.pk), {"person": "clerk@example.test"}))
    assert "This person is already a member of this space." in page
    page = _text(web.post(_url("member_add", firm_space.pk), {"person": ""}))
    assert "Enter the person's e-mail address or national identification number." in page


def test_the_role_and_restrictions_pages_need_an_answer(
    web: Client, firm_space: Space, clients: list[Employer]
) -> None:
    factories.user("newcomer")
    # Skipping ahead is sent back to the first question.
    assert web.get(_url("member_add_role", firm_space.pk))["Location"] == _url(
        "member_add", firm_space.pk
    )
    web.post(_url("member_add", firm_space.pk), {"person": "newcomer@example.test"})
    page = _text(web.post(_url("member_add_role", firm_space.pk), {}))
    assert "Choose administrator or collaborator." in page
    web.post(_url("member_add_role", firm_space.pk), {"role": "collaborator"})
    page = _text(
        web.post(
            _url("member_add_restrictions", firm_space.pk),
            {"clients_scope": "some", "clients": "", "domains_scope": "some"},
        )
    )
    assert "Enter at least one employer number, one per line." in page
    assert "Choose at least one domain." in page
    assert 'href="#clients"' in page and 'href="#domains"' in page


def test_client_lines_that_are_not_clients_are_named_and_kept(
    web: Client, firm_space: Space, clients: list[Employer]
) -> None:
    stranger = factories.employer("Not A Client")
    factories.user("newcomer")
    web.post(_url("member_add", firm_space.pk), {"person": "newcomer@example.test"})
    web.post(_url("member_add_role", firm_space.pk), {"role": "collaborator"})
    typed = f"{clients[0].employer_number}\n{stranger.employer_number}\nabc"
    response = web.post(
        _url("member_add_restrictions", firm_space.pk),
        {"clients_scope": "some", "clients": typed, "domains_scope": "all"},
    )
    assert response.status_code == 200
    page = _text(response)
    assert "These lines are not employer numbers of clients of this space:" in page
    assert f"line 2 ({stranger.employer_number})" in page and "line 3 (abc)" in page
    assert "line 1" not in page
    assert typed in page


def test_the_service_refuses_a_restriction_to_a_non_client(
    firm_space: Space, clerk: User, boss: User, clients: list[Employer]
) -> None:
    stranger = factories.employer()
    with factories.refused("not_a_client"):
        space_services.member_restrict(
            by=boss,
            membership=_membership(firm_space, clerk),
            employers=[clients[0], stranger],
            domains=None,
        )


def test_an_employer_space_may_limit_to_its_own_employer(boss: User) -> None:
    employer = factories.employer("Boulangerie Test")
    space = factories.space_of(employer.organisation, admin=boss)
    clerk = factories.user()
    space_services.member_add(by=boss, space=space, user=clerk)
    response = _client(boss).post(
        _url("member_restrict", space.pk, _membership(space, clerk).pk),
        {"clients_scope": "some", "clients": employer.employer_number, "domains_scope": "all"},
    )
    assert response.status_code == 302
    assert list(_membership(space, clerk).allowed_employers.all()) == [employer]


# Restricting


def test_restricting_a_collaborator_applies_at_the_next_check_and_is_audited(
    web: Client, firm_space: Space, clerk: User, clients: list[Employer]
) -> None:
    affiliations = factories.domain("AFFILIATIONS")
    membership = _membership(firm_space, clerk)
    assert can(clerk, "act", clients[1], affiliations)
    url = _url("member_restrict", firm_space.pk, membership.pk)
    form = _text(web.get(url))
    assert 'name="clients"' in form and 'type="checkbox"' in form
    seq = factories.audit_seq()
    response = web.post(
        url,
        {"clients_scope": "some", "clients": clients[0].employer_number, "domains_scope": "all"},
    )
    assert response["Location"] == _url("member", firm_space.pk, membership.pk) + "?saved=1"
    assert can(clerk, "act", clients[0], affiliations)
    assert not can(clerk, "act", clients[1], affiliations)
    [event] = factories.audit_events_since(seq)
    assert event.action == "space.member_restricted"
    # The page shows the saved restriction and prefills it next time.
    saved = _text(web.get(response["Location"]))
    assert "Restrictions saved" in saved
    assert saved.count("<h1") == 1, "the confirmation is a heading below the page's own"
    assert clients[0].employer_number in _text(web.get(url))
    # "All" lifts it.
    web.post(url, {"clients_scope": "all", "clients": "", "domains_scope": "all"})
    assert can(clerk, "act", clients[1], affiliations)


def test_an_administrator_has_no_restrictions_page(web: Client, firm_space: Space) -> None:
    mine = Membership.objects.get(space=firm_space, role=Role.ADMIN)
    assert web.get(_url("member_restrict", firm_space.pk, mine.pk)).status_code == 404


def test_the_restrictions_page_never_lists_every_client_as_a_checkbox(
    web: Client, firm_space: Space, clerk: User, clients: list[Employer]
) -> None:
    page = _text(web.get(_url("member_restrict", firm_space.pk, _membership(firm_space, clerk).pk)))
    assert 'type="checkbox"' in page
    for employer in clients:
        assert employer.name not in page


# Removing and leaving


def test_removing_asks_first_and_says_what_is_lost(
    web: Client, firm_space: Space, clerk: User, clients: list[Employer]
) -> None:
    membership = _membership(firm_space, clerk)
    url = _url("member_remove", firm_space.pk, membership.pk)
    page = _text(web.get(url))
    assert "Remove Carl Clerk from this space?" in page
    assert "working for 3 clients of the space." in page
    assert "csrfmiddlewaretoken" in page
    assert membership.removed_at is None
    affiliations = factories.domain("AFFILIATIONS")
    assert can(clerk, "act", clients[0], affiliations)

    seq = factories.audit_seq()
    response = web.post(url)
    assert response["Location"] == _url("members", firm_space.pk)
    assert not can(clerk, "act", clients[0], affiliations)
    assert [e.action for e in factories.audit_events_since(seq)] == ["space.member_removed"]
    after = _text(web.get(response["Location"]))
    assert "Member removed" in after and "Carl Clerk is no longer a member" in after
    assert after.count("<h1") == 1 and "<h2>Member removed</h2>" in after
    assert "Members</h1>" in after
    assert "Member removed" not in _text(web.get(response["Location"]))


def test_the_last_administrator_is_protected(firm_space: Space, boss: User) -> None:
    deputy = factories.user("deputy", first_name="Dora", last_name="Deputy")
    space_services.member_add(by=boss, space=firm_space, user=deputy, role=Role.ADMIN)
    web = _client(deputy)
    boss_membership = _membership(firm_space, boss)
    # Two administrators: the deputy may remove the boss ...
    web.post(_url("member_remove", firm_space.pk, boss_membership.pk))
    boss_membership.refresh_from_db()
    assert boss_membership.removed_at is not None
    # ... but then the deputy is the last one and cannot leave.
    seq = factories.audit_seq()
    response = web.post(_url("member_leave", firm_space.pk))
    assert response.status_code == 200
    page = _text(response)
    assert "The last administrator of a space cannot be removed." in page
    assert 'href="#remove"' in page
    assert _membership(firm_space, deputy).role == Role.ADMIN
    assert factories.audit_events_since(seq) == []


def test_removing_oneself_goes_to_the_leave_page(web: Client, firm_space: Space) -> None:
    mine = Membership.objects.get(space=firm_space, role=Role.ADMIN)
    response = web.get(_url("member_remove", firm_space.pk, mine.pk))
    assert response["Location"] == _url("member_leave", firm_space.pk)


def test_a_collaborator_may_leave_and_loses_access_at_once(
    firm_space: Space, clerk: User, clients: list[Employer]
) -> None:
    web = _client(clerk)
    page = _text(web.get(_url("member_leave", firm_space.pk)))
    assert "Leave this space?" in page and "working for 3 clients" in page
    seq = factories.audit_seq()
    response = web.post(_url("member_leave", firm_space.pk))
    assert response["Location"] == _url("member_left")
    assert "You are no longer a member of Fiduciaire Test S.A." in _text(
        web.get(_url("member_left"))
    )
    assert not can(clerk, "consult", clients[0], factories.domain("AFFILIATIONS"))
    assert web.get(_url("members", firm_space.pk)).status_code == 404
    [event] = factories.audit_events_since(seq)
    assert event.action == "space.member_left"
    assert AuditEvent.objects.filter(action="space.member_left", actor_id=clerk.pk).exists()


def test_what_a_member_loses_leaves_out_mandates_that_ran_out(
    firm_space: Space, clerk: User, clients: list[Employer]
) -> None:
    import datetime as dt

    from mandat.core import time
    from mandat.portal import member_selectors

    now, hour = time.now(), dt.timedelta(hours=1)
    factories.mandate(
        employer_=factories.employer("Ran Out S.A."),
        space=firm_space,
        valid_from=now - 2 * hour,
        valid_until=now - hour,
    )
    loss = member_selectors.what_member_loses(membership=_membership(firm_space, clerk))
    assert loss.client_count == len(clients)
