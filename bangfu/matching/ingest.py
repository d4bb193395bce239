"""Reading a department file into a Parquet snapshot, normalising every ID number once.

The whole file is processed by DuckDB in a scratch directory; nothing is stored until the
service that calls ``ingest`` saves the two files it produces (the snapshot and the rejected
rows as CSV). Two passes over the data:

1. one query reads the file into Arrow batches, normalising and checking every ID number in SQL
   (``_id_sql``: spaces, dashes, full-width digits, a lower-case x, a leading apostrophe, the
   15-digit form; shape, real birth date, check digit: the checks of ``ResidentId.parse``; the
   region code in use in the birth year is checked on the result, ``_check_regions``), trimming
   the other columns of white space of every kind (``PADDING``), typing them (numbers and dates
   as the legacy import reads them: ``_number_text_sql``, ``_field_sql``) and naming a missing
   or unreadable one, and marking a row that may be one of totals or a note (``_summary_sql``:
   those at the end of the file, and empty rows anywhere, are skipped: ``_skip_summaries``).
   A CSV line that lacks only trailing columns no field is read from is read again with them
   empty (``_pad_short_lines``); the rows after a line not read keep the file's numbers.
   Values SQL does not accept go through ``ResidentId.parse`` itself (the rare bad or odd
   rows), so the rules stay in one place and the reasons given are its messages; names SQL
   cannot normalise go through ``names.normalise_name``, once each. Both only when such rows
   are there;
2. one ``COPY`` writes the snapshot from those batches: the accepted rows, exact duplicate
   records once (a hash of each record from pass 1 tells cheaply that there is none).

The normalised number is stored only as the 64-bit keyed hash (``crypto.keyed_hash64``,
computed between the two passes, batch by batch on two threads while DuckDB looks for
duplicate records); the name as written and as the key of its normalised
form (``names.name_key_sql``). The rows stay in Arrow between the passes, so the key is just
another column of the batches and DuckDB writes them in parallel (a positional join of a table
and the keys would be read on one thread). Nothing depends on the order of the rows (each has
its line number), so DuckDB need not keep it.
"""

# ruff: noqa: S608 - SQL is built from column names quoted by _ident and literals escaped by _q
from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc
import pyarrow.parquet as pq
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from bangfu.common import crypto, divisions, sheets
from bangfu.common.ids import EARLIEST_BIRTH_YEAR, SHANGHAI, InvalidResidentId, ResidentId
from bangfu.common.punctuation import join_list

from .engine import record_keys
from .engine.names import NAME_KEY_META, name_key_sql, name_key_tag, name_keys, name_norm_fast_sql, normalise_name
from .engine.schemas import (
    ID_KEY,
    ID_NUMBER,
    INACTIVE_COMPANY_WORDS,
    KIND_FIELDS,
    DatasetKind,
    FieldSpec,
    default_mapping,
    fields_for,
    normalise_header,
)

logger = logging.getLogger(__name__)

EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
SNIFF_BYTES = 4 * 1024 * 1024
MAX_REJECTED_SHARE = 0.5  # above this the ID column is not trusted: the file is refused
_HASH_WORKERS = 2  # threads computing the keyed hashes beside DuckDB
_BATCH_ROWS = 122_880  # rows per Arrow batch between the passes: DuckDB scans the batches in parallel
# Above this many rows (estimated from the file) the checked rows go to an Arrow file in the
# scratch directory, memory-mapped, instead of memory: the pages are the file's, which the system
# can drop and read again, so a file of tens of millions of rows does not need its size in RAM.
SPILL_ROWS = 2_000_000
_CSV_BYTES_PER_ROW = 40  # a short line: the estimate errs towards spilling
# The most columns a department file may have: a department's table has tens of them (Excel
# allows 16,384). Counted before the engine reads the file, which takes minutes to describe
# a CSV file of 200,000 columns before failing.
MAX_COLUMNS = 1_000
_HEADER_LINE_CHARS = 1 << 24  # the part of a CSV file's first line read to count its columns


@dataclass(frozen=True)
class ImportLimits:
    """What one import may take: rows, and bytes unpacked (a Parquet file's data uncompressed, as
    its footer gives it; a text file's own size). ``web``: the limits of the page and the API,
    whose refusal points to the command line."""

    rows: int
    unpacked_bytes: int
    web: bool = False


# The snapshot's compression: LZ4 decompresses the text columns every match reads (the record keys,
# all distinct) faster than zstd — national match 2.66x -> 2.23x a bare join, on a file 1.6x the size.
_SNAPSHOT_CODEC = "lz4_raw"
_COMMON_FIELDS = frozenset({"id_number", "id_key", "record_key", "name"})
# The longest record key taken (after trimming): a finding keeps the key in a column of this
# length (``models.Finding.record_key``); a longer one would be cut, and two cut alike one finding.
RECORD_KEY_MAX_CHARS = 200
# What is trimmed from both ends of every value but the ID number (a record key, a name, a type,
# a number, a date): white space of every kind, not only the ASCII space DuckDB's trim removes —
# tabs, line breaks (a cell with a line break, the CR of a CRLF file read as LF), no-break and
# ideographic spaces (U+00A0, U+3000), and the invisible zero-width space, word joiner and
# byte-order mark. Inside a value they are kept. (The ID number has its own cleaning: _ID_NOISE.)
PADDING = (
    " \t\n\r\x0b\x0c\x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200C)))  # the spaces of typography, the zero-width space
    + "\u2028\u2029\u202f\u205f\u2060\u3000\ufeff"
)
# A record key as Excel writes a long number it holds as a number: 5.32923E+17 in a CSV file,
# 5.32923197607288E+17 from a workbook (_excel_cell). Its last digits are lost, so that two
# records could share the key.
_LOST_DIGITS_RE = "[0-9]\\.[0-9]+[eE]\\+?[0-9]+"
_NULLS = {"text": "CAST(NULL AS VARCHAR)", "number": "CAST(NULL AS DOUBLE)", "date": "CAST(NULL AS DATE)"}
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


