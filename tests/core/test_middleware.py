"""``PagesOnlyMiddleware``: the pages' middleware runs for pages, not for the JSON API."""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings

from mandat.core.middleware import PagesOnlyMiddleware

pytestmark = pytest.mark.django_db


def test_pages_get_their_headers_and_the_api_does_not() -> None:
    page = Client().get("/login/")
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    assert page["X-Frame-Options"] == "DENY"
    api = Client().get("/api/v1/ping")
    assert api.status_code == 200
    assert "Content-Security-Policy" not in api
    assert "X-Frame-Options" not in api
    # What the API needs still runs: the security headers and the chosen language.
    assert api["X-Content-Type-Options"] == "nosniff"
    refused = Client().get("/api/v1/whoami", headers={"Accept-Language": "de"})
    assert refused.status_code == 401
    assert refused["Content-Language"] == "de"


class _WithViewHook:
    def __init__(self, get_response: object) -> None:
        self.get_response = get_response

    def process_view(self, *args: object) -> None:
        return None


def test_a_middleware_with_view_hooks_is_refused_in_the_group() -> None:
    with override_settings(PAGE_MIDDLEWARE=[f"{__name__}._WithViewHook"]):
        with pytest.raises(ImproperlyConfigured, match="process_view"):
            PagesOnlyMiddleware(lambda request: HttpResponse())


def test_the_api_path_skips_the_group() -> None:
    ran: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        ran.append(request.path_info)
        return HttpResponse()

    with override_settings(
        PAGE_MIDDLEWARE=["django.contrib.messages.middleware.MessageMiddleware"]
    ):
        group = PagesOnlyMiddleware(view)
    api = RequestFactory().get("/api/v1/ping")
    group(api)
    assert not hasattr(api, "_messages")
    page = RequestFactory().get("/")
    page.session = {}  # type: ignore[attr-defined]
    group(page)
    assert messages.get_messages(page) is page._messages  # type: ignore[attr-defined]
    assert ran == ["/api/v1/ping", "/"]
