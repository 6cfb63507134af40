"""Who calls the token API: an API client acting as its space, within its scopes."""

from __future__ import annotations

from dataclasses import dataclass

from mandat.catalog.models import Level


@dataclass(frozen=True)
class TokenHolder:
    """The holder of a valid access token, before its client has been read.

    ``scopes`` holds ``(domain_code, action)`` pairs. ``act`` covers ``consult``, as a
    mandate's level does, so a client with ``AFFILIATIONS:act`` may also consult.
    """

    space_id: int
    client_id: str
    scopes: frozenset[tuple[str, str]]

    def allows(self, domain_code: str, action: str) -> bool:
        return any((domain_code, level) in self.scopes for level in Level.covering(action))

    def domains(self) -> set[str]:
        """The domain codes the client may at least consult."""
        return {domain for domain, _action in self.scopes}


@dataclass(frozen=True)
class ApiPrincipal(TokenHolder):
    """``request.auth`` of every call authenticated with an access token: the client has
    been read on this call and may call (unrevoked, unexpired, its space open)."""

    client_pk: int


_ACTIONS = frozenset(Level.values)


def parse_scope(text: str) -> frozenset[tuple[str, str]] | None:
    """``"AFFILIATIONS:act EMPLOYER:consult"`` → pairs; None when an item is malformed."""
    pairs = set()
    for item in text.split():
        domain, sep, action = item.partition(":")
        if not sep or not domain or action not in _ACTIONS:
            return None
        pairs.add((domain, action))
    return frozenset(pairs)


def format_scope(pairs: frozenset[tuple[str, str]] | set[tuple[str, str]]) -> list[str]:
    return sorted(f"{domain}:{action}" for domain, action in pairs)
