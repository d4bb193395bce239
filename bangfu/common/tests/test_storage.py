"""Stored files encrypted at rest (``common.storage``): nothing of the content on disk, read back
as it was, any change refused with a clear error, files stored before encryption still read."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import TemporaryUploadedFile

from bangfu.common import crypto
from bangfu.common.encrypted_files import HEADER_SIZE, MAGIC, TAG, StoredFileError, sealed_size
from bangfu.common.storage import EncryptedStorage, private_storage

ID_NUMBER = b"532923199001011212"
SEGMENT = 1 << 16


def _content(size: int) -> bytes:
    """``size`` bytes that repeat an ID number (a plaintext a leak would show)."""
    line = b"name,id_number\n\xe5\xbc\xa0\xe4\xb8\x89," + ID_NUMBER + b"\n"
    return (line * (size // len(line) + 1))[:size]


@pytest.fixture
def disk(tmp_path: Path) -> EncryptedStorage:
    return EncryptedStorage(options={"location": str(tmp_path)})


def _on_disk(storage: EncryptedStorage, name: str) -> Path:
    return Path(storage.inner.path(name))


@pytest.mark.parametrize("size", [0, 1, 100, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT, 3 * SEGMENT + 7])
def test_saved_bytes_hold_no_plaintext_and_open_gives_the_content_back(disk: EncryptedStorage, size: int) -> None:
    data = _content(size)
    name = disk.save("intake/2026/11/proof.pdf", ContentFile(data))
    raw = _on_disk(disk, name).read_bytes()
    assert raw.startswith(MAGIC)
    assert len(raw) == sealed_size(size)
    assert ID_NUMBER not in raw
    assert "张三".encode() not in raw
    with disk.open(name) as fh:
        assert fh.size == size
        assert fh.read() == data
    assert disk.size(name) == size


def test_reading_in_pieces_and_seeking(disk: EncryptedStorage) -> None:
    data = os.urandom(3 * SEGMENT + 123)
    name = disk.save("x.bin", ContentFile(data))
    with disk.open(name) as fh:
        assert b"".join(iter(lambda: fh.read(4096), b"")) == data
        fh.seek(SEGMENT - 10)
        assert fh.read(20) == data[SEGMENT - 10 : SEGMENT + 10]  # across two segments
        fh.seek(-5, io.SEEK_END)
        assert fh.read() == data[-5:]
        assert fh.tell() == len(data)
        assert fh.read(10) == b""
        fh.seek(0)
        assert [bytes(c) for c in fh.chunks(1000)] == [data[i : i + 1000] for i in range(0, len(data), 1000)]


def test_the_same_content_twice_is_two_different_files(disk: EncryptedStorage) -> None:
    first = disk.save("a.pdf", ContentFile(b"%PDF-1.4 same"))
    second = disk.save("a.pdf", ContentFile(b"%PDF-1.4 same"))
    assert first != second
    assert _on_disk(disk, first).read_bytes() != _on_disk(disk, second).read_bytes()  # a key of its own


def test_a_temporary_upload_is_encrypted_not_moved_into_place(disk: EncryptedStorage) -> None:
    """Django's file storage moves a large upload's temporary file into place: that would store it
    unencrypted. The encrypted storage writes its encrypted form instead."""
    upload = TemporaryUploadedFile("big.pdf", "application/pdf", 0, None)
    upload.write(_content(3 * SEGMENT))
    upload.seek(0)
    name = disk.save("big.pdf", upload)
    raw = _on_disk(disk, name).read_bytes()
    assert raw.startswith(MAGIC)
    assert ID_NUMBER not in raw
    with disk.open(name) as fh:
        assert fh.read() == _content(3 * SEGMENT)
    upload.close()


def _tamper(path: Path, change: Any) -> None:
    raw = bytearray(path.read_bytes())
    path.write_bytes(bytes(change(raw)))


def _flip(at: int) -> Any:
    def change(raw: bytearray) -> bytearray:
        raw[at] ^= 0x01
        return raw

    return change


def _swap_first_segments(raw: bytearray) -> bytearray:
    one = raw[HEADER_SIZE : HEADER_SIZE + SEGMENT + TAG]
    two = raw[HEADER_SIZE + SEGMENT + TAG : HEADER_SIZE + 2 * (SEGMENT + TAG)]
    return raw[:HEADER_SIZE] + two + one + raw[HEADER_SIZE + 2 * (SEGMENT + TAG) :]


def _drop_last_segment(raw: bytearray) -> bytearray:  # cut at the end of a (full) segment
    return raw[: HEADER_SIZE + 3 * (SEGMENT + TAG)]


@pytest.mark.parametrize(
    "change",
    [
        _flip(HEADER_SIZE + 5),  # the first segment's content
        _flip(HEADER_SIZE + 2 * (SEGMENT + TAG) + 5),  # a later segment's
        _flip(-1),  # the last segment's tag
        _flip(30),  # the header's nonce
        _flip(60),  # the file key sealed in the header
        _flip(10),  # the header's reserved bytes
        _swap_first_segments,
        _drop_last_segment,
        lambda raw: raw[:-1],  # one byte cut off
        lambda raw: raw + b"\0",  # one byte added
        lambda raw: raw + raw[HEADER_SIZE : HEADER_SIZE + SEGMENT + TAG],  # a whole segment added
        lambda raw: raw[:HEADER_SIZE],  # the segments gone
        lambda raw: raw[:40],  # half a header
    ],
    ids=[
        "content",
        "later-segment",
        "tag",
        "nonce",
        "sealed-key",
        "reserved",
        "swapped",
        "last-dropped",
        "cut",
        "added-byte",
        "added-segment",
        "no-segments",
        "half-header",
    ],
)
def test_a_changed_file_fails_to_open_with_a_clear_error(disk: EncryptedStorage, change: Any) -> None:
    name = disk.save("intake/2026/11/proof.pdf", ContentFile(_content(3 * SEGMENT + 100)))
    _tamper(_on_disk(disk, name), change)
    with pytest.raises(StoredFileError) as err:
        disk.open(name)
    assert name in str(err.value)
    assert "damaged or was changed after it was saved" in str(err.value)


def test_a_header_from_another_file_fails(disk: EncryptedStorage) -> None:
    a = disk.save("a.pdf", ContentFile(_content(1000)))
    b = disk.save("b.pdf", ContentFile(_content(1000)))
    header = _on_disk(disk, b).read_bytes()[:HEADER_SIZE]
    _tamper(_on_disk(disk, a), lambda raw: header + raw[HEADER_SIZE:])
    with pytest.raises(StoredFileError, match="integrity check"):
        disk.open(a)


def test_a_file_of_another_key_or_format_says_so(disk: EncryptedStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    name = disk.save("a.pdf", ContentFile(_content(1000)))
    other = os.urandom(32)
    monkeypatch.setattr(crypto, "file_key", lambda: (other, hmac.new(other, b"id", hashlib.sha256).digest()[:8]))
    with pytest.raises(StoredFileError, match="encrypted with another key"):
        disk.open(name)
    monkeypatch.undo()
    _tamper(_on_disk(disk, name), lambda raw: raw[:8] + b"\x02" + raw[9:])
    with pytest.raises(StoredFileError, match=r"format this version cannot read \(version 2\)"):
        disk.open(name)


def test_a_file_stored_before_encryption_is_still_read(disk: EncryptedStorage, settings: Any) -> None:
    data = b"%PDF-1.4 " + ID_NUMBER + b" %%EOF"
    name = disk.inner.save("intake/2020/01/old.pdf", ContentFile(data))
    assert not disk.is_encrypted(name)
    with disk.open(name) as fh:
        assert fh.read() == data
    assert disk.size(name) == len(data)
    settings.BANGFU_FILES_ALLOW_PLAINTEXT = False
    with pytest.raises(StoredFileError, match="not encrypted, and unencrypted files are no longer accepted"):
        disk.open(name)


def test_a_file_whose_marker_was_removed_is_refused_once_plaintext_is_off(
    disk: EncryptedStorage, settings: Any
) -> None:
    settings.BANGFU_FILES_ALLOW_PLAINTEXT = False
    name = disk.save("a.pdf", ContentFile(_content(1000)))
    _tamper(_on_disk(disk, name), lambda raw: b"%PDF-1.4" + raw[len(MAGIC) :])
    with pytest.raises(StoredFileError):
        disk.open(name)


def test_encrypting_in_place_on_disk_keeps_the_content_and_the_dates(disk: EncryptedStorage) -> None:
    data = _content(2 * SEGMENT + 5)
    name = disk.inner.save("intake/2020/01/old.pdf", ContentFile(data))
    path = _on_disk(disk, name)
    os.utime(path, (1_600_000_000, 1_600_000_000))
    assert disk.encrypt_in_place(name) is True
    raw = path.read_bytes()
    assert raw.startswith(MAGIC)
    assert ID_NUMBER not in raw
    assert path.stat().st_mtime == 1_600_000_000
    assert [p.name for p in path.parent.iterdir()] == ["old.pdf"]  # no temporary file left
    with disk.open(name) as fh:
        assert fh.read() == data
    assert disk.encrypt_in_place(name) is False
    assert path.read_bytes() == raw  # not encrypted twice


def test_encrypting_in_place_elsewhere_than_on_disk() -> None:
    memory = EncryptedStorage(backend="django.core.files.storage.InMemoryStorage")
    data = _content(SEGMENT + 5)
    name = memory.inner.save("old.pdf", ContentFile(data))
    assert memory.encrypt_in_place(name) is True
    with memory.inner.open(name) as raw:
        stored = raw.read()
    assert stored.startswith(MAGIC)
    assert ID_NUMBER not in stored
    with memory.open(name) as fh:
        assert fh.read() == data
    assert memory.encrypt_in_place(name) is False


def test_a_missing_file_is_not_found(disk: EncryptedStorage) -> None:
    with pytest.raises(FileNotFoundError):
        disk.encrypt_in_place("nothing.pdf")
    with pytest.raises(FileNotFoundError):
        disk.open("nothing.pdf")


def test_no_path_no_url_no_writing_mode(disk: EncryptedStorage) -> None:
    name = disk.save("a.pdf", ContentFile(b"x"))
    with pytest.raises(NotImplementedError):
        disk.path(name)
    with pytest.raises(ValueError, match="not served by URL"):
        disk.url(name)
    with pytest.raises(ValueError, match="not opened in mode"):
        disk.open(name, "wb")


def test_a_closed_file_opens_again_through_the_storage(
    disk: EncryptedStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = disk.save("a.pdf", ContentFile(b"%PDF-1.4 again"))
    fh = disk.open(name)
    fh.close()
    monkeypatch.chdir(tmp_path)  # where Django's File.open would find the encrypted file by its name
    assert fh.open("rb").read() == b"%PDF-1.4 again"
    fh.close()


def test_the_private_alias_follows_the_setting(settings: Any, tmp_path: Path) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "bangfu.common.storage.EncryptedStorage",
            "OPTIONS": {"options": {"location": str(tmp_path)}},
        },
    }
    name = private_storage().save("a.pdf", File(io.BytesIO(ID_NUMBER), name="a.pdf"))
    assert ID_NUMBER not in (tmp_path / name).read_bytes()


def test_the_file_key_is_derived_from_the_field_key_not_the_same(settings: Any) -> None:
    key, key_id = crypto.file_key()
    field_key = base64.b64decode(settings.FIELD_ENCRYPTION_KEY)
    assert len(key) == 32
    assert key != field_key
    assert len(key_id) == 8
