from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client


@pytest.mark.django_db
def test_health_answers_with_the_database_in_use(client: Client) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] in {"sqlite", "postgresql"}


def test_committed_openapi_document_is_current() -> None:
    spec = Path(__file__).resolve().parents[2] / "openapi.json"
    call_command("openapi", "--check", "-o", str(spec))
