"""Reading the first sheet of a workbook uploaded by a user, with a specific message for each way
it can fail: empty, not a workbook, protected with a password, cut short or damaged; and writing
CSV and workbook cells that a spreadsheet will not run as formulas."""

from __future__ import annotations

import contextlib
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from django.utils.translation import gettext as _

from bangfu.common.punctuation import join_list

# An .xls file, and an .xlsx saved with a password (an encrypted OLE container, not a zip).
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class SheetProblem(Exception):  # noqa: N818 - a problem of the sheet, not of the program
    """The file as a whole cannot be imported (unreadable, protected, wrong headers)."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def _visible_sheets(book: Any) -> list[tuple[int, str]]:
    """The index and name of each worksheet a person sees (a hidden sheet of lists or codes often
    comes first in a template, and a chart sheet holds no rows), in workbook order."""
    from python_calamine import SheetTypeEnum, SheetVisibleEnum

    return [
        (i, meta.name)
        for i, meta in enumerate(book.sheets_metadata)
        if meta.visible == SheetVisibleEnum.Visible and meta.typ == SheetTypeEnum.WorkSheet
    ]


def _data_sheets(visible: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The visible sheets not named as instructions or a sample (``说明``, ``填表说明``, ``示例``)."""
    return [(i, name) for i, name in visible if not any(word in name.lower() for word in _NOT_DATA_SHEET)]


def _first_visible(book: Any) -> int:
    """The index of the first worksheet a person sees. A sheet of instructions or a sample put
    first is passed over when a sheet of another name follows."""
    visible = _visible_sheets(book)
    data = _data_sheets(visible)
    return data[0][0] if data else (visible[0][0] if visible else 0)


_HEADER_ROWS = 10  # where a header is looked for: below a title and a few lines of notes
# Sheets named as examples or instructions (the import template's own sample sheet among them)
# hold rows that are not to be imported.
_NOT_DATA_SHEET = ("示例", "样例", "范例", "示范", "说明", "填表", "不导入", "example", "sample", "instruction")


def _header_like(rows: list[list[Any]]) -> set[tuple[str, ...]]:
    """The rows near the top that could be a header: three or more cells of text, as text."""
    found = set()
    for row in rows[:_HEADER_ROWS]:
        cells = tuple(str(c).strip() for c in row)
        while cells and not cells[-1]:
            cells = cells[:-1]
        if sum(1 for c in cells if c and not c.replace(".", "", 1).isdigit()) >= 3:
            found.add(cells)
    return found


def _continued_on(book: Any, hidden: _Hidden, index: int, rows: list[list[Any]]) -> list[str]:
    """The other visible worksheets that repeat a header of the sheet read and hold rows below it
    (a county's workbook with a sheet per township): their rows would be left out without a word.
    A sheet of codes, notes or totals has other columns and is not one of them."""
    from python_calamine import SheetTypeEnum, SheetVisibleEnum

    headers = _header_like(rows)
    if not headers:
        return []
    names = []
    for i, meta in enumerate(book.sheets_metadata):
        if i == index or meta.visible != SheetVisibleEnum.Visible or meta.typ != SheetTypeEnum.WorkSheet:
            continue
        if any(word in meta.name.lower() for word in _NOT_DATA_SHEET):
            continue
        if not hidden.may_read(i):
            continue
        other: list[list[Any]] = book.get_sheet_by_index(i).to_python(skip_empty_area=True)
        at = next((n for n, row in enumerate(other[:_HEADER_ROWS]) if _header_like([row]) & headers), None)
        if at is not None and any(any(str(c).strip() for c in row) for row in other[at + 1 :]):
            names.append(meta.name)
    return names


def _encrypted_package(content: bytes) -> bool:
    """Whether an OLE container is an .xlsx saved with a password (its streams EncryptionInfo
    and EncryptedPackage), not an .xls workbook (which is read, whatever its file is named)."""
    return "EncryptedPackage".encode("utf-16-le") in content


class SheetRows(list[list[Any]]):
    """The rows of the sheet read, from its first row (a list of rows, as the reader gives them),
    with what the workbook says of them besides their values: the sheet's name and position, the
    rows and columns hidden in it (rows hidden by hand or by a filter: a county hides a household
    it has withdrawn rather than delete it), and the sheets looked at before it."""

    sheet: str = ""
    first: bool = True  # the first sheet a person sees
    # Sheet row numbers (1 = the first row) of the hidden rows.
    hidden_rows: frozenset[int] = frozenset()
    # Runs of hidden columns (1 = column A), first and last.
    hidden_column_runs: tuple[tuple[int, int], ...] = ()
    # The sheets looked at for the caller's header (``has_header``), in order, when none had it.
    looked_at: tuple[str, ...] = ()

    def column_hidden(self, index: int) -> bool:
        """Whether the column at ``index`` of a row (0 = column A) is hidden."""
        return any(first <= index + 1 <= last for first, last in self.hidden_column_runs)


def first_sheet_rows(
    content: bytes, name: str = "", *, has_header: Callable[[list[list[Any]]], bool] | None = None
) -> SheetRows:
    """The rows of the first sheet a person sees (python-calamine; hidden sheets are passed over);
    a ``SheetProblem`` for a file that cannot be read. With ``has_header`` (whether a sheet's first
    rows hold the caller's header), the first visible sheet that has it, so that a cover sheet or a
    title page put first is passed over; when none has it, the first sheet as before, with the
    sheets looked at (``SheetRows.looked_at``) for the caller's message."""
    from python_calamine import CalamineWorkbook

    if not content:
        raise SheetProblem("empty", _("The file is empty."))
    if content.startswith(OLE_MAGIC) and _encrypted_package(content):
        raise SheetProblem(
            "password_protected", _("The workbook is protected with a password: save it again without one.")
        )
    # A cut file has lost the zip's directory (at its end); a damaged one is found by its checksums
    # when the workbook cannot be read (checking them first cost a tenth of the read itself).
    if content.startswith(b"PK"):
        if zip_damaged(content, whole=False):
            raise SheetProblem("truncated", damaged_message())
        if _binary_workbook(content):  # its area cannot be looked at before the read (check_extent)
            raise SheetProblem("xlsb", _("Binary workbooks (.xlsb) are not read: save it again as .xlsx."))
        check_shared_strings(content)
    elif not content.startswith(OLE_MAGIC):
        raise SheetProblem("not_excel", _("This is not an Excel workbook (.xlsx, .xls or .ods)."))
    # python-calamine reads every table of an .ods when it opens it; the same pass finds the hidden lines.
    ods = check_ods_extent(content) if content.startswith(b"PK") else None
    xls = None
    if content.startswith(OLE_MAGIC):  # its chains of sectors checked before python-calamine follows them
        try:
            stream = workbook_stream(content)
            xls = xls_hidden_lines(stream) if stream is not None else None
        except _CutShortError as exc:
            raise SheetProblem("truncated", damaged_message(), error=str(exc)) from exc
        except (ValueError, IndexError, struct.error) as exc:
            raise _unreadable(str(exc)) from exc
    hidden = _Hidden(content, ods=ods, xls=xls)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
        index = _first_visible(book)
        looked_at: tuple[str, ...] = ()
        sheet = None
        if has_header is not None:
            index, sheet, looked_at = _sheet_with_header(book, hidden, index, has_header)
        if sheet is None:
            hidden.may_read(index)  # checked, and counted as read
            sheet = book.get_sheet_by_index(index)
        rows = SheetRows(sheet.to_python(skip_empty_area=False))
        _fill_merged(rows, sheet.merged_cell_ranges)
        visible = _visible_sheets(book)
        rows.sheet = sheet.name
        rows.first = bool(visible) and visible[0][0] == index
        rows.looked_at = looked_at
        rows.hidden_rows, rows.hidden_column_runs = hidden.of(index)
        if more := _continued_on(book, hidden, index, rows):
            raise SheetProblem(
                "several_sheets",
                _(
                    "The rows go on in other sheets with the same columns (%(sheets)s), and one sheet is read: "
                    "put all the rows on the first sheet, or save each sheet as a file of its own."
                )
                % {"sheets": join_list(more)},
            )
    except SheetProblem:
        raise
    except BaseException as exc:  # calamine raises its own error types for damaged files
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise  # an interrupt; a panic of the reader (pyo3's PanicException) is a damaged file
        text = str(exc)
        if "password" in text.lower() or "encrypt" in text.lower():
            raise SheetProblem(
                "password_protected", _("The workbook is protected with a password: save it again without one.")
            ) from exc
        if content.startswith(b"PK") and zip_damaged(content, whole=True):
            raise SheetProblem("truncated", damaged_message()) from exc
        raise _unreadable(text) from exc
    return rows


