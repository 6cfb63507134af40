"""Bulk redemption: many representative access codes into one space, each line on its own.

Payroll software redeems the codes of a whole batch of client letters at once
(``POST /api/v1/redemptions``). Every line is redeemed exactly as one code typed
into the portal would be (``redemption._redeem``, its own durable transaction),
so the rules do not fork:

- an unknown code and a wrong security code get one answer (``code_unknown``),
  and neither is revealed;
- a wrong security code counts as a try even though the line fails, and the
  fifth locks the code, whether the tries come in one file or in many;
- a typing error (failed check symbol) is ``code_typo`` and costs no try;
- the security code is checked before the line's transaction opens, so the slow
  hash never holds the database's write lock (see ``redemption``).

An API client may be limited to the domains it may act in (``allowed_domains``): a
line whose code is for another domain is ``scope_missing``, told only once its
security code proved right, and it neither uses the code nor costs a try.

One bad line never blocks the others: each line commits or fails alone, so
``code_redeem_bulk`` runs outside any transaction (it owns none; each line owns
its own). Replaying a file is harmless: a code already redeemed by *this*
space answers ``already_redeemed_here`` with its mandate, never an error, and
only after its security code was right, like a success would be.

Duplicate lines are settled before anything runs: the second and later
occurrences of the same code with the same security code are ``duplicate_line``
and point at the first; they are not tried again, so a duplicated wrong line
costs one try, not two. The same code with a *different* security code is a
new guess and runs in its turn (in line order).

A call may be given a time budget: the lines it does not reach are ``not_attempted``
(untouched), for the caller to send again. Replaying them is as harmless as any replay.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from time import monotonic

from django.db import transaction
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.catalog.models import Domain
from mandat.certification.models import AccessCode, CodeKind
from mandat.certification.redemption import _redeem
from mandat.core import audit, codes, throttle
from mandat.core.codes import CodeTypo
from mandat.core.errors import ApplicationError
from mandat.mandates.models import Mandate
from mandat.spaces.models import Space

#: The most lines one call may carry (JSON lines or CSV data lines).
MAX_LINES = 500
#: The largest CSV upload read, in bytes: 500 lines of two codes and a few extra columns.
MAX_CSV_BYTES = 256 * 1024
#: Longest values a line may hold (as the single redemption's schema allows).
MAX_CODE_LENGTH = 64
MAX_SECURITY_CODE_LENGTH = 200

#: What a line's answer can be. Every status but the first two is a failure.
REDEEMED = "redeemed"
ALREADY_REDEEMED_HERE = "already_redeemed_here"
DUPLICATE_LINE = "duplicate_line"
LINE_INVALID = "line_invalid"
CODE_TYPO = "code_typo"
CODE_UNKNOWN = "code_unknown"
CODE_LOCKED = "code_locked"
CODE_EXPIRED = "code_expired"
CODE_INVALIDATED = "code_invalidated"
CODE_USED = "code_used"
WRONG_KIND = "wrong_kind"
WRONG_SPACE = "wrong_space"
MANDATE_EXISTS = "mandate_exists"
SCOPE_MISSING = "scope_missing"
REFUSED = "refused"
NOT_ATTEMPTED = "not_attempted"

STATUSES = (
    REDEEMED,
    ALREADY_REDEEMED_HERE,
    DUPLICATE_LINE,
    LINE_INVALID,
    CODE_TYPO,
    CODE_UNKNOWN,
    CODE_LOCKED,
    CODE_EXPIRED,
    CODE_INVALIDATED,
    CODE_USED,
    WRONG_KIND,
    WRONG_SPACE,
    MANDATE_EXISTS,
    SCOPE_MISSING,
    REFUSED,
    NOT_ATTEMPTED,
)

#: The single redemption's error codes, as a line status.
_STATUS_OF_ERROR = {
    "code_typo": CODE_TYPO,
    "code_or_security_wrong": CODE_UNKNOWN,
    "code_locked": CODE_LOCKED,
    "code_expired": CODE_EXPIRED,
    "code_invalidated": CODE_INVALIDATED,
    "code_used": CODE_USED,
    "code_wrong_kind": WRONG_KIND,
    "code_wrong_space": WRONG_SPACE,
    "mandate_exists": MANDATE_EXISTS,
    "scope_missing": SCOPE_MISSING,
    # The caller failed too often and must wait (``mandat.core.throttle``): not tried.
    "too_many_failures": NOT_ATTEMPTED,
}


@dataclass(frozen=True)
class CodePair:
    """One line to redeem; ``line`` is how the answer names it (position or file line)."""

    line: int
    access_code: str
    security_code: str


@dataclass(frozen=True)
class LineResult:
    line: int
    access_code: str
    status: str
    message: str | Promise
    #: The mandate the line created (``redeemed``) or had created (``already_redeemed_here``).
    mandate: Mandate | None = None
    #: For ``duplicate_line``: the line that carries the same code and security code.
    first_line: int | None = None
    #: The refusing rule's own code when the status is the catch-all ``refused``.
    reason: str | None = None
    #: For ``line_invalid``: which value is wrong.
    field: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in (REDEEMED, ALREADY_REDEEMED_HERE)


@dataclass(frozen=True)
class CsvLines:
    """A parsed CSV upload: the pairs to redeem and the lines that could not be read."""

    pairs: list[CodePair]
    invalid: list[LineResult]


def _invalid(pair: CodePair, message: str | Promise, field: str) -> LineResult:
    return LineResult(
        line=pair.line,
        access_code=pair.access_code,
        status=LINE_INVALID,
        message=message,
        field=field,
    )


def _line_problem(pair: CodePair) -> LineResult | None:
    """Why a line cannot even be tried: a missing or oversized value, or a NUL character."""
    for field, value, longest in (
        ("access_code", pair.access_code, MAX_CODE_LENGTH),
        ("security_code", pair.security_code, MAX_SECURITY_CODE_LENGTH),
    ):
        if not value.strip():
            return _invalid(pair, _("This value is missing."), field)
        if len(value) > longest or "\x00" in value:
            return _invalid(
                pair, _("This value is too long or contains a forbidden character."), field
            )
    return None


def _mandate_answer(*, pair: CodePair, status: str, mandate: Mandate) -> LineResult:
    message = (
        _("The code was redeemed: the space now holds this mandate.")
        if status == REDEEMED
        else _("This space had already redeemed this code: nothing changed.")
    )
    return LineResult(
        line=pair.line,
        access_code=pair.access_code,
        status=status,
        message=message,
        mandate=mandate,
    )


def _mandate_here(*, canonical: str, space: Space) -> Mandate | None:
    """The mandate a used code created in ``space``, if it did."""
    code = (
        AccessCode.objects.select_related(
            "mandate", "mandate__employer", "mandate__domain__institution"
        )
        .filter(digest=codes.digest(canonical), mandate__grantee_space=space)
        .first()
    )
    return code.mandate if code is not None else None


def _redeem_line(
    *,
    pair: CodePair,
    canonical: str,
    space: Space,
    by: User | None,
    allowed_domains: Collection[str] | None,
    throttle_keys: Sequence[str] = (),
) -> LineResult:
    """Redeem one well-formed code in its own transaction, as the portal would."""
    found = (
        AccessCode.objects.select_related("domain").filter(digest=codes.digest(canonical)).first()
    )
    # The code names its domain, so the caller does not: an unknown code still runs
    # through the single redemption (any domain will do), to be refused and recorded alike.
    domain = found.domain if found is not None else Domain.objects.order_by("pk").first()
    if domain is None:  # no domain at all, so no code either
        return LineResult(
            line=pair.line,
            access_code=pair.access_code,
            status=CODE_UNKNOWN,
            message=_("The access code or the security code is not right."),
        )
    outcome = _redeem(
        by=by,
        space=space,
        domain=domain,
        kind=CodeKind.REPRESENTATIVE,
        canonical=canonical,
        security_code=pair.security_code,
        allowed_domains=allowed_domains,
        throttle_keys=throttle_keys,
    )
    if outcome.mandate is not None:
        return _mandate_answer(pair=pair, status=REDEEMED, mandate=outcome.mandate)
    error = outcome.error
    assert error is not None  # noqa: S101 - an outcome is a mandate or an error
    status = _STATUS_OF_ERROR.get(error.code, REFUSED)
    if status == CODE_USED:
        # Only reached with the right security code: telling "yours" from "another
        # space's" reveals nothing the caller could not see in its own mandates.
        mine = _mandate_here(canonical=canonical, space=space)
        if mine is not None:
            return _mandate_answer(pair=pair, status=ALREADY_REDEEMED_HERE, mandate=mine)
    return LineResult(
        line=pair.line,
        access_code=pair.access_code,
        status=status,
        message=str(error) if error.params else error.message,
        reason=error.code if status == REFUSED else None,
    )


def code_redeem_bulk(
    *,
    space: Space,
    pairs: Sequence[CodePair],
    by: User | None = None,
    client_id: str | None = None,
    seconds: float | None = None,
    allowed_domains: Collection[str] | None = None,
    address: str | None = None,
) -> list[LineResult]:
    """Redeem representative access codes into ``space``, one answer per line, in line order.

    ``by`` is the person acting, or None for an API client (``client_id``), which
    acts as its space: whoever calls has already checked that the caller may add
    certifications to ``space``. Each line commits alone; see the module's notes.

    Each tried line checks a security code with Argon2id, a deliberately slow hash
    (about 0.1 to 0.4 s in production), so 500 lines can outlast an HTTP request. With
    ``seconds``, lines are tried until that much time has passed; the lines left are
    answered ``not_attempted`` and nothing happened to them: send them again.

    ``allowed_domains`` (domain codes) limits the lines to codes of those domains, for
    an API client that may act in those only: any other line is ``scope_missing``,
    decided only once its security code proved right (an unknown or wrong line is
    ``code_unknown`` as ever), and that line neither uses the code nor costs a try.

    Failures count against the client (or person) and its IP ``address``
    (``mandat.core.throttle``); once they must wait, the remaining lines are
    ``not_attempted``, with the wait in their message.
    """
    throttle_keys = throttle.keys(
        account=by.pk if by is not None else None, client=client_id, address=address
    )
    if len(pairs) > MAX_LINES:
        raise ApplicationError(
            _("Send at most %(max)d lines at once."), code="too_many_lines", max=MAX_LINES
        )
    results: list[LineResult] = []
    first_of: dict[tuple[str, str], int] = {}
    deadline = monotonic() + seconds if seconds is not None else None
    for pair in pairs:
        problem = _line_problem(pair)
        if problem is not None:
            results.append(problem)
            continue
        try:
            canonical = codes.normalize(pair.access_code)
        except CodeTypo as typo:
            results.append(
                LineResult(
                    line=pair.line,
                    access_code=pair.access_code,
                    status=CODE_TYPO,
                    message=typo.message,
                )
            )
            continue
        key = (canonical, pair.security_code)
        if key in first_of:
            results.append(
                LineResult(
                    line=pair.line,
                    access_code=pair.access_code,
                    status=DUPLICATE_LINE,
                    message=_("The same code and security code are on an earlier line."),
                    first_line=first_of[key],
                )
            )
            continue
        if deadline is not None and monotonic() > deadline:
            results.append(
                LineResult(
                    line=pair.line,
                    access_code=pair.access_code,
                    status=NOT_ATTEMPTED,
                    message=_("This line was not tried: the call ran out of time. Send it again."),
                )
            )
            continue
        first_of[key] = pair.line
        results.append(
            _redeem_line(
                pair=pair,
                canonical=canonical,
                space=space,
                by=by,
                allowed_domains=allowed_domains,
                throttle_keys=throttle_keys,
            )
        )
    _record_batch(space=space, by=by, client_id=client_id, results=results)
    return results


@transaction.atomic(durable=True)
def _record_batch(
    *, space: Space, by: User | None, client_id: str | None, results: list[LineResult]
) -> None:
    """One audit event for the whole call, beside each line's own events."""
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    audit.record(
        "code.redeem_bulk",
        actor_id=by.pk if by is not None else None,
        obj=space,
        data={
            "space": space.pk,
            "client": client_id,
            "lines": len(results),
            "statuses": dict(sorted(counts.items())),
        },
    )


