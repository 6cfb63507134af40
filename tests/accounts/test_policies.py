from __future__ import annotations

import pytest

from mandat.accounts.policies import require_agent
from mandat.core.errors import ApplicationError
from tests import factories

pytestmark = pytest.mark.django_db


def test_only_an_active_agent_passes() -> None:
    require_agent(factories.user(agent=True))
    for refused in (factories.user(), factories.user(agent=True, is_active=False), None):
        with pytest.raises(ApplicationError) as caught:
            require_agent(refused)
        assert caught.value.code == "agent_required"


def test_the_platform_itself_passes_only_where_allowed() -> None:
    require_agent(None, platform_allowed=True)
    with pytest.raises(ApplicationError):
        require_agent(factories.user(), platform_allowed=True)
