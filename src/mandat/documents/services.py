"""Letters: queue for the post or deliver to the e-Box; print batches; eDelivery switch-on."""

from __future__ import annotations

import hashlib

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.accounts.policies import require_agent
from mandat.catalog.models import Domain
from mandat.core import audit, time
from mandat.core.errors import ApplicationError
from mandat.documents import vault
from mandat.documents.content import CodeLetter
from mandat.documents.models import (
    Delivery,
    DispatchBatch,
    EDelivery,
    Letter,
    LetterStatus,
    Notice,
    NoticeKind,
)
from mandat.mandates.models import Mandate, MandateKind, MandateStatus
from mandat.registry.models import Employer
from mandat.spaces.models import Space


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
    letter.pdf_encrypted = vault.seal(pdf, label=f"letter:{letter.pk}")
    letter.save(update_fields=["pdf_encrypted"])
    letter.domains.set(domains)
    if space is not None:
        Delivery.objects.create(space=space, employer=employer, letter=letter)
        Notice.objects.create(
            space=space,
            kind=NoticeKind.DOCUMENT_DELIVERED,
            params={"letter": letter.pk, "employer": employer.name},
        )
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
