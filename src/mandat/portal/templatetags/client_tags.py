"""Template filters of the space tabs: whether a space shows its "Clients" tab."""

from __future__ import annotations

from django import template

from mandat.portal import client_selectors
from mandat.spaces.models import Space

register = template.Library()


@register.filter
def holds_clients(space: Space) -> bool:
    """The space holds obtained mandates, or its organisation is a representative."""
    return client_selectors.holds_clients(space=space)
