"""Letters: queue for the post or deliver to the e-Box; print batches; eDelivery switch-on;
reading the e-Box (download, read and unread)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.accounts.policies import require_agent
from mandat.catalog.models import Domain
from mandat.core import audit, time
from mandat.core.errors import ApplicationError, NotFoundOrForbidden
from mandat.documents import vault
from mandat.documents.content import CodeLetter, ContributionStatement, Recipient, StatementLine
from mandat.documents.models import (
    Delivery,
    DispatchBatch,
    EDelivery,
    Letter,
    LetterKind,
    LetterStatus,
    Notice,
    NoticeKind,
)
from mandat.documents.selectors import deliveries_visible_to
from mandat.mandates.models import Mandate, MandateKind, MandateStatus
from mandat.registry.models import Employer
from mandat.spaces.models import Space

if TYPE_CHECKING:
    from mandat.documents.rendering import RenderedPdf


def edelivery_space(*, employer: Employer, domains: list[Domain]) -> Space | None:
    """The e-Box that receives documents on all of ``domains``, if eDelivery is on for each."""
    subscriptions = list(EDelivery.objects.filter(employer=employer, domain__in=domains))
    spaces = {s.space_id for s in subscriptions}
    if len(subscriptions) != len(set(domains)) or len(spaces) != 1:
        return None
    return Space.objects.filter(pk=spaces.pop(), closed_at__isnull=True).first()


def letter_store(
    *,
    content: CodeLetter,
    employer: Employer,
    request_id: int | None,
    pdf: bytes,
    pages: int,
    replaces: Letter | None = None,
) -> Letter:
    """Keep a rendered letter (encrypted) and route it: e-Box if eDelivery is on, else post.

    Runs in the caller's transaction.
    """
    domains = [line.domain for line in content.lines]
    space = edelivery_space(employer=employer, domains=domains)
    recipient = content.recipient
    letter = Letter.objects.create(
        employer=employer,
        request_id=request_id,
        kind=content.kind,
        language=content.language,
        recipient=recipient.name,
        address_line1=recipient.address_line1,
        address_line2=recipient.address_line2,
        postcode=recipient.postcode,
        city=recipient.city,
        country=recipient.country,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        pages=pages,
        replaces=replaces,
        status=LetterStatus.DELIVERED if space else LetterStatus.QUEUED,
        delivered_to=space,
    )
    _keep_and_deliver(letter, pdf=pdf, domains=domains, space=space)
    audit.record(
        "letter.stored",
        employer_id=employer.pk,
        obj=letter,
        data={
            "kind": letter.kind,
            "status": letter.status,
            "sha256": letter.pdf_sha256,
            "request": request_id,
        },
    )
    return letter


def _keep_and_deliver(
    letter: Letter, *, pdf: bytes, domains: list[Domain], space: Space | None
) -> None:
    """Seal the letter's PDF; in an e-Box, file it there and tell the space something arrived."""
    letter.pdf_encrypted = vault.seal(pdf, label=f"letter:{letter.pk}")
    letter.save(update_fields=["pdf_encrypted"])
    letter.domains.set(domains)
    if space is not None:
        delivery = Delivery.objects.create(space=space, employer=letter.employer, letter=letter)
        Notice.objects.create(
            space=space,
            kind=NoticeKind.DOCUMENT_DELIVERED,
            delivery=delivery,
            params={"letter": letter.pk, "employer": letter.employer.name},
        )


def statement_send(
    *, employer: Employer, domain: Domain, period: dt.date, lines: Sequence[StatementLine]
) -> Letter:
    """Render a month's contribution statement and send it: to the e-Box if eDelivery is on
    for its domain, else to the post queue.

    The PDF is laid out before the transaction opens, so no lock waits on WeasyPrint.
    """
    from mandat.documents import rendering

    month = period.replace(day=1)
    following = (month + dt.timedelta(days=32)).replace(day=1)
    content = ContributionStatement(
        language=employer.language,
        reference=f"CS-{employer.employer_number}-{month:%Y%m}",
        employer_name=employer.name,
        employer_number=employer.employer_number,
        recipient=Recipient(
            name=employer.name,
            address_line1=employer.address_line1,
            address_line2=employer.address_line2,
            postcode=employer.postcode,
            city=employer.city,
            country=employer.country,
        ),
        issued_at=time.now(),
        domain=domain,
        period=month,
        due_date=(following + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1),
        lines=tuple(lines),
    )
    rendered = rendering.render_statement(content)
    return _statement_store(content=content, employer=employer, rendered=rendered)


