"""Reading the sheet a person sees, and saying plainly why a workbook cannot be read."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Sequence

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.styles import Font

from bangfu.common.sheets import OLE_MAGIC, SheetProblem, check_extent, check_ods_extent, first_sheet_rows
from bangfu.testing.workbooks import KINDS, ods_file, workbook


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


def _sheets(*sheets: tuple[str, Sequence[Sequence[object]]]) -> bytes:
    wb = openpyxl.Workbook()
    first = wb.active
    assert first is not None
    wb.remove(first)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_rows_going_on_in_another_sheet_with_the_same_columns_are_not_left_out_without_a_word() -> None:
    """A county's workbook with a sheet per township read its first sheet only, and said nothing of
    the others; a sheet of codes or notes (other columns) is left alone, as before."""
    header = ["身份证号", "姓名", "号牌号码", "车辆类型"]
    title = ["祥云县车辆登记信息"]
    content = _sheets(
        ("祥云县", [title, header, ["532923197001010011", "张三", "云L1", "轿车"]]),
        ("宾川县", [header, ["532924197001010011", "李四", "云L2", "轿车"]]),
        ("说明", [["字段", "含义", "备注"], ["号牌号码", "车辆号牌", ""]]),
        ("示例（不导入）", [header, ["532923197001010011", "示例", "云L0", "轿车"]]),
    )
    with pytest.raises(SheetProblem) as caught:
        first_sheet_rows(content, "车辆.xlsx")
    assert caught.value.code == "several_sheets" and "宾川县" in caught.value.message
    assert "说明" not in caught.value.message and "示例" not in caught.value.message
    only_notes = _sheets(("祥云县", [header, ["532923197001010011", "张三", "云L1", "轿车"]]), ("说明", [header]))
    assert first_sheet_rows(only_notes, "车辆.xlsx")[1][1] == "张三"  # a header alone holds no rows


def test_an_unreadable_xls_is_named_without_the_readers_own_words() -> None:
    content = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600  # an OLE header and nothing of a workbook
    with pytest.raises(SheetProblem) as caught:
        first_sheet_rows(content, "old.xls")
    assert caught.value.code == "unreadable"
    assert caught.value.message == "The workbook cannot be read: open it in Excel or WPS and save it again as .xlsx."
    assert caught.value.details["error"]


# --- a sheet whose used area is too large to read --------------------------------------------------


def _saved(wb: openpyxl.Workbook, *, without_dimension: bool = False) -> bytes:
    """The workbook's bytes; ``without_dimension``: as programs that write a sheet as a stream
    save it, with no record of its area."""
    buf = io.BytesIO()
    wb.save(buf)
    if not without_dimension:
        return buf.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                data, n = re.subn(rb"<dimension [^>]*/>", b"", data)
                assert n == 1
            zout.writestr(info, data)
    return out.getvalue()


def _with_stray(cell: str, *, rows: int = 2, value: bool = True) -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["身份证号", "姓名"])
    for i in range(rows - 1):
        ws.append([f"1100000000000000{i:02d}", "张三"])
    if value:
        ws[cell] = "x"
    else:
        ws[cell].font = Font(bold=True)
    return wb


@pytest.mark.parametrize("without_dimension", [False, True])
def test_a_stray_value_in_the_last_cell_is_refused_not_read(without_dimension: bool) -> None:
    # Read as it is, the sheet asks for 1,048,576 × 16,384 cells (500 GB): the process is aborted.
    content = _saved(_with_stray("XFD1048576"), without_dimension=without_dimension)
    with pytest.raises(SheetProblem) as caught:
        first_sheet_rows(content, "名单.xlsx")
    assert caught.value.code == "too_large_area"
    assert "XFD1048576" in caught.value.message
    assert "1,048,576 rows by 16,384 columns" in caught.value.message
    assert caught.value.details == {"rows": 1_048_576, "columns": 16_384}


def test_a_stray_value_far_right_in_a_middle_row_is_found_without_a_record_of_the_area() -> None:
    # 3,000 rows: any column up to XFD would be too many cells, so every row's width is looked at.
    wb = _with_stray("XFD1500", rows=3000)
    with pytest.raises(SheetProblem) as caught:
        first_sheet_rows(_saved(wb, without_dimension=True), "名单.xlsx")
    assert "XFD3000" in caught.value.message


def test_a_cell_with_only_a_format_far_away_does_not_stop_the_read() -> None:
    # The record of the area reaches XFD1048576, but only values count (python-calamine's area).
    rows = first_sheet_rows(_saved(_with_stray("XFD1048576", value=False)), "名单.xlsx")
    assert rows == [["身份证号", "姓名"], ["110000000000000000", "张三"]]


def test_a_large_but_readable_area_is_read() -> None:
    rows = first_sheet_rows(_saved(_with_stray("AZ2000"), without_dimension=True), "名单.xlsx")
    assert len(rows) == 2000
    assert len(rows[0]) == 52
    assert rows[-1][-1] == "x"


def _rewritten(content: bytes, change: Callable[[str, bytes], bytes], add: dict[str, bytes] | None = None) -> bytes:
    """The zip ``content`` with each part as ``change(name, data)`` gives it, and the parts ``add``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name in source.namelist():
            z.writestr(name, change(name, source.read(name)))
        for name, data in (add or {}).items():
            z.writestr(name, data)
    return out.getvalue()


