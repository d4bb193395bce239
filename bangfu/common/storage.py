"""Stored files with personal data, encrypted at rest: the ``private`` storage.

``EncryptedStorage`` wraps another storage (the file system under ``MEDIA_ROOT`` in production):
``save`` encrypts the content as it writes it (``encrypted_files.seal``: AES-256-GCM in 64 KiB
segments with a key of each file's own, sealed with ``crypto.file_key``), ``open`` checks the whole
file's integrity and returns a reader that decrypts as it is read; a damaged or changed file raises
``StoredFileError``. A file stored before encryption (no marker at its start) is still read as it is,
while ``BANGFU_FILES_ALLOW_PLAINTEXT`` is on; ``files_encrypt`` (``bangfu files encrypt``) encrypts
such files where they are.

Models declare ``FileField(storage=private_storage)``; the storage is the ``private`` alias of
``STORAGES``. It gives no URL and no path on disk: files are read through ``open`` only.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

from django.apps import apps
from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.core.signals import setting_changed
from django.db import models
from django.utils.functional import LazyObject, empty
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from . import crypto
from .encrypted_files import MAGIC, SEGMENT_SHIFT, SealedReader, StoredFileError, is_sealed, seal, sealed_size

__all__ = [
    "EncryptedStorage",
    "StoredFileError",
    "deleted_on_error",
    "files_check",
    "files_encrypt",
    "private_storage",
]

PRIVATE = "private"  # the STORAGES alias
_CHUNK = 1 << SEGMENT_SHIFT


def _allow_plaintext() -> bool:
    return bool(getattr(settings, "BANGFU_FILES_ALLOW_PLAINTEXT", True))


class _SealingContent(File):
    """What the wrapped storage writes: the encrypted form of ``source``, produced as it is read.
    It has no ``temporary_file_path``, so a storage cannot move the plaintext upload into place."""

    def __init__(self, source: File) -> None:
        super().__init__(None, name=source.name)
        self._source = source
        self._master, self._key_id = crypto.file_key()  # a missing key fails before anything is written

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        return seal(self._source.chunks(_CHUNK), self._master, self._key_id)

    def multiple_chunks(self, chunk_size: int | None = None) -> bool:
        return True

    @property
    def size(self) -> int:
        return sealed_size(self._source.size)

    def __bool__(self) -> bool:
        return True


class _StoredFile(File):
    """A file opened from the storage; opened again (after ``close``) through the storage too,
    never from a path (Django's ``File.open`` would read the encrypted bytes from one)."""

    def __init__(self, file: Any, name: str, storage: EncryptedStorage) -> None:
        super().__init__(file, name=name)
        self._storage = storage

    def open(self, mode: str | None = None, *args: Any, **kwargs: Any) -> _StoredFile:
        if not self.closed:
            self.seek(0)
        else:
            self.file = self._storage.open(self.name or "", mode or "rb").file
        return self


class EncryptedStorage(Storage):
    """Encrypts what it saves into ``backend`` (a storage class's dotted path, built with
    ``options``) and decrypts what it opens."""

    def __init__(
        self, backend: str = "django.core.files.storage.FileSystemStorage", options: dict[str, Any] | None = None
    ) -> None:
        self.inner: Storage = import_string(backend)(**(options or {}))

    # -- writing and reading -----------------------------------------------------------------

    def _save(self, name: str, content: File) -> str:
        return self.inner.save(name, _SealingContent(content))

    def _open(self, name: str, mode: str = "rb") -> File:
        if set(mode) - {"r", "b"}:
            raise ValueError(f"stored files are written with save(), not opened in mode {mode!r}")
        raw = self.inner.open(name, "rb")
        try:
            if not is_sealed(raw.read(len(MAGIC))):
                if not _allow_plaintext():
                    raise StoredFileError(
                        name,
                        _(
                            "The stored file %(name)s is not encrypted, and unencrypted files are no "
                            "longer accepted (BANGFU_FILES_ALLOW_PLAINTEXT is off)."
                        )
                        % {"name": name},
                    )
                raw.seek(0)
                return _StoredFile(raw, name, self)
            reader = self._reader(raw, name)
            reader.verify()
        except BaseException:
            raw.close()
            raise
        return _StoredFile(reader, name, self)

    def _reader(self, raw: Any, name: str) -> SealedReader:
        master, key_id = crypto.file_key()
        return SealedReader(raw, name=name, master=master, key_id=key_id)

    def is_encrypted(self, name: str) -> bool:
        with self.inner.open(name, "rb") as raw:
            return is_sealed(raw.read(len(MAGIC)))

    def size(self, name: str) -> int:
        """The content's size (not the encrypted file's)."""
        with self.inner.open(name, "rb") as raw:
            if not is_sealed(raw.read(len(MAGIC))):
                return self.inner.size(name)
            return self._reader(raw, name).size

    # -- the rest is the wrapped storage's, but for what would bypass the encryption -----------

    def path(self, name: str) -> str:
        raise NotImplementedError("an encrypted file has no readable path on disk; open it through the storage")

    def url(self, name: str | None) -> str:
        raise ValueError("files with personal data are not served by URL; they are downloaded through the views")

    def exists(self, name: str) -> bool:
        return self.inner.exists(name)

    def delete(self, name: str) -> None:
        self.inner.delete(name)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        return self.inner.listdir(path)

    def get_accessed_time(self, name: str) -> Any:
        return self.inner.get_accessed_time(name)

    def get_created_time(self, name: str) -> Any:
        return self.inner.get_created_time(name)

    def get_modified_time(self, name: str) -> Any:
        return self.inner.get_modified_time(name)

    # -- encrypting a file stored before encryption ----------------------------------------------

    def encrypt_in_place(self, name: str, *, sha256: str = "") -> bool:
        """Encrypt the stored file ``name`` where it is; False when it already was. On the file
        system the encrypted copy is written beside it, decrypted and compared (SHA-256) with the
        original, then renamed over it (one atomic step; the original's owner, permissions and
        times are kept). Elsewhere the file is encrypted into a temporary file, then saved again
        under its name. ``FileNotFoundError`` for a missing file. With ``sha256`` (the content's
        digest recorded when it was saved), a file whose content differs — damaged, or swapped on
        the disk — is left as it is (``StoredFileError``): sealing it would make it pass for the
        file that was saved."""
        local = self.inner.path(name) if isinstance(self.inner, FileSystemStorage) else ""
        with self.inner.open(name, "rb") as src:
            if is_sealed(src.read(len(MAGIC))):
                return False
            src.seek(0)
            if local:
                self._replace_on_disk(src, local, name, sha256)
            else:
                self._replace_in_storage(src, name, sha256)
        return True

    def _seal_into(self, src: File, out: Any, name: str, sha256: str) -> str:
        """Write ``src`` encrypted into ``out``; the content's SHA-256 (``StoredFileError`` when
        it is not the recorded ``sha256``)."""
        master, key_id = crypto.file_key()
        digest = hashlib.sha256()

        def hashed() -> Iterator[bytes]:
            for chunk in src.chunks(_CHUNK):
                digest.update(chunk)
                yield chunk

        for piece in seal(hashed(), master, key_id):
            out.write(piece)
        if sha256 and digest.hexdigest() != sha256:
            raise not_as_saved(name)
        return digest.hexdigest()

    def _check_copy(self, out: Any, name: str, expected: str) -> None:
        out.seek(0)
        reader = self._reader(_Unclosed(out), name)
        digest = hashlib.sha256()
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
        if digest.hexdigest() != expected:  # pragma: no cover - a broken disk or library
            raise StoredFileError(name, f"the encrypted copy of {name} does not read back as the original")

    def _replace_on_disk(self, src: File, local: str, name: str, sha256: str) -> None:
        directory = os.path.dirname(local)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".encrypting-", suffix=".part")
        try:
            with os.fdopen(fd, "w+b") as out:
                expected = self._seal_into(src, out, name, sha256)
                out.flush()
                os.fsync(out.fileno())
                self._check_copy(out, name, expected)
            original = os.stat(local)
            with contextlib.suppress(PermissionError):  # run as root: the web processes' user keeps it
                os.chown(tmp, original.st_uid, original.st_gid)
            shutil.copystat(local, tmp)
            os.replace(tmp, local)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        with contextlib.suppress(OSError):  # the rename itself made durable, where the system allows
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def _replace_in_storage(self, src: File, name: str, sha256: str) -> None:
        with tempfile.TemporaryFile() as out:  # holds the encrypted form only
            expected = self._seal_into(src, out, name, sha256)
            self._check_copy(out, name, expected)
            src.close()
            out.seek(0)
            self.inner.delete(name)
            saved = self.inner.save(name, File(out, name=name))
        if saved != name:  # pragma: no cover - a storage that renamed a file it had just deleted
            raise StoredFileError(name, f"{name} was saved again as {saved}")


