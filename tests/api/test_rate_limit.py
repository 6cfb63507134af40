"""Per-client rate limits: 429 with Retry-After, counted over every process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client

from mandat.api import ratelimit
from mandat.api.models import ApiClient, RateWindow
from mandat.api.ratelimit import Limiter, RateLimited, limiter
from tests import factories

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self, now: float = 1_000_020.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _fresh_limiter() -> Iterator[None]:
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def client_() -> ApiClient:
    return factories.api_client(factories.space_of(factories.salary_sa().organisation))


def test_over_the_limit_the_api_answers_429_with_retry_after(
    client_: ApiClient, settings: Any
) -> None:
    settings.MANDAT_API_RATE_LIMIT = 3
    settings.MANDAT_API_RATE_WINDOW = 60
    headers = factories.api_headers(client_)
    statuses = [Client().get("/api/v1/whoami", headers=headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = Client().get("/api/v1/whoami", headers=headers)
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:mandat:problem:rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60


def test_each_client_has_its_own_count(client_: ApiClient, settings: Any) -> None:
    settings.MANDAT_API_RATE_LIMIT = 1
    other = factories.api_client(client_.space)
    assert Client().get("/api/v1/whoami", headers=factories.api_headers(client_)).status_code == 200
    assert Client().get("/api/v1/whoami", headers=factories.api_headers(other)).status_code == 200
    assert Client().get("/api/v1/whoami", headers=factories.api_headers(client_)).status_code == 429


def test_a_new_window_starts_a_new_count(client_: ApiClient, settings: Any) -> None:
    settings.MANDAT_API_RATE_LIMIT = 2
    settings.MANDAT_API_RATE_WINDOW = 60
    clock = Clock(1_000_040.0)  # 20 s into a window
    process = Limiter(clock)
    process.hit(client_.pk)
    process.hit(client_.pk)
    with pytest.raises(RateLimited) as refused:
        process.hit(client_.pk)
    assert refused.value.retry_after == 40
    clock.now += 40
    process.hit(client_.pk)


def test_processes_share_the_count_through_the_table(client_: ApiClient, settings: Any) -> None:
    settings.MANDAT_API_RATE_LIMIT = 4
    settings.MANDAT_API_RATE_SYNC = 0  # sync on every call: the count is exact
    clock = Clock()
    first, second = Limiter(clock), Limiter(clock)
    first.hit(client_.pk)
    second.hit(client_.pk)
    first.hit(client_.pk)
    second.hit(client_.pk)
    with pytest.raises(RateLimited):
        first.hit(client_.pk)
    assert RateWindow.objects.get(client=client_).hits >= 4


def test_between_syncs_a_process_counts_in_memory(client_: ApiClient, settings: Any) -> None:
    settings.MANDAT_API_RATE_LIMIT = 1000
    settings.MANDAT_API_RATE_SYNC = 1.0
    clock = Clock()
    process = Limiter(clock)
    for _ in range(50):
        process.hit(client_.pk)
    assert RateWindow.objects.get(client=client_).hits == 1  # only the first call synced
    clock.now += 1.0
    process.hit(client_.pk)
    assert RateWindow.objects.get(client=client_).hits == 51


def _failing_add(*args: object) -> int:
    raise OperationalError("database is locked")


def test_a_failed_sync_allows_the_call_and_keeps_the_count(
    client_: ApiClient, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.MANDAT_API_RATE_LIMIT = 1000
    settings.MANDAT_API_RATE_SYNC = 1.0
    clock = Clock()
    process = Limiter(clock)
    with monkeypatch.context() as patched:
        patched.setattr(ratelimit, "_add", _failing_add)
        for _ in range(5):
            process.hit(client_.pk)  # allowed: the database hiccup is not the client's fault
            clock.now += 1.0
    assert not RateWindow.objects.filter(client=client_).exists()
    process.hit(client_.pk)  # the next sync adds every call the failed ones kept
    assert RateWindow.objects.get(client=client_).hits == 6


def test_a_failed_sync_still_counts_towards_the_limit(
    client_: ApiClient, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.MANDAT_API_RATE_LIMIT = 3
    settings.MANDAT_API_RATE_SYNC = 1.0
    monkeypatch.setattr(ratelimit, "_add", _failing_add)
    clock = Clock()
    process = Limiter(clock)
    for _ in range(3):
        process.hit(client_.pk)
    with pytest.raises(RateLimited):
        process.hit(client_.pk)


def test_a_database_error_during_the_sync_is_no_500(
    client_: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "_add", _failing_add)
    response = Client().get("/api/v1/whoami", headers=factories.api_headers(client_))
    assert response.status_code == 200, response.content
