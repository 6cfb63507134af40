"""The audit chain: any changed, deleted or reordered event is found, at the first broken link."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Sequence

import pytest
from django.db import DatabaseError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mandat.core import audit
from mandat.core.models import AuditEvent, AuditHead
from tests.core.chain import build_chain, tampering

LENGTH = 1_000


def _events() -> list[AuditEvent]:
    return list(AuditEvent.objects.order_by("seq"))


def _head() -> AuditHead:
    return AuditHead.objects.get(pk=1)


def _broken_at(verdict: audit.Verdict) -> int | None:
    """Where the verdict says the chain breaks; None when it says the chain is intact."""
    return None if verdict.ok else verdict.broken_seq


# Ways to change one event's content without touching its digests, as an editor of the
# row would. Each is applied to a copy, so the loaded chain stays as it is.
def _change_data(event: AuditEvent) -> None:
    event.data = {**event.data, "n": [event.data.get("n")]}


def _change_action(event: AuditEvent) -> None:
    event.action = event.action + "x"


def _change_at(event: AuditEvent) -> None:
    event.at = event.at + dt.timedelta(microseconds=1)


def _change_employer(event: AuditEvent) -> None:
    event.employer_id = 99 if event.employer_id is None else None


def _change_actor(event: AuditEvent) -> None:
    event.actor_id = 7 if event.actor_id is None else event.actor_id + 1


def _change_object(event: AuditEvent) -> None:
    event.object_id = event.object_id + "0"


CHANGES: list[Callable[[AuditEvent], None]] = [
    _change_data,
    _change_action,
    _change_at,
    _change_employer,
    _change_actor,
    _change_object,
]


def _changed(event: AuditEvent, change: Callable[[AuditEvent], None]) -> AuditEvent:
    tampered = copy.copy(event)
    change(tampered)
    return tampered


def _swapped(first: AuditEvent, second: AuditEvent) -> tuple[AuditEvent, AuditEvent]:
    """Two neighbours trading places: each takes the other's number, as a reordering would."""
    a, b = copy.copy(first), copy.copy(second)
    a.seq, b.seq = b.seq, a.seq
    return b, a


@pytest.fixture
def chain() -> list[AuditEvent]:
    build_chain(LENGTH)
    events = _events()
    assert [e.seq for e in events] == list(range(1, LENGTH + 1))
    assert audit.verify() == audit.Verdict(True, LENGTH)
    return events


