"""Writes on accounts."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from mandat.accounts.models import User
from mandat.core import audit


@transaction.atomic(durable=True)
def user_language_set(*, user: User, language: str) -> User:
    """Remember the portal language a person chose, for their next visits on any device."""
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"unsupported language {language!r}")
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user


@transaction.atomic(durable=True)
def user_sessions_end_all(*, user: User) -> User:
    """End every session of ``user``, on every device ("log out everywhere").

    Sessions are not listed or deleted one by one: raising the user's generation makes each
    session started before it end at its next request (``mandat.accounts.sessions``).
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    locked.session_generation += 1
    locked.save(update_fields=["session_generation"])
    audit.record(
        "user.sessions_ended",
        actor_id=user.pk,
        obj=locked,
        data={"generation": locked.session_generation},
    )
    user.session_generation = locked.session_generation
    return locked
