"""Time helpers: every datetime in mandat is aware and compared in UTC."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

UTC = dt.UTC


def now() -> dt.datetime:
    """The current instant, aware, in UTC."""
    return timezone.now()


def as_utc(value: dt.datetime) -> dt.datetime:
    """Convert an aware datetime to UTC; a naive one is a programming error."""
    if timezone.is_naive(value):
        raise ValueError("naive datetime refused: mandat only handles aware datetimes")
    return value.astimezone(UTC)


def utc_iso(value: dt.datetime) -> str:
    """A canonical, sortable text form: ISO 8601 in UTC with microseconds."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