def _unreadable(error: str) -> SheetProblem:
    # The reader's own words are English and technical: kept in the details, not the message.
    return SheetProblem(
        "unreadable", _("The workbook cannot be read: open it in Excel or WPS and save it again as .xlsx."), error=error
    )


def _sheet_with_header(
    book: Any, hidden: _Hidden, index: int, has_header: Callable[[list[list[Any]]], bool]
) -> tuple[int, Any, tuple[str, ...]]:
    """The first visible sheet (instructions and samples passed over, as ``_first_visible``) whose
    first rows hold the caller's header: its index and the sheet as read (python-calamine reads a
    whole sheet to give any of it, so it is read once); when none has it, ``index``, that sheet if
    it was read in the look (else None) and the names of the sheets looked at. Sheets are read as
    ``_Hidden.may_read`` allows."""
    names = []
    fallback = None
    for i, name in _data_sheets(_visible_sheets(book)) or [(index, "")]:
        if not hidden.may_read(i):
            continue
        sheet = book.get_sheet_by_index(i)
        if has_header(sheet.to_python(skip_empty_area=False, nrows=_HEADER_ROWS)):
            return i, sheet, ()
        names.append(name or sheet.name)
        if i == index:
            fallback = sheet
    return index, fallback, tuple(names)


def hidden_row_message() -> str:
    """The reason a row hidden in the file (``SheetRows.hidden_rows``) is not imported."""
    return _("The row is hidden in the file and was not imported: unhide it to import it.")


def _fill_merged(rows: list[list[Any]], merged: Any) -> None:
    """A merged cell's value in every cell it covers: a file number merged down the rows of a
    household's members belongs to each of them (a spreadsheet keeps it in the first cell only,
    and the others read empty). Each merge is filled once, and together they may cover no more
    cells than the sheet has: merges overlap in no workbook a spreadsheet saves, and a few KB of
    them, each over the whole sheet, took minutes to fill."""
    budget = sum(map(len, rows))
    for (top, left), (bottom, right) in dict.fromkeys(merged or ()):
        if top >= len(rows) or left >= len(rows[top]) or bottom < top or right < left:
            continue
        covered = rows[top : bottom + 1]
        budget -= len(covered) * (min(right + 1, len(rows[top])) - left)  # as far as the sheet reaches
        if budget < 0:
            raise _unreadable("merged cells overlap")
        value = rows[top][left]
        if value is None or value == "":
            continue
        for row in covered:
            for c in range(left, min(right + 1, len(row))):
                if row[c] is None or row[c] == "":
                    row[c] = value


# --- the area a sheet spans ----------------------------------------------------------------------

# The most cells (rows × columns, from A1 to the farthest cell holding a value) a sheet may span.
# python-calamine builds that whole rectangle in memory before giving a row (some 40 bytes a cell
# with the Python rows), and a process refused that much memory is aborted, not given an error:
# one stray value in the sheet's last row and column (a 5 KB file) asks for 500 GB. 2**25 cells
# are a million rows of 32 columns, or 100,000 rows of 335.
MAX_SHEET_CELLS = 1 << 25
# python-calamine keeps an .ods's cells in more than twice the memory of an .xlsx's (3.6 GB for
# 2**25 cells, then more in the import): its tables together may span a quarter as many.
MAX_ODS_CELLS = MAX_SHEET_CELLS >> 2
# The sheet's XML read past this is refused as well: a few MB of zip can hold GBs of XML.
MAX_SHEET_XML_BYTES = 1 << 31
_SHEET = re.compile(rb"<(?:\w+:)?sheet\s[^>]*>")
_ANY_SHEET = re.compile(rb"<(?:[^\s/>]*:)?sheet(?=[\s/>])")
_ID_ATTRIBUTE = re.compile(rb"(?:^|\s)(?:[^\s=]*:)?id\s*=", re.IGNORECASE)
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\s[^>]*>")


def _attribute(tag: bytes, name: bytes) -> str:
    found = re.search(rb"(?:^|\s)" + name + rb'\s*=\s*"([^"]*)"', tag)
    return found.group(1).decode("utf-8", "replace") if found else ""


def _column_number(letters: bytes | str) -> int:
    number = 0
    for ch in letters.upper() if isinstance(letters, str) else letters.decode().upper():
        number = number * 26 + ord(ch) - 64
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _sheet_part(z: zipfile.ZipFile, index: int) -> str | None:
    """The zip entry of the workbook's ``index``-th sheet (workbook order, as python-calamine
    counts), when the workbook names it plainly; else None (the caller then checks every part).
    Plainly: no comment or character data, no sheet element with a prefix (python-calamine
    counts it; a look that missed it would check another sheet than the one read), one relation
    id a sheet, and no relation id given twice."""
    try:
        workbook = z.read("xl/workbook.xml")
        relationships = z.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return None
    tags = _SHEET.findall(workbook)
    if any(b"<!" in xml for xml in (workbook, relationships)) or len(tags) != len(_ANY_SHEET.findall(workbook)):
        return None
    if index >= len(tags) or len(_ID_ATTRIBUTE.findall(tags[index])) != 1:
        return None
    found = [(_attribute(t, b"Id"), _attribute(t, b"Target")) for t in _RELATIONSHIP.findall(relationships)]
    relations = dict(found)
    if len(relations) != len(found):
        return None
    target = relations.get(_attribute(tags[index], rb"[\w]+:id"), "")
    if not target:
        return None
    part = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return part if part in z.namelist() else None


