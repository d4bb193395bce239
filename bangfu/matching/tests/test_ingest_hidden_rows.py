"""A department workbook's hidden rows (by hand, or by a filter: a withdrawn record is often hidden
rather than deleted) are rejected, saying so, as the legacy import refuses them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook

from bangfu.common import sheets
from bangfu.matching.tests.test_ingest_keys import IDS, VEHICLES, _ingest, _rejected, _snapshot


def test_hidden_rows_of_a_workbook_are_rejected_saying_so(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["车辆登记信息"])  # a title above the header: rows keep their sheet numbers
    ws.append(VEHICLES)
    rows: list[list[Any]] = [[IDS[i], "张三", f"云B{i}", "小型轿车"] for i in range(6)]
    for r in rows:
        ws.append(r)
    ws.row_dimensions[4].hidden = True
    ws.row_dimensions[7].hidden = True
    ws.auto_filter.ref = "A2:D8"
    path = tmp_path / "v.xlsx"
    wb.save(path)
    result = _ingest(path, tmp_path)
    reason = sheets.hidden_row_message()
    assert _rejected(result) == [(4, reason), (7, reason)]
    assert [row for row, *_rest in _snapshot(result)] == [3, 5, 6, 8]
    assert result.reasons == {reason: 2} and result.rows_rejected == 2
