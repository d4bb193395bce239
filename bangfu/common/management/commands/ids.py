"""``manage.py ids check``: check resident ID numbers, given as arguments or in a file.

    manage.py ids check 532923199001011212 11010519491231002x
    manage.py ids check --file 名单.xlsx [--column 身份证号 | --column 3]

Writes CSV to stdout (``row,input,id_number,valid,birth_date,sex,birthplace,error``) and
exits 0 if every number is valid, 1 if any is not, 2 on a usage error.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from bangfu.common import sheets
from bangfu.common.commands import TranslatedCommand
from bangfu.common.ids import InvalidResidentId, ResidentId
from bangfu.common.punctuation import join_list

COLUMNS = ["row", "input", "id_number", "valid", "birth_date", "sex", "birthplace", "error"]
EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"})
USAGE_ERROR = 2

# Headers that name the ID column: 身份证号, 公民身份号码, 证件号码, "ID", "id_number"...
_ID_HEADER_RE = re.compile(r"身份证|身份号码|证件号|(?<![a-z])id(?![a-z])", re.IGNORECASE)
_FLOAT_EXACT_LIMIT = 2**53  # larger numbers from a spreadsheet have lost digits


class Command(TranslatedCommand):
    help = gettext_noop("Check resident ID numbers (身份证号) given as arguments or in a CSV or Excel file.")

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        check = actions.add_parser(
            "check",
            help=_("check ID numbers; CSV report on stdout"),
            description=_(
                "Check ID numbers and write a CSV report to stdout. Exit status: "
                "0 all valid, 1 some invalid, 2 usage error."
            ),
        )
        check.add_argument("numbers", nargs="*", metavar="ID", help=_("ID numbers to check"))
        check.add_argument(
            "--file",
            type=Path,
            help=_("CSV (UTF-8 or GBK/GB18030) or Excel file (.xlsx, .xls; first sheet)"),
        )
        check.add_argument(
            "--column",
            help=_(
                "header name or 1-based index of the ID column (default: the first "
                "header containing 身份证 or ID, else column 1)"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        numbers: list[str] = options["numbers"]
        path: Path | None = options["file"]
        if path is not None and numbers:
            raise CommandError(_("Give ID numbers or --file, not both."), returncode=USAGE_ERROR)
        if path is None and not numbers:
            raise CommandError(_("Give ID numbers or --file."), returncode=USAGE_ERROR)
        if path is None and options["column"]:
            raise CommandError(_("--column needs --file."), returncode=USAGE_ERROR)

        if path is None:
            items: Iterable[tuple[int, str]] = enumerate(numbers, start=1)
        else:
            items = self._read_column(path, options["column"])

        checked = invalid = 0
        self._write_row(COLUMNS)
        for row, raw in items:
            checked += 1
            try:
                rid = ResidentId.parse(raw)
            except InvalidResidentId as error:
                invalid += 1
                self._write_row([str(row), raw, "", "false", "", "", "", error.message])
            else:
                birthplace = rid.birthplace or ""
                self._write_row([str(row), raw, rid.value, "true", rid.birth_date.isoformat(), rid.sex, birthplace, ""])

        if invalid:
            raise CommandError(
                _("%(invalid)d of %(checked)d ID numbers are invalid.") % {"invalid": invalid, "checked": checked},
                returncode=1,
            )
        self.stderr.write(_("%(checked)d ID numbers checked, all valid.") % {"checked": checked})

    def _write_row(self, values: Sequence[str]) -> None:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(sheets.csv_row(values))
        self.stdout.write(buffer.getvalue(), ending="")

    # -- reading a file ------------------------------------------------------------

    def _read_column(self, path: Path, column: str | None) -> list[tuple[int, str]]:
        """(data row number, cell) for the ID column; data rows count from 1 after the header."""
        if not path.is_file():
            raise CommandError(_("File not found: %(path)s") % {"path": path}, returncode=USAGE_ERROR)
        rows = read_excel(path) if path.suffix.lower() in EXCEL_SUFFIXES else read_csv(path)
        # Leading blank rows are skipped; the first row left is the header, unless it already
        # holds an ID number.
        while rows and not any(rows[0]):
            rows.pop(0)
        if not rows:
            raise CommandError(_("The file %(path)s has no rows.") % {"path": path}, returncode=USAGE_ERROR)
        has_header = not any(_looks_like_id(cell) for cell in rows[0])
        header = rows[0] if has_header else None
        data = rows[1:] if has_header else rows
        index = self._choose_column(header, rows[0], column, width=max(len(row) for row in rows))
        return [
            (number, row[index] if index < len(row) else "")
            for number, row in enumerate(data, start=1)
            if any(row)  # wholly blank rows are not reported, but keep their number
        ]

    def _choose_column(self, header: list[str] | None, first: list[str], spec: str | None, *, width: int) -> int:
        """The 0-based index of the ID column; says on stderr which column it reads."""
        names = [h.strip() for h in header] if header else []
        if spec is not None:
            spec = spec.strip()
            if spec.isdigit():
                index = int(spec) - 1
                if not 0 <= index < width:
                    raise CommandError(
                        _("Column %(column)s does not exist; the file has %(count)d columns.")
                        % {"column": spec, "count": width},
                        returncode=USAGE_ERROR,
                    )
            elif spec in names:
                index = names.index(spec)
            elif spec.casefold() in (lowered := [n.casefold() for n in names]):
                index = lowered.index(spec.casefold())
            else:
                raise CommandError(
                    _("No column named %(column)s; the columns are: %(names)s")
                    % {"column": spec, "names": join_list(names) or _("(no header row)")},
                    returncode=USAGE_ERROR,
                )
        else:
            matches = [i for i, name in enumerate(names) if _ID_HEADER_RE.search(name)]
            if not matches and header is None:
                # No header: the first column holding something like an ID number.
                matches = [i for i, cell in enumerate(first) if _looks_like_id(cell)]
            index = matches[0] if matches else 0
        label = f" ({names[index]})" if index < len(names) and names[index] else ""
        self.stderr.write(_("Reading column %(column)d%(label)s.") % {"column": index + 1, "label": label})
        return index


def _looks_like_id(cell: str) -> bool:
    """An ID number, valid or not (14+ digits, full-width too), rather than a header."""
    return sum(ch.isdigit() for ch in cell) >= 14


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise CommandError(
                _("Cannot read %(path)s: it is neither UTF-8 nor GBK/GB18030 text.") % {"path": path},
                returncode=USAGE_ERROR,
            ) from None
    try:
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;|")
        except csv.Error:  # one column, or too little text to tell
            dialect = csv.excel
        return [list(row) for row in csv.reader(io.StringIO(text, newline=""), dialect)]
    except csv.Error as error:
        raise CommandError(
            _("Cannot read %(path)s as CSV: %(error)s") % {"path": path, "error": error},
            returncode=USAGE_ERROR,
        ) from None


def read_excel(path: Path) -> list[list[str]]:
    """The rows of the first sheet a person sees, read as the import pages read a workbook (the
    same checks: a protected, damaged or oversized sheet is named, never read half or crashed on)."""
    try:
        cells = sheets.first_sheet_rows(path.read_bytes(), path.name)
    except sheets.SheetProblem as problem:
        raise CommandError(
            _("Cannot read %(path)s as an Excel file: %(error)s") % {"path": path, "error": problem.message},
            returncode=USAGE_ERROR,
        ) from None
    except OSError as error:
        raise CommandError(
            _("Cannot read %(path)s as an Excel file: %(error)s") % {"path": path, "error": error},
            returncode=USAGE_ERROR,
        ) from None
    return [[_cell_text(cell) for cell in row] for row in cells]


def _cell_text(cell: object) -> str:
    """A spreadsheet cell as text. A number too large to be exact stays in E notation,
    which ResidentId reports as lost digits rather than as a wrong number."""
    if isinstance(cell, bool):
        return str(cell)
    if isinstance(cell, int | float):
        if abs(cell) >= _FLOAT_EXACT_LIMIT:
            return f"{float(cell):E}"
        return str(int(cell)) if float(cell).is_integer() else str(cell)
    if isinstance(cell, dt.date | dt.time | dt.datetime):
        return cell.isoformat()
    return "" if cell is None else str(cell)