# How far a sheet's cells reach, as python-calamine places them. It takes a cell's place from its
# reference (`r`, any case, even one out of its row's order or in another row than its row's) and
# a cell without one next to the cell before it; a row without its number follows the row before.
# A check that reads less (each row's last cell, the sheet's own record of its area) can be lied
# to by a crafted file of a few KB, and python-calamine's process is then aborted.


# Every cell as spreadsheet programs write it: `<c r="` first, or (as some write every element
# with a prefix) `<x:c r="` throughout. Any other spelling of a cell element (no reference,
# another attribute or space first, a mix of prefixes) is read tag by tag (``_irregular_cells``).
# python-calamine refuses a sheet whose reference is not letters and digits.
class _CellSpelling:
    """The patterns of one plain spelling of the cell elements, with no prefix or with ``prefix``
    (``b"x:"``) on every one."""

    def __init__(self, prefix: bytes = b"") -> None:
        self.prefix = prefix
        name = b"<" + re.escape(prefix) + b"c"
        self.start = b"<" + prefix + b'c r="'
        self.reference = re.compile(name + rb' r="([A-Za-z]+)0*([0-9]+)"')
        # A cell holding a value, for the exact count: an element closed at once holds none.
        self.tag = re.compile(name + rb' r="([A-Za-z]+)0*([0-9]+)"[^>]*?(/?)>')
        self.not_plain = re.compile(name + rb'(?:[\t\n\r/>]| (?!r="))')

    def spelled_otherwise(self, data: bytes) -> bool:
        """Whether ``data`` holds a cell element spelled otherwise: under another prefix, or (for
        a prefixed spelling) under none. The element's own start and end tags taken out first,
        what is left is looked through for the few places a cell could still be."""
        if not self.prefix:
            return _ANY_PREFIXED_CELL.search(data) is not None
        rest = data.replace(self.start[:-3], b"").replace(b"</" + self.prefix + b"c>", b"")  # `<x:c ` and `</x:c>`
        for needle in (b":c", b"<c"):
            at = rest.find(needle)
            while at >= 0:
                if rest[at + 2 : at + 3] in _NAME_ENDS:
                    return True
                at = rest.find(needle, at + 2)
        return False

    def not_plain_or_beyond(self, rows: int, columns: int) -> re.Pattern[bytes]:
        """A cell not plainly written (group 1), or a plainly written one reaching past ``rows``
        or ``columns``: one look at each cell for both."""
        return re.compile(
            b"<"
            + re.escape(self.prefix)
            + rb'c(?:([\t\n\r/>]| (?!r="))| r="(?:'
            + _letters_above(columns)
            + rb"0*[0-9]+|[A-Za-z]+"
            + _number_above(rows)
            + rb')")'
        )


_ANY_PREFIXED_CELL = re.compile(rb":c[\s/>]")
_NAME_ENDS = frozenset(bytes([b]) for b in b" \t\r\n/>")
_PLAIN = _CellSpelling()
# The prefix of a sheet whose cells are all written with one (`<x:c r="`), found near its start.
_CELL_PREFIX = re.compile(rb'<([^\s/>:<"\'=]{1,16}:)c r="')
# The XML of a sheet written otherwise is read whole, up to this size, to be read exactly.
MAX_IRREGULAR_XML_BYTES = 1 << 28


def _number_above(n: int) -> bytes:
    """A pattern of the decimal numbers (leading zeros allowed) greater than ``n``, as a tree of
    their digits (a number not above it fails at its first digits)."""
    digits = str(n)

    def after(i: int) -> bytes | None:  # greater than digits[i:], of as many digits
        if i == len(digits):
            return None
        rest = len(digits) - i - 1
        choices = []
        if digits[i] != "9":
            choices.append(b"[%d-9]" % (int(digits[i]) + 1) + (b"[0-9]{%d}" % rest if rest else b""))
        if (deeper := after(i + 1)) is not None:
            choices.append(digits[i].encode() + deeper)
        if not choices:
            return None
        return choices[0] if len(choices) == 1 else b"(?:" + b"|".join(choices) + b")"

    same_length = after(0)
    return b"0*(?:[1-9][0-9]{%d,}" % len(digits) + (b"|" + same_length if same_length else b"") + b")"


def _letters_above(column: int) -> bytes:
    """A pattern of the column letters (any case) of the columns after ``column`` (0: every one)."""
    letters = _column_letters(column).encode()
    parts = [b"[A-Za-z]{%d,}" % (len(letters) + 1)]
    for i, ch in enumerate(letters):
        if ch != ord("Z"):
            rest = len(letters) - i - 1
            same = b"".join(b"[%c%c]" % (c, c + 32) for c in letters[:i])
            parts.append(same + b"[%c-Z%c-z]" % (ch + 1, ch + 33) + (b"[A-Za-z]{%d}" % rest if rest else b""))
    return b"(?:" + b"|".join(parts) + b")"


class _IrregularXmlError(Exception):
    """A cell element not written plainly: the sheet is read by ``_IrregularCells``."""


class _PlainCells:
    """The farthest row and column of a sheet's plainly written XML (``spelling``) given a part at
    a time (whole tags each): every cell counted (``exact``: only those holding a value, as
    python-calamine counts them). Each part is looked through once for a cell not plainly written
    (an ``_IrregularXmlError``) or beyond the farthest so far; only a part holding one is read cell
    by cell."""

    def __init__(self, *, exact: bool, spelling: _CellSpelling = _PLAIN) -> None:
        self.exact = exact
        self.spelling = spelling
        self.rows = self.columns = 0
        self.pattern = spelling.not_plain_or_beyond(0, 0)

    def feed(self, data: bytes) -> None:
        spelling = self.spelling
        if spelling.spelled_otherwise(data):
            raise _IrregularXmlError
        # The part's last cell first (rows go down the sheet: mostly the farthest row so far).
        if not self.exact and (last := spelling.reference.match(data, max(data.rfind(spelling.start), 0))):
            self._reach(int(last.group(2)), _column_number(last.group(1)))
        hit = self.pattern.search(data)
        if hit is None:
            return
        if hit.group(1) is not None or spelling.not_plain.search(data, hit.start()):
            raise _IrregularXmlError
        if self.exact:
            found = [(c, r) for c, r, closed in spelling.tag.findall(data) if not closed]
        else:
            found = spelling.reference.findall(data)
        if found:
            self._reach(max(int(r) for _c, r in found), max(_column_number(c) for c in {c for c, _r in found}))

    def _reach(self, rows: int, columns: int) -> None:
        rows, columns = max(self.rows, rows), max(self.columns, columns)
        if (rows, columns) != (self.rows, self.columns):
            self.rows, self.columns = rows, columns
            self.pattern = self.spelling.not_plain_or_beyond(rows, columns)


