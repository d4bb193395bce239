"""What an administrator and the staff meet with the stored files of applications: a download
that cannot be given is no export in the audit log, downloads are not kept in the browser's cache,
``bangfu files check`` names every file needing a person, a file swapped or damaged before it was
encrypted is not sealed as if it were the saved one, and ``bangfu files encrypt`` stops cleanly
between two files when asked."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from bangfu.common.encrypted_files import MAGIC
from bangfu.common.models import AuditEntry
from bangfu.common.storage import EncryptedStorage
from bangfu.intake import imports, steps
from bangfu.intake.models import Attachment
from bangfu.intake.tests.helpers import old_attachment, submitted
from bangfu.intake.tests.test_legacy_import import household_rows, xlsx
from bangfu.testing.factories import pdf_file

pytestmark = pytest.mark.django_db


def _pdf(tag: str = "", filler: int = 0) -> bytes:
    return pdf_file(b"(532923199001011212 " + tag.encode() + b")", filler=filler)


def _path(media: Path, row: Attachment) -> Path:
    return media / str(row.file.name)


def _staff(users: Any) -> Client:
    client = Client()
    client.force_login(users["xiangyun_staff"])
    return client


def _exports() -> int:
    return AuditEntry.objects.filter(action="export", target_type="intake.attachment").count()


def test_a_download_that_cannot_be_given_is_no_export_in_the_audit_log(tree: Any, users: Any, media: Path) -> None:
    app = submitted(tree["xiangyun_g"], phone="13812341001")
    row = steps.attachment_add(actor=app.applicant, application_id=app.pk, name="证明.pdf", content=_pdf(filler=999))
    path = _path(media, row)
    intact = path.read_bytes()
    path.write_bytes(intact[:-40] + bytes([intact[-40] ^ 0xFF]) + intact[-39:])
    staff = _staff(users)
    page = staff.get(f"/attachments/{row.pk}/", follow=True)
    assert "damaged or was changed" in page.content.decode()
    assert staff.get(f"/api/v1/applications/{app.pk}/attachments/{row.pk}").status_code == 400
    path.unlink()
    assert "missing from the storage" in staff.get(f"/attachments/{row.pk}/", follow=True).content.decode()
    assert _exports() == 0  # nothing left the system

    path.write_bytes(intact)
    assert staff.get(f"/attachments/{row.pk}/").status_code == 200
    assert _exports() == 1


def test_downloads_of_personal_data_are_not_kept_in_the_browsers_cache(tree: Any, users: Any, media: Path) -> None:
    app = submitted(tree["xiangyun_g"], phone="13812341002")
    row = steps.attachment_add(actor=app.applicant, application_id=app.pk, name="身份证.pdf", content=_pdf())
    batch = imports.import_batch_create(
        actor=users["xiangyun_staff"],
        unit_id=tree["xiangyun"].pk,
        name="r.xlsx",
        content=xlsx(household_rows("C-0001", 住房类型="城堡")),
    )
    staff = _staff(users)
    for url in (
        f"/attachments/{row.pk}/",
        f"/api/v1/applications/{app.pk}/attachments/{row.pk}",
        f"/applications/import/{batch.pk}/report/?format=xlsx",
        f"/applications/import/{batch.pk}/report/?format=csv",
        f"/api/v1/imports/{batch.pk}/report?format=csv",
    ):
        response = staff.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "no-store", url
        assert response["Content-Disposition"].startswith("attachment"), url


def test_check_names_each_file_not_encrypted(tree: Any, users: Any, media: Path, capsys: Any) -> None:
    app = submitted(tree["xiangyun_g"], phone="13812341003")
    steps.attachment_add(actor=app.applicant, application_id=app.pk, name="new.pdf", content=_pdf("new"))
    old = old_attachment(app, _pdf("old"), "old.pdf")
    with pytest.raises(CommandError, match="1 file is not encrypted"):
        call_command("files", "check")
    assert f"Not encrypted: {old.file.name}" in capsys.readouterr().err


def test_a_file_changed_before_it_was_encrypted_is_left_as_it_is_and_named(
    tree: Any, users: Any, media: Path, capsys: Any
) -> None:
    """Sealing a plain file that is not the one saved (damaged on the disk, or swapped for
    another) would make it pass every later check as the saved file."""
    app = submitted(tree["xiangyun_g"], phone="13812341004")
    good = old_attachment(app, _pdf("good"), "good.pdf")
    swapped = old_attachment(app, _pdf("saved"), "swapped.pdf")
    (_path(media, swapped)).write_bytes(_pdf("put in its place"))

    with pytest.raises(CommandError, match="1 file is damaged"):
        call_command("files", "check")
    assert f"The stored file {swapped.file.name} is not the file that was saved" in capsys.readouterr().err

    with pytest.raises(CommandError, match="1 file is damaged"):
        call_command("files", "encrypt")
    out = capsys.readouterr()
    assert "2 files: 1 encrypted now, 0 already encrypted." in out.out
    assert f"The stored file {swapped.file.name} is not the file that was saved" in out.err
    assert (_path(media, good)).read_bytes().startswith(MAGIC)  # the others are still done
    assert _path(media, swapped).read_bytes() == _pdf("put in its place")  # left as it is
    after = AuditEntry.objects.get(target_type="common.stored_files").after or {}
    assert after["encrypted"] == 1 and after["damaged"] == 1


def test_check_finds_an_encrypted_file_put_in_the_place_of_another(
    tree: Any, users: Any, media: Path, capsys: Any
) -> None:
    """Each encrypted file passes its own integrity check; one copied over another's name (an ID
    card shown as another application's) is found by the content's recorded SHA-256."""
    app = submitted(tree["xiangyun_g"], phone="13812341005")
    mine = steps.attachment_add(actor=app.applicant, application_id=app.pk, name="a.pdf", content=_pdf("a"))
    other = steps.attachment_add(actor=app.applicant, application_id=app.pk, name="b.pdf", content=_pdf("b"))
    call_command("files", "check")
    (_path(media, mine)).write_bytes((_path(media, other)).read_bytes())
    with pytest.raises(CommandError, match="1 file is damaged"):
        call_command("files", "check")
    assert f"The stored file {mine.file.name} is not the file that was saved" in capsys.readouterr().err


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_encrypt_stops_between_two_files_when_asked(
    tree: Any, users: Any, media: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """Ctrl-C (or a service manager's SIGTERM) in the middle of a long run: the file in hand is
    finished, the others are left as they were, no temporary copy stays behind, the run is in the
    audit log, and the command says to run it again."""
    app = submitted(tree["xiangyun_g"], phone="13812341006")
    old = [old_attachment(app, _pdf(str(n), filler=70_000 * n), f"old{n}.pdf") for n in range(5)]
    encrypt = EncryptedStorage.encrypt_in_place
    before = signal.getsignal(signal.SIGINT)  # Python's own, or ignored when run in the background
    calls = []

    def interrupted(self: EncryptedStorage, name: str, **kwargs: Any) -> bool:
        calls.append(name)
        if len(calls) == 2:  # the signal arrives while the second file is being encrypted
            if how == "SIGINT":
                os.kill(os.getpid(), signal.SIGINT)
            else:
                handler = signal.getsignal(signal.SIGTERM)
                assert callable(handler), "SIGTERM would end the run half-way"
                handler(signal.SIGTERM, None)
        return encrypt(self, name, **kwargs)

    monkeypatch.setattr(EncryptedStorage, "encrypt_in_place", interrupted)
    try:
        with pytest.raises(CommandError, match="Stopped when asked") as stopped:
            call_command("files", "encrypt")
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C ended the run half-way")
    assert stopped.value.returncode == 130
    assert "2 files: 2 encrypted now" in capsys.readouterr().out
    sealed = [(_path(media, row)).read_bytes().startswith(MAGIC) for row in old]
    assert sealed == [True, True, False, False, False]
    assert not [p for p in media.rglob("*") if p.name.startswith(".encrypting-")]
    after = AuditEntry.objects.get(target_type="common.stored_files").after or {}
    assert after["encrypted"] == 2 and after["stopped"] is True
    assert signal.getsignal(signal.SIGINT) is before  # the handlers are put back

    monkeypatch.undo()
    call_command("files", "encrypt")  # run again: finishes
    assert all((_path(media, row)).read_bytes().startswith(MAGIC) for row in old)
    call_command("files", "check")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="changing a file's owner needs root")
def test_encrypting_as_root_keeps_the_files_owner(tree: Any, users: Any, media: Path) -> None:
    """An administrator who runs the command as root must not leave files the web processes'
    user can no longer read."""
    app = submitted(tree["xiangyun_g"], phone="13812341007")
    row = old_attachment(app, _pdf(), "old.pdf")
    path = _path(media, row)
    os.chown(path, 4321, 4322)
    path.chmod(0o600)
    call_command("files", "encrypt")
    stat = path.stat()
    assert path.read_bytes().startswith(MAGIC)
    assert (stat.st_uid, stat.st_gid, stat.st_mode & 0o777) == (4321, 4322, 0o600)
