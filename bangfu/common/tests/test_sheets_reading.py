"""Reading the sheet a person sees, and saying plainly why a workbook cannot be read."""

from __future__ import annotations

import io

import openpyxl
import pytest

from bangfu.common.sheets import SheetProblem, first_sheet_rows


def _book(hidden_first: bool) -> bytes:
    wb = openpyxl.Workbook()
    codes = wb.active
    assert codes is not None
    codes.title = "codes"
    codes.append(["汉族", "回族"])
    if hidden_first:
        codes.sheet_state = "hidden"
    data = wb.create_sheet("data")
    data.append(["身份证号", "姓名"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_a_hidden_first_sheet_is_passed_over() -> None:
    assert first_sheet_rows(_book(hidden_first=True), "x.xlsx")[0] == ["身份证号", "姓名"]
    assert first_sheet_rows(_book(hidden_first=False), "x.xlsx")[0] == ["汉族", "回族"]


def test_an_unreadable_xls_is_named_without_the_readers_own_words() -> None:
    content = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600  # an OLE header and nothing of a workbook
    with pytest.raises(SheetProblem) as caught:
        first_sheet_rows(content, "old.xls")
    assert caught.value.code == "unreadable"
    assert caught.value.message == "The workbook cannot be read: open it in Excel or WPS and save it again as .xlsx."
    assert caught.value.details["error"]
