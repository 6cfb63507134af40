"""The benchmark's world, described once in plain Python and loaded into every engine.

Ids here are logical (0-based positions); each engine maps them to its own.
The same seed gives the same world in every process, and ``digest`` proves it.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

DOMAINS = ("EMPLOYER", "AFFILIATIONS", "REMUNERATIONS", "BILLING")
ACTIONS = ("consult", "act")
SEED = 2026
QUERY_COUNT = 20_000
FIRM_MEMBERS = 25
#: The firm's client list is what employers_for is timed on.
FIRM_DOMAIN = "AFFILIATIONS"
FIRM_ACTION = "consult"


@dataclass(frozen=True)
class Member:
    user: int
    space: int
    domains: frozenset[str] | None  # None: not restricted by domain
    removed: bool = False


@dataclass(frozen=True)
class Grant:
    """One mandate row: a space's right from an employer in a domain."""

    employer: int
    domain: str
    space: int
    level: str
    active: bool = True
    expires: bool = False  # has a validity end, in the future


@dataclass(frozen=True)
class Query:
    user: int
    action: str
    employer: int
    domain: str


@dataclass
class World:
    size: int
    firm_clients: int
    users: int
    spaces: int
    employers: int
    members: list[Member]
    grants: list[Grant]
    queries: list[Query] = field(default_factory=list)
    firm_space: int = 0
    firm_user: int = 0

    @cached_property
    def _spaces_of(self) -> dict[int, list[Member]]:
        spaces: dict[int, list[Member]] = defaultdict(list)
        for member in self.members:
            if not member.removed:
                spaces[member.user].append(member)
        return spaces

    @cached_property
    def _levels(self) -> dict[tuple[int, str, int], str]:
        return {(g.space, g.domain, g.employer): g.level for g in self.grants if g.active}

    def allows(self, query: Query) -> bool:
        """The rule, in its plainest form: the answer every engine must give."""
        for member in self._spaces_of.get(query.user, []):
            if member.domains is not None and query.domain not in member.domains:
                continue
            level = self._levels.get((member.space, query.domain, query.employer))
            if level == "act" or (level == "consult" and query.action == "consult"):
                return True
        return False

    @cached_property
    def expected(self) -> list[bool]:
        return [self.allows(query) for query in self.queries]

    def firm_list(self) -> set[int]:
        """What employers_for(firm user, FIRM_DOMAIN, FIRM_ACTION) must return."""
        return {
            g.employer
            for g in self.grants
            if g.active and g.space == self.firm_space and g.domain == FIRM_DOMAIN
        }

    def digest(self) -> str:
        """A fingerprint that does not depend on the process's string hash seed."""
        members = [(m.user, m.space, sorted(m.domains or ()), m.removed) for m in self.members]
        text = repr((members, self.grants, self.queries)).encode()
        return hashlib.sha256(text).hexdigest()[:12]

    def describe(self) -> str:
        active = sum(g.active for g in self.grants)
        firm = sum(g.space == self.firm_space for g in self.grants)
        restricted = sum(m.domains is not None for m in self.members)
        removed = sum(m.removed for m in self.members)
        allowed = sum(self.expected)
        c = self.firm_clients
        return (
            f"{len(self.grants):,} mandates ({active:,} active, the rest revoked), "
            f"{self.employers:,} employers, {self.spaces:,} spaces, {self.users:,} users, "
            f"{len(self.members):,} memberships ({restricted:,} restricted to some domains, "
            f"{removed:,} removed).\n"
            f"  Firm: one space, {FIRM_MEMBERS} members, {c:,} clients = {c:,} x AFFILIATIONS act"
            f" + {c // 2:,} x REMUNERATIONS consult = {firm:,} mandates; "
            f"{self.spaces - 1:,} other spaces hold {len(self.grants) - firm:,} random mandates.\n"
            f"  Checks: {len(self.queries):,} fixed random queries, {allowed:,} allowed "
            f"({allowed / len(self.queries):.0%}). World digest {self.digest()}."
        )


def build(size: int, seed: int = SEED) -> World:
    """A world of ``size`` mandate rows; half of ``size`` are the firm's clients."""
    rng = random.Random(f"{seed}/{size}")
    clients = size // 2
    others = max(size // 100, 10)
    world = World(
        size=size,
        firm_clients=clients,
        users=FIRM_MEMBERS + 2 * others,
        spaces=1 + others,
        employers=clients + size // 10,
        members=_firm_members() + _other_members(rng, others),
        grants=_firm_grants(clients),
    )
    world.grants += _other_grants(rng, world, size - len(world.grants))
    world.queries = _queries(rng, world, QUERY_COUNT)
    return world


def _firm_members() -> list[Member]:
    """User 0 sees everything; users 1-4 only affiliations; the last one has left."""
    members = [Member(0, 0, None)]
    members += [Member(user, 0, frozenset({"AFFILIATIONS"})) for user in range(1, 5)]
    members += [Member(user, 0, None) for user in range(5, FIRM_MEMBERS - 1)]
    return [*members, Member(FIRM_MEMBERS - 1, 0, None, removed=True)]


def _other_members(rng: random.Random, spaces: int) -> list[Member]:
    pool = range(FIRM_MEMBERS, FIRM_MEMBERS + 2 * spaces)
    members = []
    for space in range(1, spaces + 1):
        for user in rng.sample(pool, rng.randint(1, 4)):
            domains = frozenset(rng.sample(DOMAINS, 2)) if rng.random() < 0.2 else None
            members.append(Member(user, space, domains, removed=rng.random() < 0.03))
    return members


def _firm_grants(clients: int) -> list[Grant]:
    grants = [Grant(client, "AFFILIATIONS", 0, "act") for client in range(clients)]
    return grants + [Grant(c, "REMUNERATIONS", 0, "consult") for c in range(0, clients, 2)]


def _other_grants(rng: random.Random, world: World, count: int) -> list[Grant]:
    seen: set[tuple[int, str, int]] = set()
    grants: list[Grant] = []
    while len(grants) < count:
        key = (rng.randrange(1, world.spaces), rng.choice(DOMAINS), rng.randrange(world.employers))
        if key in seen:
            continue
        seen.add(key)
        active = rng.random() >= 0.05
        level = rng.choice(ACTIONS)
        grants.append(Grant(key[2], key[1], key[0], level, active, rng.random() < 0.3))
    return grants


def _queries(rng: random.Random, world: World, count: int) -> list[Query]:
    """Near misses and hits from real mandates, the firm's daily work, and random noise."""
    by_space: dict[int, list[int]] = defaultdict(list)
    for member in world.members:
        by_space[member.space].append(member.user)
    queries = []
    for _ in range(count):
        draw = rng.random()
        action = rng.choice(ACTIONS)
        if draw < 0.45:
            grant = rng.choice(world.grants)
            user = rng.choice(by_space[grant.space])
            queries.append(Query(user, action, grant.employer, grant.domain))
        elif draw < 0.55:
            client = rng.randrange(world.firm_clients)
            queries.append(Query(world.firm_user, action, client, rng.choice(DOMAINS)))
        else:
            user, employer = rng.randrange(world.users), rng.randrange(world.employers)
            queries.append(Query(user, action, employer, rng.choice(DOMAINS)))
    return queries
