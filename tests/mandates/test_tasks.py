from __future__ import annotations

import datetime as dt

import pytest
from django_tasks import TaskResultStatus

from mandat.core import time
from mandat.mandates.models import EndCause, Mandate, MandateStatus
from mandat.mandates.tasks import expire_due_mandates
from tests import factories

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def test_the_expiry_task_expires_what_is_due_and_reports_how_many() -> None:
    firm = factories.representative()
    space = factories.space_of(firm.organisation)
    now = time.now()
    lapsed = [
        factories.mandate(
            employer_=factories.employer(),
            space=space,
            valid_from=now - 2 * DAY,
            valid_until=now - DAY,
        )
        for _ in range(2)
    ]
    running = factories.mandate(employer_=factories.employer(), space=space, valid_until=now + DAY)
    seq = factories.audit_seq()

    result = expire_due_mandates.enqueue()

    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 2
    for mandate in lapsed:
        mandate.refresh_from_db()
        assert (mandate.status, mandate.end_cause) == (MandateStatus.EXPIRED, EndCause.EXPIRED)
    assert Mandate.objects.get(pk=running.pk).status == MandateStatus.ACTIVE
    assert [e.action for e in factories.audit_events_since(seq)] == ["mandate.expired"] * 2


def test_the_expiry_task_with_nothing_due_changes_nothing() -> None:
    firm = factories.representative()
    factories.mandate(employer_=factories.employer(), space=factories.space_of(firm.organisation))
    seq = factories.audit_seq()
    result = expire_due_mandates.enqueue()
    assert result.return_value == 0
    assert factories.audit_events_since(seq) == []
