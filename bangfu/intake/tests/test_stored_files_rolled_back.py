"""An upload is stored before its row is written: when the write fails (the database gone, a
constraint, an error after it in the same transaction), the row is rolled back and the stored file
is deleted with it. Before, the encrypted file stayed on disk, named by nothing, a copy of a
worker's proof or a union's list that no retention rule would ever purge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bangfu.intake import imports, services, steps
from bangfu.intake.models import Applicant, Attachment, ImportBatch
from bangfu.intake.tests.helpers import form_data
from bangfu.intake.tests.test_legacy_import import household_rows, xlsx
from bangfu.testing.factories import pdf_file

pytestmark = pytest.mark.django_db


class WriteFailedError(Exception):
    pass


def _fail(*args: Any, **kwargs: Any) -> None:
    raise WriteFailedError


def _stored(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def test_a_proof_whose_row_is_not_written_leaves_no_file(tree: dict, media: Path, monkeypatch: Any) -> None:
    worker = Applicant.objects.create(phone="13900005555")
    draft = services.application_create(actor=worker, unit_id=tree["xiangyun_g"].pk, form=form_data(tree["xiangyun_g"]))
    kept = steps.attachment_add(actor=worker, application_id=draft.pk, name="a.pdf", content=pdf_file())
    assert len(_stored(media)) == 1
    monkeypatch.setattr(steps, "_audit", _fail)  # the last write of the same transaction
    with pytest.raises(WriteFailedError):
        steps.attachment_add(actor=worker, application_id=draft.pk, name="b.pdf", content=pdf_file(filler=2))
    assert list(Attachment.objects.all()) == [kept]
    assert _stored(media) == [media / str(kept.file.name)]


def test_an_import_whose_batch_is_not_written_leaves_no_file(
    tree: dict, users: dict[str, Any], media: Path, monkeypatch: Any
) -> None:
    content = xlsx(household_rows("Z1", "532923"))
    staff = users["xiangyun_staff"]
    monkeypatch.setattr(imports, "_background", _fail)  # after the batch is written, in its transaction
    with pytest.raises(WriteFailedError):
        imports.import_batch_create(actor=staff, unit_id=tree["xiangyun"].pk, name="a.xlsx", content=content)
    monkeypatch.setattr(ImportBatch, "save", _fail)  # the batch itself, committed at once
    with pytest.raises(WriteFailedError):
        imports.import_file(actor=staff, unit_id=tree["xiangyun"].pk, name="a.xlsx", content=content, commit=True)
    assert not ImportBatch.objects.exists() and _stored(media) == []
