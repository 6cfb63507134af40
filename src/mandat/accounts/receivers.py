"""What happens to a session when someone logs in or steps up (connected in ``apps.py``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from mandat.accounts import assurance, sessions


def on_logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Every login starts its session's clocks, and at ``low``: allauth's ``post_login``
    raises the level from what the login proved (``AccountAdapter``)."""
    if request is None or not hasattr(request, "session"):
        return
    sessions.start(request, user)
    assurance.set_level(request, assurance.LOW)


def on_authenticator_used(
    sender: Any, request: HttpRequest | None, reauthenticated: bool = False, **kwargs: Any
) -> None:
    """A second factor confirmed during the session raises it to ``substantial`` (never lowers
    ``high``), and gets a new session key, so that a key seen before cannot ride on it."""
    if not reauthenticated or request is None:
        return
    if not assurance.meets(assurance.level_of(request), assurance.SUBSTANTIAL):
        assurance.set_level(request, assurance.SUBSTANTIAL)
    request.session.cycle_key()
