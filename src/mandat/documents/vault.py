"""Documents at rest: AES-256-GCM under ``MANDAT_DOCUMENT_KEY``, a key kept outside the database.

A letter with access codes is the only place those codes exist in clear; the
database alone never reveals them.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

_NONCE = 12


def _key() -> bytes:
    return hashlib.sha256(settings.DOCUMENT_KEY.encode()).digest()


def seal(plain: bytes, *, label: str) -> bytes:
    """Encrypt ``plain``; ``label`` (e.g. ``letter:42``) is bound to it as associated data."""
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(_key()).encrypt(nonce, plain, label.encode())


def unseal(sealed: bytes, *, label: str) -> bytes:
    """Decrypt what ``seal`` made under the same label; raises if anything was altered."""
    nonce, body = sealed[:_NONCE], sealed[_NONCE:]
    return AESGCM(_key()).decrypt(nonce, body, label.encode())