# The XML read a token at a time as an XML reader does: comments, character data and processing
# instructions whole, and every tag whole with its quoted values (which may hold `<` and `>`):
# nothing inside them is taken for a tag. Group 1 is a row's or a cell's local name (any prefix),
# group 2 its attributes; other tokens have neither.
_XML_TOKEN = re.compile(
    rb"<!--.*?(?:-->|\Z)|<!\[CDATA\[.*?(?:\]\]>|\Z)|<\?.*?(?:\?>|\Z)"
    rb"|<(?:[^\s/>]*:)?(row|c)(?=[\s/>])((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>"
    rb"|<(?:[^>\"']|\"[^\"]*\"|'[^']*')*>",
    re.DOTALL,
)
_R_ATTRIBUTE = re.compile(rb"(?:^|\s)(?:[^\s=]*:)?r\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'/>]+))")
_ANY_REFERENCE = re.compile(rb"\s*\$?([A-Za-z]*)\$?0*([0-9]*)\s*")


def _irregular_cells(data: bytes, *, exact: bool) -> tuple[int, int]:
    """The farthest row and column of a sheet's XML however it is written, read token by token
    (``_XML_TOKEN``) as python-calamine places the cells; where a cell or row could be placed in
    two ways, the farther is taken."""
    rows = columns = 0
    row = row_reach = column = 0  # the current row, the farthest row its cells name, the last cell's column
    for token in _XML_TOKEN.finditer(data):  # one at a time: a list of every token of 256 MB would be GBs
        kind, attributes = token.group(1, 2)
        if kind is None:
            continue
        references = [b"".join(values) for values in _R_ATTRIBUTE.findall(attributes)]
        if kind == b"row":
            numbers = [int(r) for r in references if r.strip().isdigit()]
            row = max(numbers) if numbers else row_reach + 1
            row_reach, column = row, 0
            continue
        column += 1
        at_row = row
        for reference in references:
            parts = _ANY_REFERENCE.fullmatch(reference)
            if parts is None:
                continue
            if parts.group(1):
                column = max(column, _column_number(parts.group(1)))
            if parts.group(2):
                at_row = max(at_row, int(parts.group(2)))
        row_reach = max(row_reach, at_row)
        if exact and attributes.rstrip().endswith(b"/"):
            continue
        rows, columns = max(rows, at_row), max(columns, column)
    return rows, columns


def _farthest_cell(
    entry: Any, *, exact: bool, scan: _HiddenScan | None = None, spelling: _CellSpelling = _PLAIN
) -> tuple[int, int]:
    """The farthest row and column of a sheet's XML (read as a stream, given to ``scan`` too), from
    every cell (``exact``: every cell holding a value, as python-calamine counts them). A sheet not
    plainly written raises ``_IrregularXmlError`` (to be read whole, ``_irregular_cells``)."""
    cells = _PlainCells(exact=exact, spelling=spelling)
    read = 0
    rest = b""
    while True:
        chunk = entry.read(1 << 22)
        if scan is not None:
            scan.feed(chunk)
        read += len(chunk)
        if read > MAX_SHEET_XML_BYTES:
            raise _xml_too_large()
        data = rest + chunk
        if chunk:  # whole tags now, the rest with the next part
            cut = data.rfind(b">") + 1
            data, rest = data[:cut], data[cut:]
            if len(rest) > 1 << 24:  # no tag has ended in 16 MB: read tag by tag
                raise _IrregularXmlError
        cells.feed(data)
        if not chunk:
            return cells.rows, cells.columns


def _xml_too_large() -> SheetProblem:
    return SheetProblem(
        "too_large",
        _("The sheet holds more data than can be read (over %(gb)s GB once unpacked).")
        % {"gb": MAX_SHEET_XML_BYTES >> 30},
    )


def _too_large(rows: int, columns: int, limit: int | None = None) -> SheetProblem:
    return SheetProblem(
        "too_large_area",
        _(
            "The sheet has values as far as cell %(cell)s: %(rows)s rows by %(columns)s columns, more than one "
            "file can hold (%(limit)s cells). If a stray value lies far below or to the right of the data, delete "
            "those rows and columns in Excel or WPS and save; otherwise split the rows into several files."
        )
        % {
            "cell": f"{_column_letters(columns)}{rows}",
            "rows": f"{rows:,}",
            "columns": f"{columns:,}",
            "limit": f"{limit or MAX_SHEET_CELLS:,}",
        },
        rows=rows,
        columns=columns,
    )


