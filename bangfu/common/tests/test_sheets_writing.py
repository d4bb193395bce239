"""Cells written for spreadsheets: text that looks like a formula stays text."""

from __future__ import annotations

import io

import openpyxl
import pytest

from bangfu.common.sheets import csv_safe, xlsx_row


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+86 138", "'+86 138"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("-12.5", "-12.5"),
        ("+3", "+3"),
        ("1e5", "1e5"),
        ("王建国", "王建国"),
        ("", ""),
        (-3, -3),
        (None, None),
    ],
)
def test_csv_safe(value: object, expected: object) -> None:
    assert csv_safe(value) == expected


@pytest.mark.parametrize("write_only", [False, True])
def test_xlsx_row_keeps_formula_like_text_as_text(write_only: bool) -> None:
    wb = openpyxl.Workbook(write_only=write_only)
    ws = wb.create_sheet("s") if write_only else wb.active
    ws.append(xlsx_row(ws, ["=1+1", "plain", 3, None, "@x"]))
    buf = io.BytesIO()
    wb.save(buf)
    sheet = openpyxl.load_workbook(io.BytesIO(buf.getvalue())).worksheets[-1]
    cells = next(sheet.iter_rows())
    assert [(c.value, c.data_type) for c in cells[:3]] == [("=1+1", "s"), ("plain", "s"), (3, "n")]
