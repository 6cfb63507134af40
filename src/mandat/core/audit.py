"""Append to, verify and export the hash-chained audit trail."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models

from mandat.core import time
from mandat.core.models import GENESIS_HASH, AuditEvent, AuditHead

JsonValue = Any


@dataclass(frozen=True)
class Entry:
    """An event to append, before it has a place in the chain."""

    action: str
    actor_id: int | None = None
    employer_id: int | None = None
    object_type: str = ""
    object_id: str = ""
    data: Mapping[str, JsonValue] = field(default_factory=dict)


def canonical_form(
    *,
    seq: int,
    at: dt.datetime | str,
    actor_id: int | None,
    employer_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    data: Mapping[str, JsonValue],
    employer_seq: int | None = None,
) -> bytes:
    """The exact bytes an event's digest covers: sorted, compact JSON in UTF-8."""
    document: dict[str, JsonValue] = {
        "seq": seq,
        "at": at if isinstance(at, str) else time.utc_iso(at),
        "actor_id": actor_id,
        "employer_id": employer_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "data": data,
    }
    if employer_seq is not None:
        document["employer_seq"] = employer_seq
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_digest_of(event: AuditEvent) -> str:
    return hashlib.sha256(
        canonical_form(
            seq=event.seq,
            at=event.at,
            actor_id=event.actor_id,
            employer_id=event.employer_id,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            data=event.data,
            employer_seq=event.employer_seq,
        )
    ).hexdigest()


def link(prev_hash: str, content_digest: str) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + bytes.fromhex(content_digest)).hexdigest()


def _stored_float(text: str) -> float | int:
    """A JSON number as every database gives it back.

    PostgreSQL keeps JSON numbers as decimals and writes them out in full, so
    ``1e+16`` comes back as the integer ``10000000000000000``, and it has no
    negative zero. Digests are computed on that form, or the event just written
    would fail verification.
    """
    if "e+" in text or "E+" in text:
        return int(decimal.Decimal(text))
    return float(text) + 0.0  # -0.0 + 0.0 is 0.0


