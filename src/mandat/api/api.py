"""The HTTP API, versioned under /api/v1/. Its OpenAPI document is committed as openapi.json."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest
from ninja import NinjaAPI, Schema

api = NinjaAPI(
    title="mandat API",
    version="1.0.0",
    urls_namespace="api-v1",
    description="Delegated access to e-government services: checks, clients and mandates.",
)


class Health(Schema):
    status: str
    database: str


@api.get("/health", response=Health, auth=None, tags=["service"])
def health(request: HttpRequest) -> Health:
    """Liveness and database reachability, for load balancers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return Health(status="ok", database=connection.vendor)
