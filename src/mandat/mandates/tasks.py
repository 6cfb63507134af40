"""Background work of the mandates app, run by the django-tasks database worker."""

from __future__ import annotations

from django_tasks import task

from mandat.mandates.services import mandates_expire_due


@task()
def expire_due_mandates() -> int:
    """The periodic expiry sweep; returns how many mandates it expired."""
    return mandates_expire_due()
