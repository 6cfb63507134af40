"""The shapes of the certification API: what it accepts and what it returns."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field, StrictBool

from mandat.catalog.models import Level
from mandat.certification.models import RequestStatus
from mandat.mandates.models import MandateKind, MandateSource, MandateStatus

_NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]  # a database bigint
InstitutionCode = Annotated[str, Field(max_length=20, pattern=_NO_NUL)]
DomainCode = Annotated[str, Field(max_length=40, pattern=_NO_NUL)]
Number = Annotated[str, Field(max_length=20, pattern=_NO_NUL)]
Name = Annotated[str, Field(max_length=200, pattern=_NO_NUL)]
Code = Annotated[str, Field(max_length=64, pattern=_NO_NUL)]
Secret = Annotated[str, Field(max_length=200, pattern=_NO_NUL)]
Step = Literal["consent", "filer", "employer", "representatives", "security_code"]


# --- what the API returns -------------------------------------------------------------------


class DomainOut(Schema):
    institution: str
    code: str
    name: str = Field(description="In the language of the request.")


class EmployerOut(Schema):
    employer_number: str
    name: str


class FilerAnswer(Schema):
    name: str
    email: str
    phone: str


class EmployerAnswer(Schema):
    employer_number: str
    employer_name: str


class DelegationAnswer(Schema):
    domain: str
    registration_number: str
    name: str
    level: Level | None
    representative_found: bool = Field(description="The registry matched number and name.")


class RepresentativesAnswer(Schema):
    has_representative: bool | None
    same_representative: bool | None
    delegations: list[DelegationAnswer]


class Answers(Schema):
    """The draft's answers as typed, except the security code, which is never kept in clear."""

    consent_at: dt.datetime | None
    filer: FilerAnswer
    employer: EmployerAnswer
    representatives: RepresentativesAnswer
    security_code_set: bool


class CertificationRequestOut(Schema):
    id: int
    reference: str = Field(description="As printed on the letters: CR-0000042.")
    space_id: int
    institution: str
    employer: EmployerOut | None
    status: RequestStatus
    status_label: str = Field(description="In the language of the request.")
    answers: Answers
    missing_steps: list[Step] = Field(description="Steps to answer before signing, in order.")
    created_at: dt.datetime
    updated_at: dt.datetime
    signed_at: dt.datetime | None
    transmitted_at: dt.datetime | None
    issued_at: dt.datetime | None
    activation_deadline: dt.datetime | None = Field(
        description="After it, the posted codes are dead and the procedure starts again."
    )
    rejected_at: dt.datetime | None
    rejection_reason: str
    closed_at: dt.datetime | None


class MandateOut(Schema):
    id: int
    employer: EmployerOut
    domain: DomainOut
    space_id: int
    kind: MandateKind
    level: Level
    source: MandateSource
    status: MandateStatus
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    activated_at: dt.datetime | None


class RevocationPreviewOut(Schema):
    employer: EmployerOut
    domain: DomainOut
    certified: bool = Field(description="The employer's space holds this certification now.")


class RevocationOut(Schema):
    employer: EmployerOut
    domain: DomainOut
    ended_at: dt.datetime


# --- what the API accepts -------------------------------------------------------------------


class StartIn(Schema):
    institution: InstitutionCode | None = Field(
        default=None,
        description="The institution's code; by default the one the space's organisation is "
        "registered with as an employer.",
    )


class ConsentIn(Schema):
    consent: StrictBool = Field(description="Acceptance of the data-protection notice.")


class FilerIn(Schema):
    name: Name
    email: Annotated[str, Field(max_length=254, pattern=_NO_NUL)]
    phone: Annotated[str, Field(max_length=40, pattern=_NO_NUL)]


class EmployerIn(Schema):
    employer_number: Number
    employer_name: Name


class DelegationIn(Schema):
    domain: DomainCode
    registration_number: Number
    name: Name
    level: Level


class RepresentativesIn(Schema):
    has_representative: StrictBool
    same_representative: StrictBool | None = Field(
        default=None, description="Required when there is a representative."
    )
    delegations: list[DelegationIn] = Field(default_factory=list, max_length=50)


class SecurityCodeIn(Schema):
    security_code: Secret
    confirmation: Secret = Field(description="The security code, typed a second time.")


class TransmitIn(Schema):
    confirm: StrictBool = Field(description="The second confirmation the portal asks for.")


class RedeemIn(Schema):
    institution: InstitutionCode | None = Field(
        default=None, description="Needed only when two institutions use the domain's code."
    )
    domain: DomainCode = Field(description="The domain's code, as printed next to the code.")
    kind: Literal["holder", "representative"] = Field(
        description="holder: primary mandate, in the employer's own space; representative: "
        "obtained mandate, in the representative's space."
    )
    code: Code = Field(description="The access code from the letter, with or without dashes.")
    security_code: Secret


class RevocationCodeIn(Schema):
    code: Code = Field(description="The revocation code from the holder's letter.")


# --- look-ups -------------------------------------------------------------------------------
