"""Encryption at rest and keyed lookup hashes for personal numbers (ID and bank card numbers).

* ``encrypt``/``decrypt``: AES-256-GCM with a random 96-bit nonce; the stored text is
  ``v1:<base64(nonce + ciphertext + tag)>``. The key comes from ``BANGFU_FIELD_KEY``.
* ``file_key``: the key of stored files with personal data (``common.encrypted_files``), derived
  from ``BANGFU_FIELD_KEY`` with HKDF-SHA256 (its own purpose, so the field key itself never
  encrypts files), and the 8-byte id that files record of it.
* ``keyed_hash``: HMAC-SHA256 with ``BANGFU_HASH_KEY`` over the normalised value, 128 bits as hex.
  Equality search, uniqueness and matching run on it, so plaintext never needs to be queried.
* ``keyed_hash64``: the fast join key for matching, a signed 64-bit integer: SipHash-2-4 (a keyed
  pseudo-random function made for short inputs) of a normalised 18-character ID number's integer
  form, keyed with 128 bits derived from ``BANGFU_HASH_KEY``. ``keyed_hash64_arrow`` computes it
  for a whole column at once (tens of millions of values a second), which HMAC-SHA256 cannot do here.

  Exact definition (for a checking centre that computes it on its side with the shared key):
  ``n = int(id[:17]) * 11 + (10 if id[17] == "X" else int(id[17]))``;
  ``k = HMAC-SHA256(hash key, b"bangfu keyed_hash64 v2")[:16]``;
  ``keyed_hash64 = SipHash-2-4(k, n as 8 bytes little-endian)`` read as a little-endian signed 64-bit integer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext

_PREFIX = "v1:"

# The settings of the two keys and the environment variables they come from (what an operator sets).
KEY_VARIABLES = {"FIELD_ENCRYPTION_KEY": "BANGFU_FIELD_KEY", "FIELD_HASH_KEY": "BANGFU_HASH_KEY"}
KEY_HINT = "python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())'"


class FieldKeyError(ImproperlyConfigured):
    """A stored number that ``BANGFU_FIELD_KEY`` does not open: the key in use is not the one it was
    encrypted with. A configuration problem, not a bad request: the pages, the API and the commands
    say so in words (``bangfu check`` finds it before, see ``common.keys``)."""


def field_key_message() -> str:
    return gettext(
        "BANGFU_FIELD_KEY is not the key this database was made with: the encrypted ID and card "
        "numbers cannot be read; restore the key from the backup."
    )


def key_problem(setting: str) -> str | None:
    """Why the key of ``setting`` cannot be used (naming its environment variable), or None."""
    variable = KEY_VARIABLES.get(setting, setting)
    raw = getattr(settings, setting, "") or ""
    if not raw.strip():
        return gettext("%(variable)s is not set: it must be 32 random bytes, base64-encoded (%(hint)s).") % {
            "variable": variable,
            "hint": KEY_HINT,
        }
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        return gettext("%(variable)s must be 32 random bytes, base64-encoded (%(hint)s).") % {
            "variable": variable,
            "hint": KEY_HINT,
        }
    return None


def _key(setting: str) -> bytes:
    problem = key_problem(setting)
    if problem:
        raise ImproperlyConfigured(problem)
    return base64.b64decode(getattr(settings, setting), validate=True)


def keys_forget() -> None:
    """Forget the keys read so far, so that the next use reads the settings again (tests that
    change a key, the key check)."""
    for cached in (_aead, file_key, _hash_key, _sip_key):
        cached.cache_clear()


@cache
def _aead() -> AESGCM:
    return AESGCM(_key("FIELD_ENCRYPTION_KEY"))


@cache
def file_key() -> tuple[bytes, bytes]:
    """The stored files' key and its id (the first 8 bytes of an HMAC of a fixed text with it)."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"bangfu stored files v1").derive(
        _key("FIELD_ENCRYPTION_KEY")
    )
    return key, hmac.new(key, b"bangfu stored files key id", hashlib.sha256).digest()[:8]


@cache
def _hash_key() -> bytes:
    return _key("FIELD_HASH_KEY")


