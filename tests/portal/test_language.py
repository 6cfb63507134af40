"""The language switcher, and the language remembered on the person's account."""

from __future__ import annotations

import pytest
from django.test import Client

from tests import factories

pytestmark = pytest.mark.django_db


def _heading_language(client: Client) -> str:
    response = client.get("/login/")
    return str(response["Content-Language"])


def test_a_visitor_s_choice_lives_in_the_cookie() -> None:
    client = Client()
    assert _heading_language(client) == "fr"  # French is the default
    response = client.post("/language/", {"language": "de", "next": "/login/"})
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert _heading_language(client) == "de"


def test_a_person_s_choice_follows_them_to_another_device() -> None:
    user = factories.user()
    laptop = Client()
    laptop.force_login(user)
    laptop.post("/language/", {"language": "en", "next": "/"})
    user.refresh_from_db()
    assert user.language == "en"

    phone = Client(headers={"accept-language": "de"})
    phone.force_login(user)
    response = phone.get("/")
    assert response["Content-Language"] == "en"
    assert "Your spaces" in response.content.decode()


def test_without_a_choice_the_browser_language_applies() -> None:
    user = factories.user()
    assert user.language == ""
    client = Client(headers={"accept-language": "de"})
    client.force_login(user)
    assert client.get("/")["Content-Language"] == "de"


def test_an_unknown_language_changes_nothing() -> None:
    user = factories.user()
    client = Client()
    client.force_login(user)
    client.post("/language/", {"language": "xx", "next": "/"})
    user.refresh_from_db()
    assert user.language == ""
    assert client.get("/")["Content-Language"] == "fr"


def test_the_switcher_is_a_post_form_on_every_page() -> None:
    html = Client().get("/login/").content.decode()
    assert 'action="/language/" method="post"' in html
    assert Client().get("/language/").status_code == 405
