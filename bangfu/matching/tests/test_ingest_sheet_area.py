"""A department workbook whose used area is too large to read is refused with the place named,
before the reader builds the area in memory."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from django.utils import translation

from bangfu.matching import ingest
from bangfu.matching.engine.schemas import DatasetKind
from bangfu.matching.tests.test_dirty_files import IDS, VEHICLES


def test_a_stray_value_in_the_last_cell_is_named(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(VEHICLES)
    ws.append([IDS[0], "张三", "云A12345", "小型轿车"])
    ws["XFD1048576"] = "x"
    path = tmp_path / "vehicles.xlsx"
    wb.save(path)
    work = tmp_path / "work"
    work.mkdir()
    with translation.override("en"), pytest.raises(ingest.IngestProblem) as caught:
        ingest.ingest(path, DatasetKind.VEHICLES, work)
    assert caught.value.code == "too_large_area"
    assert "XFD1048576" in caught.value.message
