from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction

# The append-only triggers of the audit table, as the migration that made them.
guards = importlib.import_module("mandat.core.migrations.0002_audit_head_and_guards")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A ``postgres`` test on SQLite is deselected, and counted as such, never passed."""
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    kept, dropped = [], []
    for item in items:
        if item.get_closest_marker("postgres") and not on_postgres:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(autouse=True)
def force_login_is_substantial(monkeypatch: pytest.MonkeyPatch) -> None:
    """``Client.force_login`` sessions count as "substantial" (the step-up level), as if the
    person had used a second factor. A test that needs a lower session sets
    ``session["mandat.loa"] = "low"`` itself."""
    from django.test import Client

    from mandat.accounts import assurance

    original = Client.force_login

    def force_login(self: Client, user: Any, backend: str | None = None) -> None:
        original(self, user, backend)
        session = self.session
        session[assurance.SESSION_KEY] = assurance.SUBSTANTIAL
        session.save()

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture
def vendor(db: None) -> str:
    return connection.vendor


@pytest.fixture
def audit_trail_emptied_after(transactional_db: None) -> Iterator[None]:
    """Empty the audit trail after a committing test, before Django's flush.

    On SQLite Django empties tables with DELETE, which the append-only triggers
    refuse; PostgreSQL uses TRUNCATE, which row triggers do not see. So on
    SQLite the triggers are dropped for this one statement and created again,
    in the same transaction, from the migration's own SQL.
    """
    yield
    if connection.vendor == "sqlite":
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in guards.SQLITE_REVERSE:
                cursor.execute(statement)
            cursor.execute("DELETE FROM core_auditevent")
            for statement in guards.SQLITE:
                cursor.execute(statement)
