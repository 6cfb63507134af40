"""Writes on accounts."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from mandat.accounts.models import User


@transaction.atomic(durable=True)
def user_language_set(*, user: User, language: str) -> User:
    """Remember the portal language a person chose, for their next visits on any device."""
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"unsupported language {language!r}")
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user
