"""Timing loops shared by our policy and the peers, so every engine is timed alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

#: Warm-up before a timed run: caches, prepared statements, lazy imports.
WARM_UP_CALLS = 200
WARM_UP_SECONDS = 1.0
ROUNDS = 5


@dataclass(frozen=True)
class Checks:
    """How one engine fared on the fixed list of queries."""

    calls: int
    seconds: float
    wrong: int  # answers that differ from the rule's reference answer
    per_second: float  # the median over the rounds

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_checks(
    check: Callable[..., bool],
    calls: Sequence[tuple[Any, ...]],
    expected: Sequence[bool],
    *,
    max_calls: int,
    seconds: float,
) -> Checks:
    """Call ``check(*args)`` down the list, in ``ROUNDS`` rounds; the median round counts.

    Each round stops after its share of ``max_calls`` or of ``seconds``, and takes
    up the list where the previous one stopped, so that no engine answers a query
    twice before it has seen the whole list. The median of the rounds keeps a
    burst of load from elsewhere on the machine out of the result. The warm-up
    draws from the end of the list, so that no timed call is answered from a
    cache the warm-up filled.
    """
    _warm_up(check, calls[::-1])
    rates, wrong, done, elapsed = [], 0, 0, 0.0
    share = -(-max_calls // ROUNDS)
    for _ in range(ROUNDS):
        start = time.perf_counter()
        deadline = start + seconds / ROUNDS
        round_calls = 0
        while round_calls < share:
            index = done % len(calls)
            if check(*calls[index]) != expected[index]:
                wrong += 1
            done += 1
            round_calls += 1
            if time.perf_counter() > deadline:
                break
        took = time.perf_counter() - start
        elapsed += took
        rates.append(round_calls / took)
    return Checks(done, elapsed, wrong, statistics.median(rates))


def _warm_up(check: Callable[..., bool], calls: Sequence[tuple[Any, ...]]) -> None:
    deadline = time.perf_counter() + WARM_UP_SECONDS
    for args in calls[:WARM_UP_CALLS]:
        check(*args)
        if time.perf_counter() > deadline:
            return


def median_ms(action: Callable[[], object], *, runs: int) -> float:
    """The median wall time of ``action`` over ``runs`` runs, after one warm-up run."""
    action()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000
