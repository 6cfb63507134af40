"""How django-axes locks logins: by the name typed and the address, with a page of ours.

Failures are counted per (name, address) pair (``AXES_LOCKOUT_PARAMETERS``): an attacker
who fails in a victim's name locks only that name from the attacker's own address, never
the victim from everywhere. The name is counted whether an account has it or not, and the
lockout page says nothing about the account, so it cannot tell which names exist.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def login_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """The name login failures count under: what was typed in the login form.

    The form's field is ``login`` (a username or an e-mail address); a backend's
    credentials say ``username`` or ``email``. Compared without case or surrounding
    spaces, so that "Anne" and "anne " are one name to count, not two.
    """
    typed = request.POST.get("login") if request is not None else None
    if not typed and credentials:
        typed = credentials.get("login") or credentials.get("username") or credentials.get("email")
    return str(typed or "").strip().casefold()


def login_locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The lockout page (429 with ``Retry-After``): the same for every name typed."""
    cool_off = settings.AXES_COOLOFF_TIME  # a timedelta in mandat's settings
    seconds = int(cool_off.total_seconds()) if isinstance(cool_off, dt.timedelta) else 900
    response = render(
        request, "core/locked_out.html", {"minutes": max(1, math.ceil(seconds / 60))}, status=429
    )
    response["Retry-After"] = str(seconds)
    return response
