"""Reading the first sheet of a workbook uploaded by a user, with a specific message for each way
it can fail: empty, not a workbook, protected with a password, cut short or damaged; and writing
CSV and workbook cells that a spreadsheet will not run as formulas."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

# An .xls file, and an .xlsx saved with a password (an encrypted OLE container, not a zip).
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class SheetProblem(Exception):  # noqa: N818 - a problem of the sheet, not of the program
    """The file as a whole cannot be imported (unreadable, protected, wrong headers)."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def _first_visible(book: Any) -> int:
    """The index of the first worksheet a person sees: a hidden sheet of lists or codes often comes
    first in a template, and a chart sheet holds no rows."""
    from python_calamine import SheetTypeEnum, SheetVisibleEnum

    for i, meta in enumerate(book.sheets_metadata):
        if meta.visible == SheetVisibleEnum.Visible and meta.typ == SheetTypeEnum.WorkSheet:
            return i
    return 0


def first_sheet_rows(content: bytes, name: str = "") -> list[list[Any]]:
    """The rows of the first sheet a person sees (python-calamine; hidden sheets are passed over);
    a ``SheetProblem`` for a file that cannot be read."""
    from python_calamine import CalamineWorkbook

    lower = name.lower()
    if not content:
        raise SheetProblem("empty", _("The file is empty."))
    if content.startswith(OLE_MAGIC) and not lower.endswith(".xls"):
        raise SheetProblem(
            "password_protected", _("The workbook is protected with a password: save it again without one.")
        )
    # A cut file has lost the zip's directory (at its end); a damaged one is found by its checksums
    # when the workbook cannot be read (checking them first cost a tenth of the read itself).
    if content.startswith(b"PK"):
        if zip_damaged(content, whole=False):
            raise SheetProblem("truncated", damaged_message())
    elif not content.startswith(OLE_MAGIC):
        raise SheetProblem("not_excel", _("This is not an Excel workbook (.xlsx, .xls or .ods)."))
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
        sheet = book.get_sheet_by_index(_first_visible(book))
        rows: list[list[Any]] = sheet.to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types for damaged files
        text = str(exc)
        if "password" in text.lower() or "encrypt" in text.lower():
            raise SheetProblem(
                "password_protected", _("The workbook is protected with a password: save it again without one.")
            ) from exc
        if content.startswith(b"PK") and zip_damaged(content, whole=True):
            raise SheetProblem("truncated", damaged_message()) from exc
        # The reader's own words are English and technical: kept in the details, not the message.
        raise SheetProblem(
            "unreadable",
            _("The workbook cannot be read: open it in Excel or WPS and save it again as .xlsx."),
            error=text,
        ) from exc
    return rows


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
