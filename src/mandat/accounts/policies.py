"""Who a person is to the platform: the checks services share."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.core.errors import ApplicationError


def require_agent(user: User | None, *, platform_allowed: bool = False) -> None:
    """Refuse anyone but an active institution agent (or the platform itself, if allowed)."""
    if user is None and platform_allowed:
        return
    if user is None or not (user.is_active and user.is_agent):
        raise ApplicationError(_("Only an institution agent may do this."), code="agent_required")