def not_as_saved(name: str) -> StoredFileError:
    return StoredFileError(
        name,
        _(
            "The stored file %(name)s is not the file that was saved: its content differs from the "
            "SHA-256 recorded when it was saved."
        )
        % {"name": name},
    )


class _Unclosed:
    """A file object whose ``close`` leaves it open (the reader closes what it reads)."""

    def __init__(self, fh: Any) -> None:
        self._fh = fh

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._fh, attr)

    def close(self) -> None:
        pass


class _PrivateStorage(LazyObject):
    def _setup(self) -> None:
        self._wrapped = storages[PRIVATE]


_private = _PrivateStorage()


def private_storage() -> Storage:
    """The storage of files with personal data (``STORAGES["private"]``), for
    ``FileField(storage=private_storage)``; it follows changes of the setting (in tests)."""
    return cast(Storage, _private)


def _storages_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "STORAGES":
        _private._wrapped = empty  # type: ignore[assignment]  # LazyObject's own marker of "not set up"


setting_changed.connect(_storages_changed)


# -- the files of the models ------------------------------------------------------------------


@contextlib.contextmanager
def deleted_on_error() -> Iterator[Callable[[models.fields.files.FieldFile], None]]:
    """Files stored inside the block (each given to the function it yields once saved) are deleted
    again if the block ends in an error: the database rows naming them are rolled back with it, so
    no stored file is left without its row. Put it outside the ``transaction.atomic()`` it covers."""
    stored: list[tuple[Storage, str]] = []
    try:
        yield lambda saved: stored.append((saved.storage, saved.name or ""))
    except BaseException:
        for storage, name in stored:
            with contextlib.suppress(OSError):
                storage.delete(name)
        raise


