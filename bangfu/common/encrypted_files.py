"""The format of an encrypted stored file: AES-256-GCM in segments, so that a file of any size is
sealed and read with one segment (64 KiB) in memory at a time, and read from any position.

A file is an 80-byte header, then the segments::

    header   magic "\\x89BFENC\\r\\n" (8) | version 1 (1) | log2 of the segment size (1) | 0 (2)
             | key id (8) | nonce (12) | the file's own key sealed with the stored files' key (48)
    segment  AES-GCM(file key, nonce = segment number (11 bytes, big-endian) + last (1 byte),
                     associated data = the header) of up to one segment of the content, + 16-byte tag

Every file has its own random key, sealed in its header with ``crypto.file_key`` (derived from
``BANGFU_FIELD_KEY``); the key id names the key that sealed it, so a file sealed with another key
says so instead of failing as damaged. Every segment is full but the last, which holds less than a
segment (nothing at all when the content fills its segments exactly) and is sealed as the last:
a changed byte anywhere, segments swapped, dropped or cut off, or a header taken from another file
fail the tag check (``StoredFileError``), never give other content. The content's length follows
from the file's size, so a reader can seek without reading the segments before.

The magic (like PNG's: a byte above 127, then CR LF) cannot begin a photo, a PDF, a workbook or
text, so a file without it is one stored before files were encrypted.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.utils.translation import gettext as _

MAGIC = b"\x89BFENC\r\n"
VERSION = 1
SEGMENT_SHIFT = 16  # 64 KiB of content a segment
TAG = 16
_KEYED_PART = 20  # magic, version, segment size, reserved, key id: sealed with the file key
HEADER_SIZE = _KEYED_PART + 12 + 32 + TAG


class StoredFileError(Exception):
    """A stored file that cannot be read back as it was saved: damaged, changed, cut off, sealed
    with another key, or (when no longer accepted) not encrypted. Never silently other content."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def is_sealed(head: bytes) -> bool:
    """Whether a file that begins with ``head`` (at least the magic's 8 bytes) is encrypted."""
    return head[: len(MAGIC)] == MAGIC


def sealed_size(size: int, shift: int = SEGMENT_SHIFT) -> int:
    """The size of an encrypted file of ``size`` bytes of content."""
    return HEADER_SIZE + size + (size >> shift) * TAG + TAG


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _header(master: bytes, key_id: bytes, shift: int) -> tuple[bytes, bytes]:
    """A new header and the new file key it holds."""
    file_key = AESGCM.generate_key(bit_length=256)
    keyed = MAGIC + bytes([VERSION, shift, 0, 0]) + key_id
    nonce = os.urandom(12)
    return keyed + nonce + AESGCM(master).encrypt(nonce, file_key, keyed), file_key


def seal(chunks: Iterable[bytes | str], master: bytes, key_id: bytes, shift: int = SEGMENT_SHIFT) -> Iterator[bytes]:
    """The encrypted file, piece by piece (the header, then each segment), of the content given
    in ``chunks`` of any sizes (text is written as UTF-8). A fresh file key each time."""
    header, file_key = _header(master, key_id, shift)
    aead = AESGCM(file_key)
    size = 1 << shift
    yield header
    buffer = bytearray()
    index = 0
    for chunk in chunks:
        buffer += chunk.encode("utf-8") if isinstance(chunk, str) else chunk
        while len(buffer) >= size:  # a full segment is never the last one
            yield aead.encrypt(_nonce(index, False), bytes(buffer[:size]), header)
            del buffer[:size]
            index += 1
    yield aead.encrypt(_nonce(index, True), bytes(buffer), header)


class SealedReader(io.RawIOBase):
    """The content of an encrypted file, read and seekable, one segment decrypted at a time.

    ``raw`` is the encrypted file, open for binary reading and seekable; it is closed with this."""

    def __init__(self, raw: IO[bytes] | Any, *, name: str, master: bytes, key_id: bytes) -> None:
        super().__init__()
        self._raw = raw
        self._name = name
        raw.seek(0, io.SEEK_END)
        total = raw.tell()
        raw.seek(0)
        header = raw.read(HEADER_SIZE)
        if len(header) < HEADER_SIZE or not is_sealed(header):
            raise self._damaged()
        if header[8] != VERSION or not 10 <= header[9] <= 24:
            raise StoredFileError(
                name,
                _("The stored file %(name)s is in an encrypted format this version cannot read (version %(version)s).")
                % {"name": name, "version": header[8]},
            )
        if header[12:_KEYED_PART] != key_id:
            raise StoredFileError(
                name,
                _("The stored file %(name)s was encrypted with another key than the configured one (BANGFU_FIELD_KEY).")
                % {"name": name},
            )
        try:
            file_key = AESGCM(master).decrypt(
                header[_KEYED_PART : _KEYED_PART + 12], header[_KEYED_PART + 12 :], header[:_KEYED_PART]
            )
        except InvalidTag:
            raise self._damaged() from None
        self._aead = AESGCM(file_key)
        self._header = header
        self._segment = 1 << header[9]
        body = total - HEADER_SIZE
        full, rest = divmod(body, self._segment + TAG)
        if rest < TAG:  # every file ends with a last segment of less than a full one
            raise self._damaged()
        self._last = full  # the last segment's number
        self.size = full * self._segment + rest - TAG
        self._pos = 0
        self._cached: tuple[int, bytes] | None = None

    def _damaged(self) -> StoredFileError:
        return StoredFileError(
            self._name,
            _("The stored file %(name)s is damaged or was changed after it was saved: it fails its integrity check.")
            % {"name": self._name},
        )

    def _read_segment(self, index: int) -> bytes:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        self._raw.seek(HEADER_SIZE + index * (self._segment + TAG))
        sealed = self._raw.read(self._segment + TAG)
        try:
            plain = self._aead.decrypt(_nonce(index, index == self._last), sealed, self._header)
        except InvalidTag:
            raise self._damaged() from None
        self._cached = (index, plain)
        return plain

    def verify(self) -> None:
        """Check every segment's tag (``StoredFileError`` on the first that fails), so that a
        damaged file fails before any of it is used."""
        for index in range(self._last + 1):
            self._read_segment(index)
        self._cached = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self.size + offset
        else:
            raise ValueError(f"invalid whence ({whence})")
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        self._pos = pos
        return pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self.size:
            index, offset = divmod(self._pos, self._segment)
            plain = self._read_segment(index)
            n = min(len(view) - done, len(plain) - offset)
            view[done : done + n] = plain[offset : offset + n]
            done += n
            self._pos += n
        return done

    def readall(self) -> bytes:
        out = bytearray()
        while self._pos < self.size:
            index, offset = divmod(self._pos, self._segment)
            plain = self._read_segment(index)
            out += plain[offset:]
            self._pos += len(plain) - offset
        return bytes(out)

    def close(self) -> None:
        if not self.closed:
            self._cached = None
            self._raw.close()
        super().close()
