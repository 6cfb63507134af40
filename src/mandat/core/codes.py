"""Access codes: random, readable aloud, typo-checked, never stored in clear.

The alphabet leaves out every character that reads like another (I, L, O, U, 0
and 1), which leaves 30 symbols. A code is 15 random symbols and one check
symbol, shown in four groups of four: ``K7QM-2XRT-9HWP-4NDB``.

The check symbol makes the weighted sum of all 16 symbol values, with weights
1..16, divisible by the prime 31. Because 31 is prime and every weight and
every difference of two symbol values lies in 1..30, any single substitution
changes the sum by a non-zero multiple, and so does any swap of two different
symbols (the weights of two positions differ by 1..15). Both are always caught.
A check value of 30 has no symbol, so such draws are discarded; that costs
log2(31/30) < 0.05 bits of the 15 * log2(30) = 73.6 bits of secret.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from mandat.core.errors import ApplicationError

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
MODULUS = 31
SECRET_LENGTH = 15
LENGTH = SECRET_LENGTH + 1
GROUP = 4
SECRET_BITS = SECRET_LENGTH * math.log2(len(ALPHABET))
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
_SEPARATORS = str.maketrans("", "", " -\t")

assert len(ALPHABET) == 30 and len(set(ALPHABET)) == 30  # noqa: S101
assert not set("ILOU01") & set(ALPHABET)  # noqa: S101


class CodeTypo(ApplicationError):
    """The text cannot be a code: wrong length, a foreign character or a failed check symbol.

    A typo never counts as a failed try against a real code.
    """


def _weighted_sum(values: list[int]) -> int:
    return sum((position + 1) * value for position, value in enumerate(values)) % MODULUS


def check_value(secret_values: list[int]) -> int:
    """The check value completing ``secret_values``; may be 30, which has no symbol."""
    weight = len(secret_values) + 1
    return (-_weighted_sum(secret_values) * pow(weight, -1, MODULUS)) % MODULUS


def generate() -> str:
    """A new code in canonical form (no separators), drawn from the system CSPRNG."""
    while True:
        values = [secrets.randbelow(len(ALPHABET)) for _ in range(SECRET_LENGTH)]
        check = check_value(values)
        if check < len(ALPHABET):
            return "".join(ALPHABET[v] for v in [*values, check])


def is_well_formed(canonical: str) -> bool:
    """True when ``canonical`` has the right length, alphabet and check symbol."""
    if len(canonical) != LENGTH or any(c not in _VALUE for c in canonical):
        return False
    return _weighted_sum([_VALUE[c] for c in canonical]) == 0


def normalize(text: str) -> str:
    """Canonical form of what a person typed: upper case, separators removed.

    Raises ``CodeTypo`` when the result cannot be a code.
    """
    canonical = text.translate(_SEPARATORS).upper()
    if not is_well_formed(canonical):
        raise CodeTypo(
            _("This code contains a typing error. Check each character and try again."),
            code="code_typo",
        )
    return canonical


def display(canonical: str) -> str:
    """Group a canonical code for reading: ``K7QM-2XRT-9HWP-4NDB``."""
    return "-".join(canonical[i : i + GROUP] for i in range(0, len(canonical), GROUP))


def digest(canonical: str) -> str:
    """What the database keeps of a code: a keyed hash (HMAC-SHA-256) in hex.

    The key (``CODE_PEPPER``) lives outside the database, so a copy of the
    database alone does not allow an offline search of the code space.
    """
    key = settings.CODE_PEPPER.encode()
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def matches(canonical: str, stored_digest: str) -> bool:
    """Constant-time comparison of a typed code with a stored digest."""
    return hmac.compare_digest(digest(canonical), stored_digest)