@transaction.atomic(durable=True)
def _statement_store(
    *, content: ContributionStatement, employer: Employer, rendered: RenderedPdf
) -> Letter:
    space = edelivery_space(employer=employer, domains=[content.domain])
    recipient = content.recipient
    letter = Letter.objects.create(
        employer=employer,
        kind=LetterKind.CONTRIBUTION_STATEMENT,
        language=content.language,
        recipient=recipient.name,
        address_line1=recipient.address_line1,
        address_line2=recipient.address_line2,
        postcode=recipient.postcode,
        city=recipient.city,
        country=recipient.country,
        pdf_sha256=hashlib.sha256(rendered.data).hexdigest(),
        pages=rendered.pages,
        period=content.period,
        status=LetterStatus.DELIVERED if space else LetterStatus.QUEUED,
        delivered_to=space,
    )
    _keep_and_deliver(letter, pdf=rendered.data, domains=[content.domain], space=space)
    audit.record(
        "letter.stored",
        employer_id=employer.pk,
        obj=letter,
        data={
            "kind": letter.kind,
            "status": letter.status,
            "sha256": letter.pdf_sha256,
            "reference": content.reference,
        },
    )
    return letter


def _visible_delivery(*, by: User, delivery: Delivery, lock: bool = False) -> Delivery:
    """The delivery again from the database, if ``by`` may open it; else not found."""
    found = deliveries_visible_to(user=by, space=delivery.space).filter(pk=delivery.pk)
    if lock:
        found = found.select_for_update(of=("self",))
    visible = found.select_related("letter").first()
    if visible is None:
        raise NotFoundOrForbidden(
            _("This document does not exist or you may not see it."), code="not_found"
        )
    return visible


def _mark(delivery: Delivery, *, by: User, read: bool) -> bool:
    """Set the read state; True when it changed (and was audited)."""
    if (delivery.read_at is not None) == read:
        return False
    delivery.read_at, delivery.read_by = (time.now(), by) if read else (None, None)
    delivery.save(update_fields=["read_at", "read_by"])
    if read:  # its "new document" notice has done its job
        Notice.objects.filter(
            space_id=delivery.space_id,
            kind=NoticeKind.DOCUMENT_DELIVERED,
            read_at__isnull=True,
            params__letter=delivery.letter_id,
        ).update(read_at=delivery.read_at)
    audit.record(
        "delivery.read" if read else "delivery.unread",
        actor_id=by.pk,
        employer_id=delivery.employer_id,
        obj=delivery,
        data={"space": delivery.space_id, "letter": delivery.letter_id},
    )
    return True


@transaction.atomic(durable=True)
def delivery_open(*, by: User, delivery: Delivery) -> bytes:
    """A member downloads an e-Box document: its PDF, audited; the first opening marks it read.

    The download is recorded every time, since a letter with access codes shows them in clear.
    """
    delivery = _visible_delivery(by=by, delivery=delivery, lock=True)
    pdf = letter_pdf(delivery.letter)
    _mark(delivery, by=by, read=True)
    audit.record(
        "delivery.downloaded",
        actor_id=by.pk,
        employer_id=delivery.employer_id,
        obj=delivery,
        data={"space": delivery.space_id, "letter": delivery.letter_id},
    )
    return pdf


@transaction.atomic(durable=True)
def delivery_mark_read(*, by: User, delivery: Delivery) -> Delivery:
    """A member marks an e-Box document as read, for the whole space."""
    delivery = _visible_delivery(by=by, delivery=delivery, lock=True)
    _mark(delivery, by=by, read=True)
    return delivery


@transaction.atomic(durable=True)
def delivery_mark_unread(*, by: User, delivery: Delivery) -> Delivery:
    """A member puts an e-Box document back among the unread ones, for the whole space."""
    delivery = _visible_delivery(by=by, delivery=delivery, lock=True)
    _mark(delivery, by=by, read=False)
    return delivery


