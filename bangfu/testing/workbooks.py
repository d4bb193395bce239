"""Workbooks of each kind a county or a department sends (.xlsx, .xls, .ods), made in code for the
tests, with rows and columns hidden as a person hides them: by hand, or by a filter."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import quoteattr

from openpyxl.utils import get_column_letter

KINDS = ("xlsx", "xls", "ods")


def workbook(
    kind: str,
    rows: Sequence[Sequence[Any]],
    *,
    hidden_rows: Collection[int] = (),
    hidden_columns: Collection[int] = (),
    by_filter: bool = False,
    before: Sequence[Sequence[Any]] | None = None,
) -> bytes:
    """A workbook of ``kind`` whose sheet holds ``rows`` from its first row, with the sheet rows
    ``hidden_rows`` (1 = the first) and the columns ``hidden_columns`` (1 = column A) hidden;
    ``by_filter``: the rows hidden by a filter (an autofilter over the rows in an .xlsx, rows of
    visibility "filter" in an .ods; an .xls marks both alike). ``before``: a sheet of instructions
    (说明) put first, nothing hidden in it, so that the data sheet is the second."""
    sheets = [("说明", before), ("花名册", rows)] if before is not None else [("花名册", rows)]
    if kind == "xlsx":
        return _xlsx(sheets, hidden_rows, hidden_columns, by_filter)
    if kind == "xls":
        return _xls(sheets, hidden_rows, hidden_columns)
    if kind == "ods":
        return _ods(sheets, hidden_rows, hidden_columns, by_filter)
    raise ValueError(kind)


Sheets = list[tuple[str, Sequence[Sequence[Any]]]]


def _xlsx(sheets: Sheets, hidden_rows: Collection[int], hidden_columns: Collection[int], by_filter: bool) -> bytes:
    # The lines hidden in the last sheet (the data sheet) only.
    from openpyxl import Workbook

    wb = Workbook()
    if wb.active is not None:
        wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(list(row))
        if title != sheets[-1][0]:
            continue
        for r in hidden_rows:
            ws.row_dimensions[r].hidden = True
        for c in hidden_columns:
            ws.column_dimensions[get_column_letter(c)].hidden = True
        if by_filter and rows:
            ws.auto_filter.ref = f"A1:{get_column_letter(max(len(r) for r in rows) or 1)}{len(rows)}"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _xls(sheets: Sheets, hidden_rows: Collection[int], hidden_columns: Collection[int]) -> bytes:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    date = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for title, rows in sheets:
        ws = book.add_sheet(title)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, dt.date):
                    ws.write(r, c, value, date)
                elif value is not None and value != "":
                    ws.write(r, c, float(value) if isinstance(value, Decimal) else value)
        if title != sheets[-1][0]:
            continue
        for r in hidden_rows:
            ws.row(r - 1).hidden = True  # the Row record's fDyZero
        for c in hidden_columns:
            ws.col(c - 1).hidden = True  # a ColInfo record
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)
_ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
)


def ods_file(tables: str) -> bytes:
    """An OpenDocument spreadsheet of the given tables' XML (``<table:table>`` elements)."""
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODS_NS} office:version="1.2">'
        f"<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", _ODS_MANIFEST)
    return buf.getvalue()


def _ods(sheets: Sheets, hidden_rows: Collection[int], hidden_columns: Collection[int], by_filter: bool) -> bytes:
    """As LibreOffice writes one: the columns first (hidden ones of visibility "collapse", runs
    of alike columns repeated), then the rows, each hidden one with its visibility, runs of alike
    rows repeated, the sheet's empty rest as one repeated row."""
    tables = []
    for title, rows in sheets:
        last = title == sheets[-1][0]
        rows_hidden, columns_hidden = (hidden_rows, hidden_columns) if last else ((), ())
        width = max((len(r) for r in rows), default=1)
        runs: list[list[Any]] = []  # [hidden, count]
        for c in range(1, width + 1):
            if runs and runs[-1][0] == (c in columns_hidden):
                runs[-1][1] += 1
            else:
                runs.append([c in columns_hidden, 1])
        columns = "".join(
            "<table:table-column"
            + (' table:visibility="collapse"' if hidden else "")
            + (f' table:number-columns-repeated="{count}"' if count > 1 else "")
            + "/>"
            for hidden, count in runs
        )
        body: list[tuple[str, str]] = []  # (visibility attribute, cells)
        for r, row in enumerate(rows, start=1):
            visibility = f' table:visibility="{"filter" if by_filter else "collapse"}"' if r in rows_hidden else ""
            body.append((visibility, "".join(_ods_cell(v) for v in row)))
        xml = []
        at = 0
        while at < len(body):
            n = 1
            while at + n < len(body) and body[at + n] == body[at]:
                n += 1
            repeat = f' table:number-rows-repeated="{n}"' if n > 1 else ""
            xml.append(f"<table:table-row{body[at][0]}{repeat}>{body[at][1]}</table:table-row>")
            at += n
        rest = '<table:table-row table:number-rows-repeated="1048000"><table:table-cell/></table:table-row>'
        tables.append(f"<table:table table:name={quoteattr(title)}>{columns}{''.join(xml)}{rest}</table:table>")
    return ods_file("".join(tables))


def _ods_cell(value: Any) -> str:
    if value is None or value == "":
        return "<table:table-cell/>"
    if isinstance(value, dt.date):
        attrs = f'office:value-type="date" office:date-value="{value.isoformat()}"'
    elif isinstance(value, bool):
        attrs = f'office:value-type="boolean" office:boolean-value="{str(value).lower()}"'
    elif isinstance(value, int | float | Decimal):
        attrs = f'office:value-type="float" office:value="{value}"'
    else:
        attrs = 'office:value-type="string"'
    text = str(value).replace("&", "&amp;").replace("<", "&lt;")
    return f"<table:table-cell {attrs}><text:p>{text}</text:p></table:table-cell>"
