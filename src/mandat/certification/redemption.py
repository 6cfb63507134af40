"""Procedure C: redeem an access code into a space; end a certification with a revocation code.

The security code is checked with Argon2id (slow on purpose) before any
transaction opens; then a short transaction locks the code's row and applies the
result to the state found there (``_redeem``). An unknown code is checked against a
dummy hash, so that it answers no faster than a known one.

A wrong security code must count even though the redemption fails, so the
transaction returns its outcome instead of raising, commits the count, and the
error is raised afterwards.
"""

from __future__ import annotations

import secrets as pysecrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.catalog.models import Domain
from mandat.certification.models import AccessCode, CertificationRequest, CodeKind, RequestStatus
from mandat.core import audit, codes, secrets, throttle, time
from mandat.core.errors import ApplicationError
from mandat.mandates import services as mandates
from mandat.mandates.models import EndCause, Mandate, MandateKind, MandateSource, MandateStatus
from mandat.spaces import selectors as space_selectors
from mandat.spaces.models import Space


def _wrong_pair() -> ApplicationError:
    # One answer for an unknown code and a wrong security code: neither is revealed.
    return ApplicationError(
        _("The access code or the security code is not right."),
        code="code_or_security_wrong",
        field="code",
    )


@dataclass
class _Outcome:
    mandate: Mandate | None = None
    error: ApplicationError | None = None


def _refusal(
    code: AccessCode, *, kind: str, domain: Domain, space: Space
) -> ApplicationError | None:
    """Why a code whose security code was right still cannot certify ``space``."""
    now = time.now()
    if code.invalidated_at is not None:
        return ApplicationError(
            _("This code was replaced by a new letter. Use the code from the newest letter."),
            code="code_invalidated",
            field="code",
        )
    if code.used_at is not None:
        return ApplicationError(
            _("This code has already been used."), code="code_used", field="code"
        )
    if code.kind != kind:
        return ApplicationError(
            _("This is not a code of the kind you chose. Check which letter it comes from."),
            code="code_wrong_kind",
            field="code",
        )
    if code.domain_id != domain.pk:
        return ApplicationError(
            _("This code is for another domain. Choose the domain printed next to it."),
            code="code_wrong_domain",
            field="domain",
        )
    if (code.expires_at is not None and code.expires_at <= now) or (
        code.request.status == RequestStatus.EXPIRED
    ):
        return ApplicationError(
            _("This code has expired. The employer must file a new certification request."),
            code="code_expired",
            field="code",
        )
    employer = code.request.employer
    assert employer is not None  # noqa: S101
    if kind == CodeKind.HOLDER and space.organisation_id != employer.organisation_id:
        return ApplicationError(
            _("A holder access code certifies the employer's own space only."),
            code="code_wrong_space",
            field="code",
        )
    if kind == CodeKind.REPRESENTATIVE and (
        code.representative is None or space.organisation_id != code.representative.organisation_id
    ):
        return ApplicationError(
            _("This code is for another representative's space."),
            code="code_wrong_space",
            field="code",
        )
    return None


def _complete_if_done(request: CertificationRequest) -> None:
    # Two codes of one request redeemed at once must not both miss the completion.
    request = CertificationRequest.objects.select_for_update().get(pk=request.pk)
    waiting = AccessCode.objects.filter(
        request=request,
        used_at__isnull=True,
        invalidated_at__isnull=True,
        kind__in=[CodeKind.HOLDER, CodeKind.REPRESENTATIVE],
    )
    if request.status == RequestStatus.ISSUED and not waiting.exists():
        request.status, request.closed_at = RequestStatus.COMPLETED, time.now()
        request.save(update_fields=["status", "closed_at", "updated_at"])
        audit.record("request.completed", employer_id=request.employer_id, obj=request)


def _dummy_hash() -> str:
    """A hash of a secret nobody knows, made with the current Argon2 settings.

    An unknown code is checked against it, so that it costs the same Argon2 work as a
    known one: otherwise the time of the answer would tell which codes exist.
    """
    key = (settings.ARGON2_TIME_COST, settings.ARGON2_MEMORY_COST_KIB)
    stored = _DUMMY_HASHES.get(key)
    if stored is None:
        stored = _DUMMY_HASHES[key] = secrets.hash_secret(pysecrets.token_urlsafe(32))
    return stored


_DUMMY_HASHES: dict[tuple[int, int], str] = {}


@dataclass(frozen=True)
class _Verified:
    """What the security code check found, before any transaction."""

    code_pk: int | None  # None: no redeemable code has this digest
    security_hash: str
    right: bool


def _verify(*, canonical: str, security_code: str) -> _Verified:
    """Look the code up and check the security code, outside any transaction.

    Argon2id is slow on purpose (0.1 to 0.4 s in production): run under the write
    transaction, it would hold the database's write lock (SQLite) for that long. An
    unknown code is checked against a dummy hash, so both answers take as long.
    """
    found = (
        AccessCode.objects.filter(digest=codes.digest(canonical))
        .exclude(kind=CodeKind.REVOCATION)
        .values_list("pk", "request__security_code_hash")
        .first()
    )
    if found is None:
        secrets.verify_secret(_dummy_hash(), security_code)
        return _Verified(code_pk=None, security_hash="", right=False)
    code_pk, security_hash = found
    return _Verified(
        code_pk=code_pk,
        security_hash=security_hash,
        right=secrets.verify_secret(security_hash, security_code),
    )


