"""The account's security pages: second factors, step-up, and "log out everywhere"."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mandat.accounts import assurance, services
from mandat.accounts.models import User

#: Where a person was going when step-up sent them to set up a second factor (a local path).
PENDING_STEP_UP = "mandat_step_up_next"


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 - behind login_required
    return user


@login_required
def security(request: HttpRequest) -> HttpResponse:
    """Where a person sees their level of assurance and manages second factors and sessions."""
    user = _user(request)
    types = set(Authenticator.objects.filter(user=user).values_list("type", flat=True))
    context = {
        "level": assurance.level_of(request),
        "has_totp": Authenticator.Type.TOTP in types,
        "has_webauthn": Authenticator.Type.WEBAUTHN in types,
        "has_recovery_codes": Authenticator.Type.RECOVERY_CODES in types,
    }
    return render(request, "accounts/security.html", context)


@login_required
def step_up(request: HttpRequest) -> HttpResponse:
    """Raise the session's level, then go back to ``next``.

    With a second factor the person confirms it (allauth's MFA re-authentication, which
    rotates the session key: ``receivers.on_authenticator_used``); without one, this page
    explains why and offers to set one up.
    """
    next_url = assurance.safe_next(request, request.GET.get("next"))
    if not assurance.needs_step_up(request):
        request.session.pop(PENDING_STEP_UP, None)
        return HttpResponseRedirect(next_url)
    if is_mfa_enabled(_user(request)):
        request.session.pop(PENDING_STEP_UP, None)
        return HttpResponseRedirect(
            f"{reverse('mfa_reauthenticate')}?{urlencode({'next': next_url})}"
        )
    # Setting up a factor takes several of allauth's pages: they offer the way back.
    request.session[PENDING_STEP_UP] = next_url
    return render(
        request,
        "accounts/step_up.html",
        {"next_url": next_url, "step_up_url": assurance.step_up_url(next_url)},
    )


@require_POST
@login_required
def logout_everywhere(request: HttpRequest) -> HttpResponse:
    """End every session of this person, this one included."""
    services.user_sessions_end_all(user=_user(request))
    logout(request)
    messages.success(request, _("You are logged out on every device."))
    return HttpResponseRedirect(reverse("login"))
