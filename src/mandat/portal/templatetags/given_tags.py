"""Template filters of the space tabs: whether a space shows its "Mandates given" tab."""

from __future__ import annotations

from django import template

from mandat.portal import given_selectors
from mandat.spaces.models import Space

register = template.Library()


@register.filter
def gives_mandates(space: Space) -> bool:
    """The space belongs to an organisation the registry lists as an employer."""
    return given_selectors.gives_mandates(space=space)
