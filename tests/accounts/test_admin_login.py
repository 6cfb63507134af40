"""The Django admin has no login of its own: the portal's, then the step-up level."""

from __future__ import annotations

import pytest
from django.test import Client

from mandat.accounts import assurance
from tests import factories

pytestmark = pytest.mark.django_db


def _staff() -> object:
    agent = factories.agent()
    agent.is_staff = agent.is_superuser = True
    agent.set_password("a-long-staff-password")
    agent.save()
    return agent


def test_anonymous_is_sent_to_the_portal_login() -> None:
    response = Client().get("/admin/accounts/user/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    login = Client().get(response["Location"])
    assert login.status_code == 302
    assert login["Location"] == "/login/?next=/admin/accounts/user/"


def test_the_admin_s_own_form_logs_nobody_in() -> None:
    agent = _staff()
    http = Client()
    posted = http.post(
        "/admin/login/", {"username": agent.username, "password": "a-long-staff-password"}
    )
    assert posted.status_code == 302 and posted["Location"].startswith("/login/")
    assert http.get("/admin/").status_code == 302


def test_staff_at_a_low_level_step_up_first() -> None:
    agent = _staff()
    http = Client()
    http.force_login(agent)
    session = http.session
    session[assurance.SESSION_KEY] = assurance.LOW
    session.save()
    to_login = http.get("/admin/accounts/user/")
    step_up = http.get(to_login["Location"])
    assert step_up.status_code == 302
    assert step_up["Location"] == assurance.step_up_url("/admin/accounts/user/")


def test_staff_at_the_step_up_level_get_in() -> None:
    http = Client()
    http.force_login(_staff())  # substantial, as force_login sessions are in tests
    assert http.get("/admin/accounts/user/").status_code == 200


def test_a_member_who_is_not_staff_does_not_get_in() -> None:
    http = Client()
    http.force_login(factories.user())
    to_login = http.get("/admin/")
    assert to_login.status_code == 302
    assert http.get(to_login["Location"])["Location"].startswith("/login/")
