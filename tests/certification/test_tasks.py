"""Background work of procedure B: issuing without an agent, and the daily sweep."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from django_tasks import TaskResultStatus
from pytest_django.fixtures import Settings

from mandat.certification import services
from mandat.certification.models import AccessCode, CertificationRequest, RequestStatus
from mandat.certification.tasks import auto_issue_request, certification_sweep
from mandat.core import time
from mandat.core.models import AuditEvent
from mandat.documents.models import Letter, LetterStatus, Notice, NoticeKind
from tests import factories
from tests.factories import CertificationWorld

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)
CaptureCallbacks = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


@pytest.fixture(autouse=True)
def _seal_in_tmp(settings: Settings, tmp_path: Path) -> None:
    """Signing makes a development seal in DATA_DIR: keep it out of the checkout."""
    settings.DATA_DIR = tmp_path
    settings.SEAL_KEY_FILE = settings.SEAL_CERT_FILE = ""


@pytest.fixture
def world() -> CertificationWorld:
    return factories.certification_world()


@pytest.fixture
def signed(world: CertificationWorld) -> CertificationRequest:
    return services.request_sign(by=world.boss, request=factories.request_answered(world))


@override_settings(MANDAT_AUTO_ISSUE=True)
def test_with_auto_issue_a_transmitted_request_is_issued_once_committed(
    world: CertificationWorld,
    signed: CertificationRequest,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.request_transmit(by=world.boss, request=signed, confirmed=True)
        signed.refresh_from_db()
        assert signed.status == RequestStatus.TRANSMITTED, "issued before the commit"

    assert len(callbacks) == 1
    signed.refresh_from_db()
    assert signed.status == RequestStatus.ISSUED
    assert signed.issued_by is None
    assert signed.activation_deadline is not None
    assert AccessCode.objects.filter(request=signed).count() == 11
    assert set(Letter.objects.filter(request=signed).values_list("status", flat=True)) == {
        LetterStatus.QUEUED
    }
    event = AuditEvent.objects.get(action="request.issued", object_id=str(signed.pk))
    assert event.actor_id is None
    assert event.data["automatic"] is True


@override_settings(MANDAT_AUTO_ISSUE=False)
def test_without_auto_issue_a_transmitted_request_waits_for_an_agent(
    world: CertificationWorld,
    signed: CertificationRequest,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.request_transmit(by=world.boss, request=signed, confirmed=True)

    assert callbacks == []
    signed.refresh_from_db()
    assert signed.status == RequestStatus.TRANSMITTED
    assert not AccessCode.objects.filter(request=signed).exists()


def test_the_auto_issue_task_leaves_a_request_that_is_no_longer_transmitted(
    world: CertificationWorld, signed: CertificationRequest
) -> None:
    services.request_transmit(by=world.boss, request=signed, confirmed=True)
    services.request_reject(by=factories.agent(), request=signed, reason="Not an employer")

    result = auto_issue_request.enqueue(signed.pk)
    missing = auto_issue_request.enqueue(signed.pk + 1000)

    assert result.status == missing.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value is False
    assert missing.return_value is False
    signed.refresh_from_db()
    assert signed.status == RequestStatus.REJECTED
    assert not AccessCode.objects.filter(request=signed).exists()


def test_the_auto_issue_task_issues_a_transmitted_request(
    world: CertificationWorld, signed: CertificationRequest
) -> None:
    services.request_transmit(by=world.boss, request=signed, confirmed=True)

    result = auto_issue_request.enqueue(signed.pk)

    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value is True
    signed.refresh_from_db()
    assert signed.status == RequestStatus.ISSUED
    assert auto_issue_request.enqueue(signed.pk).return_value is False
    assert AccessCode.objects.filter(request=signed).count() == 11


def test_the_daily_sweep_reminds_then_expires(
    world: CertificationWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = factories.request_issued_for(world)
    deadline = issued.activation_deadline
    assert deadline is not None

    monkeypatch.setattr(time, "now", lambda: deadline - 8 * DAY)
    assert certification_sweep.enqueue().return_value == {"reminded": 0, "expired": 0}

    monkeypatch.setattr(time, "now", lambda: deadline - 3 * DAY)
    first = certification_sweep.enqueue()
    assert first.status == TaskResultStatus.SUCCESSFUL
    assert first.return_value == {"reminded": 1, "expired": 0}
    assert certification_sweep.enqueue().return_value == {"reminded": 0, "expired": 0}

    monkeypatch.setattr(time, "now", lambda: deadline + DAY)
    assert certification_sweep.enqueue().return_value == {"reminded": 0, "expired": 1}

    issued.refresh_from_db()
    assert issued.status == RequestStatus.EXPIRED
    assert sorted(Notice.objects.filter(space=world.space).values_list("kind", flat=True)) == [
        NoticeKind.ACTIVATION_REMINDER,
        NoticeKind.REQUEST_EXPIRED,
    ]


def test_a_request_found_only_after_its_deadline_expires_without_a_reminder(
    world: CertificationWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = factories.request_issued_for(world, delegations=[])
    deadline = issued.activation_deadline
    assert deadline is not None

    monkeypatch.setattr(time, "now", lambda: deadline + DAY)
    assert certification_sweep.enqueue().return_value == {"reminded": 0, "expired": 1}

    assert not Notice.objects.filter(kind=NoticeKind.ACTIVATION_REMINDER).exists()
