"""Issuing: codes and the two letters; re-printing a lost letter; reminders and expiry."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.accounts.policies import require_agent
from mandat.catalog.models import Domain, Level
from mandat.certification.models import AccessCode, CertificationRequest, CodeKind, RequestStatus
from mandat.core import audit, codes, time
from mandat.core.errors import ApplicationError
from mandat.documents import services as documents
from mandat.documents.content import CodeLetter, CodeLine, Recipient
from mandat.documents.models import Letter, LetterKind, LetterStatus, Notice, NoticeKind
from mandat.registry.models import Representative


def reference(request: CertificationRequest) -> str:
    """The request's number as printed on its letters."""
    return f"CR-{request.pk:07d}"


def _new_code(
    request: CertificationRequest,
    domain: Domain,
    kind: str,
    *,
    level: str,
    expires_at: dt.datetime | None,
    representative_id: int | None = None,
) -> tuple[AccessCode, str]:
    """A code row (digest only) and the code's display form, which only the letter keeps."""
    clear = codes.generate()
    row = AccessCode(
        request=request,
        domain=domain,
        kind=kind,
        level=level,
        digest=codes.digest(clear),
        expires_at=expires_at,
        representative_id=representative_id,
    )
    return row, codes.display(clear)


def _representative_label(representative: Representative) -> str:
    return f"{representative.denomination} ({representative.registration_number})"


def _recipient(request: CertificationRequest) -> Recipient:
    employer = request.employer
    assert employer is not None  # noqa: S101 - a signed request always names its employer
    return Recipient(
        name=employer.name,
        address_line1=employer.address_line1,
        address_line2=employer.address_line2,
        postcode=employer.postcode,
        city=employer.city,
        country=employer.country,
    )


def _emit(
    request: CertificationRequest,
    kind: str,
    lines: list[CodeLine],
    rows: list[AccessCode],
    *,
    replaces: Letter | None = None,
) -> Letter:
    from mandat.documents import rendering

    employer = request.employer
    assert employer is not None  # noqa: S101
    assert request.issued_at is not None and request.activation_deadline is not None  # noqa: S101
    content = CodeLetter(
        kind=kind,
        language=employer.language,
        reference=reference(request),
        employer_name=employer.name,
        employer_number=employer.employer_number,
        recipient=_recipient(request),
        issued_at=time.now(),
        activation_deadline=request.activation_deadline,
        lines=tuple(lines),
        replaces_reference=f"L-{replaces.pk:07d}" if replaces else "",
    )
    rendered = rendering.render_code_letter(content)
    letter = documents.letter_store(
        content=content,
        employer=employer,
        request_id=request.pk,
        pdf=rendered.data,
        pages=rendered.pages,
        replaces=replaces,
    )
    for row in rows:
        row.letter = letter
    AccessCode.objects.bulk_create(rows)
    return letter


def issue(*, by: User | None, request: CertificationRequest) -> CertificationRequest:
    """Create every code and both letters. Needs a transaction; ``by=None`` is auto-issuing."""
    require_agent(by, platform_allowed=True)
    request = CertificationRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != RequestStatus.TRANSMITTED:
        raise ApplicationError(
            _("Only a transmitted request can be issued."), code="request_wrong_state"
        )
    stamp = time.now()
    request.status = RequestStatus.ISSUED
    request.issued_at, request.issued_by = stamp, by
    request.activation_deadline = stamp + dt.timedelta(
        days=settings.MANDAT_ACTIVATION_DEADLINE_DAYS
    )
    request.save()
    holder_lines, holder_rows = [], []
    for domain in Domain.objects.filter(institution=request.institution).order_by("position"):
        access, access_text = _new_code(
            request,
            domain,
            CodeKind.HOLDER,
            level=Level.ACT,
            expires_at=request.activation_deadline,
        )
        revocation, revocation_text = _new_code(
            request, domain, CodeKind.REVOCATION, level=Level.ACT, expires_at=None
        )
        holder_rows += [access, revocation]
        holder_lines.append(
            CodeLine(domain=domain, access_code=access_text, revocation_code=revocation_text)
        )
    _emit(request, LetterKind.HOLDER_CODES, holder_lines, holder_rows)
    delegated_lines, delegated_rows = [], []
    for delegation in request.delegations.select_related("domain", "representative"):
        representative = delegation.representative
        assert representative is not None  # noqa: S101 - checked before signing
        row, text = _new_code(
            request,
            delegation.domain,
            CodeKind.REPRESENTATIVE,
            level=delegation.level,
            expires_at=request.activation_deadline,
            representative_id=representative.pk,
        )
        delegated_rows.append(row)
        delegated_lines.append(
            CodeLine(
                domain=delegation.domain,
                access_code=text,
                level=delegation.level,
                representative=_representative_label(representative),
            )
        )
    if delegated_rows:
        _emit(request, LetterKind.REPRESENTATIVE_CODES, delegated_lines, delegated_rows)
    audit.record(
        "request.issued",
        actor_id=by.pk if by else None,
        employer_id=request.employer_id,
        obj=request,
        data={
            "codes": len(holder_rows) + len(delegated_rows),
            "deadline": request.activation_deadline.isoformat(),
            "automatic": by is None,
        },
    )
    return request


@transaction.atomic(durable=True)
def request_issue(*, by: User | None, request: CertificationRequest) -> CertificationRequest:
    return issue(by=by, request=request)


