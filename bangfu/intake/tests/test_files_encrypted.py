"""Attachments and legacy import workbooks are encrypted on disk, downloaded as they were through
the pages and the API; files stored before encryption still download, and ``bangfu files
encrypt`` encrypts them where they are, once."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.test import Client

from bangfu.common.encrypted_files import MAGIC
from bangfu.common.models import AuditEntry
from bangfu.common.storage import private_storage
from bangfu.intake import imports, steps
from bangfu.intake.models import Attachment, ImportBatch, ImportState
from bangfu.intake.tests.helpers import old_attachment, submitted
from bangfu.intake.tests.test_legacy_import import household_rows, xlsx
from bangfu.testing.factories import pdf_file

pytestmark = pytest.mark.django_db

ID_NUMBER = b"532923199001011212"


def _pdf(filler: int = 0) -> bytes:
    """A PDF that shows an ID number in plain text (as a scanned ID card's text layer would)."""
    return pdf_file(b"(\xe5\xbc\xa0\xe4\xb8\x89 " + ID_NUMBER + b")", filler=filler)


def _on_disk(media: Path, row: Attachment | ImportBatch) -> Path:
    return media / str(row.file.name)


def _staff(users: Any) -> Client:
    client = Client()
    client.force_login(users["xiangyun_staff"])
    return client


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_an_attachment_is_encrypted_on_disk_and_downloads_as_it_was(tree: Any, users: Any, media: Path) -> None:
    app = submitted(tree["xiangyun_g"], phone="13812340001")
    content = _pdf(filler=200_000)  # several segments
    row = steps.attachment_add(actor=app.applicant, application_id=app.pk, name="身份证.pdf", content=content)
    on_disk = _on_disk(media, row).read_bytes()
    assert on_disk.startswith(MAGIC)
    assert ID_NUMBER not in on_disk
    staff = _staff(users)
    page = staff.get(f"/attachments/{row.pk}/")
    assert page.status_code == 200
    assert page["Content-Length"] == str(len(content))  # the content's size, not the encrypted file's
    assert _body(page) == content
    api = staff.get(f"/api/v1/applications/{app.pk}/attachments/{row.pk}")
    assert api.status_code == 200
    assert _body(api) == content


def test_a_legacy_workbook_is_encrypted_on_disk_and_checked_from_there(
    tree: Any, users: Any, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    content = xlsx(household_rows("R-0001"))
    with django_capture_on_commit_callbacks(execute=True):  # the background check reads it from storage
        batch = imports.import_batch_create(
            actor=users["xiangyun_staff"],
            unit_id=tree["xiangyun"].pk,
            name="台账.xlsx",
            content=content,
            run_async=True,
        )
    on_disk = _on_disk(media, batch).read_bytes()
    assert on_disk.startswith(MAGIC)
    assert b"xl/worksheets" not in on_disk  # a workbook's part names are plain text in the zip
    batch.refresh_from_db()
    assert batch.state == ImportState.VALIDATED
    assert batch.households_valid == 1
    with batch.file.open("rb") as fh:
        assert fh.read() == content


def test_old_files_still_download_and_the_command_encrypts_them_once(tree: Any, users: Any, media: Path) -> None:
    app = submitted(tree["xiangyun_g"], phone="13812340002")
    old = [old_attachment(app, _pdf(filler=n * 70_000), f"old{n}.pdf") for n in range(3)]
    workbook = xlsx(household_rows("R-0002"))
    batch = ImportBatch.objects.create(
        unit=tree["xiangyun"],
        name="old.xlsx",
        file=private_storage().inner.save("intake/imports/2025/01/old.xlsx", ContentFile(workbook)),  # type: ignore[attr-defined]
        sha256=hashlib.sha256(workbook).hexdigest(),
        size=len(workbook),
        created_by=users["xiangyun_staff"],
    )
    new = steps.attachment_add(actor=app.applicant, application_id=app.pk, name="new.pdf", content=_pdf())
    staff = _staff(users)
    assert _body(staff.get(f"/attachments/{old[0].pk}/")) == _pdf()  # read as it is, not yet encrypted
    with pytest.raises(CommandError, match="4 files are not encrypted"):
        call_command("files", "check")

    call_command("files", "encrypt")

    for row in old:
        on_disk = _on_disk(media, row).read_bytes()
        assert on_disk.startswith(MAGIC)
        assert ID_NUMBER not in on_disk
        assert hashlib.sha256(_body(staff.get(f"/attachments/{row.pk}/"))).hexdigest() == row.sha256
    assert _on_disk(media, batch).read_bytes().startswith(MAGIC)
    with batch.file.open("rb") as fh:
        assert fh.read() == workbook
    assert AuditEntry.objects.filter(target_type="common.stored_files").count() == 1
    call_command("files", "check")  # all encrypted and intact

    before = {p: p.read_bytes() for p in media.rglob("*") if p.is_file()}
    call_command("files", "encrypt")  # again: nothing to do
    assert {p: p.read_bytes() for p in media.rglob("*") if p.is_file()} == before
    assert AuditEntry.objects.filter(target_type="common.stored_files").count() == 1
    assert _body(staff.get(f"/attachments/{new.pk}/")) == _pdf()


def test_the_commands_name_missing_and_damaged_files(tree: Any, users: Any, media: Path, capsys: Any) -> None:
    app = submitted(tree["xiangyun_g"], phone="13812340003")
    gone = old_attachment(app, _pdf(), "gone.pdf")
    _on_disk(media, gone).unlink()
    kept = old_attachment(app, _pdf(), "kept.pdf")
    with pytest.raises(CommandError, match="1 file named in the database is missing"):
        call_command("files", "encrypt")
    assert gone.file.name in capsys.readouterr().err
    assert _on_disk(media, kept).read_bytes().startswith(MAGIC)  # the others are still done

    path = _on_disk(media, kept)
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(CommandError, match="1 file is damaged"):
        call_command("files", "check")
    assert f"The stored file {kept.file.name} is damaged" in capsys.readouterr().err


@pytest.mark.parametrize("how", ["changed", "missing"])
def test_a_damaged_or_missing_attachment_is_said_not_served(tree: Any, users: Any, media: Path, how: str) -> None:
    """A stored file changed on the disk (or gone) is never served as other content nor as a 500:
    the page says what happened on the application, the API answers with its code."""
    app = submitted(tree["xiangyun_g"], phone="13812340002")
    row = steps.attachment_add(actor=app.applicant, application_id=app.pk, name="证明.pdf", content=_pdf(filler=1000))
    path = _on_disk(media, row)
    if how == "changed":
        data = bytearray(path.read_bytes())
        data[-40] ^= 0xFF
        path.write_bytes(bytes(data))
    else:
        path.unlink()
    staff = _staff(users)
    page = staff.get(f"/attachments/{row.pk}/", follow=True)
    assert page.status_code == 200 and page.redirect_chain[-1][0] == f"/applications/{app.pk}/"
    expected = "damaged or was changed" if how == "changed" else "missing from the storage"
    assert expected in page.content.decode()
    api = staff.get(f"/api/v1/applications/{app.pk}/attachments/{row.pk}")
    assert api.status_code == 400
    assert api.json()["error"]["code"] == ("stored_file_damaged" if how == "changed" else "stored_file_missing")


def test_a_kept_workbook_that_cannot_be_read_back_fails_its_batch_with_a_message(
    tree: Any, users: Any, media: Path
) -> None:
    staff, unit = users["xiangyun_staff"], tree["xiangyun"]
    batch = imports.import_batch_create(
        actor=staff, unit_id=unit.pk, name="a.xlsx", content=xlsx(household_rows("D-0001")), run_async=True
    )
    path = _on_disk(media, batch)
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF
    path.write_bytes(bytes(data))
    imports.import_batch_execute(batch_id=batch.pk, commit=False)
    batch.refresh_from_db()
    assert batch.state == ImportState.FAILED and "cannot be read back" in batch.message
