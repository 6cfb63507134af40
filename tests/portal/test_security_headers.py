"""The headers that keep the portal's pages from running foreign code or being framed."""

from __future__ import annotations

import pytest
from django.test import Client

from tests import factories

pytestmark = pytest.mark.django_db


def _directives(header: str) -> dict[str, str]:
    parts = (part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    return {name: value for name, *rest in parts for value in [rest[0] if rest else ""]}


@pytest.mark.parametrize("path", ["/login/", "/revoke/", "/nowhere/"])
def test_a_page_allows_only_its_own_files_and_no_framing(path: str) -> None:
    response = Client().get(path)
    policy = _directives(response["Content-Security-Policy"])
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_a_logged_in_page_carries_the_policy_too() -> None:
    client = Client()
    client.force_login(factories.user())
    assert "frame-ancestors 'none'" in client.get("/")["Content-Security-Policy"]


def test_the_json_api_is_left_without_a_page_policy() -> None:
    response = Client().get("/api/v1/health")
    assert response.status_code == 200
    assert "Content-Security-Policy" not in response
    assert response["X-Content-Type-Options"] == "nosniff"