@transaction.atomic(durable=True)
def letter_reprint(*, by: User, letter: Letter) -> Letter:
    """Replace a lost letter: its unused codes die and new ones go out in a new letter.

    Nothing is ever shown again in clear: the new letter carries new codes.
    """
    require_agent(by)
    letter = Letter.objects.select_for_update().get(pk=letter.pk)
    request = letter.request
    if request is None or request.status != RequestStatus.ISSUED:
        raise ApplicationError(
            _("Only the letters of a request whose codes are still awaited can be re-printed."),
            code="request_wrong_state",
        )
    if hasattr(letter, "replaced_by"):
        raise ApplicationError(_("This letter has already been replaced."), code="letter_replaced")
    stamp = time.now()
    old_codes = list(
        # Lock the codes only: PostgreSQL refuses FOR UPDATE on the nullable side of the
        # outer join to the representative.
        AccessCode.objects.select_for_update(of=("self",))
        .filter(letter=letter, used_at__isnull=True, invalidated_at__isnull=True)
        .select_related("domain", "representative")
    )
    if not old_codes:
        raise ApplicationError(
            _("Every code of this letter has been used; there is nothing to re-print."),
            code="letter_fully_used",
        )
    AccessCode.objects.filter(pk__in=[c.pk for c in old_codes]).update(invalidated_at=stamp)
    if letter.status == LetterStatus.QUEUED:
        letter.status = LetterStatus.CANCELLED
        letter.pdf_encrypted = None
        letter.save(update_fields=["status", "pdf_encrypted"])
    lines: dict[int, CodeLine] = {}
    rows = []
    for old in old_codes:
        row, text = _new_code(
            request,
            old.domain,
            old.kind,
            level=old.level,
            expires_at=None if old.kind == CodeKind.REVOCATION else request.activation_deadline,
            representative_id=old.representative_id,
        )
        rows.append(row)
        line = lines.get(old.domain_id) or CodeLine(domain=old.domain, access_code="")
        if old.kind == CodeKind.REVOCATION:
            line = CodeLine(domain=line.domain, access_code=line.access_code, revocation_code=text)
        elif old.kind == CodeKind.HOLDER:
            line = CodeLine(
                domain=line.domain, access_code=text, revocation_code=line.revocation_code
            )
        else:
            representative = old.representative
            assert representative is not None  # noqa: S101
            line = CodeLine(
                domain=line.domain,
                access_code=text,
                level=old.level,
                representative=_representative_label(representative),
            )
        lines[old.domain_id] = line
    ordered = sorted(lines.values(), key=lambda line: line.domain.position)
    new_letter = _emit(request, letter.kind, ordered, rows, replaces=letter)
    audit.record(
        "letter.reprinted",
        actor_id=by.pk,
        employer_id=letter.employer_id,
        obj=new_letter,
        data={"replaces": letter.pk, "codes_invalidated": len(old_codes)},
    )
    return new_letter


def _pending_codes(request: CertificationRequest) -> list[AccessCode]:
    return list(
        AccessCode.objects.filter(
            request=request,
            used_at__isnull=True,
            invalidated_at__isnull=True,
            kind__in=[CodeKind.HOLDER, CodeKind.REPRESENTATIVE],
        ).select_related("domain", "representative")
    )


def requests_remind_due(*, now: dt.datetime | None = None) -> int:
    """Tell each employer's space, a week before the deadline, which codes still wait."""
    moment = now or time.now()
    horizon = moment + dt.timedelta(days=settings.MANDAT_REMINDER_DAYS)
    reminded = 0
    due = CertificationRequest.objects.filter(
        status=RequestStatus.ISSUED,
        reminder_sent_at__isnull=True,
        activation_deadline__gt=moment,
        activation_deadline__lte=horizon,
    ).values_list("pk", flat=True)
    for request_id in list(due):
        with transaction.atomic(durable=True):
            request = CertificationRequest.objects.select_for_update().get(pk=request_id)
            if request.reminder_sent_at is not None:
                continue
            pending = _pending_codes(request)
            if pending:
                assert request.activation_deadline is not None  # noqa: S101
                Notice.objects.create(
                    space=request.space,
                    kind=NoticeKind.ACTIVATION_REMINDER,
                    params={
                        "request": request.pk,
                        "reference": reference(request),
                        "deadline": request.activation_deadline.isoformat(),
                        "pending": [
                            {
                                "domain": c.domain.code,
                                "kind": c.kind,
                                "representative": c.representative.denomination
                                if c.representative
                                else "",
                            }
                            for c in pending
                        ],
                    },
                )
                reminded += 1
            request.reminder_sent_at = moment
            request.save(update_fields=["reminder_sent_at"])
            audit.record(
                "request.reminded",
                employer_id=request.employer_id,
                obj=request,
                data={"pending": len(pending)},
            )
    return reminded


def requests_expire_due(*, now: dt.datetime | None = None) -> int:
    """After the deadline, unredeemed codes are dead and the request becomes expired."""
    moment = now or time.now()
    expired = 0
    due = CertificationRequest.objects.filter(
        status=RequestStatus.ISSUED, activation_deadline__lte=moment
    ).values_list("pk", flat=True)
    for request_id in list(due):
        with transaction.atomic(durable=True):
            request = CertificationRequest.objects.select_for_update().get(pk=request_id)
            if request.status != RequestStatus.ISSUED:
                continue
            request.status, request.closed_at = RequestStatus.EXPIRED, moment
            request.save(update_fields=["status", "closed_at", "updated_at"])
            Notice.objects.create(
                space=request.space,
                kind=NoticeKind.REQUEST_EXPIRED,
                params={"request": request.pk, "reference": reference(request)},
            )
            audit.record("request.expired", employer_id=request.employer_id, obj=request)
            expired += 1
    return expired
