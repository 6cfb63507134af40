"""The headers that keep the portal's pages from running foreign code or being framed."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import reverse

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


@pytest.mark.parametrize(
    "path", ["/login/", "/accounts/password/reset/", "/accounts/signup/", "/revoke/"]
)
def test_no_page_allows_inline_or_evaluated_script(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 200
    policy = _directives(response["Content-Security-Policy"])
    for directive in ("default-src", "script-src", "style-src"):
        assert "unsafe" not in policy[directive]
    assert "<script>" not in response.content.decode()  # nothing inline for the policy to allow
    assert ' style="' not in response.content.decode()


@override_settings(
    SECURE_SSL_REDIRECT=True,
    SECURE_HSTS_SECONDS=31_536_000,
    SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
    SECURE_REDIRECT_EXEMPT=[r"^api/v1/health$"],
)
def test_with_the_production_transport_settings_pages_go_https_and_send_hsts() -> None:
    """The values tests/test_settings.py reads from production.py."""
    plain = Client().get("/login/")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    secure = Client().get("/login/", secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert Client().get("/api/v1/health").status_code == 200  # probes stay on plain HTTP


def _csrf_token(client: Client, path: str) -> str:
    client.get(path)
    return str(client.cookies["csrftoken"].value)


def test_portal_posts_need_the_csrf_token() -> None:
    browser = Client(enforce_csrf_checks=True)
    assert browser.post("/login/", {"login": "x", "password": "y"}).status_code == 403
    assert browser.post("/revoke/", {"code": "x"}).status_code == 403
    token = _csrf_token(browser, "/login/")
    answered = browser.post(
        "/login/", {"login": "x", "password": "y", "csrfmiddlewaretoken": token}
    )
    assert answered.status_code == 200  # the form's own answer: wrong name or password


def test_a_logged_in_portal_post_needs_the_csrf_token() -> None:
    user = factories.user()
    space = factories.space_of(factories.organisation(), admin=user)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    url = reverse("certification:certification_add", args=[space.pk])
    assert browser.post(url, {"domain": "1"}).status_code == 403
    token = _csrf_token(browser, url)
    assert browser.post(url, {"domain": "1", "csrfmiddlewaretoken": token}).status_code != 403


def test_the_session_api_needs_the_csrf_token_but_the_token_api_does_not() -> None:
    user = factories.user()
    space = factories.space_of(factories.organisation(), admin=user)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    refused = browser.post(
        f"/api/v1/spaces/{space.pk}/certifications",
        {"domain": "AFFILIATIONS", "kind": "holder", "code": "x", "security_code": "y"},
        content_type="application/json",
    )
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"

    software = Client(enforce_csrf_checks=True)
    bearer = factories.api_headers(factories.api_client(space))
    answered = software.post(
        "/api/v1/redemptions",
        {"lines": [{"access_code": "x", "security_code": "y"}]},
        content_type="application/json",
        headers=bearer,
    )
    assert answered.status_code == 200, answered.content
    assert answered.json()["lines"][0]["status"] == "code_typo"