def _reuse_digests_of_untouched_rows(
    chain: list[AuditEvent], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compute the digest of each untouched row once instead of in each of 4,000 walks.

    Only the very objects loaded from the database are looked up; every tampered
    copy is a new object whose digest is computed afresh by the real function.
    """
    compute = audit.content_digest_of
    known = {id(event): (event, compute(event)) for event in chain}

    def content_digest_of(event: AuditEvent) -> str:
        original, digest = known.get(id(event), (None, ""))
        return digest if original is event else compute(event)

    monkeypatch.setattr(audit, "content_digest_of", content_digest_of)


@pytest.mark.django_db
def test_every_change_deletion_and_swap_in_a_1000_event_chain_is_found_at_its_place(
    chain: list[AuditEvent], monkeypatch: pytest.MonkeyPatch
) -> None:
    head = _head()
    _reuse_digests_of_untouched_rows(chain, monkeypatch)
    assert audit.verify_events(chain, head) == audit.Verdict(True, LENGTH)
    missed: list[tuple[str, int, int | None]] = []

    def expect(kind: str, seq: int, events: Sequence[AuditEvent]) -> None:
        found = _broken_at(audit.verify_events(events, head))
        if found != seq:
            missed.append((kind, seq, found))

    for i, event in enumerate(chain):
        seq = i + 1
        change = CHANGES[i % len(CHANGES)]
        expect(change.__name__, seq, [*chain[:i], _changed(event, change), *chain[i + 1 :]])
        expect("delete", seq, [*chain[:i], *chain[i + 1 :]])
        j = i + 1 if i + 1 < LENGTH else i - 1  # the neighbour it trades places with
        low, high = min(i, j), max(i, j)
        expect(
            "swap", low + 1, [*chain[:low], *_swapped(chain[low], chain[high]), *chain[high + 1 :]]
        )
        expect(
            "swap in place", low + 1, [*chain[:low], chain[high], chain[low], *chain[high + 1 :]]
        )
    assert missed == []


@pytest.mark.django_db
def test_a_consistently_rewritten_event_breaks_the_next_link_or_the_head(
    chain: list[AuditEvent],
) -> None:
    """Whoever recomputes an edited event's digest and hash still breaks its successor."""
    head = _head()
    missed = []
    for i in (*range(0, LENGTH, 37), LENGTH - 2, LENGTH - 1):
        forged = _changed(chain[i], _change_data)
        forged.content_digest = audit.content_digest_of(forged)
        forged.hash = audit.link(forged.prev_hash, forged.content_digest)
        verdict = audit.verify_events([*chain[:i], forged, *chain[i + 1 :]], head)
        # The forged event is consistent in itself; the break shows at the next link, or,
        # for the last event, at the head, which still holds the original hash.
        expected = i + 2 if i + 1 < LENGTH else LENGTH
        if _broken_at(verdict) != expected:
            missed.append((i + 1, verdict))
    assert missed == []


@pytest.mark.django_db
def test_events_the_head_does_not_know_are_reported() -> None:
    build_chain(5)
    events = _events()
    assert _broken_at(audit.verify_events(events[:-1], _head())) == 5
    behind = AuditHead(seq=4, hash=events[3].hash)
    assert _broken_at(audit.verify_events(events, behind)) == 5
    assert audit.verify_events(events[:4], behind).ok


# The same tampering, done in the database itself behind the triggers' back, on a
# sample of positions: the first events, the middle, and the last ones.
POSITIONS = [1, 2, 3, 137, 500, 501, 862, 998, 999, 1000]


def _bump(seq: int, **changes: object) -> None:
    AuditEvent.objects.filter(seq=seq).update(**changes)


def _renumber(seq: int, new: int) -> None:
    AuditEvent.objects.filter(seq=seq).update(seq=new)


def _swap_with_next(event: AuditEvent) -> None:
    seq = event.seq
    _renumber(seq, 10**9)
    _renumber(seq + 1, seq)
    _renumber(10**9, seq + 1)


DATABASE_TAMPERING: dict[str, Callable[[AuditEvent], object]] = {
    "data": lambda e: _bump(e.seq, data={**e.data, "n": -1}),
    "action": lambda e: _bump(e.seq, action="mandate.forged"),
    "at": lambda e: _bump(e.seq, at=e.at + dt.timedelta(seconds=1)),
    "employer": lambda e: _bump(e.seq, employer_id=12345),
    "delete": lambda e: AuditEvent.objects.filter(seq=e.seq).delete(),
    "swap with the next": _swap_with_next,
}


@pytest.mark.django_db
def test_tampering_in_the_database_is_found_at_its_place(chain: list[AuditEvent]) -> None:
    found, expected = {}, {}
    for kind, tamper in DATABASE_TAMPERING.items():
        for seq in POSITIONS:
            if kind == "swap with the next" and seq == LENGTH:
                continue
            with tampering():
                tamper(chain[seq - 1])
                found[kind, seq] = _broken_at(audit.verify())
                expected[kind, seq] = seq
    assert found == expected
    assert audit.verify().ok  # every tampering was rolled back


@pytest.mark.django_db
def test_swapping_renumbers_the_rows_as_a_reordering_would(chain: list[AuditEvent]) -> None:
    with tampering():
        _swap_with_next(chain[499])
        rows = AuditEvent.objects.filter(seq__in=[500, 501]).order_by("seq")
        assert [row.hash for row in rows] == [chain[500].hash, chain[499].hash]


@pytest.mark.django_db
def test_deleting_the_last_event_is_found_by_the_head(chain: list[AuditEvent]) -> None:
    with tampering():
        AuditEvent.objects.filter(seq=LENGTH).delete()
        verdict = audit.verify()
    assert (verdict.ok, verdict.broken_seq) == (False, LENGTH)
    assert "missing" in verdict.reason
    assert f"#{LENGTH}" in str(verdict)


@pytest.mark.django_db
def test_an_empty_chain_is_intact() -> None:
    assert audit.verify() == audit.Verdict(True, 0)


@pytest.mark.django_db
def test_events_appended_while_verifying_are_not_taken_for_a_break(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A verification running next to live traffic: an event lands after the walk."""
    build_chain(10)
    walk = audit._events_in_order

    def walk_then_append(*args: int) -> object:
        yield from walk(*args)
        with transaction.atomic():
            audit.record("concurrent.append")

    monkeypatch.setattr(audit, "_events_in_order", walk_then_append)
    assert audit.verify() == audit.Verdict(True, 10)
    monkeypatch.undo()
    assert audit.verify() == audit.Verdict(True, 11)


# The guards: triggers in the database, and the model itself.
@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE core_auditevent SET action = 'forged' WHERE seq = 1",
        "UPDATE core_auditevent SET seq = seq + 100",
        "DELETE FROM core_auditevent WHERE seq = 2",
        "DELETE FROM core_auditevent",
    ],
)
def test_the_database_refuses_to_update_or_delete_an_event(statement: str) -> None:
    build_chain(3)
    before = _events()
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert [(e.seq, e.action, e.hash) for e in _events()] == [
        (e.seq, e.action, e.hash) for e in before
    ]
    assert audit.verify().ok


@pytest.mark.django_db
def test_the_orm_cannot_bypass_the_triggers() -> None:
    build_chain(3)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(seq=1).update(action="forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(seq=3).delete()
    assert audit.verify() == audit.Verdict(True, 3)


@pytest.mark.django_db
def test_the_triggers_are_back_after_tampering() -> None:
    build_chain(3)
    with tampering():
        AuditEvent.objects.filter(seq=1).update(action="forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(seq=1).update(action="forged")


@pytest.mark.django_db
def test_an_event_refuses_to_be_saved_again_or_deleted() -> None:
    build_chain(2)
    event = AuditEvent.objects.get(seq=1)
    event.action = "forged"
    with pytest.raises(RuntimeError, match="append-only"):
        event.save()
    with pytest.raises(RuntimeError, match="append-only"):
        event.delete()
    assert AuditEvent.objects.get(seq=1).action == "mandate.granted"
    assert audit.verify() == audit.Verdict(True, 2)


def test_record_outside_a_transaction_is_refused() -> None:
    # No database access is allowed here, so the refusal must come before any query.
    with pytest.raises(RuntimeError, match="transaction of the change"):
        audit.record("outside")
    with pytest.raises(RuntimeError, match="transaction of the change"):
        audit.record_many([audit.Entry("outside")])


@pytest.mark.django_db
def test_numbers_the_database_spells_differently_still_verify() -> None:
    """PostgreSQL gives 1e+16 back as 10000000000000000 and has no negative zero."""
    numbers = {"big": 1e16, "huge": -1.7976931348623157e308, "zero": -0.0, "small": 1.5e-07}
    with transaction.atomic():
        audit.record("numbers", data={"numbers": numbers, "list": list(numbers.values())})
    assert audit.verify() == audit.Verdict(True, 1)
    stored = AuditEvent.objects.get(seq=1).data["numbers"]
    assert stored["big"] == 10**16 and stored["small"] == 1.5e-07


# Any content, any position: a property of the chain, on what the database gives back.
# Text is what a UTF-8 request can carry; PostgreSQL refuses NUL in JSON and text.
TEXT = st.characters(codec="utf-8", exclude_characters="\x00")
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(TEXT, max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(TEXT, max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
entries = st.builds(
    audit.Entry,
    action=st.text("abcdefghijklmnopqrstuvwxyz._", min_size=1, max_size=20),
    actor_id=st.none() | st.integers(1, 2**62),
    employer_id=st.none() | st.integers(1, 2**62),
    object_type=st.text(TEXT, max_size=20),
    object_id=st.text(TEXT, max_size=20),
    data=st.dictionaries(st.text(TEXT, max_size=5), json_values, max_size=4),
)


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(entries, min_size=1, max_size=6), data=st.data())
def test_any_recorded_content_verifies_and_any_changed_event_is_found(
    batch: list[audit.Entry], data: st.DataObject
) -> None:
    with transaction.atomic():
        audit.record_many(batch)
        events = _events()
        head = _head()
        assert audit.verify() == audit.Verdict(True, len(batch))
        position = data.draw(st.integers(0, len(events) - 1), label="position")
        change = data.draw(st.sampled_from(CHANGES), label="change")
        tampered = [*events[:position], _changed(events[position], change), *events[position + 1 :]]
        assert _broken_at(audit.verify_events(tampered, head)) == position + 1
        transaction.set_rollback(True)


# An employer's slice of the chain, with its proof.
def _export(employer_id: int) -> dict[str, object]:
    document = audit.export_for_employer(employer_id)
    # What leaves the platform is JSON text; check what the receiver parses back.
    parsed: dict[str, object] = json.loads(json.dumps(document, ensure_ascii=False))
    return parsed


@pytest.mark.django_db
def test_an_export_shows_the_employers_events_only_and_verifies(chain: list[AuditEvent]) -> None:
    document = _export(2)
    assert audit.verify_export(document).ok
    links = document["links"]
    assert isinstance(links, list)
    own = [e for e in chain if e.employer_id == 2]
    assert [link["seq"] for link in links] == list(range(own[0].seq, LENGTH + 1))
    shown = [link["event"] for link in links if "event" in link]
    assert shown == [
        json.loads(json.dumps(audit._event_document(e), ensure_ascii=False)) for e in own
    ]
    assert all(event["employer_id"] == 2 for event in shown)
    text = json.dumps(document, ensure_ascii=False)
    others = [e for e in chain if e.employer_id != 2 and e.seq > own[0].seq]
    assert others
    leaked = [e.seq for e in others if e.data["secret"] in text]
    assert leaked == []
    assert "content-of-employer-2-event" in text


@pytest.mark.django_db
def test_an_export_without_events_verifies_against_the_head(chain: list[AuditEvent]) -> None:
    document = _export(4242)
    assert document["links"] == []
    assert document["head"] == {"seq": LENGTH, "hash": chain[-1].hash}
    assert audit.verify_export(document).ok


def _replace(
    document: dict[str, object], path: Sequence[object], value: object
) -> dict[str, object]:
    changed = copy.deepcopy(document)
    target: object = changed
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    target[path[-1]] = value  # type: ignore[index]
    return changed


@pytest.mark.django_db
def test_changing_any_byte_of_an_exported_event_fails_the_export() -> None:
    build_chain(40)
    document = _export(2)
    assert audit.verify_export(document).ok
    links = document["links"]
    assert isinstance(links, list)
    tried = unreadable = 0
    accepted = []
    for index, item in enumerate(links):
        if "event" not in item:
            continue
        raw = json.dumps(item["event"], ensure_ascii=False).encode()
        for position in range(len(raw)):
            for flip in (0x01, 0x02, 0x20):
                tampered = bytearray(raw)
                tampered[position] ^= flip
                try:
                    event = json.loads(tampered.decode())
                except ValueError:  # not UTF-8 or not JSON: the export is refused on reading
                    unreadable += 1
                    continue
                if event == item["event"]:
                    continue  # the same content, written differently
                tried += 1
                if audit.verify_export(_replace(document, ["links", index, "event"], event)).ok:
                    accepted.append((item["seq"], tampered.decode()))
    assert accepted == []
    assert tried > 1_000 and unreadable > 0


@pytest.mark.django_db
def test_removing_moving_or_changing_any_link_fails_the_export() -> None:
    build_chain(40)
    document = _export(1)
    links = document["links"]
    assert isinstance(links, list) and len(links) > 10
    accepted = []
    for index in range(len(links)):
        removed = copy.deepcopy(document)
        del removed["links"][index]  # type: ignore[attr-defined]
        changed = _replace(document, ["links", index, "digest"], "0" * 64)
        if audit.verify_export(removed).ok:
            accepted.append(("removed", index))
        if audit.verify_export(changed).ok:
            accepted.append(("digest changed", index))
        if index + 1 < len(links):
            moved = copy.deepcopy(document)
            moved_links = moved["links"]
            assert isinstance(moved_links, list)
            moved_links[index], moved_links[index + 1] = moved_links[index + 1], moved_links[index]
            if audit.verify_export(moved).ok:
                accepted.append(("swapped", index))
    assert accepted == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["head", "hash"], "0" * 64),
        (["head", "seq"], 39),
        (["start", "prev_hash"], "f" * 64),
        (["start", "seq"], 2),
        (["links", 0, "event", "seq"], 99),
        (["links", 0, "event", "unexpected"], 1),
        (["links", 0, "event", "at"], 1_700_000_000),
        (["links", 0, "digest"], "not hex"),
        (["links", 0], "not a link"),
        (["links"], None),
        (["start"], {}),
    ],
)
def test_a_malformed_export_fails_without_raising(path: list[object], value: object) -> None:
    build_chain(40)
    document = _export(1)
    assert audit.verify_export(document).ok
    verdict = audit.verify_export(_replace(document, path, value))
    assert not verdict.ok
    assert str(verdict).startswith("audit chain broken")


@pytest.mark.django_db
def test_each_employer_numbers_its_own_events_from_one(chain: list[AuditEvent]) -> None:
    for employer_id in (1, 2, 3):
        numbers = list(
            AuditEvent.objects.filter(employer_id=employer_id)
            .order_by("seq")
            .values_list("employer_seq", flat=True)
        )
        assert numbers == list(range(1, len(numbers) + 1))
    assert not AuditEvent.objects.filter(employer_id__isnull=True, employer_seq__isnull=False)


def _hidden(document: dict[str, object], index: int) -> dict[str, object]:
    """The export with one of the employer's events shown only by its digest."""
    hidden = copy.deepcopy(document)
    links = hidden["links"]
    assert isinstance(links, list)
    del links[index]["event"]
    return hidden


@pytest.mark.django_db
def test_an_export_that_hides_one_of_the_employers_events_fails() -> None:
    build_chain(60)
    document = _export(1)
    links = document["links"]
    assert isinstance(links, list)
    shown = [index for index, item in enumerate(links) if "event" in item]
    assert len(shown) > 3
    # Hiding the last shown event cannot be seen (its digest still links to the head);
    # every earlier one leaves a gap in the employer's numbering.
    for index in shown[:-1]:
        verdict = audit.verify_export(_hidden(document, index))
        assert not verdict.ok, index
        assert "missing" in verdict.reason


@pytest.mark.django_db
def test_an_export_that_starts_after_the_employers_first_event_fails() -> None:
    build_chain(60)
    document = _export(1)
    links = document["links"]
    assert isinstance(links, list)
    shown = [index for index, item in enumerate(links) if "event" in item]
    later = copy.deepcopy(document)
    cut = shown[1]
    # A consistent later start: the chain hash just before the second event.
    running = document["start"]["prev_hash"]  # type: ignore[index]
    for item in links[:cut]:
        running = audit.link(running, item["digest"])
    later["start"] = {"seq": links[cut]["seq"], "prev_hash": running}
    later["links"] = copy.deepcopy(links[cut:])
    verdict = audit.verify_export(later)
    assert not verdict.ok
    assert "missing" in verdict.reason
