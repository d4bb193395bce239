"""Reading a department file into a Parquet snapshot, normalising every ID number once.

The whole file is processed by DuckDB in a scratch directory; nothing is stored until the
service that calls ``ingest`` saves the two files it produces (the snapshot and the rejected
rows as CSV). Two passes over the data:

1. one query reads the file into a table, normalising and checking every ID number in SQL
   (``_id_sql``: spaces, dashes, full-width digits, a lower-case x, a leading apostrophe, the
   15-digit form; shape, real birth date, region code in use in the birth year, check digit:
   the checks of ``ResidentId.parse``), typing the other columns and naming a missing one.
   Values SQL does not accept go through ``ResidentId.parse`` itself (the rare bad or odd
   rows), so the rules stay in one place and the reasons given are its messages; names SQL
   cannot normalise go through ``names.normalise_name``, once each;
2. one ``COPY`` writes the snapshot: the accepted rows, exact duplicate records once.

The normalised number is stored only as the 64-bit keyed hash (``crypto.keyed_hash64``,
computed for the whole column at once between the two passes) and its masked form; the name as
written and as the key of its normalised form (``names.name_key_sql``).
"""

# ruff: noqa: S608 - SQL is built from column names quoted by _ident and literals escaped by _q
from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from django.utils.translation import gettext as _

from bangfu.common import crypto, divisions
from bangfu.common.ids import EARLIEST_BIRTH_YEAR, SHANGHAI, InvalidResidentId, ResidentId

from .engine.names import NAME_KEY_META, name_key_sql, name_key_tag, name_norm_fast_sql, normalise_name
from .engine.schemas import INACTIVE_COMPANY_WORDS, DatasetKind, FieldSpec, default_mapping, fields_for

EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
SNIFF_BYTES = 4 * 1024 * 1024
MAX_REJECTED_SHARE = 0.5  # above this the ID column is not trusted: the file is refused
_COMMON_FIELDS = frozenset({"id_number", "id_key", "record_key", "name"})
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
    reasons: dict[str, int] = field(default_factory=dict)


