from __future__ import annotations

import pytest
from django.test import Client

from mandat.accounts.models import User
from tests import factories


@pytest.fixture
def agent(db: None) -> User:
    return factories.user("agent-anna", agent=True, first_name="Anna", last_name="Agent")


@pytest.fixture
def agent_client(agent: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(agent)
    return client