# --- the CSV form ------------------------------------------------------------------------------

_REQUIRED_COLUMNS = ("access_code", "security_code")


def _unreadable(message: str | Promise, **params: object) -> ApplicationError:
    return ApplicationError(message, code="csv_unreadable", field="file", **params)


def csv_lines(data: bytes) -> CsvLines:
    """Read an uploaded CSV: a header ``access_code,security_code`` (in any order, other
    columns ignored), ``;`` or ``,`` between values, UTF-8 with or without a BOM.

    A line that cannot be read is answered ``line_invalid`` with its line number in
    the file (the header is line 1); a file that cannot be read at all, or with
    more than ``MAX_LINES`` data lines, raises ``ApplicationError`` (``csv_unreadable``,
    ``too_many_lines``). Blank lines are skipped.
    """
    if len(data) > MAX_CSV_BYTES:
        raise _unreadable(_("The file is larger than %(max)d KiB."), max=MAX_CSV_BYTES // 1024)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _unreadable(_("The file is not UTF-8 text.")) from error
    if "\x00" in text:
        raise _unreadable(_("The file is not a text file."))
    lines = text.splitlines()
    header = lines[0] if lines else ""
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        columns = [name.strip().lower() for name in next(reader, [])]
    except csv.Error as error:
        raise _unreadable(_("The first line of the file cannot be read.")) from error
    missing = [name for name in _REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise _unreadable(_("The first line must name the columns access_code and security_code."))
    code_at, secret_at = (columns.index(name) for name in _REQUIRED_COLUMNS)
    pairs: list[CodePair] = []
    invalid: list[LineResult] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:
            line = reader.line_num
            invalid.append(
                LineResult(
                    line=line,
                    access_code="",
                    status=LINE_INVALID,
                    message=_("This line cannot be read (check its quotes)."),
                )
            )
            continue
        if not any(value.strip() for value in row):
            continue
        line = reader.line_num
        if len(pairs) + len(invalid) >= MAX_LINES:
            raise ApplicationError(
                _("Send at most %(max)d lines at once."), code="too_many_lines", max=MAX_LINES
            )
        if len(row) <= max(code_at, secret_at):
            invalid.append(
                LineResult(
                    line=line,
                    access_code=row[code_at].strip() if len(row) > code_at else "",
                    status=LINE_INVALID,
                    message=_("This line has fewer values than the first line names."),
                    field="security_code" if len(row) > code_at else "access_code",
                )
            )
            continue
        pairs.append(
            CodePair(line=line, access_code=row[code_at].strip(), security_code=row[secret_at])
        )
    return CsvLines(pairs=pairs, invalid=invalid)


def code_redeem_csv(
    *,
    space: Space,
    data: bytes,
    by: User | None = None,
    client_id: str | None = None,
    seconds: float | None = None,
    allowed_domains: Collection[str] | None = None,
    address: str | None = None,
) -> list[LineResult]:
    """``code_redeem_bulk`` for an uploaded CSV file; the answers in file line order."""
    parsed = csv_lines(data)
    results = code_redeem_bulk(
        space=space,
        pairs=parsed.pairs,
        by=by,
        client_id=client_id,
        seconds=seconds,
        allowed_domains=allowed_domains,
        address=address,
    )
    return sorted([*results, *parsed.invalid], key=lambda result: result.line)
