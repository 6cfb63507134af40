"""The Django admin behind the portal's own login and the step-up level.

Django's admin brings its own password-only login form. Through it, a stolen staff password
would reach the user pages (e-mail addresses, passwords, the agent flag) past django-axes and
without a second factor. Here the admin's login sends to the portal's (``/login/``), and every
admin page asks for ``MANDAT_STEP_UP_LEVEL``, as the portal's binding acts do.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from mandat.accounts import assurance


class MandatAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and assurance.meets(
            assurance.level_of(request), settings.MANDAT_STEP_UP_LEVEL
        )

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """No form of its own: staff step up, everyone else logs in to the portal."""
        next_url = assurance.safe_next(request, request.GET.get("next") or reverse("admin:index"))
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff:
            return HttpResponseRedirect(assurance.step_up_url(next_url))
        return redirect_to_login(next_url, settings.LOGIN_URL)