def letter_pdf(letter: Letter) -> bytes:
    """The letter's PDF, while it is still kept (until it is posted)."""
    if letter.pdf_encrypted is None:
        raise ApplicationError(
            _("This letter has been posted; its content is no longer kept."),
            code="letter_erased",
        )
    return vault.unseal(bytes(letter.pdf_encrypted), label=f"letter:{letter.pk}")


def queued_letters() -> list[Letter]:
    """Letters waiting for the post, in address order (country, postcode, city, name)."""
    return list(
        Letter.objects.filter(status=LetterStatus.QUEUED, batch__isnull=True)
        .defer("pdf_encrypted")
        .order_by("country", "postcode", "city", "recipient", "pk")
    )


@transaction.atomic(durable=True)
def batch_create(*, by: User) -> DispatchBatch:
    """Put every queued letter into a new print batch."""
    require_agent(by)
    letters = list(
        Letter.objects.select_for_update()
        .filter(status=LetterStatus.QUEUED, batch__isnull=True)
        .order_by("country", "postcode", "city", "recipient", "pk")
    )
    if not letters:
        raise ApplicationError(_("No letter is waiting for printing."), code="batch_empty")
    batch = DispatchBatch.objects.create(created_by=by, letter_count=len(letters))
    Letter.objects.filter(pk__in=[letter.pk for letter in letters]).update(batch=batch)
    audit.record("batch.created", actor_id=by.pk, obj=batch, data={"letters": len(letters)})
    return batch


def batch_letters(batch: DispatchBatch) -> list[Letter]:
    """The batch's letters to print. A letter re-printed before posting is left out: its
    codes are dead and its PDF is erased; its replacement goes into a later batch."""
    return list(
        batch.letters.exclude(status=LetterStatus.CANCELLED).order_by(
            "country", "postcode", "city", "recipient", "pk"
        )
    )


@transaction.atomic(durable=True)
def batch_dispatch(*, by: User, batch: DispatchBatch) -> DispatchBatch:
    """Mark a printed batch as posted; the letters' PDFs (with their codes) are erased."""
    require_agent(by)
    batch = DispatchBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.dispatched_at is not None:
        raise ApplicationError(_("This batch has already been posted."), code="batch_dispatched")
    stamp = time.now()
    batch.dispatched_at, batch.dispatched_by = stamp, by
    batch.save(update_fields=["dispatched_at", "dispatched_by"])
    letters = batch.letters.filter(status=LetterStatus.QUEUED)
    entries = [
        audit.Entry(
            action="letter.dispatched",
            actor_id=by.pk,
            employer_id=letter.employer_id,
            object_type="documents.letter",
            object_id=str(letter.pk),
            data={"batch": batch.pk, "sha256": letter.pdf_sha256},
        )
        for letter in letters
    ]
    letters.update(status=LetterStatus.DISPATCHED, dispatched_at=stamp, pdf_encrypted=None)
    audit.record_many(entries)
    return batch


def edelivery_note_use(*, space: Space, employer: Employer, domain: Domain) -> EDelivery | None:
    """The first use of a domain by a certified space switches eDelivery on for it.

    Call it when a space views or does anything in a domain it is certified
    for. Returns the subscription when this call switched it on.
    """
    if EDelivery.objects.filter(employer=employer, domain=domain).exists():
        return None
    certified = Mandate.objects.filter(
        employer=employer,
        domain=domain,
        grantee_space=space,
        kind=MandateKind.PRIMARY,
        status=MandateStatus.ACTIVE,
    ).exists()
    if not certified:
        return None
    try:
        with transaction.atomic():
            subscription = EDelivery.objects.create(
                employer=employer, domain=domain, space=space, activated_at=time.now()
            )
            audit.record(
                "edelivery.activated",
                employer_id=employer.pk,
                obj=subscription,
                data={"domain": domain.code, "space": space.pk},
            )
    except IntegrityError:  # another request switched it on first
        return None
    return subscription


@transaction.atomic(durable=True)
def notice_mark_read(*, by: User, notice: Notice) -> Notice:
    """A member of the notice's space has read it: it leaves the space's unread notices."""
    notice = Notice.objects.select_for_update().get(pk=notice.pk)
    if not notice.space.memberships.filter(user=by, removed_at__isnull=True).exists():
        raise ApplicationError(
            _("Only a member of this space may do this."), code="space_member_required"
        )
    if notice.read_at is None:
        notice.read_at = time.now()
        notice.save(update_fields=["read_at"])
    return notice
