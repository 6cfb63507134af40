"""Template context of every page."""

from __future__ import annotations

from django.http import HttpRequest

from mandat.portal import acting as acting_context


def acting(request: HttpRequest) -> dict[str, object]:
    """The client the person acts for, for the banner under the header (re-checked each time)."""
    return {"acting_client": acting_context.current(request)}
