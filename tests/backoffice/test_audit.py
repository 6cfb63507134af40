"""An employer's audit trail in the back-office: its events only, the chain check, the export."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from mandat.backoffice import audit_views
from mandat.core import audit
from mandat.core.models import AuditEvent
from mandat.registry import services as registry
from mandat.registry.models import Employer
from tests import factories
from tests.core.chain import tampering

pytestmark = pytest.mark.django_db


def _text(response: object) -> str:
    body = response.content.decode()  # type: ignore[attr-defined]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _rows(response: object) -> list[tuple[int, str]]:
    """(employer_seq, action) of each listed event, in page order."""
    body = response.content.decode()  # type: ignore[attr-defined]
    return [
        (int(seq), action)
        for seq, action in re.findall(
            r'<th scope="row">(\d+)</th>\s*<td>[^<]*</td>\s*<td><code>([^<]+)</code>', body
        )
    ]


def _renamed(employer: Employer, name: str) -> None:
    registry.employer_update(by=factories.agent(), employer=employer, name=name)


@pytest.fixture
def two_employers() -> tuple[Employer, Employer]:
    mine, other = factories.employer("Mine S.A."), factories.employer("Other S.A.")
    _renamed(mine, "Mine Renamed S.A.")
    _renamed(other, "Other Renamed S.A.")
    _renamed(mine, "Mine Again S.A.")
    return mine, other


def test_the_trail_lists_only_the_employers_events_newest_first(
    agent_client: Client, agent: object, two_employers: tuple[Employer, Employer]
) -> None:
    mine, other = two_employers

    response = agent_client.get(reverse("backoffice:employer-audit", args=[mine.pk]))

    assert response.status_code == 200
    assert _rows(response) == [
        (3, "registry.employer_updated"),
        (2, "registry.employer_updated"),
        (1, "registry.employer_registered"),
    ]
    text = _text(response)
    assert "3 events." in text
    assert "Other" not in text
    assert "factory-agent" in text  # the actor, by name
    assert "registry.employer #" + str(mine.pk) in text
    assert [
        seq
        for seq, _ in _rows(agent_client.get(reverse("backoffice:employer-audit", args=[other.pk])))
    ] == [2, 1]


def test_the_trail_is_paginated(
    agent_client: Client, two_employers: tuple[Employer, Employer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_views, "AUDIT_PAGE_SIZE", 2)
    mine, _ = two_employers
    url = reverse("backoffice:employer-audit", args=[mine.pk])

    first, second = agent_client.get(url), agent_client.get(url, {"page": "2"})

    assert [seq for seq, _ in _rows(first)] == [3, 2]
    assert [seq for seq, _ in _rows(second)] == [1]
    assert f'href="{url}?page=2"' in first.content.decode()


def test_verify_says_the_chain_is_intact(
    agent_client: Client, two_employers: tuple[Employer, Employer]
) -> None:
    mine, _ = two_employers
    total = AuditEvent.objects.count()

    response = agent_client.post(reverse("backoffice:employer-audit-verify", args=[mine.pk]))

    assert response.status_code == 200
    assert f"The audit chain is intact: {total} events verified." in _text(response)
    assert len(_rows(response)) == 3  # the trail is still shown under the result
    assert (
        agent_client.get(reverse("backoffice:employer-audit-verify", args=[mine.pk])).status_code
        == 405
    )


def test_verify_names_the_first_broken_link(
    agent_client: Client, two_employers: tuple[Employer, Employer]
) -> None:
    mine, _ = two_employers
    target = AuditEvent.objects.filter(employer_id=mine.pk).order_by("seq")[1]
    url = reverse("backoffice:employer-audit-verify", args=[mine.pk])

    with tampering():
        AuditEvent.objects.filter(seq=target.seq).update(data={"name": "Forged S.A."})
        response = agent_client.post(url)

    text = _text(response)
    assert "The audit chain is broken" in text
    assert f"First broken link: event #{target.seq} (the event's content was changed)." in text
    assert f"The chain is valid up to event #{target.seq - 1}." in text
    assert 'role="alert"' in response.content.decode()
    assert "is intact" in _text(agent_client.post(url))  # the tampering was rolled back


def test_verify_finds_a_deleted_event(
    agent_client: Client, two_employers: tuple[Employer, Employer]
) -> None:
    mine, _ = two_employers
    last = AuditEvent.objects.order_by("-seq").first()
    assert last is not None
    with tampering():
        AuditEvent.objects.filter(seq=last.seq).delete()
        response = agent_client.post(reverse("backoffice:employer-audit-verify", args=[mine.pk]))
    assert f"First broken link: event #{last.seq}" in _text(response)


def test_the_export_downloads_and_verifies(
    agent_client: Client, two_employers: tuple[Employer, Employer]
) -> None:
    mine, other = two_employers

    response = agent_client.get(reverse("backoffice:employer-audit-export", args=[mine.pk]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="audit-employer-{mine.employer_number}.json"'
    )
    document = json.loads(response.content)
    assert document["employer_id"] == mine.pk
    assert audit.verify_export(document).ok
    shown = [link["event"] for link in document["links"] if "event" in link]
    assert [event["employer_seq"] for event in shown] == [1, 2, 3]
    assert "Other" not in response.content.decode()
    assert other.pk != mine.pk


def test_an_unknown_employer_is_a_missing_page(agent_client: Client) -> None:
    for name in ("employer", "employer-audit", "employer-audit-export", "employer-edit"):
        assert agent_client.get(reverse(f"backoffice:{name}", args=[999999])).status_code == 404
    assert (
        agent_client.post(reverse("backoffice:employer-audit-verify", args=[999999])).status_code
        == 404
    )