def _redeem(
    *,
    by: User | None,
    space: Space,
    domain: Domain,
    kind: str,
    canonical: str,
    security_code: str,
    allowed_domains: Collection[str] | None = None,
    throttle_keys: Sequence[str] = (),
) -> _Outcome:
    """Check the security code first, then apply the result in a short transaction.

    ``allowed_domains``: when given, a code for a domain outside it is refused
    (``scope_missing``), once its security code proved right, without using the
    code or counting a try (``bulk.code_redeem_bulk`` for an API client's scopes).
    ``throttle_keys``: who guesses (``throttle.keys``); while they must wait, the try is
    refused before the slow hash runs, and each failure counts under them.
    Must be called outside any transaction.
    """
    wait = throttle.retry_after(scope=throttle.CODES, keys=throttle_keys)
    if wait:
        return _throttled(by=by, space=space, retry_after=wait)
    verified = _verify(canonical=canonical, security_code=security_code)
    return _apply(
        by=by,
        space=space,
        domain=domain,
        kind=kind,
        verified=verified,
        allowed_domains=allowed_domains,
        throttle_keys=throttle_keys,
    )


@transaction.atomic(durable=True)
def _throttled(*, by: User | None, space: Space, retry_after: int) -> _Outcome:
    """A try refused unseen, because its guesser failed too often: recorded, not counted."""
    audit.record(
        "code.redeem_failed",
        actor_id=by.pk if by is not None else None,
        data={"space": space.pk, "reason": "throttled", "retry_after": retry_after},
    )
    return _Outcome(error=throttle.Throttled(retry_after))


@transaction.atomic(durable=True)
def _apply(
    *,
    by: User | None,
    space: Space,
    domain: Domain,
    kind: str,
    verified: _Verified,
    allowed_domains: Collection[str] | None,
    throttle_keys: Sequence[str] = (),
) -> _Outcome:
    """Apply a verification to the code's state as found under its row lock.

    The lock serialises racing redemptions of one code: each sees the tries and the
    use the others committed, so five wrong security codes lock it however they
    race, and it is redeemed at most once.
    """
    # ``by`` is None when an API client redeems for its space (``bulk.code_redeem_bulk``).
    actor = by.pk if by is not None else None
    # An unknown code runs the same look-up, for a row that cannot exist (ids start at 1),
    # so that the time of the answer does not tell which codes exist (see _dummy_hash).
    code = (
        AccessCode.objects.select_for_update(of=("self",))
        .select_related("request", "request__employer", "representative", "domain")
        .filter(pk=verified.code_pk if verified.code_pk is not None else -1)
        .first()
    )
    if code is None:
        wait = throttle.failure(scope=throttle.CODES, keys=throttle_keys)
        audit.record(
            "code.redeem_failed",
            actor_id=actor,
            data={"space": space.pk, "reason": "unknown", "wait": wait},
        )
        return _Outcome(error=_wrong_pair())
    employer_id = code.request.employer_id
    if code.locked_at is not None:
        wait = throttle.failure(scope=throttle.CODES, keys=throttle_keys)
        audit.record(
            "code.redeem_failed",
            actor_id=actor,
            employer_id=employer_id,
            obj=code,
            data={"space": space.pk, "reason": "locked", "wait": wait},
        )
        return _Outcome(
            error=ApplicationError(
                _(
                    "This code is locked after too many wrong security codes. "
                    "The employer must ask for a new letter."
                ),
                code="code_locked",
                field="code",
            )
        )
    # A security code is chosen before the letters exist and never changes after; were
    # it changed in between, the check made against the old one would not count.
    right = verified.right and verified.security_hash == code.request.security_code_hash
    if not right:
        code.failed_attempts += 1
        if code.failed_attempts >= settings.MANDAT_CODE_MAX_TRIES:
            code.locked_at = time.now()
        code.save(update_fields=["failed_attempts", "locked_at"])
        wait = throttle.failure(scope=throttle.CODES, keys=throttle_keys)
        audit.record(
            "code.redeem_failed",
            actor_id=actor,
            employer_id=employer_id,
            obj=code,
            data={
                "space": space.pk,
                "reason": "security_code",
                "attempts": code.failed_attempts,
                "locked": code.locked_at is not None,
                "wait": wait,
            },
        )
        return _Outcome(error=_wrong_pair())
    refusal = _scope_refusal(code, allowed_domains) or _refusal(
        code, kind=kind, domain=domain, space=space
    )
    if refusal is not None:
        audit.record(
            "code.redeem_failed",
            actor_id=actor,
            employer_id=employer_id,
            obj=code,
            data={"space": space.pk, "reason": refusal.code},
        )
        return _Outcome(error=refusal)
    employer = code.request.employer
    assert employer is not None  # noqa: S101
    try:
        with transaction.atomic():
            mandate = mandates.grant(
                by=by,
                employer=employer,
                domain=domain,
                space=space,
                kind=MandateKind.PRIMARY if kind == CodeKind.HOLDER else MandateKind.OBTAINED,
                level=code.level,
                source=MandateSource.CERTIFICATION,
            )
    except ApplicationError as error:
        return _Outcome(error=error)
    code.used_at, code.used_by, code.mandate = time.now(), by, mandate
    code.save(update_fields=["used_at", "used_by", "mandate"])
    audit.record(
        "code.redeemed",
        actor_id=actor,
        employer_id=employer_id,
        obj=code,
        data={"space": space.pk, "mandate": mandate.pk, "kind": code.kind},
    )
    _complete_if_done(code.request)
    return _Outcome(mandate=mandate)


