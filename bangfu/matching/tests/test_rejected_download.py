"""The rejected rows download comes a part at a time from a temporary copy, never whole in
memory (a national file's rejected rows run to millions), and leaves no copy behind — also when
the download is stopped half way."""

from __future__ import annotations

import codecs
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage

from bangfu.common.models import AuditEntry
from bangfu.matching import selectors, services
from bangfu.matching.tests.test_dirty_files import IDS, VEHICLES, _csv

pytestmark = pytest.mark.django_db


def _folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("bangfu-rejected-*")}


def test_a_large_rejected_file_comes_in_parts_and_leaves_nothing(
    users: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows: list[list[Any]] = [VEHICLES, *([IDS[i % 6], "张三", f"云A{i}", "小型轿车"] for i in range(3000))]
    rows += [[f"bad{i}", "李四", f"云B{i}", "小型轿车"] for i in range(1000)]
    ds = services.dataset_import(actor=users["xiangyun_staff"], kind="vehicles", path=_csv(tmp_path / "v.csv", rows))
    assert ds.rows_rejected == 1000
    monkeypatch.setattr(selectors, "_PART", 4096)
    before = _folders()
    parts = selectors.dataset_rejected_rows(
        actor=users["xiangyun_staff"], dataset_id=ds.pk, header=["行", "身份证号", "原因"]
    )
    assert AuditEntry.objects.filter(target_type="matching.dataset_rejected").count() == 1  # logged when asked
    first = next(parts)
    assert first == codecs.BOM_UTF8 + "行,身份证号,原因\n".encode()
    rest = list(parts)
    assert len(rest) > 5  # in parts
    lines = b"".join(rest).decode().splitlines()
    assert len(lines) == 1000 and lines[0].startswith("3002,")
    assert _folders() == before
    stored = default_storage.open(ds.rejected_file, "rb").read().decode("utf-8-sig").splitlines()
    assert stored[1:] == lines  # the reasons already in the reader's language: the rows as stored


def test_a_download_stopped_half_way_leaves_no_copy(
    users: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows: list[list[Any]] = [VEHICLES, *([IDS[i % 6], "张三", f"云A{i}", "小型轿车"] for i in range(300))]
    rows += [[f"bad{i}", "李四", f"云B{i}", "小型轿车"] for i in range(200)]
    ds = services.dataset_import(actor=users["xiangyun_staff"], kind="vehicles", path=_csv(tmp_path / "v.csv", rows))
    monkeypatch.setattr(selectors, "_PART", 256)
    before = _folders()
    parts = selectors.dataset_rejected_rows(actor=users["xiangyun_staff"], dataset_id=ds.pk)
    next(parts)
    next(parts)
    assert _folders() != before  # the copy is there while the rows are read
    parts.close()  # the browser went away
    assert _folders() == before
