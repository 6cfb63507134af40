from __future__ import annotations

import pytest

from mandat.mandates.policies import can
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_representative_with_a_mandate_may_act_and_a_stranger_may_not() -> None:
    client = factories.employer()
    firm = factories.representative()
    clerk = factories.user()
    space = factories.space_of(firm.organisation, admin=clerk)
    factories.mandate(employer_=client, space=space, level="consult")
    assert can(clerk, "consult", client, factories.domain())
    assert not can(clerk, "act", client, factories.domain())
    assert not can(factories.user(), "consult", client, factories.domain())