def _scope_refusal(
    code: AccessCode, allowed_domains: Collection[str] | None
) -> ApplicationError | None:
    """Why a caller limited to some domains may not redeem this (right) code.

    Checked before every other rule, so that nothing about a code outside the
    caller's domains (used, by whom, holding a mandate) is told.
    """
    if allowed_domains is None or code.domain.code in allowed_domains:
        return None
    return ApplicationError(
        _("This code is for a domain in which you may not act."),
        code="scope_missing",
        field="code",
    )


def code_redeem(
    *,
    by: User,
    space: Space,
    domain: Domain,
    kind: str,
    code: str,
    security_code: str,
    address: str | None = None,
) -> Mandate:
    """Certify ``space`` for ``domain`` with a posted access code and the security code.

    ``kind`` is ``holder`` (primary mandate, in the employer's own space) or
    ``representative`` (obtained mandate, in the named representative's space).
    A typing error fails the check symbol and is reported as such: it does not
    count as a try. Five wrong security codes lock the code. Failures also count
    against the account and its IP ``address`` (``mandat.core.throttle``): past a few,
    each try must wait longer, and is refused with ``Throttled`` until then.
    """
    if kind not in (CodeKind.HOLDER, CodeKind.REPRESENTATIVE):
        raise ValueError(f"not a redeemable kind: {kind!r}")
    if not space_selectors.is_admin(user=by, space=space):
        raise ApplicationError(
            _("Only an administrator of this space may add a certification."),
            code="space_admin_required",
        )
    canonical = codes.normalize(code)
    outcome = _redeem(
        by=by,
        space=space,
        domain=domain,
        kind=kind,
        canonical=canonical,
        security_code=security_code,
        throttle_keys=throttle.keys(account=by.pk, address=address),
    )
    if outcome.error is not None:
        raise outcome.error
    assert outcome.mandate is not None  # noqa: S101
    return outcome.mandate


@dataclass(frozen=True)
class RevocationPreview:
    employer_name: str
    employer_number: str
    domain: Domain
    certified: bool


def _revocation_code(canonical: str, *, lock: bool = False) -> AccessCode:
    codes_ = AccessCode.objects.select_related("request__employer", "domain")
    if lock:
        codes_ = codes_.select_for_update(of=("self",))
    code = codes_.filter(digest=codes.digest(canonical), kind=CodeKind.REVOCATION).first()
    if code is None or code.invalidated_at is not None:
        raise ApplicationError(
            _("This revocation code is not right."), code="revocation_code_wrong", field="code"
        )
    if code.used_at is not None:
        raise ApplicationError(
            _("This revocation code has already been used."),
            code="revocation_code_used",
            field="code",
        )
    return code


def _holder_mandate(code: AccessCode) -> Mandate | None:
    return Mandate.objects.filter(
        employer__certification_requests=code.request_id,
        domain_id=code.domain_id,
        kind=MandateKind.PRIMARY,
        status=MandateStatus.ACTIVE,
    ).first()


def revocation_preview(*, code: str) -> RevocationPreview:
    """What a revocation code would end, shown before the person confirms."""
    found = _revocation_code(codes.normalize(code))
    employer = found.request.employer
    assert employer is not None  # noqa: S101
    return RevocationPreview(
        employer_name=employer.name,
        employer_number=employer.employer_number,
        domain=found.domain,
        certified=_holder_mandate(found) is not None,
    )


@transaction.atomic(durable=True)
def certification_revoke_with_code(*, code: str, reason: str = "") -> Mandate:
    """End the holder certification of the code's employer and domain, without logging in."""
    found = _revocation_code(codes.normalize(code), lock=True)
    mandate = _holder_mandate(found)
    if mandate is None:
        raise ApplicationError(
            _(
                "This employer's space is not certified for this domain; there is nothing to "
                "revoke."
            ),
            code="nothing_to_revoke",
        )
    ended = mandates.end(
        by=None, mandate=mandate, cause=EndCause.REVOKED, reason=reason or "revocation code"
    )
    found.used_at, found.mandate = time.now(), ended
    found.save(update_fields=["used_at", "mandate"])
    audit.record(
        "code.revocation_used",
        employer_id=found.request.employer_id,
        obj=found,
        data={"mandate": ended.pk, "domain": found.domain.code},
    )
    return ended
