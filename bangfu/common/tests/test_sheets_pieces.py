"""A large .xlsx sheet read in two pieces side by side gives the rows the sheet read whole gives,
and any sheet not written plainly enough to be cut is read whole."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bangfu.common import sheets
from bangfu.common.sheets import SheetProblem, first_sheet_rows

from .test_sheets_reading import _saved


@pytest.fixture
def pieces(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every sheet read in pieces, however small; each read's outcome (pieced or not) recorded."""
    monkeypatch.setattr(sheets, "PIECES_FROM_BYTES", 0)
    outcomes: list[bool] = []
    read = sheets._PiecedSheet.read.__func__  # type: ignore[attr-defined]

    def spy(cls: type[sheets._PiecedSheet], content: bytes, index: int, xml: bytes) -> Any:
        found = read(cls, content, index, xml)
        outcomes.append(found is not None)
        return found

    monkeypatch.setattr(sheets._PiecedSheet, "read", classmethod(spy))
    return outcomes


def _whole(content: bytes, monkeypatch: pytest.MonkeyPatch) -> sheets.SheetRows:
    with monkeypatch.context() as m:
        m.setattr(sheets, "PIECES_FROM_BYTES", 1 << 40)
        return first_sheet_rows(content, "名单.xlsx")


def _rewritten(content: bytes, change: Any) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info, change(data) if info.filename.startswith("xl/worksheets/") else data)
    return out.getvalue()


_CELLS = st.one_of(
    st.none(),
    st.text(alphabet="张王李 xyz0123", max_size=6),
    st.integers(-5, 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2030, 12, 31)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(_CELLS, max_size=7), min_size=2, max_size=40),
    skip_columns=st.integers(0, 2),
    without_dimension=st.booleans(),
    merge=st.booleans(),
)
def test_a_sheet_read_in_pieces_is_the_sheet_read_whole(
    pieces: list[bool],
    monkeypatch: pytest.MonkeyPatch,
    rows: list[list[Any]],
    skip_columns: int,
    without_dimension: bool,
    merge: bool,
) -> None:
    # Rows of any width (the second half wider or narrower than the first), empty rows at the cut,
    # columns empty at the left, values of every kind, and a merged cell over the cut.
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1 + skip_columns):
            if value is not None:
                ws.cell(r, c, value)
    if merge:
        ws.cell(1, 1 + skip_columns, "合并")
        ws.merge_cells(start_row=1, start_column=1 + skip_columns, end_row=len(rows), end_column=1 + skip_columns)
    content = _saved(wb, without_dimension=without_dimension)
    pieces.clear()
    read = first_sheet_rows(content, "名单.xlsx")
    expected = _whole(content, monkeypatch)
    assert list(read) == list(expected)
    assert (read.hidden_rows, read.hidden_column_runs) == (expected.hidden_rows, expected.hidden_column_runs)
    # Pieced whenever the sheet has a row to begin its second half with.
    halves = sheets._halves(zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml"))
    assert pieces == [halves is not None]


def _households(n: int) -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["档案编号", "身份证号", "姓名", "备注"])
    for i in range(n):
        ws.append([f"B{i:05d}", f"11000000000000{i:04d}", "张三", "x" if i % 3 else None])
    return wb


@pytest.mark.parametrize("without_dimension", [False, True], ids=["area recorded", "no record of the area"])
def test_the_hidden_rows_of_both_halves_are_found_when_read_in_pieces(
    pieces: list[bool], monkeypatch: pytest.MonkeyPatch, without_dimension: bool
) -> None:
    wb = _households(400)
    ws = wb.active
    assert ws is not None
    for hidden in (5, 380):
        ws.row_dimensions[hidden].hidden = True
    ws.column_dimensions["D"].hidden = True
    content = _saved(wb, without_dimension=without_dimension)
    read = first_sheet_rows(content, "名单.xlsx")
    assert pieces == [True]
    assert read.hidden_rows == {5, 380} and read.column_hidden(3)
    assert list(read) == list(_whole(content, monkeypatch))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda x: x.replace(b"<sheetData>", b"<sheetData><!-- a note -->"), id="a comment"),
        pytest.param(
            lambda x: x.replace(b"<v>7</v>", b"<v><![CDATA[7]]></v>", 1) if b"<v>7</v>" in x else x, id="CDATA"
        ),
        pytest.param(lambda x: re.sub(rb'<row r="\d+"', b"<row", x), id="rows without their numbers"),
    ],
)
def test_a_sheet_not_written_plainly_is_read_whole(
    pieces: list[bool], monkeypatch: pytest.MonkeyPatch, change: Any
) -> None:
    wb = _households(300)
    ws = wb.active
    assert ws is not None
    ws["E2"] = 7
    content = _rewritten(_saved(wb), change)
    read = first_sheet_rows(content, "名单.xlsx")
    assert pieces == [False]
    assert list(read) == list(_whole(content, monkeypatch))


def test_a_piece_the_reader_cannot_read_leaves_the_sheet_to_be_read_whole(
    pieces: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    content = _saved(_households(300))
    real = sheets._halves

    def broken(xml: bytes) -> Any:
        found = real(xml)
        assert found is not None
        first, second = found
        return first, (second[0], b"<row r=", second[2])  # a second half cut short

    monkeypatch.setattr(sheets, "_halves", broken)
    read = first_sheet_rows(content, "名单.xlsx")
    assert pieces == [False]
    assert list(read) == list(_whole(content, monkeypatch))


def test_the_area_is_checked_before_any_piece_is_read(pieces: list[bool]) -> None:
    wb = _households(300)
    ws = wb.active
    assert ws is not None
    ws["XFD1048576"] = "x"
    with pytest.raises(SheetProblem) as exc:
        first_sheet_rows(_saved(wb, without_dimension=True), "名单.xlsx")
    assert exc.value.code == "too_large_area"
    assert pieces == []