_SST_TAG = re.compile(rb"<(?:[^\s/>]*:)?sst(?=[\s/>])((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_SST_COUNT = re.compile(rb"(?:^|\s)(?:[^\s=]*:)?(?:count|uniqueCount)\s*=\s*[\"']?\s*([0-9]+)")


def check_shared_strings(content: bytes) -> None:
    """A ``SheetProblem`` for an .xlsx whose table of shared strings says it holds more strings
    than a workbook can (``MAX_SHEET_CELLS``): python-calamine reserves memory for as many as it
    says before it reads one, and a made-up count of 4 billion (a 7 KB file) aborted the process."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            names = [n for n in z.namelist() if "sharedstrings" in n.lower()]
            with contextlib.suppress(KeyError):
                for tag in _RELATIONSHIP.findall(z.read("xl/_rels/workbook.xml.rels")):
                    if b"sharedStrings" in tag:
                        target = _attribute(tag, b"Target")
                        names.append(target.lstrip("/") if target.startswith("/") else "xl/" + target)
            for name in dict.fromkeys(names):
                if name not in z.NameToInfo:
                    continue
                with z.open(name) as entry:
                    head = entry.read(1 << 20)
                if (tag := _SST_TAG.search(head)) and any(
                    int(count) > MAX_SHEET_CELLS for count in _SST_COUNT.findall(tag.group(1))
                ):
                    raise _unreadable(f"{name}: more shared strings than a workbook can hold")
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error, NotImplementedError) as exc:
        raise SheetProblem("truncated", damaged_message(), error=str(exc)) from exc


def _binary_workbook(content: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            return "xl/workbook.bin" in z.namelist()
    except (zipfile.BadZipFile, EOFError, OSError, ValueError):
        return False


HiddenLines = tuple[frozenset[int], tuple[tuple[int, int], ...]]


def check_extent(content: bytes, index: int) -> HiddenLines | None:
    """``measure_extent``'s hidden lines of the sheet (a ``SheetProblem`` when it is too large)."""
    return measure_extent(content, index)[2]


def measure_extent(content: bytes, index: int) -> tuple[int, int, HiddenLines | None]:
    """A ``SheetProblem`` if the ``index``-th sheet of an .xlsx workbook spans more than
    ``MAX_SHEET_CELLS`` cells as python-calamine places them: every cell's reference is read
    (``_farthest_cell``), never the sheet's own record of its area (``<dimension>``), which a file
    can make up. The sheet's hidden rows and columns (``hidden_lines``), looked for in the same
    pass, are returned with the farthest row and column. When the workbook does not plainly name
    the sheet's part, every XML part is checked (the largest's area given, no hidden lines). A
    damaged zip is refused here: its sheet cannot be checked."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            part = _sheet_part(z, index)
            if part is not None:
                rows, columns, hidden = _part_extent(z, part)
            else:  # python-calamine may find a sheet where this does not: every part that is XML
                rows = columns = 0
                hidden = None
                for name in z.namelist():
                    with z.open(name) as entry:
                        xml = entry.read(64).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")
                    if xml:
                        r, c, _h = _part_extent(z, name)
                        if r * c > rows * columns:
                            rows, columns = r, c
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error, NotImplementedError) as exc:
        # python-calamine may read what this cannot (it checks no checksum): unchecked, it is not read.
        if zip_damaged(content, whole=False):
            raise SheetProblem("truncated", damaged_message(), error=str(exc)) from exc
        raise _unreadable(str(exc)) from exc
    if rows * columns > MAX_SHEET_CELLS:
        raise _too_large(rows, columns)
    return rows, columns, hidden


def _part_extent(z: zipfile.ZipFile, part: str) -> tuple[int, int, HiddenLines]:
    """The farthest row and column of a sheet's part of the zip, counted as ``check_extent`` says,
    and its hidden lines: read as plainly written, or with the one prefix its cells are written
    with, or else token by token."""
    with contextlib.suppress(_IrregularXmlError):
        return _plain_extent(z, part, _PLAIN)
    with z.open(part) as entry:
        prefixed = _CELL_PREFIX.search(entry.read(1 << 20))
    if prefixed is not None:
        with contextlib.suppress(_IrregularXmlError):
            return _plain_extent(z, part, _CellSpelling(prefixed.group(1)))
    with z.open(part) as entry:
        data = entry.read(MAX_IRREGULAR_XML_BYTES + 1)
    if len(data) > MAX_IRREGULAR_XML_BYTES:
        raise SheetProblem(
            "too_large",
            _(
                "The sheet is written in an unusual way and is too large to be checked before it is read "
                "(over %(mb)s MB once unpacked): open it in Excel or WPS and save it again."
            )
            % {"mb": f"{MAX_IRREGULAR_XML_BYTES >> 20:,}"},
        )
    scan = _HiddenScan()
    scan.feed(data)
    scan.feed(b"")
    rows, columns = _irregular_cells(data, exact=False)
    if rows * columns > MAX_SHEET_CELLS:
        rows, columns = _irregular_cells(data, exact=True)
    return rows, columns, scan.result()


def _plain_extent(z: zipfile.ZipFile, part: str, spelling: _CellSpelling) -> tuple[int, int, HiddenLines]:
    """``_part_extent`` of a part whose cells are all written as ``spelling`` says (an
    ``_IrregularXmlError`` otherwise)."""
    scan = _HiddenScan()
    with z.open(part) as entry:
        rows, columns = _farthest_cell(entry, exact=False, scan=scan, spelling=spelling)
    if rows * columns > MAX_SHEET_CELLS:  # perhaps only formats out there: count the values
        with z.open(part) as entry:
            rows, columns = _farthest_cell(entry, exact=True, spelling=spelling)
    return rows, columns, scan.result()


_ROW_TAG = re.compile(rb"<(?:\w+:)?row\s[^>]*>")
_COL_TAG = re.compile(rb"<(?:\w+:)?col\s[^>]*>")
_HIDDEN = re.compile(rb'\shidden\s*=\s*"(?:1|true)"')


def hidden_lines(content: bytes, index: int) -> HiddenLines:
    """The hidden rows (sheet row numbers) and the runs of hidden columns of the ``index``-th sheet
    of an .xlsx workbook: python-calamine reads every row alike. A row is hidden by its
    ``hidden="1"`` (by hand, or by a filter), a run of columns by its ``<col>`` record. The sheet's
    XML is read as a stream (``_HiddenScan``). Rows without their number (which no spreadsheet
    writes) are not found."""
    scan = _HiddenScan()
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            part = _sheet_part(z, index)
            if part is None:
                return frozenset(), ()
            with z.open(part) as entry:
                while not scan.done:
                    scan.feed(entry.read(1 << 22))
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error):
        return frozenset(), ()  # a damaged file: python-calamine's read names it
    return scan.result()


class _HiddenScan:
    """``hidden_lines`` over a sheet's XML given a part at a time (``feed``; an empty part at the
    end). Its tags are looked at only where the bytes ``hidden`` occur at all (in no part of a
    sheet without anything hidden): the usual sheet is only looked through."""

    def __init__(self) -> None:
        self.rows: set[int] = set()
        self.columns: list[tuple[int, int]] = []
        self.rest = self.previous = b""
        self.found = self.done = False
        self.read = 0

    def feed(self, chunk: bytes) -> None:
        if self.done:
            return
        self.read += len(chunk)
        if self.read > MAX_SHEET_XML_BYTES:
            self.done = True  # check_extent refuses such a sheet before it is read
            return
        if not self.found:
            if b"hidden" not in chunk and b"hidden" not in self.previous[-8:] + chunk[:8]:
                self.previous = chunk
                self.done = not chunk
                return
            self.found = True
            at = self.previous.rfind(b"<")  # the tag the chunk began in
            self.rest = self.previous[at:] if at >= 0 else b""
        data = self.rest + chunk
        if chunk:  # whole tags now, the rest with the next part
            cut = data.rfind(b">") + 1
            data, self.rest = data[:cut], data[cut:]
        if b"hidden" in data:
            for tag in _ROW_TAG.findall(data):
                if _HIDDEN.search(tag) and (number := _attribute(tag, b"r")).isdigit():
                    self.rows.add(int(number))
            for tag in _COL_TAG.findall(data):
                first, last = _attribute(tag, b"min"), _attribute(tag, b"max")
                if _HIDDEN.search(tag) and first.isdigit() and last.isdigit():
                    self.columns.append((int(first), int(last)))
        self.done = not chunk

    def result(self) -> HiddenLines:
        return frozenset(self.rows), tuple(self.columns)


class _Hidden:
    """The hidden rows and columns of the sheets of one workbook, found by the checks made before
    python-calamine reads it: an .xlsx's by ``check_extent``'s pass over a sheet's XML (every zip
    is checked so, as it may hold the parts of an .ods too); an .ods's by ``check_ods_extent``'s
    pass over its tables (``ods``); an .xls's by ``xls_hidden_lines``' pass over its records (``xls``)."""

    def __init__(
        self, content: bytes, *, ods: list[HiddenLines] | None = None, xls: list[HiddenLines] | None = None
    ) -> None:
        self.content = content
        self.tables = ods if ods is not None else xls
        # Every zip is checked as an .xlsx too: a file can hold the parts of both kinds.
        self.xlsx = content.startswith(b"PK")
        self.found: dict[int, HiddenLines] = {}
        self.spanned: dict[int, int] = {}  # the cells each sheet checked spans
        self.parts_read: set[str] = set()
        self.cells_read = 0

    def before_read(self, index: int) -> None:
        """``measure_extent`` of the ``index``-th sheet of an .xlsx (a ``SheetProblem`` when too
        large): its hidden lines and the cells it spans."""
        if not self.xlsx or index in self.found:
            return
        rows, columns, hidden = measure_extent(self.content, index)
        # None: the workbook does not plainly name the sheet's part, and its hidden lines are not known.
        self.found[index] = hidden or (frozenset(), ())
        self.spanned[index] = rows * columns

    def may_read(self, index: int) -> bool:
        """Whether the ``index``-th sheet is read, after those read so far, to look at its first rows
        (for the header, or for rows going on from the sheet imported). python-calamine reads an
        .xlsx's sheet whole to give any of it: a sheet whose part was read already (a workbook can
        give one part many names) is not read again, and the sheets read together span at most
        ``MAX_SHEET_CELLS`` (a few KB of zip held 20 sheets of a million rows: minutes, GBs).
        An .xls's and an .ods's sheets were all read, and counted together, when it was opened."""
        if not self.xlsx:
            return True
        self.before_read(index)
        part = self._part(index)
        if part is not None and part in self.parts_read:
            return False
        if self.cells_read and self.cells_read + self.spanned[index] > MAX_SHEET_CELLS:
            return False
        if part is not None:
            self.parts_read.add(part)
        self.cells_read += self.spanned[index]
        return True

    def _part(self, index: int) -> str | None:
        try:
            with zipfile.ZipFile(io.BytesIO(self.content)) as z:
                return _sheet_part(z, index)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError):
            return None

    def of(self, index: int) -> HiddenLines:
        """The hidden lines of the ``index``-th sheet, once python-calamine has read it."""
        if self.tables is not None:
            return self.tables[index] if index < len(self.tables) else (frozenset(), ())
        if not self.xlsx:
            return frozenset(), ()
        found = self.found.get(index)
        return hidden_lines(self.content, index) if found is None else found


# --- the compound file of an .xls ---------------------------------------------------------------

_CFB_END, _CFB_FREE = 0xFFFFFFFE, 0xFFFFFFFF


class _CutShortError(ValueError):
    """A compound file or a stream that ends before what it holds: cut short, most likely."""


_CFB_HEADER = struct.Struct("<9I")  # from offset 40: directory sectors … DIFAT sectors


def workbook_stream(content: bytes) -> bytes | None:
    """The Workbook stream of an .xls (``Book`` in a BIFF5 one) from its compound file, or None
    when it has neither. Every chain of sectors is checked as it is followed — each sector within
    the file and whole, none twice, the chain ended — and every size against the file's: a
    ``ValueError`` otherwise. python-calamine follows them unchecked, and a damaged file made it
    panic (an exception the caller does not expect) or loop until the process ran out of memory."""
    if len(content) < 512 or not content.startswith(OLE_MAGIC):
        raise ValueError("not a compound file")
    shift, mini_shift = struct.unpack_from("<HH", content, 30)
    if shift not in (9, 12) or mini_shift != 6:
        raise ValueError("sector sizes")
    size = 1 << shift
    count = len(content) // size - 1  # whole sectors after the header
    dir_sectors, _fat, dir_start, _sig, _cut, minifat_start, minifat_sectors, difat_start, _n = _CFB_HEADER.unpack_from(
        content, 40
    )
    if (dir_sectors + minifat_sectors) * size > len(content):
        raise ValueError("sizes past the file's")

    def sector(n: int) -> bytes:
        if n >= count:
            raise _CutShortError(f"sector {n} past the file's end")
        return content[(n + 1) * size : (n + 2) * size]

    def chain(n: int, table: Sequence[int], sectors: int) -> list[int]:
        out: list[int] = []
        seen: set[int] = set()
        while n != _CFB_END:
            if n >= sectors or n >= len(table) or n in seen:
                raise ValueError(f"a chain of sectors broken at {n}")
            seen.add(n)
            out.append(n)
            n = table[n]
        return out

    per_sector = size // 4
    difat = list(struct.unpack_from("<109I", content, 76))
    seen: set[int] = set()
    n = difat_start
    while n not in (_CFB_END, _CFB_FREE):  # the DIFAT's own sectors: the FAT's places past the first 109
        if n in seen:
            raise ValueError("the DIFAT's chain loops")
        seen.add(n)
        *entries, n = struct.unpack(f"<{per_sector}I", sector(n))
        difat += entries
    fat_sectors = [i for i in difat if i != _CFB_FREE]
    if len(fat_sectors) > count:
        raise ValueError("more FAT sectors than the file has")
    fat = struct.unpack(f"<{per_sector * len(fat_sectors)}I", b"".join(sector(i) for i in fat_sectors))
    directory = b"".join(sector(i) for i in chain(dir_start, fat, count))
    entries = [directory[at : at + 128] for at in range(0, len(directory) - 127, 128)]
    if not entries:
        raise ValueError("no directory")

    def start_and_size(entry: bytes) -> tuple[int, int]:
        start = int.from_bytes(entry[116:120], "little")
        length = int.from_bytes(entry[120:124] if size == 512 else entry[120:128], "little")
        if length > len(content):
            raise ValueError("a stream larger than the file")
        return start, length

    names = [e[:64].decode("utf-16-le", "replace").split("\0", 1)[0] for e in entries]
    found = next((entries[names.index(name)] for name in ("Workbook", "Book") if name in names), None)
    if found is None:
        return None  # python-calamine says it finds no workbook
    start, length = start_and_size(found)
    if length >= 4096:  # python-calamine's cut-off between the mini stream and sectors
        return b"".join(sector(i) for i in chain(start, fat, count))[:length]
    root_start, root_size = start_and_size(entries[0])
    mini = b"".join(sector(i) for i in chain(root_start, fat, count))[:root_size]
    minifat_bytes = b"".join(sector(i) for i in chain(minifat_start, fat, count))
    minifat = struct.unpack(f"<{len(minifat_bytes) // 4}I", minifat_bytes)
    return b"".join(mini[i * 64 : i * 64 + 64] for i in chain(start, minifat, len(mini) // 64))[:length]


# --- the hidden rows and columns of an .xls (BIFF5 and BIFF8) ------------------------------------

# Record types: BoundSheet8 (a sheet's name and where its records begin), Row, ColInfo, EOF,
# FilePass (the workbook is encrypted: python-calamine refuses it, asking for the password), the
# shared strings (SST), a sheet's area (Dimensions), and the cells python-calamine reads, each
# with its column at the same place (MulRk: several cells of a row, from that column on).
_BIFF_BOUNDSHEET, _BIFF_ROW, _BIFF_COLINFO, _BIFF_EOF, _BIFF_FILEPASS = 0x0085, 0x0208, 0x007D, 0x000A, 0x002F
_BIFF_SST, _BIFF_DIMENSIONS, _BIFF_MULRK = 0x00FC, 0x0200, 0x00BD
_BIFF_CELLS = frozenset({0x0203, 0x0204, 0x0205, 0x027E, 0x00FD, 0x0006, _BIFF_MULRK})
_BIFF_HEADER = struct.Struct("<HH")
# The most cells an .xls sheet can have: 65,536 rows by 256 columns.
_BIFF_MAX_CELLS, _BIFF_COLUMNS = 1 << 24, 256


def xls_hidden_lines(stream: bytes) -> list[HiddenLines]:
    """The hidden rows (sheet row numbers) and runs of hidden columns of each sheet of an .xls
    workbook (its Workbook stream: ``workbook_stream``), in workbook order (as python-calamine
    counts its sheets): python-calamine reads every row alike. A row is hidden by its Row record's
    fDyZero (by hand, or by a filter), a run of columns by its ColInfo record.

    Read before python-calamine opens the workbook (it reads every sheet as it opens it), as its
    check: a ``ValueError`` for a record running past the stream's end and for the counts it
    reserves memory for before any check of its own — a sheet's area (its Dimensions record, and
    its farthest cell: a cell past column IV), the number of shared strings. A damaged count asked
    for hundreds of GB, and a process refused that much memory is aborted. Every record is looked
    at: about half a second of CPU for the largest sheet (65,000 rows of 20 cells, 27 MB), a few
    milliseconds for a county's usual file."""
    starts: list[int] = []
    for typ, at, size in _biff_records(stream, 0):
        if typ == _BIFF_BOUNDSHEET and size >= 4:
            starts.append(int.from_bytes(stream[at : at + 4], "little"))
        elif typ == _BIFF_FILEPASS:
            return []  # encrypted: python-calamine asks for the password
        elif typ == _BIFF_SST and size >= 8 and int.from_bytes(stream[at + 4 : at + 8], "little") > len(stream):
            raise ValueError("more shared strings than the stream could hold")
    sheets = [_biff_sheet(stream, start) for start in starts]
    # python-calamine builds every sheet's area as it opens the workbook: together they are limited.
    if sum(rows * columns for _h, rows, columns in sheets) > MAX_SHEET_CELLS:
        _h, rows, columns = max(sheets, key=lambda sheet: sheet[1] * sheet[2])
        raise _too_large(rows, columns)
    return [hidden for hidden, _r, _c in sheets]


