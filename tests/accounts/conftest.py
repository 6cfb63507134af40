from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """allauth remembers used TOTP codes (and rate limits) in the cache, keyed by user id;
    ids repeat from test to test, so each test starts with an empty cache."""
    cache.clear()