def _saved_book(wb: openpyxl.Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _workbook_of_sheet(sheet: bytes) -> bytes:
    """A workbook of one sheet whose XML is ``sheet``, as written (the rest as openpyxl writes it)."""
    return _rewritten(
        _saved_book(openpyxl.Workbook()), lambda name, data: sheet if name == "xl/worksheets/sheet1.xml" else data
    )


def test_check_extent_reads_prefixed_xml_exactly() -> None:
    # Some programs write the elements with a prefix; the quick reading of plain cells does not apply.
    sheet = (
        b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
        b'<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>a</x:t></x:is></x:c></x:row>'
        b'<x:row r="50000"><x:c r="ZZ50000" t="inlineStr"><x:is><x:t>b</x:t></x:is></x:c>'
        b'<x:c r="XFD50000" s="1"/></x:row></x:sheetData></x:worksheet>'
    )
    with pytest.raises(SheetProblem) as caught:  # 50,000 × 702 cells: too many; the formatted XFD not counted
        check_extent(_workbook_of_sheet(sheet), 0)
    assert "ZZ50000" in caught.value.message
    check_extent(_workbook_of_sheet(sheet.replace(b"50000", b"40000")), 0)  # 40,000 × 702: read


def test_a_binary_workbook_is_asked_for_as_xlsx() -> None:
    # Its area cannot be looked at before python-calamine builds it, so it is not read.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/workbook.bin", b"\x83\x01\x00")
    with pytest.raises(SheetProblem) as caught:
        first_sheet_rows(buf.getvalue(), "名单.xlsb")
    assert caught.value.code == "xlsb"
    assert ".xlsx" in caught.value.message


def _ods(*tables: str) -> bytes:
    """An OpenDocument spreadsheet of the given tables' XML (rows), as LibreOffice lays one out."""
    return ods_file("".join(f'<table:table table:name="T{i}">{rows}</table:table>' for i, rows in enumerate(tables)))


def _cell(text: str, repeat: int = 1) -> str:
    attr = f' table:number-columns-repeated="{repeat}"' if repeat > 1 else ""
    return f'<table:table-cell office:value-type="string"{attr}><text:p>{text}</text:p></table:table-cell>'


def _row(cells: str, repeat: int = 1) -> str:
    attr = f' table:number-rows-repeated="{repeat}"' if repeat > 1 else ""
    return f"<table:table-row{attr}>{cells}</table:table-row>"


# LibreOffice ends a sheet with its empty rest as repeated empty cells and rows: no values, no area.
_EMPTY_REST = _row('<table:table-cell table:number-columns-repeated="1024"/>', 1_048_574)


def test_an_ods_sheet_is_read_with_its_empty_rest_left_out() -> None:
    content = _ods(
        _row(_cell("身份证号") + _cell("姓名")) + _row(_cell("110000000000000000") + _cell("张三")) + _EMPTY_REST
    )
    assert first_sheet_rows(content, "名单.ods") == [["身份证号", "姓名"], ["110000000000000000", "张三"]]


@pytest.mark.parametrize(
    "far",
    [
        # one value after a million empty rows and 16,000 empty cells: a 1 KB file
        _row("<table:table-cell/>", 1_048_000)
        + _row('<table:table-cell table:number-columns-repeated="16000"/>' + _cell("x")),
        # a value repeated across a wide row, many times
        _row(_cell("x", 200), 300_000),
    ],
)
def test_an_ods_sheet_spanning_too_many_cells_is_refused_before_it_is_opened(far: str) -> None:
    # python-calamine builds every table's area as it opens an .ods: gigabytes for these.
    with pytest.raises(SheetProblem) as caught:
        first_sheet_rows(_ods(_row(_cell("姓名")) + far), "名单.ods")
    assert caught.value.code == "too_large_area"


def test_the_tables_of_an_ods_are_counted_together() -> None:
    # Each table below the limit, both together above it: both are built when the file opens.
    half = _row(_cell("x", 100), 200_000)  # 20,000,000 cells
    with pytest.raises(SheetProblem) as caught:
        first_sheet_rows(_ods(half, half), "名单.ods")
    assert caught.value.code == "too_large_area"
    assert len(first_sheet_rows(_ods(_row(_cell("x", 100), 2_000)), "名单.ods")) == 2_000


def test_a_merged_cell_is_read_in_every_row_and_column_it_covers() -> None:
    """A file number merged down its household's rows: each member's row has it."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["困难职工档案"])
    ws.merge_cells("A1:C1")
    ws.append(["档案编号", "姓名", "与户主关系"])
    ws.append(["5329232015700001", "张建国", "户主"])
    ws.append([None, "李秀英", "配偶"])
    ws.append([None, "张明", "子"])
    ws.merge_cells("A3:A5")
    buf = io.BytesIO()
    wb.save(buf)
    rows = first_sheet_rows(buf.getvalue(), "名单.xlsx")
    assert [r[0] for r in rows[2:]] == ["5329232015700001"] * 3
    assert rows[0] == ["困难职工档案"] * 3


@pytest.mark.parametrize("name", ["old.xls", "old.xlsx", ""])
def test_an_old_xls_workbook_is_read_whatever_it_is_named(name: str) -> None:
    """An .xls (an OLE container, as .xlsx saved with a password also is) renamed .xlsx is read, not
    refused as protected with a password: only an EncryptedPackage stream says that."""
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Sheet1")
    for r, row in enumerate([["档案编号", "姓名"], ["XY-1", "张建国"]]):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    out = io.BytesIO()
    book.save(out)
    content = out.getvalue()
    assert content.startswith(OLE_MAGIC)
    assert first_sheet_rows(content, name)[:2] == [["档案编号", "姓名"], ["XY-1", "张建国"]]


def test_a_sheet_of_instructions_put_first_is_passed_over() -> None:
    """A county's workbook with its filling instructions (说明) as the first sheet and the rows on
    the second: the rows are read (the instructions were read as the header before)."""
    wb = openpyxl.Workbook()
    notes = wb.active
    assert notes is not None
    notes.title = "填表说明"
    notes.append(["请填写第二个表"])
    data = wb.create_sheet("花名册")
    data.append(["身份证号", "姓名"])
    data.append(["532923197001010011", "张三"])
    buf = io.BytesIO()
    wb.save(buf)
    assert first_sheet_rows(buf.getvalue(), "a.xlsx")[1] == ["532923197001010011", "张三"]
    only_notes = openpyxl.Workbook()
    sheet = only_notes.active
    assert sheet is not None
    sheet.title = "说明"
    sheet.append(["身份证号", "姓名"])
    buf = io.BytesIO()
    only_notes.save(buf)
    assert first_sheet_rows(buf.getvalue(), "b.xlsx")[0] == ["身份证号", "姓名"]  # nothing else to read


# --- the hidden rows and columns, found beside the read ----------------------------------------------


def _with_hidden_lines(rows: int) -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["身份证号", "姓名", "备注"])
    for n in range(rows):
        ws.append([f"11000000000000{n:04d}", "张三", "x"])
    for hidden in (3, 7, rows):
        ws.row_dimensions[hidden].hidden = True
    ws.column_dimensions["C"].hidden = True
    return wb


@pytest.mark.parametrize("without_dimension", [False, True], ids=["area recorded", "no record of the area"])
def test_hidden_lines_are_found_by_the_area_check(without_dimension: bool) -> None:
    # The area check reads every cell's reference whether or not the sheet records its area, and
    # finds the hidden rows and columns in the same pass: the same as a look of their own.
    from bangfu.common.sheets import hidden_lines

    content = _saved(_with_hidden_lines(500), without_dimension=without_dimension)
    expected = (frozenset({3, 7, 500}), ((3, 3),))
    assert check_extent(content, 0) == expected
    assert hidden_lines(content, 0) == expected
    rows = first_sheet_rows(content, "名单.xlsx")
    assert rows.hidden_rows == {3, 7, 500} and rows.column_hidden(2) and not rows.column_hidden(1)


@pytest.mark.parametrize("kind", KINDS)
def test_hidden_lines_of_each_kind_of_workbook_are_given_by_sheet_row(kind: str) -> None:
    """An .xls (its Row and ColInfo records) and an .ods (its rows' and columns' visibility) as an
    .xlsx: the hidden rows by their sheet row numbers (a blank first row and a title counted, as
    the reader's rows are), the hidden columns, on the sheet read (the second, after 说明)."""
    rows = [[], ["祥云县困难职工名单"], ["身份证号", "姓名", "备注"]]
    rows += [[f"11000000000000{n:04d}", "张三", "x"] for n in range(300)]
    content = workbook(kind, rows, hidden_rows={5, 6, 9, 303}, hidden_columns={3}, before=[["请填写第二个表"]])
    read = first_sheet_rows(content, f"名单.{kind}")
    assert read.sheet == "花名册" and read[2] == ["身份证号", "姓名", "备注"]
    assert read.hidden_rows == {5, 6, 9, 303} and read[303 - 1][0] == "110000000000000299"
    assert read.column_hidden(2) and not read.column_hidden(1) and not read.column_hidden(3)
    shown = first_sheet_rows(workbook(kind, rows), f"名单.{kind}")
    assert shown.hidden_rows == frozenset() and shown.hidden_column_runs == ()


def test_an_ods_rows_hidden_by_hand_or_by_a_filter_and_repeated_are_each_hidden() -> None:
    """A row's visibility "collapse" (by hand) or "filter", for each row it repeats; rows hidden
    down to the sheet's end (its empty rest, a million rows) are counted as far as the values go."""

    def hidden(cells: str, visibility: str, repeat: int = 1) -> str:
        repeated = f' table:number-rows-repeated="{repeat}"' if repeat > 1 else ""
        return f'<table:table-row table:visibility="{visibility}"{repeated}>{cells}</table:table-row>'

    columns = (
        "<table:table-column/>"
        '<table:table-column table:visibility="collapse" table:number-columns-repeated="2"/>'
        '<table:table-column table:number-columns-repeated="1021"/>'
    )
    table = (
        columns
        + _row("<table:table-cell/>")
        + _row(_cell("身份证号") + _cell("姓名") + _cell("备注"))
        + _row(_cell("1") + _cell("甲"))
        + hidden(_cell("2") + _cell("乙"), "filter")
        + hidden(_cell("3") + _cell("丙"), "collapse", repeat=2)
        + _row(_cell("5"))
        + hidden("<table:table-cell/>", "collapse", repeat=1_048_000)
    )
    content = ods_file(f'<table:table table:name="T0">{table}</table:table>')
    assert check_ods_extent(content) == [(frozenset({4, 5, 6}), ((2, 3),))]
    rows = first_sheet_rows(content, "名单.ods")
    assert len(rows) == 7 and rows[3] == ["2", "乙", ""] and rows[6] == ["5", "", ""]
    assert rows.hidden_rows == {4, 5, 6}
    assert [rows.column_hidden(c) for c in range(4)] == [False, True, True, False]


def test_a_damaged_xls_or_ods_is_refused_saying_so() -> None:
    """Wherever an .xls is cut or spoilt, a problem with its message: never an error of the program
    (python-calamine panicked on a cut .xls, an exception nobody caught) nor a process aborted (it
    followed a chain of sectors that looped, and built the area up to a stray cell far to the
    right, until memory ran out). Nor is it read without its hidden rows (withdrawn households)."""
    content = workbook("xls", [["身份证号", "姓名"], ["110000000000000000", "张三"]], hidden_rows={2})
    for cut in range(0, len(content), 97):
        for spoilt in (content[:cut], content[:cut] + b"\0" * (len(content) - cut)):
            try:
                rows = first_sheet_rows(spoilt, "名单.xls")
            except SheetProblem as problem:
                assert problem.code in {"empty", "not_excel", "unreadable", "truncated"}
            else:
                assert rows.hidden_rows == {2}  # the cut fell where nothing is read
    # The second row's cell (a shared string) moved to column 65,281: no .xls sheet goes so far.
    cell = b"\xfd\x00\x0a\x00\x01\x00\x00\x00"
    assert content.count(cell) == 1
    with pytest.raises(SheetProblem) as caught:
        first_sheet_rows(content.replace(cell, cell[:6] + b"\x00\xff"), "名单.xls")
    assert caught.value.code == "unreadable"
    broken = ods_file('<table:table table:name="T0">' + _row(_cell("姓名")) + "</table:table>")
    with zipfile.ZipFile(io.BytesIO(broken)) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts["content.xml"] = parts["content.xml"].replace(b"</table:table>", b"<table:table-row>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)
    with pytest.raises(SheetProblem) as caught:
        first_sheet_rows(out.getvalue(), "名单.ods")
    assert caught.value.code == "unreadable"


# --- the area the cells span, as python-calamine places them -------------------------------------

# A cell of the generated sheets: its reference as written (None: no reference), whether it holds
# a value, and how its element is spelled.
_Cell = tuple[str | None, bool, str]
_SPELLINGS = ["plain", "prefixed", "reference second", "single quotes"]


def _cell_xml(reference: str | None, value: bool, spelling: str) -> bytes:
    name = b"x:c" if spelling == "prefixed" else b"c"
    attributes = b""
    if reference is not None:
        ref = reference.encode()
        attributes = {
            "plain": b' r="%s"' % ref,
            "prefixed": b' r="%s"' % ref,
            "reference second": b' t="n" r="%s"' % ref,
            "single quotes": b" r='%s'" % ref,
        }[spelling]
    if not value:
        return b"<%s%s/>" % (name, attributes)
    return (
        b"<%s%s><x:v>1</x:v></%s>" % (name, attributes, name)
        if spelling == "prefixed"
        else (b"<%s%s><v>1</v></%s>" % (name, attributes, name))
    )


def _sheet_xml(rows: list[tuple[int | None, list[_Cell]]], *, comment: bool = False) -> bytes:
    xml = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    xml += b' xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    for number, cells in rows:
        xml += b"<row>" if number is None else b'<row r="%d">' % number
        if comment:
            xml += b'<!-- <row r="1"><c r="A1"/></row> -->'
        xml += b"".join(_cell_xml(*cell) for cell in cells) + b"</row>"
    return xml + b"</sheetData></worksheet>"


def _calamine_extent(content: bytes) -> tuple[int, int] | None:
    """The rows and columns python-calamine's read of the sheet spans from A1 (None: it cannot read it)."""
    from python_calamine import CalamineWorkbook

    try:
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0)
    except Exception:
        return None
    end = sheet.end
    if sheet.height == 0 or end is None:
        return 0, 0
    return end[0] + 1, end[1] + 1


_columns = st.sampled_from(["A", "B", "Z", "AA", "AB", "XF", "a", "ab", "XFD", "ZZZ"])
_references = st.one_of(st.none(), st.builds(lambda c, r: f"{c}{r}", _columns, st.integers(1, 30)))
_cells = st.tuples(_references, st.booleans(), st.sampled_from(_SPELLINGS))
_rows = st.lists(st.tuples(st.one_of(st.none(), st.integers(1, 30)), st.lists(_cells, max_size=5)), max_size=6)


@given(_rows, st.booleans())
def test_the_area_check_never_counts_fewer_cells_than_the_reader_places(
    rows: list[tuple[int | None, list[_Cell]]], comment: bool
) -> None:
    # Cells out of their row's order, without a reference, in lower case, in another row than
    # their row's, prefixed or with the reference second; rows without their number; comments:
    # the check reaches at least as far as python-calamine does, in both of its counts.
    from bangfu.common.sheets import _part_extent

    content = _workbook_of_sheet(_sheet_xml(rows, comment=comment))
    placed = _calamine_extent(content)
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        counted = _part_extent(z, "xl/worksheets/sheet1.xml")[:2]
    if placed is not None:
        assert counted[0] >= placed[0] and counted[1] >= placed[1], (counted, placed)


@given(st.lists(st.lists(st.tuples(_columns, st.booleans()), max_size=5), min_size=1, max_size=8))
def test_a_plainly_written_sheet_is_counted_as_the_reader_places_it(rows: list[list[tuple[str, bool]]]) -> None:
    # As spreadsheet programs write a sheet (every cell's reference first, here in any order
    # within its row): every cell counted where its reference puts it, a formatted one too.
    from bangfu.common.sheets import _part_extent

    xml_rows: list[tuple[int | None, list[_Cell]]] = [
        (n, [(f"{column}{n}", value, "plain") for column, value in cells]) for n, cells in enumerate(rows, 1)
    ]
    content = _workbook_of_sheet(_sheet_xml(xml_rows))
    placed = _calamine_extent(content)
    assert placed is not None
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        counted = _part_extent(z, "xl/worksheets/sheet1.xml")[:2]
    every = max((n for n, (_r, cells) in enumerate(xml_rows, 1) if cells), default=0)
    if any(value for cells in rows for _c, value in cells):
        assert counted[0] == every  # every cell counted, a formatted one too, where the area is small
    assert counted[0] >= placed[0] and counted[1] >= placed[1]


@pytest.mark.parametrize(
    "stray",
    [
        pytest.param(b'<row r="2"><c r="XFD1048576"><v>1</v></c><c r="A2"><v>1</v></c></row>', id="out of order"),
        pytest.param(b'<row r="2"><c r="xfd1048576"><v>1</v></c></row>', id="lower case"),
        pytest.param(b'<row r="1048576">' + b"<c><v>1</v></c>" * 40 + b"</row>", id="no references"),
        pytest.param(b'<row r="2"><c t="n" r="XFD1048576"><v>1</v></c></row>', id="reference second"),
        pytest.param(b"<row r='2'><c r='XFD1048576'><v>1</v></c></row>", id="single quotes"),
        pytest.param(b'<row r="2"><c><v>1</v></c><c r="B2" a="<!--"><v>1</v></c><c r="XFD1048576"><v>1</v></c>'
                     b'<c r="C2" a="-->"><v>1</v></c></row>', id="comment marks in values"),
        pytest.param('<row r="2"><ü:c r="XFD1048576"><v>1</v></ü:c></row>'.encode(), id="a prefix of other letters"),
        pytest.param(b'<row r="2"><c><v>1</v></c><c r="B2" a="<![CDATA["/><c r="XFD1048576"><v>1</v></c>'
                     b'<c r="C2" a="]]>"/></row>', id="character-data marks in values"),
        pytest.param(b'<row r="1048575"/><row><c r="A1048576"><v>1</v></c><c r=XFD1048576><v>1</v></c></row>',
                     id="unquoted"),
    ],
)  # fmt: skip
def test_a_far_cell_the_quick_reading_would_miss_is_refused_before_the_read(stray: bytes) -> None:
    # A few hundred bytes that a look at each row's last cell, or at the sheet's own record of
    # its area (here a small one, made up), would pass; python-calamine would ask for 500 GB.
    sheet = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:B2"/>'
        b'<sheetData><row r="1"><c r="A1"><v>1</v></c></row>' + stray + b"</sheetData></worksheet>"
    )
    with pytest.raises(SheetProblem) as caught:
        check_extent(_workbook_of_sheet(sheet), 0)  # first_sheet_rows' check; a miss would abort the tests
    assert caught.value.code == "too_large_area"


def test_a_far_cell_deep_in_a_large_sheet_is_found() -> None:
    # The XML is read a part (4 MB) at a time, each looked through for a cell beyond the farthest
    # so far: one out of its row's order in a middle part is found.
    rows = [b'<row r="%d"><c r="A%d"><v>1</v></c><c r="B%d"><v>2</v></c></row>' % (n, n, n) for n in range(1, 150_001)]
    rows[90_000] = b'<row r="90001"><c r="XFD90001"><v>1</v></c><c r="A90001"><v>1</v></c></row>'
    sheet = b"<worksheet><sheetData>" + b"".join(rows) + b"</sheetData></worksheet>"
    assert len(sheet) > 2 * (1 << 22)  # three parts
    with pytest.raises(SheetProblem) as caught:
        check_extent(_workbook_of_sheet(sheet), 0)
    assert caught.value.details == {"rows": 150_000, "columns": 16_384}


def test_a_sheet_whose_checksum_fails_is_refused_not_read_unchecked() -> None:
    # python-calamine checks no checksum: a sheet that cannot be read whole here is not read at all.
    content = bytearray(_workbook_of_sheet(b"<worksheet><sheetData></sheetData></worksheet>"))
    at = content.index(b"xl/worksheets/sheet1.xml") - 16  # the local header's CRC-32
    content[at : at + 4] = b"\\0\\0\\0\\0"
    with zipfile.ZipFile(io.BytesIO(bytes(content))) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    central = bytes(content).rindex(b"xl/worksheets/sheet1.xml") - 30  # the central directory's
    content[central : central + 4] = b"\\0\\0\\0\\0"
    assert info.CRC != 0
    with pytest.raises(SheetProblem) as caught:
        check_extent(bytes(content), 0)
    assert caught.value.code in {"unreadable", "truncated"}


@given(st.integers(0, 10**8), st.integers(0, 10**8), st.integers(0, 2))
def test_the_pattern_of_greater_row_numbers_is_exact(n: int, m: int, zeros: int) -> None:
    from bangfu.common.sheets import _number_above

    assert (re.fullmatch(_number_above(n), b"0" * zeros + str(m).encode()) is not None) == (m > n)


@given(st.integers(0, 20_000), st.integers(1, 20_000), st.booleans())
def test_the_pattern_of_later_columns_is_exact(n: int, m: int, lower: bool) -> None:
    from bangfu.common.sheets import _column_letters, _letters_above

    letters = _column_letters(m).lower() if lower else _column_letters(m)
    assert (re.fullmatch(_letters_above(n), letters.encode()) is not None) == (m > n)


def test_a_sheet_written_otherwise_is_read_whole_only_up_to_a_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # Read tag by tag, the XML is held whole: beyond the limit the person is told to save the file again.
    from bangfu.common import sheets

    sheet = b"<worksheet><sheetData>" + b'<row r="1"><c t="n"><v>1</v></c></row>' * 100 + b"</sheetData></worksheet>"
    content = _workbook_of_sheet(sheet)
    assert check_extent(content, 0) == (frozenset(), ())
    monkeypatch.setattr(sheets, "MAX_IRREGULAR_XML_BYTES", 1000)
    with pytest.raises(SheetProblem) as caught:
        check_extent(content, 0)
    assert caught.value.code == "too_large" and "Excel" in caught.value.message


def test_a_made_up_count_of_shared_strings_is_refused_before_the_read() -> None:
    # python-calamine reserves room for as many strings as the table says it holds (4 billion:
    # 100 GB) before it reads one; the process was aborted.
    parts = {
        "[Content_Types].xml": (
            b"</Types>",
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        ),
        "xl/_rels/workbook.xml.rels": (
            b"</Relationships>",
            b'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            b'sharedStrings" Target="sharedStrings.xml" Id="rId99"/></Relationships>',
        ),
    }

    def change(name: str, data: bytes) -> bytes:
        if name == "xl/worksheets/sheet1.xml":
            return re.sub(
                rb"<sheetData\s*/>|<sheetData>.*</sheetData>",
                b'<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData>',
                data,
            )
        return data.replace(*parts[name]) if name in parts else data

    def with_strings(count: str) -> bytes:
        sst = (
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%s" uniqueCount="%s">'
            b"<si><t>\xe5\xa7\x93\xe5\x90\x8d</t></si></sst>" % (count.encode(), count.encode())
        )
        return _rewritten(_saved_book(openpyxl.Workbook()), change, {"xl/sharedStrings.xml": sst})

    from bangfu.common.sheets import check_shared_strings

    assert first_sheet_rows(with_strings("1"), "名单.xlsx") == [["姓名"]]
    with pytest.raises(SheetProblem) as caught:
        check_shared_strings(with_strings("4294967295"))  # first_sheet_rows' check; a miss would abort the tests
    assert caught.value.code == "unreadable"


def test_an_ods_is_checked_by_its_names_as_written_whatever_namespace_they_are_bound_to() -> None:
    # python-calamine reads `table:table-row` by that name; a file binding the prefix to another
    # namespace passed a namespace-aware look (a 1 KB file, 10⁸ cells).
    far = (
        '<table:table-row xmlns:table="urn:other" table:number-rows-repeated="100000">'
        '<table:table-cell table:number-columns-repeated="999" office:value-type="float" office:value="1"/>'
        "</table:table-row>"
    )
    with pytest.raises(SheetProblem) as caught:
        check_ods_extent(_ods(_row(_cell("姓名")) + far))  # first_sheet_rows' check; a miss would abort the tests
    assert caught.value.code == "too_large_area"


def test_an_ods_that_also_holds_the_parts_of_an_xlsx_is_checked_as_an_ods() -> None:
    far = (
        '<table:table-row table:number-rows-repeated="100000">'
        '<table:table-cell table:number-columns-repeated="999" office:value-type="float" office:value="1"/>'
        "</table:table-row>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_ods(_row(_cell("姓名")) + far))) as source, zipfile.ZipFile(out, "w") as z:
        for name in source.namelist():
            z.writestr(name, source.read(name))
        z.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(SheetProblem) as caught:
        check_ods_extent(out.getvalue())
    assert caught.value.code == "too_large_area"


def _sheets_of_one_part(names: int, rows: int) -> bytes:
    """A workbook whose ``names`` sheets all name the same part (of ``rows`` rows, no header)."""
    wb = openpyxl.Workbook()
    first = wb.active
    assert first is not None
    for n in range(rows):
        first.append([n, "x", "y"])
    for n in range(1, names):
        wb.create_sheet(f"S{n}")
    return _rewritten(
        _saved_book(wb),
        lambda name, data: (
            re.sub(rb"worksheets/sheet\d+\.xml", b"worksheets/sheet1.xml", data)
            if name == "xl/_rels/workbook.xml.rels"
            else data
        ),
    )


def test_a_part_named_by_many_sheets_is_read_once() -> None:
    # python-calamine reads a sheet whole to give its first rows: 20 names of one sheet of a
    # million rows (a 6 KB file) were read 20 times, looking for the header.
    from bangfu.common.sheets import _Hidden

    content = _sheets_of_one_part(4, 50)
    hidden = _Hidden(content)
    assert [hidden.may_read(i) for i in range(4)] == [True, False, False, False]
    rows = first_sheet_rows(content, "名单.xlsx", has_header=lambda rows: False)
    assert len(rows) == 50 and rows.looked_at == ("Sheet",)


def test_the_sheets_looked_at_span_no_more_cells_together_than_one_may(monkeypatch: pytest.MonkeyPatch) -> None:
    from bangfu.common import sheets

    wb = openpyxl.Workbook()
    for n in range(3):
        ws = wb.active if n == 0 else wb.create_sheet(f"S{n}")
        assert ws is not None
        for r in range(10):
            ws.append([r, "x", "y", "z"])  # 40 cells each
    buf = io.BytesIO()
    wb.save(buf)
    monkeypatch.setattr(sheets, "MAX_SHEET_CELLS", 100)
    hidden = sheets._Hidden(buf.getvalue())
    assert [hidden.may_read(i) for i in range(3)] == [True, True, False]  # 40 + 40, then 120 > 100


def _merged(merges: list[str]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["档案编号", "姓名", "身份证号"])
    for n in range(20):
        ws.append([f"F{n}" if n % 4 == 0 else None, "张三", "x"])
    cells = b"".join(b'<mergeCell ref="%s"/>' % m.encode() for m in merges)
    merged = b'</sheetData><mergeCells count="%d">%s</mergeCells>' % (len(merges), cells)
    return _rewritten(
        _saved_book(wb),
        lambda name, data: data.replace(b"</sheetData>", merged) if name == "xl/worksheets/sheet1.xml" else data,
    )


def test_merges_repeated_are_filled_once_and_overlapping_ones_refused() -> None:
    # A few KB of the same merge over the whole sheet, 20,000 times, took minutes to fill.
    rows = first_sheet_rows(_merged(["A2:A5"] * 20_000), "名单.xlsx")
    assert [r[0] for r in rows[1:6]] == ["F0", "F0", "F0", "F0", "F4"]
    with pytest.raises(SheetProblem) as caught:  # no spreadsheet saves merges over one another
        first_sheet_rows(_merged([f"A2:C{n}" for n in range(21, 2, -1)]), "名单.xlsx")
    assert caught.value.code == "unreadable"


def test_an_ods_may_span_a_quarter_of_the_cells_of_an_xlsx() -> None:
    # A 1 KB .ods within the .xlsx limit (a million rows of 32 numbers) took 3.6 GB to open and
    # more to import: an .ods's cells cost python-calamine more than twice an .xlsx's.
    from bangfu.common.sheets import MAX_ODS_CELLS, MAX_SHEET_CELLS

    far = _row('<table:table-cell table:number-columns-repeated="32" office:value-type="float" office:value="2"/>',
               repeat=1_048_575)  # fmt: skip
    assert MAX_ODS_CELLS < 1_048_576 * 32 <= MAX_SHEET_CELLS
    with pytest.raises(SheetProblem) as caught:
        check_ods_extent(_ods(_row(_cell("姓名")) + far))
    assert caught.value.code == "too_large_area" and f"{MAX_ODS_CELLS:,}" in caught.value.message


def test_a_sheet_the_workbook_does_not_name_plainly_is_checked_whatever_its_part_is_called() -> None:
    # A comment in workbook.xml sends the check to every part; a sheet kept in a part without
    # ".xml" in its name was passed over there, and python-calamine read it.
    from bangfu.common.sheets import measure_extent

    far = b'<worksheet><sheetData><row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>'

    def change(name: str, data: bytes) -> bytes:
        if name == "xl/workbook.xml":
            return data.replace(b"<sheets>", b"<!-- a note --><sheets>")
        if name == "xl/_rels/workbook.xml.rels":
            return data.replace(b"worksheets/sheet1.xml", b"worksheets/sheet1")
        return data

    content = _rewritten(_saved_book(openpyxl.Workbook()), change, {"xl/worksheets/sheet1": far})
    with pytest.raises(SheetProblem) as caught:
        measure_extent(content, 0)
    assert caught.value.code == "too_large_area"


@given(
    st.lists(st.lists(st.tuples(_columns, st.booleans()), max_size=5), min_size=1, max_size=6),
    st.sampled_from([b"x:", b"ss:", "ü:".encode()]),
    st.booleans(),
)
def test_a_sheet_written_with_one_prefix_throughout_is_read_as_plainly_and_never_short(
    rows: list[list[tuple[str, bool]]], prefix: bytes, mixed: bool
) -> None:
    # The .NET Open XML SDK writes every element as `<x:c r="…">`: read as plainly (a regular
    # expression a cell), not token by token; a cell of another spelling among them sends it there.
    from bangfu.common import sheets

    xml = b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
    for n, cells in enumerate(rows, 1):
        xml += b'<x:row r="%d">' % n
        for i, (column, value) in enumerate(cells):
            name = b"c" if mixed and i == 1 else prefix + b"c"
            ref = f"{column}{n}".encode()
            xml += b'<%s r="%s"><x:v>1</x:v></%s>' % (name, ref, name) if value else b'<%s r="%s"/>' % (name, ref)
        xml += b"</x:row>"
    xml = xml.replace(b"x:", prefix) + b"</" + prefix + b"sheetData></" + prefix + b"worksheet>"
    content = _workbook_of_sheet(xml)
    placed = _calamine_extent(content)
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        counted = sheets._part_extent(z, "xl/worksheets/sheet1.xml")[:2]
        try:
            plainly = sheets._plain_extent(z, "xl/worksheets/sheet1.xml", sheets._CellSpelling(prefix))[:2]
        except sheets._IrregularXmlError:
            plainly = None
    if placed is not None:
        assert counted[0] >= placed[0] and counted[1] >= placed[1], (counted, placed)
    if not any(len(cells) > 1 for cells in rows) or not mixed:
        assert plainly == counted  # one spelling throughout: the quick reading, and the same count