def _biff_records(stream: bytes, at: int) -> Iterator[tuple[int, int, int]]:
    """The type, data offset and size of each record of the substream beginning at ``at``, up to
    its EOF record (or the stream's end). A record running past the end raises."""
    end = len(stream)
    unpack = _BIFF_HEADER.unpack_from
    while at + 4 <= end:
        typ, size = unpack(stream, at)
        if typ == _BIFF_EOF:
            return
        if at + 4 + size > end:
            raise _CutShortError(f"a BIFF record (type {typ:#06x}) runs past the stream's end")
        yield typ, at + 4, size
        at += 4 + size


def _biff_sheet(stream: bytes, at: int) -> tuple[HiddenLines, int, int]:
    """The hidden rows and columns of the sheet whose records begin at ``at``, its area checked
    (``xls_hidden_lines``), and the farthest row and column of its cells holding a value (a blank
    cell, formats alone, is not read): ``_biff_records`` written out, as a sheet has a record for
    each cell."""
    farthest_row = farthest_column = 0
    rows: set[int] = set()
    columns: list[tuple[int, int]] = []
    end = len(stream)
    unpack = _BIFF_HEADER.unpack_from
    cells = _BIFF_CELLS
    while at + 4 <= end:
        typ, size = unpack(stream, at)
        if typ in cells and size >= 4:
            if stream[at + 7]:  # the column's high byte: past column IV
                raise ValueError("a cell past the last column an .xls sheet has")
            row, column = unpack(stream, at + 4)
            if typ == _BIFF_MULRK and size >= 6:
                column += (size - 6) // 6 - 1  # its last cell's
                if column >= _BIFF_COLUMNS:
                    raise ValueError("cells past the last column an .xls sheet has")
            farthest_row, farthest_column = max(farthest_row, row + 1), max(farthest_column, column + 1)
        elif typ == _BIFF_ROW:
            if 14 <= size <= 16 and stream[at + 16] & 0x20:
                rows.add(unpack(stream, at + 4)[0] + 1)
        elif typ == _BIFF_COLINFO:
            if 10 <= size <= 12 and stream[at + 12] & 0x01:
                first, last = unpack(stream, at + 4)
                columns.append((first + 1, last + 1))
        elif typ == _BIFF_DIMENSIONS:
            if size >= 14:  # BIFF8: rows of 32 bits
                first_row, end_row, first_col, end_col = struct.unpack_from("<IIHH", stream, at + 4)
            elif size >= 8:
                first_row, end_row, first_col, end_col = struct.unpack_from("<HHHH", stream, at + 4)
            else:
                raise ValueError("a Dimensions record cut short")
            if end_row < first_row or end_col < first_col:
                raise ValueError("a sheet's area ending before it begins")
            if (end_row - first_row) * (end_col - first_col) > _BIFF_MAX_CELLS:
                raise ValueError("a sheet's area larger than an .xls sheet can be")
        elif typ == _BIFF_EOF:
            return (frozenset(rows), tuple(columns)), farthest_row, farthest_column
        at += 4 + size
    if at != end:
        raise _CutShortError("the sheet's last BIFF record runs past the stream's end")
    return (frozenset(rows), tuple(columns)), farthest_row, farthest_column