def encrypt(plaintext: str) -> str:
    nonce = os.urandom(12)
    sealed = _aead().encrypt(nonce, plaintext.encode("utf-8"), None)
    return _PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def is_encrypted(stored: str) -> bool:
    """Whether ``stored`` is a value ``encrypt`` made (by its version prefix)."""
    return stored.startswith(_PREFIX)


def decrypt(stored: str) -> str:
    if not stored.startswith(_PREFIX):
        raise ValueError("not an encrypted value")
    blob = base64.b64decode(stored[len(_PREFIX) :])
    try:
        return _aead().decrypt(blob[:12], blob[12:], None).decode("utf-8")
    except InvalidTag:
        # The tag does not verify: another key (or a value altered in the database). Said in words,
        # naming the variable, not a traceback of the cryptography library.
        raise FieldKeyError(field_key_message()) from None


def keyed_hash(value: str) -> str:
    return hmac.new(_hash_key(), value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


_MASK64 = (1 << 64) - 1
_SIP_INIT = (0x736F6D6570736575, 0x646F72616E646F6D, 0x6C7967656E657261, 0x7465646279746573)


@cache
def _sip_key() -> tuple[int, int]:
    k = hmac.new(_hash_key(), b"bangfu keyed_hash64 v2", hashlib.sha256).digest()[:16]
    return int.from_bytes(k[:8], "little"), int.from_bytes(k[8:], "little")


def _rotl(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & _MASK64


def _sip_round(v0: int, v1: int, v2: int, v3: int) -> tuple[int, int, int, int]:
    v0 = (v0 + v1) & _MASK64
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = (v2 + v3) & _MASK64
    v3 = _rotl(v3, 16) ^ v2
    v0 = (v0 + v3) & _MASK64
    v3 = _rotl(v3, 21) ^ v0
    v2 = (v2 + v1) & _MASK64
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def siphash24(k0: int, k1: int, data: bytes) -> int:
    """SipHash-2-4 of ``data`` (the reference algorithm) as an unsigned 64-bit integer."""
    v0, v1, v2, v3 = k0 ^ _SIP_INIT[0], k1 ^ _SIP_INIT[1], k0 ^ _SIP_INIT[2], k1 ^ _SIP_INIT[3]
    tail = len(data) % 8
    blocks = [int.from_bytes(data[i : i + 8], "little") for i in range(0, len(data) - tail, 8)]
    blocks.append(((len(data) & 0xFF) << 56) | int.from_bytes(data[len(data) - tail :], "little"))
    for m in blocks:
        v3 ^= m
        v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
        v0 ^= m
    v2 ^= 0xFF
    for _ in range(4):
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


def resident_id_int(value: str) -> int:
    """The integer form of a normalised 18-character ID number (17 digits and a check character)."""
    if len(value) != 18 or not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise ValueError("not a normalised 18-character ID number")
    return int(value[:17]) * 11 + (10 if value[17] == "X" else int(value[17]))


def _signed(u: int) -> int:
    return u - (1 << 64) if u >= 1 << 63 else u


def keyed_hash64(value: str) -> int:
    """The matching key of a normalised ID number (see the module's docstring)."""
    k0, k1 = _sip_key()
    return _signed(siphash24(k0, k1, resident_id_int(value).to_bytes(8, "little")))


def keyed_hash64_arrow(numbers: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``keyed_hash64`` for a column of ID numbers' integer forms (``resident_id_int``), as int64.

    SipHash-2-4 on one 8-byte block, vectorised with NumPy in place, in slices that stay in the
    CPU cache (NumPy lets go of the interpreter lock, so threads hash batches side by side);
    nulls stay null."""
    if isinstance(numbers, pa.ChunkedArray):
        numbers = numbers.combine_chunks() if numbers.num_chunks else pa.array([], pa.int64())
    numbers = numbers.cast(pa.int64())
    filled = numbers.fill_null(0) if numbers.null_count else numbers
    values = filled.to_numpy(zero_copy_only=False).view(np.uint64)
    out = np.empty(len(values), np.uint64)
    k0, k1 = _sip_key()
    for start in range(0, len(values), _SIP_SLICE):
        _siphash_block(values[start : start + _SIP_SLICE], k0, k1, out[start : start + _SIP_SLICE])
    hashed = pa.array(out.view(np.int64))
    if numbers.null_count:
        hashed = pc.if_else(pc.is_null(numbers), pa.scalar(None, pa.int64()), hashed)
    return hashed


_SIP_SLICE = 1 << 16  # values a slice: the state's four arrays and a scratch one fit in the cache
_U64 = {b: np.uint64(b) for b in (13, 16, 17, 21, 32, 51, 48, 47, 43)}


def _siphash_block(m: np.ndarray, k0: int, k1: int, out: np.ndarray) -> None:
    """SipHash-2-4 of each 8-byte value of ``m`` (one block, then the length block) into ``out``."""
    n = len(m)
    scratch = np.empty(n, np.uint64)

    def rotl(x: np.ndarray, b: int) -> None:
        np.left_shift(x, _U64[b], out=scratch)
        np.right_shift(x, _U64[64 - b], out=x)
        np.bitwise_or(x, scratch, out=x)

    v0 = np.full(n, k0 ^ _SIP_INIT[0], np.uint64)
    v1 = np.full(n, k1 ^ _SIP_INIT[1], np.uint64)
    v2 = np.full(n, k0 ^ _SIP_INIT[2], np.uint64)
    v3 = np.bitwise_xor(m, np.uint64(k1 ^ _SIP_INIT[3]))

    def rnd() -> None:  # additions wrap modulo 2**64, as SipHash wants
        np.add(v0, v1, out=v0)
        rotl(v1, 13)
        np.bitwise_xor(v1, v0, out=v1)
        rotl(v0, 32)
        np.add(v2, v3, out=v2)
        rotl(v3, 16)
        np.bitwise_xor(v3, v2, out=v3)
        np.add(v0, v3, out=v0)
        rotl(v3, 21)
        np.bitwise_xor(v3, v0, out=v3)
        np.add(v2, v1, out=v2)
        rotl(v1, 17)
        np.bitwise_xor(v1, v2, out=v1)
        rotl(v2, 32)

    rnd()
    rnd()
    np.bitwise_xor(v0, m, out=v0)
    length = np.uint64(8 << 56)
    np.bitwise_xor(v3, length, out=v3)
    rnd()
    rnd()
    np.bitwise_xor(v0, length, out=v0)
    np.bitwise_xor(v2, np.uint64(0xFF), out=v2)
    for _ in range(4):
        rnd()
    np.bitwise_xor(v0, v1, out=out)
    np.bitwise_xor(out, v2, out=out)
    np.bitwise_xor(out, v3, out=out)


def mask_middle(value: str, keep_start: int = 4, keep_end: int = 4) -> str:
    """``5329**********1234`` style masking for any number-like string."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def generate_key() -> str:
    return base64.b64encode(os.urandom(32)).decode("ascii")


def encrypt_many(values: list[str]) -> list[str]:
    """``encrypt`` of each value (a fresh random nonce each), for bulk writes: one call for the
    nonces and no per-value look-ups."""
    aead = _aead()
    seal = aead.encrypt
    b64 = base64.b64encode
    nonces = os.urandom(12 * len(values))
    out = []
    for i, v in enumerate(values):
        nonce = nonces[12 * i : 12 * i + 12]
        out.append(_PREFIX + b64(nonce + seal(nonce, v.encode("utf-8"), None)).decode("ascii"))
    return out


def keyed_hash_many(values: list[str]) -> list[str]:
    """``keyed_hash`` of each value, for bulk checks: HMAC-SHA256 (RFC 2104) from the key's inner
    and outer hash states computed once and copied for each value, about 7× faster than
    ``hmac.new`` per value; the same result."""
    key = _hash_key()
    if len(key) > 64:  # the SHA-256 block size; a longer key is hashed first, as hmac does
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    out = []
    for v in values:
        i = inner.copy()
        i.update(v.encode("utf-8"))
        o = outer.copy()
        o.update(i.digest())
        out.append(o.hexdigest()[:32])
    return out
