"""Encryption at rest and keyed lookup hashes for personal numbers (ID and bank card numbers).

* ``encrypt``/``decrypt``: AES-256-GCM with a random 96-bit nonce; the stored text is
  ``v1:<base64(nonce + ciphertext + tag)>``. The key comes from ``BANGFU_FIELD_KEY``.
* ``keyed_hash``: HMAC-SHA256 with ``BANGFU_HASH_KEY`` over the normalised value, 128 bits as hex.
  Equality search, uniqueness and matching run on it, so plaintext never needs to be queried.
* ``keyed_hash64``: the same HMAC cut to a signed 64-bit integer, the fast join key for matching.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from functools import cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_PREFIX = "v1:"


def _key(setting: str) -> bytes:
    raw = getattr(settings, setting, "") or ""
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise ImproperlyConfigured(
            f"{setting} must be 32 random bytes, base64-encoded "
            "(generate with: python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())')"
        )
    return key


@cache
def _aead() -> AESGCM:
    return AESGCM(_key("FIELD_ENCRYPTION_KEY"))


@cache
def _hash_key() -> bytes:
    return _key("FIELD_HASH_KEY")


def encrypt(plaintext: str) -> str:
    nonce = os.urandom(12)
    sealed = _aead().encrypt(nonce, plaintext.encode("utf-8"), None)
    return _PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def decrypt(stored: str) -> str:
    if not stored.startswith(_PREFIX):
        raise ValueError("not an encrypted value")
    blob = base64.b64decode(stored[len(_PREFIX) :])
    return _aead().decrypt(blob[:12], blob[12:], None).decode("utf-8")


def keyed_hash(value: str) -> str:
    return hmac.new(_hash_key(), value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def keyed_hash64(value: str) -> int:
    digest = hmac.new(_hash_key(), value.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def mask_middle(value: str, keep_start: int = 4, keep_end: int = 4) -> str:
    """``5329**********1234`` style masking for any number-like string."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def generate_key() -> str:
    return base64.b64encode(os.urandom(32)).decode("ascii")