# The names as written: python-calamine reads the elements and attributes of an .ods by the
# names `table:…` and `office:…`, whatever namespace a file binds the prefixes to (a file binding
# `table` to another one was read by it and passed over by a namespace-aware look).
_ODS_TABLE = "table:"
_ODS_OFFICE = "office:"
_ODS_ROW, _ODS_CELLS = _ODS_TABLE + "table-row", (_ODS_TABLE + "table-cell", _ODS_TABLE + "covered-table-cell")
_ODS_COLUMN = _ODS_TABLE + "table-column"


class _CappedReader(io.RawIOBase):
    """A zip entry read at most ``MAX_SHEET_XML_BYTES`` far (a few KB of zip can unpack to GBs)."""

    def __init__(self, entry: Any) -> None:
        self.entry, self.read_bytes = entry, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.entry.read(len(buffer))
        self.read_bytes += len(data)
        if self.read_bytes > MAX_SHEET_XML_BYTES:
            raise _xml_too_large()
        buffer[: len(data)] = data
        return len(data)


def check_ods_extent(content: bytes) -> list[HiddenLines] | None:
    """``check_extent`` for an OpenDocument spreadsheet (.ods): its rows and cells say how often
    they repeat, so a 1 KB file can span a million rows by 16,000 columns, and python-calamine
    builds the area of every table as it opens the file (gigabytes and seconds, or its own error
    past 10⁸ cells). Each table's farthest cell holding a value is found from the XML, read as a
    stream, and a file whose tables together span more than ``MAX_ODS_CELLS`` is refused,
    naming its largest. The same pass finds each table's hidden rows and columns (``hidden_lines``
    of an .xlsx), returned in table order. Not an .ods: None. An .ods whose tables cannot be read
    is refused (``SheetProblem``): python-calamine may read what the XML parser refuses, and the
    hidden rows would not be known."""
    from xml.parsers.expat import ExpatError

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            if "content.xml" not in z.namelist():
                return None
            with z.open("content.xml") as entry:
                stream = io.BufferedReader(_CappedReader(entry), 1 << 20)
                tables = _ods_tables(_xml_events(stream))
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
        raise SheetProblem("truncated", damaged_message()) from exc
    except (ValueError, ExpatError) as exc:
        raise _unreadable(str(exc)) from exc
    if sum(t.rows * t.columns for t in tables) > MAX_ODS_CELLS:
        largest = max(tables, key=lambda t: t.rows * t.columns)
        raise _too_large(largest.rows, largest.columns, MAX_ODS_CELLS)
    return [t.hidden() for t in tables]


