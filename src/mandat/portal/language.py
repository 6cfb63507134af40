"""The portal language: chosen with the switcher, remembered on the person's account.

A visitor's choice lives in Django's language cookie. Once logged in, the
language saved on the account wins, so a person finds the portal in their
language on any device; choosing another one saves it again.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from mandat.accounts import services as accounts
from mandat.accounts.models import User


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Django's ``set_language`` (cookie, safe ``next``), plus the account's memory."""
    language = request.POST.get("language", "")
    user = request.user
    if isinstance(user, User) and language in dict(settings.LANGUAGES):
        accounts.user_language_set(user=user, language=language)
    return set_language(request)


class AccountLanguageMiddleware:
    """Serve a logged-in person in the language saved on their account, if any.

    Placed after ``AuthenticationMiddleware``; ``LocaleMiddleware`` has already
    chosen from the cookie or the browser, and this only overrides that choice.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.languages = dict(settings.LANGUAGES)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if isinstance(user, User) else ""
        if language in self.languages and language != translation.get_language():
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
