from __future__ import annotations

from django import template

from mandat.accounts.models import User
from mandat.spaces import selectors as space_selectors
from mandat.spaces.models import Space

register = template.Library()


@register.filter
def administered_by(space: Space, user: object) -> bool:
    """``{% if space|administered_by:request.user %}``: may this person manage the space?"""
    return isinstance(user, User) and space_selectors.is_admin(user=user, space=space)
