"""Middleware that only the portal's pages need, kept off the JSON API.

Every API call of payroll software went through the pages' whole stack: the Content
Security Policy, flash messages, the account's language, ``X-Frame-Options``. Together
they cost about a quarter of an empty API call (``bench/api_load.py``), and none of them
means anything for a JSON answer. ``PagesOnlyMiddleware`` runs ``settings.PAGE_MIDDLEWARE``
for every path but ``/api/``.

Django gathers the ``process_view``, ``process_exception`` and ``process_template_response``
hooks from ``MIDDLEWARE`` alone, so a middleware that needs them (CSRF, for one) cannot be
grouped here: the group refuses it when the server starts.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase
from django.utils.module_loading import import_string

API_PREFIX = "/api/"
_HOOKS = ("process_view", "process_exception", "process_template_response")

Handler = Callable[[HttpRequest], HttpResponseBase]


class PagesOnlyMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.api = get_response
        pages = get_response
        for path in reversed(settings.PAGE_MIDDLEWARE):
            pages = import_string(path)(pages)
            hooks = [hook for hook in _HOOKS if hasattr(pages, hook)]
            if hooks:
                raise ImproperlyConfigured(
                    f"{path} has {', '.join(hooks)}: list it in MIDDLEWARE, not PAGE_MIDDLEWARE."
                )
        self.pages = pages

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path_info.startswith(API_PREFIX):
            return self.api(request)
        return self.pages(request)
