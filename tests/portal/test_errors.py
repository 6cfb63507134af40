from __future__ import annotations

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "title"),
    [("fr", "Page introuvable"), ("de", "Seite nicht gefunden"), ("en", "Page not found")],
)
def test_a_missing_page_is_explained_in_the_reader_s_language(language: str, title: str) -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get("/no/such/page/")
    assert response.status_code == 404
    assert f"<h1>{title}</h1>" in response.content.decode()
    assert f'lang="{language}"' in response.content.decode()


@override_settings(DEBUG=False)
def test_a_server_error_page_says_nothing_was_lost() -> None:
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Sorry, there is a problem with the service" in html or "Désolé" in html