def _q(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _ident(text: str) -> str:
    return '"' + str(text).replace('"', '""') + '"'


# -- reading -----------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """utf-8 (with or without BOM) or gb18030 (a superset of GBK and GB2312)."""
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
    except UnicodeDecodeError:
        raise IngestProblem(
            "encoding", _("The file is neither UTF-8 nor GBK/GB18030 text; save it as CSV in one of these.")
        ) from None
    return "gb18030"


def _transcode(path: Path, encoding: str, out: Path) -> Path:
    with path.open(encoding=encoding, newline="") as src, out.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(1 << 22):
            dst.write(chunk)
    return out


def _excel_to_csv(path: Path, out: Path) -> Path:
    from python_calamine import CalamineWorkbook

    try:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise IngestProblem("unreadable", _("The spreadsheet cannot be read: %(error)s") % {"error": exc}) from exc

    def cell(value: Any) -> str:
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()[:10]
        return "" if value is None else str(value)

    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        for row in rows:
            writer.writerow([cell(v) for v in row])
    return out


def source_relation(path: Path, workdir: Path) -> tuple[str, int]:
    """A DuckDB table expression reading the file, and the line of its first data row."""
    if not path.is_file() or path.stat().st_size == 0:
        raise IngestProblem("empty", _("The file is empty."))
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return f"read_parquet({_q(str(path))})", 1
    if suffix in EXCEL_SUFFIXES:
        path = _excel_to_csv(path, workdir / "sheet.csv")
    elif detect_encoding(path) != "utf-8":
        path = _transcode(path, "gb18030", workdir / "utf8.csv")
    # Every column is read as text, so the sniffer only settles the dialect: its sample will do.
    options = "all_varchar = true, header = true, store_rejects = true"
    return f"read_csv({_q(str(path))}, {options})", 2


# -- the pipeline ------------------------------------------------------------------------


def _mask_sql(column: str) -> str:
    return (
        f"CASE WHEN length({column}) < 12 THEN repeat('*', length({column})) "
        f"ELSE substr({column}, 1, 4) || repeat('*', length({column}) - 8) || right({column}, 4) END"
    )


def _field_sql(spec: FieldSpec, column: str) -> str:
    text = f"NULLIF(trim({column}), '')"
    if spec.type == "number":
        cleaned = f"replace(replace(replace(replace({text}, ',', ''), '㎡', ''), '平方米', ''), '元', '')"
        return f"TRY_CAST({cleaned} AS DOUBLE)"
    if spec.type == "date":
        return (
            f"COALESCE(TRY_CAST({text} AS DATE), CAST(try_strptime({text}, '%Y%m%d') AS DATE), "
            f"CAST(try_strptime({text}, '%Y/%m/%d') AS DATE), CAST(try_strptime({text}, '%Y.%m.%d') AS DATE), "
            f"CAST(try_strptime({text}, '%Y年%m月%d日') AS DATE))"
        )
    return text


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


def _id_sql(column: str, today: dt.date) -> tuple[str, str]:
    """Two SQL expressions over the raw ID ``column``: the cleaned text ``t``, and — over ``t``
    and the first 17 digits ``n`` (``_ID_DIGITS``) with the region's row ``rg`` joined — the
    normalised number's integer form (``crypto.resident_id_int``) when every check of
    ``ResidentId.parse`` passes, else NULL (left to parse). Integer arithmetic, no slicing."""
    cleaned = (
        f"translate(regexp_replace(regexp_replace(trim({column}), '^''', ''), '{_ID_NOISE}', '', 'g'), "
        f"'{_FULL_WIDTH[0]}', '{_FULL_WIDTH[1]}')"
    )
    digits = " + ".join(f"((n // {10 ** (16 - i)}) % 10) * {w}" for i, w in enumerate(_WEIGHTS))
    ymd = "((n // 1000) % 100000000)"
    y, m, d = f"({ymd} // 10000)", f"(({ymd} // 100) % 100)", f"({ymd} % 100)"
    leap = f"(({y} % 4 = 0 AND {y} % 100 <> 0) OR {y} % 400 = 0)"
    month_days = (
        f"CASE WHEN {m} = 2 THEN CASE WHEN {leap} THEN 29 ELSE 28 END WHEN {m} IN (4, 6, 9, 11) THEN 30 ELSE 31 END"
    )
    check = f"((12 - ({digits}) % 11) % 11)"  # the value of the check character, X = 10
    given = "CASE WHEN length(t) = 15 THEN -1 WHEN right(t, 1) = 'X' THEN 10 ELSE CAST(right(t, 1) AS BIGINT) END"
    valid = (
        f"n IS NOT NULL AND {ymd} BETWEEN {EARLIEST_BIRTH_YEAR}0101 AND {today:%Y%m%d} "
        f"AND {m} BETWEEN 1 AND 12 AND {d} BETWEEN 1 AND {month_days} "
        f"AND rg.last_year >= {y} AND ({given} = -1 OR {given} = {check})"
    )
    return cleaned, f"CASE WHEN {valid} THEN n * 11 + {check} END"


# The first 17 digits of the cleaned text ``t`` (a 15-digit number gets its century), or NULL.
_ID_DIGITS = (
    "CASE WHEN regexp_full_match(t, '[0-9]{17}[0-9X]') THEN CAST(substr(t, 1, 17) AS BIGINT) "
    "WHEN regexp_full_match(t, '[0-9]{15}') THEN CAST(substr(t, 1, 6) || '19' || substr(t, 7, 9) AS BIGINT) END"
)


def _masked_sql(id_int: str) -> str:
    """The masked form (``ids.mask_id``) of a normalised number from its integer form."""
    first17 = f"lpad(CAST({id_int} // 11 AS VARCHAR), 17, '0')"
    check = f"CASE WHEN {id_int} % 11 = 10 THEN 'X' ELSE CAST({id_int} % 11 AS VARCHAR) END"
    return f"substr({first17}, 1, 4) || '**********' || substr({first17}, 15, 3) || {check}"


def resolve_mapping(kind: DatasetKind, headers: list[str], given: dict[str, str] | None) -> dict[str, str]:
    mapping = default_mapping(kind, headers)
    specs = {s.name: s for s in fields_for(kind)}
    for name, header in (given or {}).items():
        if name not in specs:
            raise IngestProblem("bad_mapping", _("Unknown field in the column mapping: %(field)s") % {"field": name})
        if header not in headers:
            raise IngestProblem(
                "bad_mapping",
                _("The file has no column %(header)s (mapped to %(field)s)") % {"header": header, "field": name},
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
            _(
                "This does not look like a %(kind)s file: no column for %(fields)s "
                "(expected a header such as %(headers)s)."
            )
            % {
                "kind": kind.value,
                "fields": ", ".join(s.name for s in missing),
                "headers": ", ".join(missing[0].headers[:3]),
            },
            headers=headers,
        )
    return mapping


def ingest(
    path: Path, kind: DatasetKind, workdir: Path, *, mapping: dict[str, str] | None = None, today: dt.date | None = None
) -> IngestResult:
    """Read, validate and normalise ``path`` into ``workdir``/snapshot.parquet and rejected.csv."""
    day = today or dt.datetime.now(SHANGHAI).date()
    relation, first_line = source_relation(path, workdir)
    con = duckdb.connect()
    try:
        con.execute(f"SET temp_directory = {_q(str(workdir / 'spill'))}")
        return _run(con, relation, first_line, kind, workdir, mapping, day)
    except duckdb.Error as exc:
        raise IngestProblem("unreadable", _("The file cannot be read: %(error)s") % {"error": exc}) from exc
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
) -> IngestResult:
    headers = [str(row[0]) for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
    mapping = resolve_mapping(kind, headers, given)
    prehashed = "id_number" not in mapping
    _read(con, relation, first_line, kind, mapping, day)
    unreadable = _unreadable_lines(con, relation)
    if not prehashed:
        _parse_the_rest(con, day)
    _normalise_other_names(con)

    counts = dict(con.execute("SELECT reason, count(*) FROM rows GROUP BY reason").fetchall())
    valid = int(counts.pop(None, 0))
    reasons: dict[str, int] = {str(k): int(v) for k, v in counts.items()}
    total = valid + sum(reasons.values()) + len(unreadable)
    if total == 0:
        raise IngestProblem("empty", _("The file has a header but no rows."))
    if unreadable:
        reasons[_("Unreadable line")] = len(unreadable)
    rejected = total - valid
    if valid == 0 or rejected > MAX_REJECTED_SHARE * total:
        raise IngestProblem(
            "mostly_invalid",
            _("%(rejected)s of %(total)s rows were rejected; check that the ID column holds ID numbers.")
            % {"rejected": rejected, "total": total},
            rejected=rejected,
            total=total,
            reasons=reasons,
        )

    snapshot, rejected_csv = workdir / "snapshot.parquet", workdir / "rejected.csv"
    taken = _write_snapshot(con, kind, prehashed, snapshot)
    _write_rejected(con, prehashed, unreadable, rejected_csv)
    return IngestResult(
        snapshot=snapshot,
        rejected=rejected_csv,
        mapping=mapping,
        prehashed=prehashed,
        rows_total=total,
        rows_taken=taken,
        rows_rejected=rejected,
        rows_duplicate=valid - taken,
        reasons=reasons,
    )


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
) -> None:
    """Pass 1: the table ``rows`` — line number, the raw ID (for the rejected rows), the ID's
    integer form where SQL settles it, the typed columns, the name and its normalised form where
    SQL settles it, and the reason a row is rejected (NULL: taken)."""
    specs = [s for s in fields_for(kind) if s.name in mapping]
    raw = ", ".join(f"CAST({_ident(mapping[s.name])} AS VARCHAR) AS f_{s.name}" for s in specs)
    if relation.startswith("read_parquet("):
        source = f"SELECT file_row_number + 1 AS row_no, {raw} FROM {relation[:-1]}, file_row_number = true)"
    else:
        # The order of a CSV file is its line order. The file is read in parallel into a table
        # (insertion order is kept), whose row ids then number the lines: a numbering window over
        # the file itself would read it on one thread.
        con.execute(f"CREATE TEMP TABLE source_rows AS SELECT {raw} FROM {relation}")
        source = f"SELECT rowid + {first_line} AS row_no, * FROM source_rows"

    missing = _("%(field)s is missing or not valid")
    checks = [
        f"WHEN {_field_sql(s, 'f_' + s.name)} IS NULL THEN {_q(missing % {'field': s.name})}"
        for s in specs
        if s.required
    ]
    if "id_number" in mapping:
        cleaned, id_int = _id_sql("f_id_number", day)
        con.register("regions", _region_last_years())
        source = (
            f"SELECT *, {id_int} AS id_int FROM (SELECT *, {_ID_DIGITS} AS n FROM "
            f"(SELECT *, {cleaned} AS t FROM ({source}) s0) s1) s2 "
            "LEFT JOIN regions rg ON rg.region = n // 100000000000"
        )
        # A row SQL does not accept gets its reason from ResidentId.parse (_parse_the_rest).
        key, id_check = "id_int", "WHEN id_int IS NULL THEN ''"
    else:
        key = "TRY_CAST(trim(f_id_key) AS BIGINT)"
        id_check = f"WHEN {key} IS NULL THEN {_q(_('Not a keyed hash (64-bit integer)'))}"
    values = [
        f"{_field_sql(s, 'f_' + s.name)} AS {s.name}" if s.name in mapping else f"{_NULLS[s.type]} AS {s.name}"
        for s in fields_for(kind)
        if s.name not in _COMMON_FIELDS
    ]
    if kind == DatasetKind.BUSINESS_ROLES:
        status = "COALESCE(f_company_status, '')" if "company_status" in mapping else "''"
        inactive = " OR ".join(f"{status} LIKE {_q('%' + w + '%')}" for w in INACTIVE_COMPANY_WORDS)
        values.append(f"NOT ({inactive}) AS company_active")
    record_key = (
        "COALESCE(NULLIF(trim(f_record_key), ''), 'row ' || row_no)" if "record_key" in mapping else "'row ' || row_no"
    )
    name = "NULLIF(trim(f_name), '')" if "name" in mapping else "CAST(NULL AS VARCHAR)"
    raw_id = "f_id_number" if "id_number" in mapping else "CAST(NULL AS VARCHAR)"
    field_reason = f"CASE {' '.join(checks)} END" if checks else "CAST(NULL AS VARCHAR)"
    con.execute(
        f"CREATE TABLE rows AS SELECT row_no, {raw_id} AS f_id_number, {key} AS id_int, name, "
        f"{name_norm_fast_sql('name')} AS name_norm, {record_key} AS record_key, "
        f"{', '.join(values)}{', ' if values else ''}{field_reason} AS field_reason, "
        f"CASE {id_check} ELSE {field_reason} END AS reason FROM (SELECT *, {name} AS name FROM ({source}) s3) s4"
    )


