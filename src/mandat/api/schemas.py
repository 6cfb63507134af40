"""Bodies of the token API (checks, clients, mandates, events).

Plain pydantic models rather than ninja's ``Schema``: ninja's adds a wrapping validator
that reads attributes off ORM objects, which these bodies never need, and which costs
about 40 us per nested object (9 ms for a page of 100 clients).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

EmployerNumber = Annotated[
    str, StringConstraints(min_length=1, max_length=13, pattern=r"^[0-9A-Za-z]+$")
]
DomainCode = Annotated[
    str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
]
Action = Literal["consult", "act"]
Cursor = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,18}$")]
#: The most checks one batch may hold.
MAX_BATCH = 1000


class SpaceRef(BaseModel):
    id: int
    name: str


class ClientRef(BaseModel):
    client_id: str
    name: str
    expires_at: dt.datetime


class WhoamiOut(BaseModel):
    space: SpaceRef
    client: ClientRef
    scopes: list[str] = Field(description="`DOMAIN:action` items; `act` covers `consult`.")


class CheckIn(BaseModel):
    employer: EmployerNumber = Field(description="The employer number.")
    domain: DomainCode = Field(description="The domain code, for example `AFFILIATIONS`.")
    action: Action


class CheckOut(BaseModel):
    allowed: bool
    reason: Literal["active_mandate", "no_active_mandate"] = Field(
        description="`active_mandate`: the space holds the mandate named in `mandate`. "
        "`no_active_mandate`: it does not, or the employer is unknown (one answer for both)."
    )
    mandate: int | None = Field(description="The id of the mandate that allows it.")


class BatchIn(BaseModel):
    checks: list[CheckIn] = Field(min_length=1, max_length=MAX_BATCH)


class BatchOut(BaseModel):
    results: list[CheckOut] = Field(description="One result per check, in the same order.")


class EmployerRef(BaseModel):
    employer_number: str
    name: str


class ClientItem(BaseModel):
    employer: EmployerRef
    mandate: int
    level: Action
    since: dt.datetime = Field(description="When the mandate became active.")


class ClientPage(BaseModel):
    items: list[ClientItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: done.")


class MandateOut(BaseModel):
    id: int
    employer: EmployerRef
    domain: str
    level: Action
    kind: Literal["primary", "obtained"]
    status: Literal["pending", "active", "revoked", "expired"]
    end_cause: Literal["", "revoked", "renounced", "expired"]
    holder_space: int = Field(description="The id of the space that holds the mandate.")
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    activated_at: dt.datetime | None
    ended_at: dt.datetime | None


class MandatePage(BaseModel):
    items: list[MandateOut]
    next_cursor: str | None


class EndIn(BaseModel):
    reason: str = Field(default="", max_length=500)


class EventOut(BaseModel):
    id: int = Field(description="The event's place in the audit trail; ascending.")
    type: Literal["granted", "activated", "revoked", "expired", "renounced"]
    at: dt.datetime
    mandate: int
    employer: str = Field(description="The employer number.")
    domain: str
    level: Action
    kind: Literal["primary", "obtained"]
    holder_space: int


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to read on. Also present on the last page: keep it "
        "and poll with it to get only newer events."
    )