def _json_roundtrip(data: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
    """What the database will give back, so the digest is computed on that."""
    result: dict[str, JsonValue] = json.loads(
        json.dumps(data, default=str), parse_float=_stored_float
    )
    return result


def _last_employer_seqs(employer_ids: set[int | None]) -> dict[int, int]:
    """Each employer's last ``employer_seq``; read under the head lock, so it cannot race."""
    last: dict[int, int] = {}
    ids = sorted(i for i in employer_ids if i is not None)
    for start in range(0, len(ids), 500):
        rows = (
            AuditEvent.objects.filter(employer_id__in=ids[start : start + 500])
            .values("employer_id")
            .annotate(top=models.Max("employer_seq"))
        )
        last.update({row["employer_id"]: row["top"] or 0 for row in rows})
    return last


def record_many(entries: Iterable[Entry], *, at: dt.datetime | None = None) -> list[AuditEvent]:
    """Append events in order, in the caller's transaction, and return them."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit events are written in the transaction of the change")
    head = AuditHead.objects.select_for_update().get(pk=1)
    stamp = at or time.now()
    entries = list(entries)
    employer_seqs = _last_employer_seqs({e.employer_id for e in entries} - {None})
    events = []
    for entry in entries:
        employer_seq = None
        if entry.employer_id is not None:
            employer_seq = employer_seqs.get(entry.employer_id, 0) + 1
            employer_seqs[entry.employer_id] = employer_seq
        event = AuditEvent(
            seq=head.seq + 1,
            at=stamp,
            actor_id=entry.actor_id,
            employer_id=entry.employer_id,
            employer_seq=employer_seq,
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
            data=_json_roundtrip(entry.data),
            prev_hash=head.hash,
        )
        event.content_digest = content_digest_of(event)
        event.hash = link(event.prev_hash, event.content_digest)
        head.seq, head.hash = event.seq, event.hash
        events.append(event)
    if events:
        AuditEvent.objects.bulk_create(events, batch_size=500)
        head.save(update_fields=["seq", "hash"])
    return events


def record(
    action: str,
    *,
    actor_id: int | None = None,
    employer_id: int | None = None,
    obj: models.Model | None = None,
    data: Mapping[str, JsonValue] | None = None,
) -> AuditEvent:
    """Append one event describing ``action`` on ``obj``."""
    entry = Entry(
        action=action,
        actor_id=actor_id,
        employer_id=employer_id,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        data=data or {},
    )
    return record_many([entry])[0]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.checked} events verified"
        if self.broken_seq is None:
            return f"audit chain broken: {self.reason}"
        return f"audit chain broken at event #{self.broken_seq}: {self.reason}"


def _events_in_order(up_to: int, chunk: int = 2000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        page = list(AuditEvent.objects.filter(seq__gt=last, seq__lte=up_to).order_by("seq")[:chunk])
        if not page:
            return
        yield from page
        last = page[-1].seq


def verify_events(events: Iterable[AuditEvent], head: AuditHead) -> Verdict:
    """Check ``events``, in the order given, against each other and against ``head``.

    Reports the first broken link: a missing or misplaced event, an event whose
    content differs from its digest, or a chain that does not end at the head.
    Pure: touches no database, so any sequence of rows can be checked.
    """
    expected_seq, running = 1, GENESIS_HASH
    checked = 0
    for event in events:
        if event.seq != expected_seq:
            return Verdict(False, checked, expected_seq, "event missing or out of order")
        if event.prev_hash != running:
            return Verdict(False, checked, event.seq, "previous hash does not match the chain")
        if content_digest_of(event) != event.content_digest:
            return Verdict(False, checked, event.seq, "content differs from its digest")
        if link(event.prev_hash, event.content_digest) != event.hash:
            return Verdict(False, checked, event.seq, "hash does not match its link")
        running = event.hash
        expected_seq += 1
        checked += 1
    if head.seq > checked:
        return Verdict(False, checked, checked + 1, "events missing at the end of the chain")
    if head.seq < checked:
        return Verdict(False, checked, head.seq + 1, "events beyond the chain head")
    if head.hash != running:
        return Verdict(False, checked, checked, "the chain does not end at its recorded head")
    return Verdict(True, checked)


def verify() -> Verdict:
    """Walk the whole chain and report the first broken link, if any.

    The head is read first and the walk stops at it, so events appended while
    the walk runs are not mistaken for a break.
    """
    head = AuditHead.objects.get(pk=1)
    return verify_events(_events_in_order(head.seq), head)


def _event_document(event: AuditEvent) -> dict[str, JsonValue]:
    return {
        "seq": event.seq,
        "at": time.utc_iso(event.at),
        "actor_id": event.actor_id,
        "employer_id": event.employer_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "data": event.data,
        **({"employer_seq": event.employer_seq} if event.employer_seq is not None else {}),
    }


def export_for_employer(employer_id: int) -> dict[str, JsonValue]:
    """An employer's events with what proves them against the chain head.

    Every event from the employer's first one to the head is listed by its
    digest, so the chain can be recomputed link by link; only the employer's own
    events carry their content.
    """
    head = AuditHead.objects.get(pk=1)
    first = AuditEvent.objects.filter(employer_id=employer_id).order_by("seq").first()
    links: list[dict[str, JsonValue]] = []
    start: dict[str, JsonValue] = {"seq": head.seq + 1, "prev_hash": head.hash}
    if first is not None:
        start = {"seq": first.seq, "prev_hash": first.prev_hash}
        rows = AuditEvent.objects.filter(seq__gte=first.seq, seq__lte=head.seq).order_by("seq")
        for event in rows.iterator(chunk_size=2000):
            item: dict[str, JsonValue] = {"seq": event.seq, "digest": event.content_digest}
            if event.employer_id == employer_id:
                item["event"] = _event_document(event)
            links.append(item)
    return {
        "format": "mandat-audit-export/1",
        "employer_id": employer_id,
        "start": start,
        "head": {"seq": head.seq, "hash": head.hash},
        "links": links,
    }


def verify_export(document: Mapping[str, JsonValue]) -> Verdict:
    """Check an export offline: each shown event matches its digest and the links reach the head.

    The head hash should be compared with one obtained independently (for
    example published or received earlier) to rule out a rewritten chain. A
    document that is not shaped like an export fails; it never raises.
    """
    try:
        return _verify_export(document)
    except (KeyError, TypeError, ValueError, AttributeError):
        return Verdict(False, 0, None, "not a well-formed audit export")


def _verify_export(document: Mapping[str, JsonValue]) -> Verdict:
    running = document["start"]["prev_hash"]
    expected_seq = document["start"]["seq"]
    expected_employer_seq = 1
    for item in document["links"]:
        if item["seq"] != expected_seq:
            return Verdict(
                False,
                expected_seq - document["start"]["seq"],
                expected_seq,
                "link missing or out of order",
            )
        if "event" in item:
            event = item["event"]
            if event["seq"] != item["seq"]:
                return Verdict(False, 0, item["seq"], "event placed at the wrong link")
            digest = hashlib.sha256(canonical_form(**event)).hexdigest()
            if digest != item["digest"]:
                return Verdict(False, 0, item["seq"], "content differs from its digest")
            if event.get("employer_seq") is not None:
                # Numbered events of the employer come 1, 2, 3...: a gap means one was hidden.
                if event["employer_seq"] != expected_employer_seq:
                    return Verdict(
                        False, 0, item["seq"], "an event of this employer is missing before it"
                    )
                expected_employer_seq += 1
        running = link(running, item["digest"])
        expected_seq += 1
    checked = len(document["links"])
    head = document["head"]
    if expected_seq != head["seq"] + 1 or running != head["hash"]:
        return Verdict(False, checked, expected_seq, "links do not reach the chain head")
    return Verdict(True, checked)