def _unreadable_lines(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[int, str]]:
    if not relation.startswith("read_csv"):
        return []
    try:
        rows = con.execute("SELECT line, error_message FROM reject_errors ORDER BY line").fetchall()
    except duckdb.Error:
        return []
    return [(int(line), str(message)) for line, message in rows]


def _parse_the_rest(con: duckdb.DuckDBPyConnection, day: dt.date) -> None:
    """``ResidentId.parse`` for the ID numbers SQL did not accept: the number, or the reason."""
    rest = con.execute("SELECT row_no, f_id_number FROM rows WHERE id_int IS NULL").fetchall()
    if not rest:
        return
    numbers: list[int | None] = []
    reasons: list[str | None] = []
    for _row, value in rest:
        try:
            numbers.append(ResidentId.parse(value or "", today=day).as_int64())
            reasons.append(None)
        except InvalidResidentId as exc:
            numbers.append(None)
            reasons.append(exc.message)
    parsed = pa.table(
        {
            "row_no": pa.array([r[0] for r in rest], pa.int64()),
            "id_int": pa.array(numbers, pa.int64()),
            "reason": pa.array(reasons, pa.string()),
        }
    )
    con.register("parsed", parsed)
    # A row whose number parse accepts is rejected only for its other columns.
    con.execute(
        "UPDATE rows SET id_int = p.id_int, reason = COALESCE(p.reason, field_reason) FROM parsed p "
        "WHERE rows.row_no = p.row_no"
    )
    con.unregister("parsed")