_ODS_HIDDEN = ("collapse", "filter")  # table:visibility of a row hidden by hand, and by a filter
_ODS_VISIBILITY = _ODS_TABLE + "visibility"


class _OdsTable:
    """What ``_ods_tables`` finds of one table: its farthest row and column holding a value, and
    the runs of its hidden rows and columns (first and last, 1 = the first)."""

    def __init__(self) -> None:
        self.rows = self.columns = 0
        self.hidden_rows: list[tuple[int, int]] = []
        self.hidden_columns: list[tuple[int, int]] = []

    def hidden(self) -> HiddenLines:
        """The hidden rows as sheet row numbers, up to the last row holding a value (LibreOffice
        writes a sheet's empty rest as one repeated row, hidden too when the rows are hidden down
        to the bottom), and the runs of hidden columns."""
        rows = (r for first, last in self.hidden_rows for r in range(first, min(last, self.rows) + 1))
        return frozenset(rows), tuple(self.hidden_columns)


def _xml_events(stream: Any) -> Iterator[tuple[str, str, dict[str, str]]]:
    """("start", name, attributes) and ("end", name, {}) of each element of the XML ``stream``,
    its names as written (no namespaces resolved)."""
    from xml.parsers.expat import ParserCreate

    parser = ParserCreate()
    pending: list[tuple[str, str, dict[str, str]]] = []
    parser.StartElementHandler = lambda name, attributes: pending.append(("start", name, attributes))
    parser.EndElementHandler = lambda name: pending.append(("end", name, {}))
    while chunk := stream.read(1 << 20):
        parser.Parse(chunk, False)
        yield from pending
        pending.clear()
    parser.Parse(b"", True)
    yield from pending


def _ods_tables(events: Iterable[tuple[str, str, dict[str, str]]]) -> list[_OdsTable]:
    """The farthest row and column holding a value of each table of ``events``, and its hidden
    lines, in order; stops early once they span more than ``MAX_ODS_CELLS``."""
    tables: list[_OdsTable] = []
    table = _OdsTable()
    row = column = table_column = spanned = 0
    row_repeat, row_has_value = 1, False
    for event, tag, attributes in events:
        if tag == _ODS_TABLE + "table":
            if event == "start":
                table, row, table_column = _OdsTable(), 0, 0
            else:
                tables.append(table)
                spanned += table.rows * table.columns
            continue
        if tag == _ODS_ROW:
            if event == "start":
                column, row_has_value = 0, False
                row_repeat = _repeat(attributes.get(_ODS_TABLE + "number-rows-repeated"))
                if attributes.get(_ODS_VISIBILITY) in _ODS_HIDDEN:
                    table.hidden_rows.append((row + 1, row + row_repeat))
            else:
                if row_has_value:
                    table.rows = max(table.rows, row + row_repeat)
                row += row_repeat
                if spanned + table.rows * table.columns > MAX_ODS_CELLS:
                    return [*tables, table]
        elif tag in _ODS_CELLS:
            if event == "start":
                repeat = _repeat(attributes.get(_ODS_TABLE + "number-columns-repeated"))
                if attributes.get(_ODS_OFFICE + "value-type") is not None:
                    row_has_value = True
                    table.columns = max(table.columns, column + repeat)
                column += repeat
        elif tag == _ODS_COLUMN and event == "start":
            repeat = _repeat(attributes.get(_ODS_TABLE + "number-columns-repeated"))
            if attributes.get(_ODS_VISIBILITY) in _ODS_HIDDEN:
                table.hidden_columns.append((table_column + 1, table_column + repeat))
            table_column += repeat
    return tables


def _repeat(value: str | None) -> int:
    """A repeat count as written (none: once); a ``ValueError`` for one that is not a number."""
    return int(value or 1)


def damaged_message() -> str:
    return _("The file is truncated or damaged (perhaps the upload or copy was cut short).")


def zip_damaged(content: bytes, *, whole: bool) -> bool:
    """Whether the zip cannot be opened (``whole``: or an entry fails its checksum)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            return whole and z.testzip() is not None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error):
        return True


# --- writing: text a spreadsheet must not run as a formula ----------------------------------------

# Text from workers, department files or uploads may begin like a formula ("=HYPERLINK(…)"):
# a spreadsheet opening a CSV runs it (CSV injection), and openpyxl writes such a string as a
# formula. CSV cells get a leading apostrophe (the usual defence, which Excel hides); workbook
# cells are written as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def csv_safe(value: Any) -> Any:
    """``value`` for a CSV cell: text that a spreadsheet would take as a formula gets a leading
    apostrophe (a plain number such as ``-12.5`` is left as it is)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_safe(v) for v in values]


def xlsx_row(sheet: Any, values: Iterable[Any]) -> list[Any]:
    """``values`` for ``sheet.append`` (openpyxl, either mode) with text beginning with ``=`` kept
    as text instead of becoming a formula."""
    from openpyxl.cell import WriteOnlyCell

    out: list[Any] = []
    for v in values:
        if isinstance(v, str) and v.startswith("="):
            cell = WriteOnlyCell(sheet, value=v)
            cell.data_type = "s"
            v = cell
        out.append(v)
    return out