class StoredFileRef(NamedTuple):
    storage: EncryptedStorage
    name: str
    sha256: str  # the content's SHA-256 recorded when it was saved ("" when the model keeps none)


def stored_files() -> Generator[StoredFileRef]:
    """Every file a model's ``FileField`` with an encrypted storage refers to, with the content's
    SHA-256 when the model records it in a field named ``sha256`` beside the file."""
    for model in apps.get_models():
        field_names = {f.name for f in model._meta.get_fields()}
        for f in model._meta.get_fields():
            if isinstance(f, models.FileField) and isinstance(f.storage, EncryptedStorage):
                digest = ["sha256"] if "sha256" in field_names else []
                rows = (
                    model._default_manager.exclude(**{f.attname: ""})
                    .exclude(**{f"{f.attname}__isnull": True})
                    .order_by(f.attname)
                    .values_list(f.attname, *digest)
                    .distinct()
                )
                for row in rows.iterator(chunk_size=2000):
                    yield StoredFileRef(cast(EncryptedStorage, f.storage), row[0], row[1] if digest else "")


@dataclass
class FilesOutcome:
    """What a pass over the stored files found (and, encrypting, did)."""

    total: int = 0
    encrypted: int = 0  # encrypted by this pass
    already: int = 0  # encrypted before (and intact, when checked)
    plaintext: list[str] = field(default_factory=list)  # not encrypted (checking)
    missing: list[str] = field(default_factory=list)
    damaged: list[tuple[str, str]] = field(default_factory=list)  # name, reason
    stopped: bool = False  # stopped when asked, before every file was done


Progress = Callable[[int], None]


def files_encrypt(*, progress: Progress | None = None, stop: Callable[[], bool] | None = None) -> FilesOutcome:
    """Encrypt where they are the stored files of the models that were saved before encryption.
    Run again, it encrypts nothing twice: a file already encrypted is left as it is. A missing
    file is listed, and so is one whose content is not the recorded SHA-256 (left as it is); the
    others are still done. ``stop`` is asked before each file: when it answers yes, the pass ends
    there (every file is then either as it was or whole encrypted). One audit entry when any file
    was encrypted, even by a pass that stopped or failed half-way."""
    from .audit import audit_record
    from .models import AuditAction

    out = FilesOutcome()
    refs = stored_files()
    try:
        for ref in refs:
            if stop is not None and stop():
                out.stopped = True
                break
            try:
                if ref.storage.encrypt_in_place(ref.name, sha256=ref.sha256):
                    out.encrypted += 1
                else:
                    out.already += 1
            except FileNotFoundError:
                out.missing.append(ref.name)
            except StoredFileError as exc:
                out.damaged.append((ref.name, exc.message))
            out.total += 1
            if progress is not None:
                progress(out.total)
    finally:
        refs.close()  # the query's cursor, before the audit entry is written
        if out.encrypted:
            after: dict[str, Any] = {
                "encrypted": out.encrypted,
                "already": out.already,
                "missing": len(out.missing),
                "damaged": len(out.damaged),
            }
            if out.stopped:
                after["stopped"] = True
            audit_record(
                actor=None,
                action=AuditAction.UPDATE,
                target_type="common.stored_files",
                after=after,
                note="stored files encrypted in place",
            )
    return out


def _sha256(fh: Any) -> str:
    digest = hashlib.sha256()
    while chunk := fh.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def files_check(*, progress: Progress | None = None) -> FilesOutcome:
    """Read every stored file of the models back: encrypted and intact, not yet encrypted, missing,
    or damaged (with the reason) — a file that fails its integrity check, or whose content is not
    the SHA-256 recorded when it was saved (damaged before it was encrypted, or swapped on the
    disk for another file). Writes nothing."""
    out = FilesOutcome()
    for ref in stored_files():
        storage, name = ref.storage, ref.name
        try:
            if storage.is_encrypted(name):
                with storage.open(name, "rb") as fh:  # opening checks every segment
                    digest = _sha256(fh)
                plain = False
            else:
                with storage.inner.open(name, "rb") as fh:
                    digest = _sha256(fh)
                plain = True
            if ref.sha256 and digest != ref.sha256:
                raise not_as_saved(name)
            if plain:
                out.plaintext.append(name)
            else:
                out.already += 1
        except FileNotFoundError:
            out.missing.append(name)
        except StoredFileError as exc:
            out.damaged.append((name, exc.message))
        out.total += 1
        if progress is not None:
            progress(out.total)
    return out
