"""A department workbook's hidden rows (by hand, or by a filter: a withdrawn record is often hidden
rather than deleted) are rejected, saying so, as the legacy import refuses them: in an .xlsx, an
.xls and an .ods alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bangfu.common import sheets
from bangfu.matching.tests.test_ingest_keys import IDS, VEHICLES, _ingest, _rejected, _snapshot
from bangfu.testing.workbooks import KINDS, workbook


@pytest.mark.parametrize("kind", KINDS)
def test_hidden_rows_of_a_workbook_are_rejected_saying_so(tmp_path: Path, kind: str) -> None:
    rows: list[list[Any]] = [[IDS[i], "张三", f"云B{i}", "小型轿车"] for i in range(6)]
    # A title above the header: rows keep their sheet numbers.
    path = tmp_path / f"v.{kind}"
    path.write_bytes(workbook(kind, [["车辆登记信息"], VEHICLES, *rows], hidden_rows={4, 7}, by_filter=True))
    result = _ingest(path, tmp_path)
    reason = sheets.hidden_row_message()
    assert _rejected(result) == [(4, reason), (7, reason)]
    assert [row for row, *_rest in _snapshot(result)] == [3, 5, 6, 8]
    assert result.reasons == {reason: 2} and result.rows_rejected == 2