class IngestProblem(Exception):  # noqa: N818 - a problem report, not a programming error
    """The file cannot be imported; ``code`` is stable, ``message`` for people."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


@dataclass
class IngestResult:
    snapshot: Path
    rejected: Path
    mapping: dict[str, str]
    prehashed: bool
    rows_total: int = 0
    rows_taken: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    rows_skipped: int = 0  # rows of totals and notes at the end of the file (_skip_summaries)
    reasons: dict[str, int] = field(default_factory=dict)


def _q(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _ident(text: str) -> str:
    return '"' + str(text).replace('"', '""') + '"'


# -- reading -----------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """utf-8 (with or without BOM), gb18030 (a superset of GBK and GB2312), or utf-16 with its
    BOM (what Excel's "Unicode text" saves: tab-separated, which the reader recognises)."""
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    # A workbook or a Parquet file given a .csv name: say what it is, not that its text is odd.
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise IngestProblem(
            "wrong_format", _("This is an Excel workbook named .csv: name it .xlsx (or .xls) and import it again.")
        )
    if head.startswith(b"PAR1"):
        raise IngestProblem(
            "wrong_format", _("This is a Parquet file named .csv: name it .parquet and import it again.")
        )
    if (what := _binary_kind(head)) is not None:
        raise IngestProblem(
            "wrong_format",
            _(
                "This is not a text (CSV) file: it looks like %(what)s. Export the department's data as CSV, Excel "
                "or Parquet and import that file."
            )
            % {"what": what},
        )
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        # A UTF-8 byte-order mark before GBK text (some tools write one whatever the encoding):
        # _transcode leaves it out.
        codecs.getincrementaldecoder("gb18030")().decode(head.removeprefix(codecs.BOM_UTF8), final=False)
    except UnicodeDecodeError:
        raise IngestProblem(
            "encoding", _("The file is neither UTF-8 nor GBK/GB18030 text; save it as CSV in one of these.")
        ) from None
    return "gb18030"


# The first bytes of the files most often sent by mistake instead of a table.
_PICTURES = (b"\x89PNG\r\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")
_DOCUMENTS = (b"%PDF-",)
_ARCHIVES = (b"Rar!\x1a", b"7z\xbc\xaf", b"\x1f\x8b")


def _binary_kind(head: bytes) -> str | None:
    """What a file that is not text looks like (a picture, a PDF document, an archive, some other
    binary file), in words; None for text. Text has no NUL bytes but by mistake (UTF-16 is
    recognised before)."""
    if head.startswith(_PICTURES) or (head.startswith(b"RIFF") and head[8:12] == b"WEBP"):
        return _("a picture")
    if head.startswith(_DOCUMENTS):
        return _("a PDF document")
    if head.startswith(_ARCHIVES):
        return _("a compressed archive")
    if head.count(b"\x00") > max(8, len(head) // 100):  # a NUL in a cell or two is dirty text, rejected by row
        return _("a binary file (a picture, a document or a program's own format)")
    return None


def _transcode(path: Path, encoding: str, out: Path) -> Path:
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 0  # whole lines before the current chunk
    with path.open("rb") as src, out.open("w", encoding="utf-8", newline="") as dst:
        if encoding == "gb18030" and src.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8:
            src.seek(0)
        while True:
            chunk = src.read(1 << 22)
            try:
                dst.write(decoder.decode(chunk, final=not chunk))
            except UnicodeDecodeError as exc:
                # The sample was read as this encoding, but a later part of the file is not.
                line = lines + chunk.count(b"\n", 0, max(exc.start, 0)) + 1
                raise IngestProblem(
                    "encoding",
                    _("The file is not all in one encoding (%(encoding)s): line %(line)s is not.")
                    % {"encoding": encoding.upper(), "line": line},
                ) from None
            if not chunk:
                return out
            lines += chunk.count(b"\n")


def _one_line_ending(path: Path, out: Path, chunk_size: int = 1 << 22) -> Path:
    """``path``, or a copy with every line ended by LF when its lines end both ways (CRLF and LF:
    rows appended by another program). DuckDB's reader settles a file's line ending from a sample
    and gave up on such a file ("error when sniffing")."""
    crlf = bare = 0  # lines ended by CRLF, and by LF alone
    with path.open("rb") as src:
        tail = b""
        while not (crlf and bare) and (chunk := src.read(chunk_size)):
            block = tail + chunk
            if b"\r" not in block:  # a search for one byte: the whole scan of an LF file costs little
                bare += b"\n" in chunk
            else:
                ended = block.count(b"\r\n")  # with a CRLF cut by the chunk's start
                crlf += ended
                bare += chunk.count(b"\n") - ended
            tail = block[-1:]
    if not (crlf and bare):
        return path
    with path.open("rb") as src, out.open("wb") as dst:
        carry = b""
        while chunk := src.read(chunk_size):
            block = carry + chunk
            carry = b"\r" if block.endswith(b"\r") else b""
            dst.write((block[:-1] if carry else block).replace(b"\r\n", b"\n"))
        dst.write(carry)
    return out


# A float holds every whole number up to this one exactly; an 18-digit ID number stored as a
# number in a workbook is above it, and its last digits are lost (Excel keeps 15).
_EXACT_FLOAT = 2**53
_HEADER_SEARCH_ROWS = 10  # rows above the header a sheet may have (a title, a note, blank rows)


def _excel_cell(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        if abs(value) >= _EXACT_FLOAT:
            # Written as Excel shows it (5.32923197607288E+17), so that ResidentId.parse says the
            # digits are lost rather than that the check digit is wrong.
            return f"{value:.14E}"
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    return "" if value is None else str(value)


def _header_row(rows: list[list[str]]) -> int:
    """The index of the sheet's header row: the first of the first rows with an ID column's
    header (a title or a note may sit above it), else the first row that is not blank."""
    id_headers = {normalise_header(h) for h in (*ID_NUMBER.headers, *ID_KEY.headers)}
    filled = [i for i, row in enumerate(rows[: _HEADER_SEARCH_ROWS + 1]) if any(v.strip() for v in row)]
    for i in filled:
        if any(normalise_header(v) in id_headers for v in rows[i]):
            return i
    return filled[0] if filled else 0


def _excel_to_csv(path: Path, out: Path) -> tuple[Path, int, frozenset[int]]:
    """The first sheet as CSV from its header row on, the sheet's row number of the first data
    row, and the rows hidden in the sheet (rejected, ``_hidden_rejected``)."""
    try:
        rows = sheets.first_sheet_rows(path.read_bytes(), path.name)
    except sheets.SheetProblem as problem:
        raise IngestProblem(problem.code, problem.message) from problem
    cells = [[_excel_cell(v) for v in row] for row in rows]
    header = _header_row(cells)
    with out.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(cells[header:])
    return out, header + 2, frozenset(n for n in rows.hidden_rows if n > header + 1)


def _hidden_rejected(rows: pa.Table, hidden: frozenset[int]) -> pa.Table:
    """The rows hidden in the workbook (by hand or by a filter: a withdrawn record is often hidden
    rather than deleted) rejected, saying so, whatever their values."""
    at = pc.is_in(rows["row_no"], value_set=pa.array(sorted(hidden), rows.schema.field("row_no").type))
    reason = pc.if_else(at, pa.scalar(sheets.hidden_row_message()), rows["reason"])
    return rows.set_column(rows.schema.get_field_index("reason"), "reason", reason)


_BLANK_BYTES = b" \t\r\n,;\x00" + codecs.BOM_UTF8


def _blank(path: Path, sample: int = 1 << 20) -> bool:
    """Whether a text file holds nothing but blank lines, separators or a byte-order mark (the
    reader would make a column of its own up for it)."""
    with path.open("rb") as fh:
        head = fh.read(sample)
    return len(head) < sample and not head.translate(None, _BLANK_BYTES)


def source_relation(path: Path, workdir: Path, limits: ImportLimits | None = None) -> tuple[str, int, frozenset[int]]:
    """A DuckDB table expression reading the file, the line of its first data row, and the lines
    hidden in a workbook. A file over ``limits`` (its rows and unpacked size, from a Parquet
    file's footer) or ``MAX_COLUMNS`` is refused before it is read."""
    if not path.is_file() or path.stat().st_size == 0:
        raise IngestProblem("empty", _("The file is empty."))
    suffix = path.suffix.lower()
    first_line = 2
    if suffix in PARQUET_SUFFIXES:
        try:
            metadata = pq.ParquetFile(path).metadata
        except (OSError, pa.ArrowException):
            raise IngestProblem(
                "unreadable", _("This is not a Parquet file, or the file is damaged; export it again.")
            ) from None
        _check_columns(metadata.num_columns)
        if limits is not None:
            _check_rows(metadata.num_rows, limits)
            unpacked = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
            _check_unpacked(unpacked, limits)
        return f"read_parquet({_q(str(path))})", 1, frozenset()
    hidden: frozenset[int] = frozenset()
    if suffix in EXCEL_SUFFIXES:
        path, first_line, hidden = _excel_to_csv(path, workdir / "sheet.csv")
    elif (encoding := detect_encoding(path)) != "utf-8":
        path = _transcode(path, encoding, workdir / "utf8.csv")
    if _blank(path):
        raise IngestProblem("empty", _("The file is empty."))
    if limits is not None:
        _check_unpacked(path.stat().st_size, limits)
    _check_columns(_header_columns(path))
    path = _one_line_ending(path, workdir / "lf.csv")
    # Every column is read as text, so the sniffer only settles the dialect: its sample will do.
    options = "all_varchar = true, header = true, store_rejects = true"
    return f"read_csv({_q(str(path))}, {options})", first_line, hidden


def _header_columns(path: Path) -> int:
    """The columns of a UTF-8 text file's first line, counted by the separator that splits it
    most (a comma in a quoted header counts too: only a count far above ``MAX_COLUMNS`` matters)."""
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        line = fh.readline(_HEADER_LINE_CHARS)
    return max(line.count(sep) for sep in ",;\t|") + 1


def _check_columns(columns: int) -> None:
    if columns > MAX_COLUMNS:
        raise IngestProblem(
            "too_many_columns",
            _(
                "The file has %(columns)s columns; a department file may have at most %(max)s. Export only the "
                "table's own columns (as CSV, Excel or Parquet) and import it again."
            )
            % {"columns": f"{columns:,}", "max": f"{MAX_COLUMNS:,}"},
            columns=columns,
            max_columns=MAX_COLUMNS,
        )


def _check_rows(rows: int, limits: ImportLimits) -> None:
    if rows <= limits.rows:
        return
    values = {"rows": f"{rows:,}", "max": f"{limits.rows:,}"}
    if limits.web:
        message = _(
            "The file has %(rows)s rows; an import on this page or through the API takes at most %(max)s. "
            "Import it with the command line (bangfu match import), or split it into smaller files."
        )
    else:
        message = _("The file has %(rows)s rows; one import takes at most %(max)s. Split it into smaller files.")
    raise IngestProblem("too_many_rows", message % values, rows=rows, max_rows=limits.rows)


def _check_unpacked(size: int, limits: ImportLimits) -> None:
    if size <= limits.unpacked_bytes:
        return
    values = {"mb": f"{-(-size // (1 << 20)):,}", "max": f"{limits.unpacked_bytes >> 20:,}"}
    if limits.web:
        message = _(
            "The file's data is %(mb)s MB unpacked; an import on this page or through the API takes at most "
            "%(max)s MB. Import it with the command line (bangfu match import), or split it into smaller files."
        )
    else:
        message = _(
            "The file's data is %(mb)s MB unpacked; one import takes at most %(max)s MB. Split it into smaller files."
        )
    raise IngestProblem("too_large", message % values, unpacked_bytes=size, max_unpacked_bytes=limits.unpacked_bytes)


def _short_of_resources() -> IngestProblem:
    return IngestProblem(
        "too_large",
        _(
            "The file could not be imported: the server ran short of memory or disk space while reading it. "
            "Split it into smaller files and import them one by one."
        ),
    )


# -- the pipeline ------------------------------------------------------------------------


def _mask_sql(column: str) -> str:
    return (
        f"CASE WHEN length({column}) < 12 THEN repeat('*', length({column})) "
        f"ELSE substr({column}, 1, 4) || repeat('*', length({column}) - 8) || right({column}, 4) END"
    )


def _trim_sql(column: str) -> str:
    """``column`` without ``PADDING`` at either end. DuckDB's trim with a list of characters costs
    several times its plain trim, so it runs only where the first or the last character is one
    of them (rarely); the test of the two characters costs what a plain trim does."""
    codes = ", ".join(str(ord(c)) for c in PADDING)
    return (
        f"CASE WHEN ord({column}) IN ({codes}) OR ord({column}[-1]) IN ({codes}) "
        f"THEN trim({column}, {_q(PADDING)}) ELSE {column} END"
    )


def _field_sql(spec: FieldSpec, column: str) -> str:
    """The typed value of a column read as text, ``column`` (trimmed: ``_read``); for a number,
    ``column`` is its plain text (``_number_text_sql``), NULL where it is not a number."""
    text = f"NULLIF({column}, '')"
    if spec.type == "number":
        # A finite number only: DOUBLE also holds inf and nan (no file means them), and 1e400 is inf.
        return f"CASE WHEN isfinite(TRY_CAST({column} AS DOUBLE)) THEN TRY_CAST({column} AS DOUBLE) END"
    if spec.type == "date":
        formats = ", ".join(f"CAST(try_strptime({text}, {_q(f)}) AS DATE)" for f in _DATE_FORMATS)
        # A date Excel saved as its serial number (days since 1899-12-30; five digits: 1927–2173).
        serial = (
            f"CASE WHEN regexp_full_match({text}, '[1-9][0-9]{{4}}(\\.0+)?') "
            f"THEN DATE '1899-12-30' + CAST(CAST({text} AS DOUBLE) AS INTEGER) END"
        )
        iso = f"TRY_CAST({text} AS DATE), TRY_CAST(TRY_CAST({text} AS TIMESTAMP) AS DATE)"  # with a time or not
        # A date read with a year of fewer than four digits (19-3-5), or a word read as one (inf is
        # 9999-12-31), falls outside _EARLIEST_DATE … the data's date: _field_reason_sql says
        # which of those is not a date at all (_FOUR_DIGIT_YEAR).
        return f"COALESCE({iso}, {formats}, {serial})"
    return text


# The plain form of nearly every number a department writes (75, 85.5, 3500.00): taken as it is.
_PLAIN_NUMBER = "-?[0-9]+([.][0-9]+)?"
# A number once made plain (_number_text_sql), commas as thousands separators in whole groups
# of three (1,200, 12,345.50); a comma anywhere else (85,5, 1.200,50, 1,2,3) is read neither
# way: a decimal comma and a thousands separator both occur, and a guess either way is a
# figure ten or a thousand times off, which a match would act on.
_GROUPED_NUMBER = "[-+]?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)([.][0-9]*)?([eE][-+]?[0-9]+)?|[-+]?[.][0-9]+"
# What NFKC makes of the characters a number is typed with on a Chinese keyboard or phone:
# full-width digits, point, comma, signs and yuan sign; the letters of m2 and e (spaces: _NUMBER_SPACES).
_FULL_WIDTH_NUMBER = ("０１２３４５６７８９．，－＋￥ｍＭｅＥ²", "0123456789.,-+¥mMeE2")
# A currency sign before, or a currency or area unit after, the number, as the legacy import
# and the forms drop them (common.text.plain_amount); 元/月 for a monthly figure (_MONTHLY).
_NUMBER_UNITS = "^[¥]|(元|m2|㎡|平方米|平米|平方)$"
_MONTHLY_UNITS = "^[¥]|(元|元/月|m2|㎡|平方米|平米|平方)$"
# Amounts paid or received each month: 元/月 after them is their unit.
_MONTHLY = frozenset({"contribution_base", "deposit_base"})
# Spaces inside a number (3 500, a no-break or a thin space between thousands) are dropped.
_NUMBER_SPACES = "[ \\x{A0}\\x{2000}-\\x{200B}\\x{202F}\\x{205F}\\x{3000}]"


def _number_unmarked_sql(spec: FieldSpec, column: str) -> str:
    """``column`` (trimmed, not empty) with full-width characters made plain, its spaces and its
    currency or unit dropped: a number written as people write it, commas left for
    ``_GROUPED_NUMBER`` to judge."""
    chars, plain = _FULL_WIDTH_NUMBER
    units = _MONTHLY_UNITS if spec.name in _MONTHLY else _NUMBER_UNITS
    spaced = f"regexp_replace(translate({column}, {_q(chars)}, {_q(plain)}), {_q(_NUMBER_SPACES)}, '', 'g')"
    return f"regexp_replace({spaced}, {_q(units)}, '', 'gi')"


def _number_text_sql(spec: FieldSpec, column: str) -> str:
    """The text of a number column ``column`` (trimmed) as a number DuckDB reads, or NULL: the
    rule the legacy import and the forms follow too (``common.text.plain_amount``) — full-width
    characters made plain, a currency or an area unit dropped, spaces dropped, commas only
    between thousands. A plain number (``_PLAIN_NUMBER``: nearly all) is taken as it is, with one
    test; only the others are cleaned."""
    unmarked = _number_unmarked_sql(spec, column)
    return (
        f"CASE WHEN regexp_full_match({column}, {_q(_PLAIN_NUMBER)}) THEN {column} "
        f"WHEN regexp_full_match({unmarked}, {_q(_GROUPED_NUMBER)}) THEN replace({unmarked}, ',', '') END"
    )


# The dates departments write besides ISO 8601 (with or without a time): 20240105, 2024/1/5,
# 2024.1.5, 2024年1月5日, and the same with the time Excel adds when it saves a date and time or
# a department's system its record's time (the time is not kept: a date is what is checked).
_DATE_FORMATS = (
    "%Y%m%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%Y年%m月%d日",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
)
# The dates taken: none before 1900 (before anyone a record could be about was born, the ID
# numbers' earliest year) nor after the data's date (a purchase or a death to come is a typing
# error, not a fact to act on).
_EARLIEST_DATE = dt.date(EARLIEST_BIRTH_YEAR, 1, 1)
# A date is written with its year in full, first (or is Excel's serial number): 19-3-5 and
# 99-1-1 are not dates — the century is not guessed.
_FOUR_DIGIT_YEAR = "^[0-9]{4}"


# A reason that quotes the file's value, as the text before and after the value: the reasons
# alike but for the value are one kind of reason (_reason_kinds).
Quoting = tuple[str, str]


# Numbers that are nothing when 0 or below: a home of -30 m² took a disqualification away.
_POSITIVE = frozenset({"area"})


def _field_reason_sql(
    specs: list[FieldSpec], mapping: dict[str, str], as_of: dt.date | None = None
) -> tuple[str, list[Quoting]]:
    """The reason the other columns of a row give for rejecting it (NULL: none), naming the
    column as the file names it and the value found: a required column that is empty, or a
    number or date column holding something that is not one (an optional date left unread
    would silently lose the check that reads it); a text column holding the NUL character
    (PostgreSQL's text and JSON cannot store it, and a finding quoting it would stop the
    recheck), a record key longer than a finding keeps (``RECORD_KEY_MAX_CHARS``) or one that is
    a long number whose last digits Excel dropped (``_LOST_DIGITS_RE``); a number whose commas
    are not thousands separators (``_GROUPED_NUMBER``), said apart from one that is no number
    (nan, inf, 1e400 among them: ``_field_sql``); a date before 1900 or after ``as_of``, the
    data's date (``_EARLIEST_DATE``), or one without its year in full (``_FOUR_DIGIT_YEAR``).
    The columns are trimmed (``_read``). Also the reasons that quote the value, as ``Quoting``."""
    checks: list[str] = []
    quoting: list[Quoting] = []
    for spec in specs:
        column = mapping[spec.name]
        raw = f"NULLIF(f_{spec.name}, '')"
        if spec.required:
            checks.append(f"WHEN {raw} IS NULL THEN {_q(_('%(column)s is empty') % {'column': column})}")
        if spec.type == "text":
            nul = _("%(column)s contains a NUL character, which cannot be stored") % {"column": column}
            checks.append(f"WHEN contains(f_{spec.name}, chr(0)) THEN {_q(nul)}")
            if spec.name == "record_key":
                long = _("%(column)s is longer than %(max)s characters") % {
                    "column": column,
                    "max": RECORD_KEY_MAX_CHARS,
                }
                # strlen (bytes, stored with the text) first: length counts characters.
                too_long = f"strlen(f_record_key) > {RECORD_KEY_MAX_CHARS} AND length({raw}) > {RECORD_KEY_MAX_CHARS}"
                checks.append(f"WHEN {too_long} THEN {_q(long)}")
                lost = _(
                    "%(column)s: %(value)s was stored as a number (for example by Excel) and its last digits are "
                    "lost; format the column as text and export again"
                )
                before, after = (lost % {"column": column, "value": "\x00"}).split("\x00")
                quoting.append((before, after))
                # The second character first: a dot there is rare in a key, and cheaper to test.
                shortened = (
                    f"substr(f_record_key, 2, 1) = '.' AND regexp_full_match(f_record_key, {_q(_LOST_DIGITS_RE)})"
                )
                checks.append(f"WHEN {shortened} THEN {_q(before)} || left(f_record_key, 40) || {_q(after)}")
            continue
        value = f"v_{spec.name}"
        if spec.type == "number":
            ambiguous = _(
                "%(column)s: %(value)s is ambiguous: write decimals with a point and commas only between "
                "thousands (for example 1,200.50)"
            )
            before, after = (ambiguous % {"column": column, "value": "\x00"}).split("\x00")
            quoting.append((before, after))
            # Only digits, points and commas, yet not a number: the commas are not whole groups of
            # thousands (85,5, 1.200,50). Tested only where the value was not read.
            unmarked = _number_unmarked_sql(spec, raw)
            commas = f"contains({unmarked}, ',') AND regexp_full_match({unmarked}, '[-+]?[0-9.,]+')"
            checks.append(
                f"WHEN {raw} IS NOT NULL AND {value} IS NULL AND {commas} "
                f"THEN {_q(before)} || left({raw}, 40) || {_q(after)}"
            )
            message = _("%(column)s: %(value)s is not a number")
            not_read = f"{value} IS NULL"
        else:
            message = _("%(column)s: %(value)s is not a date (write it as 2024-01-05)")
            # Read, but outside the dates taken and without a four-digit year first: not a date
            # (19-3-5 read as the year 19, inf as 9999-12-31), rather than a date too early or late.
            outside = f"{value} < DATE {_q(_EARLIEST_DATE.isoformat())}"
            if as_of is not None:
                outside += f" OR {value} > DATE {_q(as_of.isoformat())}"
            not_read = f"{value} IS NULL OR (({outside}) AND NOT regexp_matches({raw}, {_q(_FOUR_DIGIT_YEAR)}))"
        before, after = (message % {"column": column, "value": "\x00"}).split("\x00")
        quoting.append((before, after))
        checks.append(f"WHEN {raw} IS NOT NULL AND ({not_read}) THEN {_q(before)} || left({raw}, 40) || {_q(after)}")
        if spec.name in _POSITIVE:
            zero = _("%(column)s: %(value)s is not above 0")
            before, after = (zero % {"column": column, "value": "\x00"}).split("\x00")
            quoting.append((before, after))
            checks.append(f"WHEN {value} <= 0 THEN {_q(before)} || left({raw}, 40) || {_q(after)}")
        if spec.type != "date":
            continue
        # Before anyone a record could be about was born (the ID numbers' earliest year).
        early = _("%(column)s: %(value)s is before %(year)s")
        before, after = (early % {"column": column, "value": "\x00", "year": EARLIEST_BIRTH_YEAR}).split("\x00")
        quoting.append((before, after))
        checks.append(
            f"WHEN {value} < DATE {_q(_EARLIEST_DATE.isoformat())} THEN {_q(before)} || left({raw}, 40) || {_q(after)}"
        )
        if as_of is not None:
            later = _("%(column)s: %(value)s is after the date of the data (%(as_of)s)")
            before, after = (later % {"column": column, "value": "\x00", "as_of": as_of.isoformat()}).split("\x00")
            quoting.append((before, after))
            checks.append(
                f"WHEN {value} > DATE {_q(as_of.isoformat())} THEN {_q(before)} || left({raw}, 40) || {_q(after)}"
            )
    return (f"CASE {' '.join(checks)} END" if checks else "CAST(NULL AS VARCHAR)"), quoting


# What ResidentId.parse removes from an ID number and SQL removes as well: white space, the
# dashes, invisible format characters. A strict subset of what parse removes, so that a value SQL
# accepts is one parse accepts as the same number; anything else is left to parse.
_ID_NOISE = (
    "[ \\t\\n\\r\\x{0B}\\x{0C}\\x{A0}\\x{2000}-\\x{200F}\\x{202F}\\x{205F}\\x{2060}\\x{3000}\\x{FEFF}"
    "\\-\\x{2010}-\\x{2015}\\x{2212}\\x{FE58}\\x{FE63}\\x{FF0D}]"
)
_FULL_WIDTH = ("０１２３４５６７８９Ｘｘx", "0123456789XXX")


@functools.cache
def _region_last_years() -> pa.Table:
    """(region code, last year it was in use, 9999 while in use) of every code ever used: a
    region is accepted for a birth in or before that year (``divisions.first_year_in_use``)."""
    codes, last_years = [], []
    for code, periods in divisions.division_table().items():
        if periods:
            codes.append(int(code))
            last_years.append(9999 if any(p.end is None for p in periods) else max(p.end or 0 for p in periods))
    return pa.table({"region": pa.array(codes, pa.int64()), "last_year": pa.array(last_years, pa.int64())})


# The first 17 digits of the cleaned text ``t`` (a 15-digit number gets its century), or NULL.
_ID_DIGITS = (
    "CASE WHEN regexp_full_match(t, '[0-9]{17}[0-9X]') THEN CAST(substr(t, 1, 17) AS BIGINT) "
    "WHEN regexp_full_match(t, '[0-9]{15}') THEN CAST(substr(t, 1, 6) || '19' || substr(t, 7, 9) AS BIGINT) END"
)


def _id_sql(column: str, today: dt.date) -> list[dict[str, str]]:
    """The layers of SQL, each a dict of name → expression over the layer below (the raw ID in
    ``column`` at the bottom), that end with ``id_int``: the normalised number's integer form
    (``crypto.resident_id_int``) when every check of ``ResidentId.parse`` passes, else NULL (left
    to parse), but for its region, checked on the query's result (``_check_regions``: a join in
    the query would carry every column through it, a third of the query's time). ``t`` is the
    cleaned text, ``n`` its first 17 digits (``_ID_DIGITS``). A number already written plainly
    (17 digits and a digit or X, or 15 digits: nearly all) is not cleaned; every value is computed
    once, in its own layer. Integer arithmetic, no slicing."""
    cleaned = (
        f"translate(regexp_replace(regexp_replace(trim({column}), '^''', ''), '{_ID_NOISE}', '', 'g'), "
        f"'{_FULL_WIDTH[0]}', '{_FULL_WIDTH[1]}')"
    )
    # plain: the form of a number written plainly (nearly all): 18 digits, 17 digits and X, or
    # 15 digits; such a number is its own cleaned text.
    plain = (
        f"CASE WHEN regexp_full_match({column}, '[0-9]{{18}}') THEN 18 "
        f"WHEN regexp_full_match({column}, '[0-9]{{17}}X') THEN 17 "
        f"WHEN regexp_full_match({column}, '[0-9]{{15}}') THEN 15 END"
    )
    digits17 = (
        "CASE plain WHEN 18 THEN v18 // 10 WHEN 17 THEN CAST(substr(t, 1, 17) AS BIGINT) "
        f"WHEN 15 THEN CAST(substr(t, 1, 6) || '19' || substr(t, 7, 9) AS BIGINT) ELSE {_ID_DIGITS} END"
    )
    # The weighted sum of the 17 digits d_i = q_i - 10 q_(i-1), q_i = n // 10 ** (16 - i) the number's
    # first i + 1 digits, is the sum of q_i (w_i - 10 w_(i+1)), that is q_i (w_i + w_(i+1)) modulo 11:
    # one division a digit, and below 2 ** 63.
    coefficients = [(w + nxt) % 11 for w, nxt in zip(_WEIGHTS, (*_WEIGHTS[1:], 0), strict=True)]
    weighted = " + ".join(f"(n // {10 ** (16 - i)}) * {c}" for i, c in enumerate(coefficients))
    # The check character's value (X = 10; -1: a 15-digit number has none). Where n is not NULL,
    # t is 17 digits and a digit or X, or 15 digits.
    given = (
        "CASE plain WHEN 18 THEN v18 % 10 WHEN 17 THEN 10 WHEN 15 THEN -1 ELSE "
        "CASE WHEN n IS NULL THEN NULL WHEN length(t) = 15 THEN -1 WHEN ends_with(t, 'X') THEN 10 "
        "ELSE CAST(t AS BIGINT) % 10 END END"
    )
    month_days = (
        "CASE WHEN m = 2 THEN CASE WHEN (y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0 THEN 29 ELSE 28 END "
        "WHEN m IN (4, 6, 9, 11) THEN 30 ELSE 31 END"
    )
    valid = (
        f"n IS NOT NULL AND ymd BETWEEN {EARLIEST_BIRTH_YEAR}0101 AND {today:%Y%m%d} "
        f"AND m BETWEEN 1 AND 12 AND d BETWEEN 1 AND {month_days} "
        "AND (given = -1 OR given = chk)"
    )
    return [
        {"plain": plain},
        {"t": f"CASE WHEN plain IS NULL THEN {cleaned} ELSE {column} END"},
        {"v18": "CASE WHEN plain = 18 THEN CAST(t AS BIGINT) END"},  # all 18 digits
        {"n": digits17},
        {
            "ymd": "(n // 1000) % 100000000",
            "chk": f"(12 - ({weighted}) % 11) % 11",  # the value of the check character, X = 10
            "given": given,
        },
        {"y": "ymd // 10000", "m": "(ymd // 100) % 100", "d": "ymd % 100"},
        {"id_int": f"CASE WHEN {valid} THEN n * 11 + chk END"},
    ]


def resolve_mapping(kind: DatasetKind, headers: list[str], given: dict[str, str] | None) -> dict[str, str]:
    mapping = default_mapping(kind, headers)
    specs = {s.name: s for s in fields_for(kind)}
    for name, header in (given or {}).items():
        if name not in specs:
            raise IngestProblem("bad_mapping", _("Unknown field in the column mapping: %(field)s") % {"field": name})
        if header not in headers:
            raise IngestProblem(
                "bad_mapping",
                _(
                    "The file has no column “%(header)s”, to which the field %(field)s was mapped. "
                    "Its columns: %(columns)s."
                )
                % {"header": header, "field": _field_in_words(name), "columns": join_list(headers[:30])},
                headers=headers,
            )
        mapping[name] = header
    if "id_number" not in mapping and "id_key" not in mapping:
        raise IngestProblem(
            "missing_id_column",
            _("No ID number column found (looked for headers such as 身份证号, 证件号码 or id_number)."),
            headers=headers,
        )
    missing = [s for s in specs.values() if s.required and s.name not in mapping]
    if missing:
        raise IngestProblem(
            "wrong_kind",
            _("This does not look like %(kind)s: it has no column such as %(headers)s.")
            % {"kind": _kind_label(kind), "headers": join_list(missing[0].headers[:3])},
            headers=headers,
        )
    if not any(s.name in mapping for s in KIND_FIELDS[kind]) and (other := _other_kind(kind, headers)):
        # None of the kind's own columns, but the required columns of another kind (a vehicles
        # file chosen as a dibao roll, whose own columns are all optional).
        other_kind, columns = other
        raise IngestProblem(
            "wrong_kind",
            _("This looks like %(other)s, not %(kind)s (it has the columns %(columns)s).")
            % {"other": _kind_label(other_kind), "kind": _kind_label(kind), "columns": join_list(columns)},
            headers=headers,
        )
    return mapping


def _kind_label(kind: DatasetKind) -> str:
    """ "a tax file": the kind in words that fit a sentence."""
    from .models import file_of_kind  # the models import the engine; the words are only needed here

    return file_of_kind(kind.value)


def _field_in_words(name: str) -> str:
    """A field of the column mapping as people read it, with the name the mapping uses:
    “ID number” (id_number)."""
    from .models import FIELD_LABELS

    label = FIELD_LABELS.get(name)
    return f"“{label}” ({name})" if label is not None else name


def _other_kind(kind: DatasetKind, headers: list[str]) -> tuple[DatasetKind, list[str]] | None:
    """Another kind whose required columns the file has, and those columns."""
    for other in DatasetKind:
        required = [s.name for s in KIND_FIELDS[other] if s.required]
        if other == kind or not required:
            continue
        found = default_mapping(other, headers)
        if all(name in found for name in required):
            return other, [found[name] for name in required]
    return None


def ingest(
    path: Path,
    kind: DatasetKind,
    workdir: Path,
    *,
    mapping: dict[str, str] | None = None,
    today: dt.date | None = None,
    as_of: dt.date | None = None,
    limits: ImportLimits | None = None,
) -> IngestResult:
    """Read, validate and normalise ``path`` into ``workdir``/snapshot.parquet and rejected.csv.
    ``as_of``: the data's date (default ``today``), after which a death cannot have happened.
    ``limits``: the rows and unpacked bytes taken (None: no limit); a file over them is refused
    before it is read (a CSV file's rows as soon as they are counted). Any failure to read or
    process the file is an ``IngestProblem``."""
    day = today or dt.datetime.now(SHANGHAI).date()
    relation, first_line, hidden = source_relation(path, workdir, limits)
    spill = _estimated_rows(path) > SPILL_ROWS
    con = duckdb.connect()
    try:
        con.execute(f"SET temp_directory = {_q(str(workdir / 'spill'))}")
        return _run(
            con,
            relation,
            first_line,
            kind,
            workdir,
            mapping,
            day,
            spill=spill,
            as_of=as_of,
            hidden=hidden,
            limits=limits,
        )
    except (MemoryError, duckdb.OutOfMemoryException) as exc:
        logger.warning("import of a %s file ran out of memory: %s", kind.value, exc)
        raise _short_of_resources() from exc
    except (OSError, pa.ArrowException) as exc:
        # A memory-mapped scratch file that cannot be mapped, a full disk, Arrow refusing a batch.
        logger.warning("import of a %s file failed reading or writing its scratch files: %s", kind.value, exc)
        raise _short_of_resources() from exc
    except duckdb.Error as exc:
        # The engine's own words name its scratch files and quote its query: logged for the
        # administrator, and the person importing is told what to do in their language.
        logger.warning("import of a %s file failed in the engine: %s", kind.value, exc)
        if isinstance(exc, duckdb.InvalidInputException | duckdb.ConversionException):
            message = _(
                "The file cannot be read as a table: its lines do not split into the same columns. Save it "
                "again as CSV (UTF-8 or GBK) with one header row, or as Excel, and import it again."
            )
        else:
            message = _("The file cannot be read. Save it again as CSV, Excel or Parquet and import it again.")
        raise IngestProblem("unreadable", message) from exc
    finally:
        con.close()


def _run(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    first_line: int,
    kind: DatasetKind,
    workdir: Path,
    given: dict[str, str] | None,
    day: dt.date,
    *,
    spill: bool = False,
    as_of: dt.date | None = None,
    hidden: frozenset[int] = frozenset(),
    limits: ImportLimits | None = None,
) -> IngestResult:
    headers = [str(row[0]) for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
    _check_columns(len(headers))
    mapping = resolve_mapping(kind, headers, given)
    prehashed = "id_number" not in mapping
    query, quoting = _read(con, relation, first_line, kind, mapping, day, min(as_of or day, day), headers)
    if relation.startswith("read_csv(") and (padded := _pad_short_lines(con, relation, headers, mapping, workdir)):
        # Lines that lack only trailing columns no field is read from: read again with them empty.
        relation = padded
        con.execute("DROP TABLE source_rows; DROP TABLE line_shifts; DROP TABLE reject_errors; DROP TABLE reject_scans")
        query, quoting = _read(con, relation, first_line, kind, mapping, day, min(as_of or day, day), headers)
    if limits is not None and not relation.startswith("read_parquet("):
        # A text file's rows are known once it is read into source_rows (a Parquet file's were
        # checked from its footer): refused before the checks and the snapshot.
        ((read,),) = con.execute("SELECT count(*) FROM source_rows").fetchall()
        _check_rows(int(read), limits)
    # From here on no result depends on the order of the rows (the line numbers are columns).
    con.execute("SET preserve_insertion_order = false")
    if spill:
        rows = _spilled(con.sql(query), workdir / "rows.arrow")
    else:
        rows = con.sql(query).to_arrow_table(batch_size=_BATCH_ROWS)
    unreadable_lines = _unreadable_lines(con, relation, len(headers))
    settled_by_parse = False
    id_reasons: dict[str, str] = {}  # the ID number's reasons, each with its kind
    if not prehashed:
        rows = _check_regions(rows)
        rows, settled_by_parse, id_reasons = _parse_the_rest(rows, day)
    rows = _normalise_other_names(rows)
    if hidden:
        rows = _hidden_rejected(rows, hidden)
    skipped = _skip_summaries(con, rows, unreadable_lines)
    unreadable = skipped.unreadable
    con.register("rows", rows)

    counts = dict(con.execute("SELECT reason, count(*) FROM rows GROUP BY reason").fetchall())
    valid = int(counts.pop(None, 0))
    reasons: dict[str, int] = {str(k): int(v) - skipped.reasons.get(str(k), 0) for k, v in counts.items()}
    reasons = {k: v for k, v in reasons.items() if v}
    total = valid + sum(reasons.values()) + len(unreadable)
    if total == 0:
        raise IngestProblem("empty", _("The file has a header but no rows."))
    if unreadable:
        reasons[_("Unreadable line")] = len(unreadable)
    rejected = total - valid
    if valid == 0 or rejected > MAX_REJECTED_SHARE * total:
        kinds = _reason_kinds(reasons, quoting, id_reasons)
        reason, count, about_id = kinds[0]
        values = {"rejected": rejected, "total": total, "count": count, "reason": reason}
        if about_id:
            # An ID number's reason is a sentence of its own, with its full stop (``ids._MESSAGES``).
            message = ngettext(
                "%(rejected)s of %(total)s rows were rejected; the most common reason (%(count)s row): "
                "%(reason)s Check that the ID column holds ID numbers.",
                "%(rejected)s of %(total)s rows were rejected; the most common reason (%(count)s rows): "
                "%(reason)s Check that the ID column holds ID numbers.",
                count,
            )
        else:
            message = ngettext(
                "%(rejected)s of %(total)s rows were rejected; the most common reason (%(count)s row): %(reason)s.",
                "%(rejected)s of %(total)s rows were rejected; the most common reason (%(count)s rows): %(reason)s.",
                count,
            )
        raise IngestProblem(
            "mostly_invalid",
            message % values,
            rejected=rejected,
            total=total,
            reasons=_problem_reasons(kinds),
        )

    snapshot, rejected_csv = workdir / "snapshot.parquet", workdir / "rejected.csv"
    taken = _write_snapshot(con, rows, kind, prehashed, snapshot, fresh_hashes=not settled_by_parse)
    _write_rejected(con, prehashed, unreadable, rejected_csv, skipped.where())
    return IngestResult(
        snapshot=snapshot,
        rejected=rejected_csv,
        mapping=mapping,
        prehashed=prehashed,
        rows_total=total,
        rows_taken=taken,
        rows_rejected=rejected,
        rows_duplicate=valid - taken,
        rows_skipped=skipped.counted,
        reasons=reasons,
    )


# The kinds of reason a refused file's problem lists (the most common first); the rest are
# counted together. A column of unreadable values gives one reason per value, and a million of them
# would fill the page, the API's answer and the command's output.
PROBLEM_REASONS_SHOWN = 20


def _reason_kinds(
    reasons: dict[str, int], quoting: list[Quoting], id_reasons: dict[str, str]
) -> list[tuple[str, int, bool]]:
    """The kinds of reason among ``reasons`` (reason → rows), the most common first: each named,
    with the rows it holds and whether it is about the ID number. Reasons alike but for the value
    they quote are one kind: a date column of a thousand dates in a form not read is one reason,
    not a thousand. A kind is named by its reason where it has one, else by the reason with the
    value left out (…)."""
    kinds: dict[str, list[Any]] = {}  # kind → [rows, a reason of it, distinct reasons, about the ID]
    for reason, rows in reasons.items():
        kind = id_reasons.get(reason)
        if kind is None:
            kind = next(
                (
                    f"{before}…{after}"
                    for before, after in quoting
                    if len(reason) > len(before) + len(after) and reason.startswith(before) and reason.endswith(after)
                ),
                reason,
            )
        entry = kinds.setdefault(kind, [0, reason, 0, reason in id_reasons])
        entry[0] += rows
        entry[2] += 1
    ordered = sorted(kinds.items(), key=lambda item: (-item[1][0], item[0]))
    return [(reason if distinct == 1 else kind, rows, about_id) for kind, (rows, reason, distinct, about_id) in ordered]


def _problem_reasons(kinds: list[tuple[str, int, bool]]) -> dict[str, int]:
    """The reasons a refused file's problem lists: the ``PROBLEM_REASONS_SHOWN`` most common
    kinds, and the others counted together."""
    shown = {name: rows for name, rows, _about_id in kinds[:PROBLEM_REASONS_SHOWN]}
    rest = kinds[PROBLEM_REASONS_SHOWN:]
    if rest:
        others = ngettext("%(n)s other reason", "%(n)s other reasons", len(rest)) % {"n": len(rest)}
        shown[others] = sum(rows for _name, rows, _about_id in rest)
    return shown


def _estimated_rows(path: Path) -> int:
    """The rows of a file, from a Parquet file's footer, else from its size (Excel sheets are
    under ``SPILL_ROWS``); 0 when the footer cannot be read (DuckDB then says why)."""
    if path.suffix.lower() in PARQUET_SUFFIXES:
        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except (OSError, pa.ArrowException):
            return 0
    return path.stat().st_size // _CSV_BYTES_PER_ROW


def _spilled(relation: duckdb.DuckDBPyRelation, target: Path) -> pa.Table:
    """The relation's rows written batch by batch to an Arrow file, and that file memory-mapped."""
    reader = relation.to_arrow_reader(_BATCH_ROWS)
    with pa.OSFile(str(target), "wb") as sink, pa.ipc.new_file(sink, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
    return pa.ipc.open_file(pa.memory_map(str(target))).read_all()


def _record_columns(kind: DatasetKind) -> list[str]:
    """The columns of a record in the snapshot besides its number and line."""
    return ["name", "record_key", *_kind_columns(kind)]


def _kind_columns(kind: DatasetKind) -> list[str]:
    """The kind's own columns in the snapshot, after the common ones."""
    names = [s.name for s in fields_for(kind) if s.name not in _COMMON_FIELDS]
    return [*names, "company_active"] if kind == DatasetKind.BUSINESS_ROLES else names


def _read(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    first_line: int,
    kind: DatasetKind,
    mapping: dict[str, str],
    day: dt.date,
    as_of: dt.date | None = None,
    headers: list[str] | None = None,
) -> tuple[str, list[Quoting]]:
    """Pass 1: the query of the rows — line number, the raw ID (where the row is not taken as it
    is: for parse and the rejected rows), the ID's integer form where SQL settles it, the typed
    columns, the name and its normalised form where SQL settles it, the reason the other columns
    give and the reason a row is rejected (NULL: taken; '': left to parse), whether the row may
    be one of totals or a note (``_summary_sql`` over all the file's columns, ``headers``); and
    the reasons of the other columns that quote the value (``_field_reason_sql``)."""
    specs = [s for s in fields_for(kind) if s.name in mapping]
    raw = ", ".join(f"CAST({_ident(mapping[s.name])} AS VARCHAR) AS f_{s.name}" for s in specs)
    raw += f", {_summary_sql(headers or [], mapping)} AS summary"
    # Every column trimmed once, here (_trim_sql): the checks, the duplicate test and the snapshot
    # all see the value without its padding. The ID number is cleaned by _id_sql and parse.
    trimmed = ", ".join(
        f"f_{s.name}" if s.name == ID_NUMBER.name else f"{_trim_sql('f_' + s.name)} AS f_{s.name}" for s in specs
    )
    trimmed += ", summary"
    if relation.startswith("read_parquet("):
        numbered = f"SELECT file_row_number + 1 AS row_no, {raw} FROM {relation[:-1]}, file_row_number = true)"
        source = f"SELECT row_no, {trimmed} FROM ({numbered}) s0"
    else:
        # The order of a CSV file is its line order. The file is read in parallel into a table
        # (insertion order is kept), whose row ids then number the lines: a numbering window over
        # the file itself would read it on one thread.
        con.execute(f"CREATE TEMP TABLE source_rows AS SELECT {trimmed} FROM (SELECT {raw} FROM {relation}) s0")
        source = f"SELECT rowid + {first_line} AS row_no, * FROM source_rows"
        # A line the reader could not split is not in the table: the rows after it are numbered
        # past it, as the file numbers them (the i-th such line, at row r, moves every row from
        # r - i on by one more).
        con.execute(
            "CREATE TEMP TABLE line_shifts AS SELECT from_row, max(shift) AS shift FROM ("
            f"SELECT line + {first_line - 2} - row_number() OVER (ORDER BY line) + 1 AS from_row, "
            "row_number() OVER (ORDER BY line) AS shift FROM (SELECT DISTINCT line FROM reject_errors)) "
            "GROUP BY from_row"
        )
        if con.execute("SELECT count(*) FROM line_shifts").fetchall()[0][0]:
            source = (
                f"SELECT r.row_no + COALESCE(s.shift, 0) AS row_no, r.* EXCLUDE (row_no) FROM ({source}) r "
                "ASOF LEFT JOIN line_shifts s ON r.row_no >= s.from_row"
            )

    id_quoting: list[Quoting] = []
    if "id_number" in mapping:
        for layer in _id_sql("f_id_number", day):
            columns = ", ".join(f"{sql} AS {name}" for name, sql in layer.items())
            source = f"SELECT l.*, {columns} FROM ({source}) l"
        # A row SQL does not accept gets its reason from ResidentId.parse (_parse_the_rest).
        id_check = "WHEN id_int IS NULL THEN ''"
    else:
        # Whole numbers only: a cast takes 1.2E+18 (a key Excel held as a number, its last digits
        # lost) and rounds 1.5, which would be read as some other person's key.
        whole = "regexp_full_match(f_id_key, '-?[0-9]{1,19}')"
        source = f"SELECT *, CASE WHEN {whole} THEN TRY_CAST(f_id_key AS BIGINT) END AS id_int FROM ({source}) l"
        lost = _(
            "%(column)s: %(value)s was stored as a number (for example by Excel) and its last digits are "
            "lost; format the column as text and export again"
        ) % {"column": mapping["id_key"], "value": "\x00"}
        before, after = lost.split("\x00")
        id_quoting.append((before, after))
        id_check = (
            f"WHEN id_int IS NULL AND regexp_full_match(f_id_key, {_q('-?(' + _LOST_DIGITS_RE + '|[0-9]+[.][0-9]*)')}) "
            f"THEN {_q(before)} || left(f_id_key, 40) || {_q(after)} "
            f"WHEN id_int IS NULL THEN {_q(_not_a_keyed_hash())}"
        )
    # Each typed column once (v_<field>), then the reason a field gives, then the row's reason.
    # A number column's text is made plain first, in a layer of its own (n_<field>).
    numbers = [s for s in specs if s.type == "number"]
    if numbers:
        plain = ", ".join(f"{_number_text_sql(s, 'f_' + s.name)} AS n_{s.name}" for s in numbers)
        source = f"SELECT *, {plain} FROM ({source}) n"
    typed = [
        f"{_field_sql(s, ('n_' if s.type == 'number' else 'f_') + s.name)} AS v_{s.name}"
        if s.name in mapping
        else f"{_NULLS[s.type]} AS v_{s.name}"
        for s in fields_for(kind)
        if s.name not in _COMMON_FIELDS
    ]
    values = {s.name: f"v_{s.name}" for s in fields_for(kind) if s.name not in _COMMON_FIELDS}
    if kind == DatasetKind.BUSINESS_ROLES:
        status = "COALESCE(f_company_status, '')" if "company_status" in mapping else "''"
        inactive = " OR ".join(f"{status} LIKE {_q('%' + w + '%')}" for w in INACTIVE_COMPANY_WORDS)
        values["company_active"] = f"NOT ({inactive})"
    field_reason, quoting = _field_reason_sql(
        [s for s in specs if s.name not in {ID_NUMBER.name, ID_KEY.name}], mapping, as_of
    )
    quoting += id_quoting
    record_key = (
        "COALESCE(NULLIF(f_record_key, ''), 'row ' || row_no)" if "record_key" in mapping else "'row ' || row_no"
    )
    name = "NULLIF(f_name, '')" if "name" in mapping else "CAST(NULL AS VARCHAR)"
    # The raw ID, for ResidentId.parse and the rejected rows (a row SQL accepts may still be
    # rejected for its region: _check_regions).
    raw_id = "f_id_number" if "id_number" in mapping else "CAST(NULL AS VARCHAR)"
    source = f"SELECT *, {name} AS name{''.join(', ' + t for t in typed)} FROM ({source}) s3"
    source = f"SELECT *, {field_reason} AS field_reason FROM ({source}) s4"
    source = f"SELECT *, CASE {id_check} ELSE field_reason END AS reason FROM ({source}) s5"
    # The name's key, for the snapshot; name_odd: a name the SQL fast path leaves to normalise_name.
    source = f"SELECT *, {name_norm_fast_sql('name')} AS name_norm, {record_key} AS record_key FROM ({source}) s6"
    if values:
        source = f"SELECT *, {', '.join(f'{sql} AS {name}' for name, sql in values.items())} FROM ({source}) s7"
    # A hash of the record (the number and the columns written) for the duplicate test.
    record = ", ".join(["id_int", *_record_columns(kind)])
    query = (
        f"SELECT row_no, {raw_id} AS f_id_number, id_int, name, "
        f"{name_key_sql('name_norm')} AS name_key, name_norm IS NULL AS name_odd, record_key, "
        f"{''.join(name + ', ' for name in values)}field_reason, reason, summary, hash({record}) AS record_hash "
        f"FROM ({source}) s8"
    )
    return query, quoting


# The rows of totals and the notes a department's table ends with (a 合计 row, 注：…, 填表人：…):
# at the end of the file and rejected anyway, they are skipped and counted apart, not rejected,
# so that they neither fill the rejected rows nor push a small file over MAX_REJECTED_SHARE.
# A row of totals: 合计, 总计 or 小计 begins its first cell that is not empty, its name or its ID
# number. A note: one cell only, beginning with one of _NOTE_WORDS.
_TOTAL_RE = "^[合总小][ \u3000]*计"
_NOTE_WORDS = (
    "注", "说明", "备注", "附注", "填表", "制表", "填报", "报送", "审核", "审批", "负责人", "单位负责人",
    "经办人", "统计人", "联系人", "联系电话", "数据来源", "资料来源",
)  # fmt: skip
_NOTE_RE = "^(" + "|".join(_NOTE_WORDS) + ")"
SUMMARY, BLANK = 1, 0  # the summary column: a row of totals or a note; a row of empty cells


def _summary_sql(headers: list[str], mapping: dict[str, str]) -> str:
    """Whether a row of the file (all its columns, ``headers``) is a row of totals or a note
    (``SUMMARY``), or a row of empty cells (``BLANK``); else NULL. Worked out only for a row whose
    ID number is not plainly one (an empty cell, a word, a short number): a row of people is
    never such a row, and a clean file pays one test of its ID's length and first character."""
    if not headers:
        return "CAST(NULL AS UTINYINT)"
    id_column = _ident(mapping["id_number"] if "id_number" in mapping else mapping["id_key"])
    idv = f"CAST({id_column} AS VARCHAR)"
    if "id_number" in mapping:
        odd = f"{idv} IS NULL OR strlen({idv}) NOT IN (15, 18) OR NOT ord({idv}) BETWEEN 48 AND 57"
    else:  # a keyed hash: a number of up to 20 characters, maybe with a minus
        odd = f"{idv} IS NULL OR strlen({idv}) < 12 OR NOT (ord({idv}) BETWEEN 48 AND 57 OR ord({idv}) = 45)"
    cells = [f"NULLIF(trim(CAST({_ident(h)} AS VARCHAR), {_q(PADDING)}), '')" for h in headers]
    first = f"COALESCE({', '.join(cells)})"
    filled = " + ".join(f"CAST({c} IS NOT NULL AS INTEGER)" for c in cells)
    named = [first, f"trim({idv}, {_q(PADDING)})"]
    if "name" in mapping:
        named.append(f"trim(CAST({_ident(mapping['name'])} AS VARCHAR), {_q(PADDING)})")
    total = " OR ".join(f"regexp_matches(COALESCE({c}, ''), {_q(_TOTAL_RE)})" for c in named)
    return (
        f"CASE WHEN {odd} THEN CASE WHEN {total} THEN {SUMMARY} "
        f"WHEN ({filled}) = 1 AND regexp_matches({first}, {_q(_NOTE_RE)}) THEN {SUMMARY} "
        f"WHEN {first} IS NULL THEN {BLANK} END END::UTINYINT"
    )


def _unreadable_summary(text: str) -> int | None:
    """``_summary_sql`` for a line the reader could not split into the header's columns (a note
    typed on a line of its own, without the separators after it)."""
    cells = [c.strip(PADDING + '"') for c in re.split("[,;\t|]", text)]
    filled = [c for c in cells if c]
    if not filled:
        return BLANK
    if re.match(_TOTAL_RE, filled[0]):
        return SUMMARY
    if len(filled) == 1 and re.match(_NOTE_RE, filled[0]):
        return SUMMARY
    return None


@dataclass
class _Skipped:
    """The rows of totals and notes at the end of the file (those after ``after``, the last row
    of data; None: none is skipped) and the empty rows anywhere, by the reason they would have
    been rejected for; the unreadable lines left; the rows of totals and notes counted (empty
    rows are not counted: nothing was in them)."""

    after: int | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    unreadable: list[tuple[int, str]] = field(default_factory=list)
    counted: int = 0

    def where(self) -> str:
        """The condition of the rows of ``rows`` that are not skipped: empty rows anywhere, rows
        of totals and notes after ``after``."""
        if self.after is None:
            return "TRUE"
        return f"NOT (summary IS NOT NULL AND (summary = {BLANK} OR row_no > {int(self.after)}))"


def _skip_summaries(con: duckdb.DuckDBPyConnection, rows: pa.Table, unreadable: list[tuple[int, str, str]]) -> _Skipped:
    """The rows of totals and notes after the last row of data (taken, or rejected for its own
    reasons), the rows of empty cells anywhere, and the unreadable lines that are such rows. The
    rows stay in
    ``rows`` (a file of millions of rows may be memory-mapped: a copy without them would be read
    into memory); the queries that count and write them leave them out (``_Skipped.where``)."""
    kinds = {line: _unreadable_summary(text) for line, _reason, text in unreadable}
    summary = rows.column("summary")
    if summary.null_count == len(summary) and all(k is None for k in kinds.values()):
        return _Skipped(unreadable=[(line, reason) for line, reason, _text in unreadable])
    con.register("candidates", rows.select(["row_no", "reason", "summary"]))
    # A row of totals or a note is rejected anyway (its ID is no person's): one taken is data.
    ((last_row,),) = con.execute(
        "SELECT max(row_no) FILTER (WHERE summary IS NULL OR reason IS NULL) FROM candidates"
    ).fetchall()
    last = max([last_row or 0, *(line for line, kind in kinds.items() if kind is None)])
    skipped = _Skipped(after=last)
    # An empty row is skipped wherever it is (rows of a sheet spaced out, a file of rows each
    # followed by an empty one): nothing is in it to reject.
    found = con.execute(
        "SELECT reason, summary, count(*) FROM candidates "
        f"WHERE summary IS NOT NULL AND reason IS NOT NULL AND (summary = {BLANK} OR row_no > ?) GROUP BY ALL",
        [last],
    ).fetchall()
    con.unregister("candidates")
    for reason, kind, n in found:
        skipped.reasons[str(reason)] = skipped.reasons.get(str(reason), 0) + int(n)
        skipped.counted += int(n) if kind == SUMMARY else 0
    for line, reason, _text in unreadable:
        if kinds[line] == BLANK or (kinds[line] is not None and line > last):
            skipped.counted += kinds[line] == SUMMARY
        else:
            skipped.unreadable.append((line, reason))
    return skipped


def _not_a_keyed_hash() -> str:
    return _("Not a keyed hash (64-bit integer)")


def _unreadable_lines(con: duckdb.DuckDBPyConnection, relation: str, columns: int) -> list[tuple[int, str, str]]:
    """The lines of a CSV file the reader could not split into the header's ``columns`` columns,
    once each with the reason and the line's text. DuckDB records a line once for every column
    it lacks or has too many (``column_idx``: the missing ones, or the extra ones counted from
    1), in English."""
    if not relation.startswith("read_csv"):
        return []
    try:
        rows = con.execute(
            "SELECT line, min(error_type), min(column_idx), max(column_idx), min(error_message), min(csv_line) "
            "FROM reject_errors GROUP BY line ORDER BY line"
        ).fetchall()
    except duckdb.Error:
        return []
    return [
        (int(line), _unreadable_reason(str(kind), first, last, str(message), columns), str(text or ""))
        for line, kind, first, last, message, text in rows
    ]


_POSITION_SLACK = 4


def _pad_short_lines(
    con: duckdb.DuckDBPyConnection, relation: str, headers: list[str], mapping: dict[str, str], workdir: Path
) -> str | None:
    """The CSV file read by ``relation`` again, in ``workdir``, with the separators that its
    short lines lack added at their ends, when some line lacks only columns after the last one
    a field is read from (a spreadsheet leaves the empty cells at a row's end out, and a row
    typed by hand ends where its data does: an unused 备注 column is no reason to refuse it); the
    relation reading that copy. None when no line is such. A line that lacks a column a field
    is read from stays an unreadable line, naming its columns; so does one the reader placed
    elsewhere than it says (its text is compared first)."""
    needed = 1 + max(headers.index(column) for column in mapping.values())
    short = con.execute(
        "SELECT e.line_byte_position, min(e.csv_line), min(e.column_idx), min(s.delimiter), min(s.file_path) "
        "FROM reject_errors e JOIN reject_scans s USING (scan_id, file_id) "
        "WHERE e.error_type = 'MISSING COLUMNS' GROUP BY ALL HAVING min(e.column_idx) >= ? ORDER BY 1",
        [needed],
    ).fetchall()
    if not short:
        return None
    source = Path(short[0][4])
    target = workdir / "padded.csv"
    inserts: list[tuple[int, bytes]] = []
    with source.open("rb") as src:
        for position, text, found, delimiter, _path in short:
            # The reader's position of a line is the line's start give or take a byte or two.
            line = str(text).strip("\r\n").encode()  # a CRLF file's line is given with the LF before it
            start = max(int(position) - _POSITION_SLACK, 0)
            src.seek(start)
            near = src.read(len(line) + 2 * _POSITION_SLACK + 1)
            at = near.find(b"\n" + line) + 1  # never the first line: that is the header
            end = near[at + len(line) : at + len(line) + 1]
            if not at:
                continue
            if end not in (b"", b"\r", b"\n"):
                continue
            inserts.append((start + at + len(line), str(delimiter).encode() * (len(headers) - int(found))))
        if not inserts:
            return None
        src.seek(0)
        with target.open("wb") as dst:
            done = 0
            for at, pad in inserts:
                while done < at:
                    dst.write(src.read(min(at - done, 1 << 22)))
                    done = src.tell()
                dst.write(pad)
            while chunk := src.read(1 << 22):
                dst.write(chunk)
    return relation.replace(_q(str(source)), _q(str(target)), 1)


def _unreadable_reason(kind: str, first: int | None, last: int | None, message: str, columns: int) -> str:
    if kind == "MISSING COLUMNS" and first is not None:
        found = int(first)  # the first missing column's index is the number of columns found
    elif kind == "TOO MANY COLUMNS" and last is not None:
        found = int(last)
    else:
        known = {
            "UNQUOTED VALUE": _("a quotation mark is not closed, or a value has a stray one"),
            "INVALID UNICODE": _("the text is not valid in the file's encoding"),
            "LINE SIZE OVER MAXIMUM": _("the line is too long"),
        }
        return known.get(kind, message)
    return ngettext(
        "it has %(found)s column, the header has %(columns)s",
        "it has %(found)s columns, the header has %(columns)s",
        found,
    ) % {"found": found, "columns": columns}


def _check_regions(rows: pa.Table) -> pa.Table:
    """The region check of the numbers SQL accepted: a region code is accepted for a birth in or
    before the last year it was in use (``_region_last_years``). A number that fails it is left
    to ``ResidentId.parse`` (``id_int`` NULL, reason ''), which gives the reason."""
    id_int = rows.column("id_int").combine_chunks()
    if id_int.null_count == len(id_int):
        return rows
    # id_int // 11: the first 17 digits, region (6), birth date (8) and sequence (3); floor
    # divisions nest, so the region is id_int // (11 * 10**11), below 10**6.
    ids = (id_int.fill_null(0) if id_int.null_count else id_int).to_numpy(zero_copy_only=False)
    region = ids // (11 * 10**11)
    year = ids // (11 * 10**7)
    year -= region * 10**4
    failed = _region_last_year_by_code()[region] < year
    if id_int.null_count:
        failed &= id_int.is_valid().to_numpy(zero_copy_only=False)
    if not failed.any():
        return rows
    mask = pa.array(failed)
    id_int = pc.if_else(mask, pa.scalar(None, pa.int64()), id_int)
    reason = pc.if_else(mask, pa.scalar("", rows.schema.field("reason").type), rows.column("reason").combine_chunks())
    for name, column in (("id_int", id_int), ("reason", reason)):
        rows = rows.set_column(rows.schema.get_field_index(name), name, column)
    return rows


@functools.cache
def _region_last_year_by_code() -> np.ndarray:
    """``_region_last_years`` as an array indexed by the six-digit code (-1: never used)."""
    table = _region_last_years()
    by_code = np.full(10**6, -1, np.int16)
    by_code[table.column("region").to_numpy()] = table.column("last_year").to_numpy()
    return by_code


def _parse_the_rest(rows: pa.Table, day: dt.date) -> tuple[pa.Table, bool, dict[str, str]]:
    """``ResidentId.parse`` for the ID numbers SQL did not accept: the number, or the reason;
    whether parse gave any number (the rows' record hashes are then out of date); and the kind
    of each reason given (``InvalidResidentId.kind``)."""
    missing = pc.is_null(rows.column("id_int")).combine_chunks()
    if not pc.any(missing).as_py():
        return rows, False, {}
    numbers: list[int | None] = []
    reasons: list[str | None] = []
    kinds: dict[str, str] = {}
    for value in rows.column("f_id_number").filter(missing).to_pylist():
        try:
            number = ResidentId.parse(value or "", today=day)
        except InvalidResidentId as exc:
            numbers.append(None)
            reasons.append(message := exc.message)
            if message not in kinds:
                kinds[message] = exc.kind
        else:
            numbers.append(number.as_int64())
            reasons.append(None)
    # A row whose number parse accepts is rejected only for its other columns.
    reason_type = rows.schema.field("reason").type
    given = pc.coalesce(pa.array(reasons, reason_type), rows.column("field_reason").filter(missing).combine_chunks())
    id_int = pc.replace_with_mask(rows.column("id_int").combine_chunks(), missing, pa.array(numbers, pa.int64()))
    reason = pc.replace_with_mask(rows.column("reason").combine_chunks(), missing, given.cast(reason_type))
    for name, column in (("id_int", id_int), ("reason", reason)):
        rows = rows.set_column(rows.schema.get_field_index(name), name, column)
    return rows, any(n is not None for n in numbers), kinds


def _normalise_other_names(rows: pa.Table) -> pa.Table:
    """The name keys of the names the SQL fast path leaves (dots, spaces, letters …) in rows
    that are taken: ``normalise_name``, once each, then ``name_keys``."""
    left = pc.and_(rows.column("name_odd"), pc.is_null(rows.column("reason"))).combine_chunks()
    if not pc.any(left).as_py():
        return rows
    names = rows.column("name").filter(left).combine_chunks()
    distinct = pc.unique(names)
    keys = name_keys([normalise_name(n) for n in distinct.to_pylist()])
    name_key = pc.replace_with_mask(
        rows.column("name_key").combine_chunks(), left, keys.take(pc.index_in(names, value_set=distinct))
    )
    return rows.set_column(rows.schema.get_field_index("name_key"), "name_key", name_key)


def _write_snapshot(
    con: duckdb.DuckDBPyConnection,
    rows: pa.Table,
    kind: DatasetKind,
    prehashed: bool,
    target: Path,
    *,
    fresh_hashes: bool,
) -> int:
    """Pass 2: the accepted rows (``rows``, registered as the view ``rows``) into the snapshot,
    exact duplicate records once (the first); returns the number of rows written."""
    columns = _record_columns(kind)
    # A 64-bit hash of every column tells cheaply that there is no duplicate (the usual case);
    # if two rows hash alike, an exact GROUP BY decides. The hash pass 1 computed holds unless
    # parse has since given numbers to rows that had none.
    record_hash = "record_hash" if fresh_hashes else f"hash(id_int, {', '.join(columns)})"
    # Also whether two records share an ID and a record key (then a match must choose among them).
    distinct = (
        f"SELECT count(*), count(DISTINCT {record_hash}), count(DISTINCT hash(id_int, record_key)) "
        "FROM rows WHERE reason IS NULL"
    )
    # Beside DuckDB's count, on threads: each batch's record keys as integers (record_keys.pack)
    # and, for ID numbers, the keyed hash (crypto.keyed_hash64_arrow) of their integer forms.
    with ThreadPoolExecutor(_HASH_WORKERS) as pool:
        packs = [pool.submit(record_keys.pack, chunk) for chunk in rows.column("record_key").chunks]
        hashes = [] if prehashed else [pool.submit(crypto.keyed_hash64_arrow, c) for c in rows.column("id_int").chunks]
        ((valid, unique, pairs),) = con.execute(distinct).fetchall()
        keyed = rows
        if not prehashed:
            keyed = keyed.append_column("id_key", pa.chunked_array([p.result() for p in hashes], pa.int64()))
        packed = [p.result() for p in packs]
    for i, (name, type_) in enumerate((("rk_hi", pa.int64()), ("rk_lo", pa.int64()), ("rk_text", pa.string()))):
        keyed = keyed.append_column(name, pa.chunked_array([part[i] for part in packed], type_))
    con.register("keyed", keyed)
    key = "id_int" if prehashed else "id_key"
    written_columns = ["rk_hi, rk_lo, rk_text AS record_key" if c == "record_key" else c for c in columns]
    selected = f"{key} AS id_key, {', '.join(written_columns)}, name_key"
    if valid == unique:
        query = f"SELECT row_no, {selected} FROM keyed WHERE reason IS NULL"
    else:
        query = f"SELECT min(row_no) AS row_no, {selected} FROM keyed WHERE reason IS NULL GROUP BY ALL"
    metadata = {NAME_KEY_META: name_key_tag(), record_keys.UNIQUE_META: "1" if valid == unique == pairs else "0"}
    kv = ", ".join(f"{_q(k)}: {_q(v)}" for k, v in metadata.items())
    options = f"FORMAT parquet, COMPRESSION {_SNAPSHOT_CODEC}, KV_METADATA {{{kv}}}"
    written = con.execute(f"COPY ({query}) TO {_q(str(target))} ({options})").fetchall()
    con.unregister("keyed")
    return int(written[0][0]) if written else 0


def _write_rejected(
    con: duckdb.DuckDBPyConnection, prehashed: bool, unreadable: list[tuple[int, str]], out: Path, kept: str = "TRUE"
) -> None:
    """The rejected rows of ``rows`` (those ``kept``: not skipped) and the unreadable lines, with
    their reasons, as CSV."""
    masked = "''" if prehashed else _mask_sql(f"COALESCE({_trim_sql('f_id_number')}, '')")
    con.execute("CREATE TABLE unreadable (row_no BIGINT, reason VARCHAR)")
    if unreadable:
        label = _("Unreadable line")
        con.executemany("INSERT INTO unreadable VALUES (?, ?)", [(n, f"{label}: {m}") for n, m in unreadable])
    # The ID number and the reason quote the file: text that begins like a formula is written as
    # text (a leading apostrophe), as common.sheets.csv_safe does, for the spreadsheet that opens it.
    con.execute(
        f"COPY (SELECT row, {_csv_safe_sql('id_number')} AS id_number, {_csv_safe_sql('reason')} AS reason FROM ("
        f"SELECT row_no AS row, {masked} AS id_number, reason FROM rows WHERE reason IS NOT NULL AND {kept} "
        "UNION ALL SELECT row_no, '', reason FROM unreadable) ORDER BY 1) "
        f"TO {_q(str(out))} (HEADER, DELIMITER ',')"
    )


def _csv_safe_sql(column: str) -> str:
    return f"CASE WHEN regexp_matches({column}, '^[-=+@\\t\\r]') THEN '''' || {column} ELSE {column} END"
