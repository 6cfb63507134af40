from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse

from mandat.certification.models import AccessCode, CertificationRequest, CodeKind
from mandat.core import time
from tests import factories

pytestmark = pytest.mark.django_db


def _counts(client: Client) -> list[int]:
    body = client.get(reverse("backoffice:home")).content.decode()
    return [int(n) for n in re.findall(r'<p class="count">(\d+)</p>', body)]


def test_the_counters(agent_client: Client) -> None:
    assert _counts(agent_client) == [0, 0, 0]
    waiting, late = factories.transmitted_request(), factories.transmitted_request()
    CertificationRequest.objects.filter(pk=late.pk).update(
        transmitted_at=time.now() - dt.timedelta(hours=80)
    )
    issued = factories.issued_request(delegated={"BILLING": "act"})
    codes = AccessCode.objects.filter(request=issued).exclude(kind=CodeKind.REVOCATION)
    assert codes.count() == 5
    now = time.now()
    soon, used, invalidated, past, _later = list(codes)
    AccessCode.objects.filter(pk__in=[soon.pk, used.pk, invalidated.pk]).update(
        expires_at=now + dt.timedelta(days=6)
    )
    AccessCode.objects.filter(pk=used.pk).update(used_at=now)
    AccessCode.objects.filter(pk=invalidated.pk).update(invalidated_at=now)
    AccessCode.objects.filter(pk=past.pk).update(expires_at=now - dt.timedelta(hours=1))

    response = agent_client.get(reverse("backoffice:home"))

    assert _counts(agent_client) == [2, 2, 1]  # waiting, letters to print, codes expiring
    text = " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())
    assert "1 overdue (waiting more than 72 h)" in text
    assert waiting.pk != late.pk


def test_the_counters_link_to_the_work_and_say_what_they_count(agent_client: Client) -> None:
    response = agent_client.get(reverse("backoffice:home"))

    body = response.content.decode()
    text = " ".join(re.sub(r"<[^>]+>", " ", body).split())
    assert '<a href="/backoffice/requests/">Requests waiting</a>' in body
    assert '<a href="/backoffice/letters/">Letters to print</a>' in body
    # A rolling window of 7 days, and the label says exactly that, with its end.
    assert '<a href="/backoffice/requests/?status=issued">Codes expiring within 7 days</a>' in body
    assert "between now and" in text
    assert '<a href="/backoffice/registry/">Registry</a>' in body  # the navigation