def _normalise_other_names(con: duckdb.DuckDBPyConnection) -> None:
    """Names the SQL fast path leaves (dots, spaces, letters …): ``normalise_name``, once each."""
    names = [
        r[0]
        for r in con.execute("SELECT DISTINCT name FROM rows WHERE name_norm IS NULL AND reason IS NULL").fetchall()
    ]
    if not names:
        return
    con.register("other_names", pa.table({"name": names, "norm": [normalise_name(n) for n in names]}))
    con.execute(
        "UPDATE rows SET name_norm = o.norm FROM other_names o WHERE rows.name_norm IS NULL AND rows.name = o.name"
    )
    con.unregister("other_names")


def _write_snapshot(con: duckdb.DuckDBPyConnection, kind: DatasetKind, prehashed: bool, target: Path) -> int:
    """Pass 2: the accepted rows into the snapshot, exact duplicate records once (the first);
    returns the number of rows written."""
    columns = ["name", "record_key", *_kind_columns(kind)]
    if prehashed:
        source, key, masked = "rows", "id_int", "''"
    else:
        # The keyed hash, computed outside SQL over the whole column (crypto.keyed_hash64_arrow),
        # lines up with the table's rows: POSITIONAL JOIN.
        numbers = con.sql("SELECT id_int FROM rows").to_arrow_table().column("id_int")
        con.register("keys", pa.table({"id_key": crypto.keyed_hash64_arrow(numbers)}))
        source, key, masked = "rows POSITIONAL JOIN keys", "id_key", _masked_sql("id_int")
    selected = f"{key} AS id_key, {masked} AS id_masked, {', '.join(columns)}, {name_key_sql('name_norm')} AS name_key"
    # A 64-bit hash of every column tells cheaply that there is no duplicate (the usual case);
    # if two rows hash alike, an exact GROUP BY decides.
    distinct = f"count(DISTINCT hash(id_int, {', '.join(columns)}))"
    valid, unique = con.execute(f"SELECT count(*), {distinct} FROM rows WHERE reason IS NULL").fetchone()  # type: ignore[misc]
    if valid == unique:
        query = f"SELECT row_no, {selected} FROM {source} WHERE reason IS NULL"
    else:
        query = f"SELECT min(row_no) AS row_no, {selected} FROM {source} WHERE reason IS NULL GROUP BY ALL"
    options = f"FORMAT parquet, COMPRESSION zstd, KV_METADATA {{{_q(NAME_KEY_META)}: {_q(name_key_tag())}}}"
    written = con.execute(f"COPY ({query}) TO {_q(str(target))} ({options})").fetchone()
    if not prehashed:
        con.unregister("keys")
    return int(written[0]) if written else 0


def _write_rejected(
    con: duckdb.DuckDBPyConnection, prehashed: bool, unreadable: list[tuple[int, str]], out: Path
) -> None:
    masked = "''" if prehashed else _mask_sql("COALESCE(trim(f_id_number), '')")
    con.execute("CREATE TABLE unreadable (row_no BIGINT, reason VARCHAR)")
    if unreadable:
        label = _("Unreadable line")
        con.executemany("INSERT INTO unreadable VALUES (?, ?)", [(n, f"{label}: {m}") for n, m in unreadable])
    con.execute(
        f"COPY (SELECT row_no AS row, {masked} AS id_number, reason FROM rows WHERE reason IS NOT NULL "
        "UNION ALL SELECT row_no, '', reason FROM unreadable ORDER BY 1) "
        f"TO {_q(str(out))} (HEADER, DELIMITER ',')"
    )
