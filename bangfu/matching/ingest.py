"""Reading a department file into a Parquet snapshot, normalising every ID number once.

The whole file is processed by DuckDB in a scratch directory; nothing is stored until the
service that calls ``ingest`` saves the two files it produces (the snapshot and the rejected
rows as CSV). ID numbers take a vectorised fast path (18 characters, valid check digit, real
birth date, region code in use in the birth year — the checks of ``ResidentId.parse``) and
every other value goes through ``ResidentId.parse`` itself, so the rules stay in one place and
the reasons given are its messages. The normalised number is stored only as the 64-bit keyed
hash (``crypto.keyed_hash64``, computed for the whole column at once) and its masked form.
"""

# ruff: noqa: S608 - SQL is built from column names quoted by _ident and literals escaped by _q
from __future__ import annotations

import codecs
import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from django.utils.translation import gettext as _

from bangfu.common import crypto
from bangfu.common.ids import SHANGHAI, InvalidResidentId, ResidentId, compute_check_digit

from .engine.names import name_norm_fast_sql, normalise_name
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
    options = "all_varchar = true, header = true, store_rejects = true, sample_size = -1"
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


def _fast_id_sql(today: dt.date) -> str:
    """Rows whose trimmed ID needs no normalisation and passes every check of ResidentId.parse.
    Integer arithmetic on the 17 digits (``n``), not string slicing: it runs at memory speed."""
    digits = " + ".join(f"((n // {10 ** (16 - i)}) % 10) * {w}" for i, w in enumerate(_WEIGHTS))
    return f"""
        SELECT row_no, upper(t) AS id18 FROM (
            SELECT row_no, t, CAST(substr(t, 1, 17) AS BIGINT) AS n FROM (
                SELECT row_no, trim(f_id_number) AS t FROM raw
            ) x WHERE regexp_full_match(t, '[0-9]{{17}}[0-9Xx]')
        ) c
        JOIN regions r ON r.region = c.n // 100000000000 AND r.year = (c.n // 10000000) % 10000
        WHERE upper(substr(t, 18, 1)) = substr('10X98765432', (({digits}) % 11) + 1, 1)
          AND try_strptime(substr(t, 7, 8), '%Y%m%d') BETWEEN TIMESTAMP '1900-01-01' AND TIMESTAMP '{today}'
    """


def _region_ok(region: str, year: str) -> bool:
    """Whether ResidentId.parse accepts the region code for a birth in ``year`` (one probe)."""
    if not (region.isdigit() and year.isdigit()):
        return False
    first17 = f"{region}{year}010100" + "1"
    try:
        ResidentId.parse(first17 + compute_check_digit(first17), today=dt.date(int(year), 12, 31))
    except InvalidResidentId as exc:
        return exc.code not in {"bad_region", "region_not_in_year"}
    return True


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
    specs = [s for s in fields_for(kind) if s.name in mapping]
    columns = ", ".join(f"CAST({_ident(mapping[s.name])} AS VARCHAR) AS f_{s.name}" for s in specs)
    con.execute(
        f"CREATE TABLE raw AS SELECT row_number() OVER () + {first_line - 1} AS row_no, {columns} FROM {relation}"
    )
    unreadable = _unreadable_lines(con, relation)
    total = int(con.execute("SELECT count(*) FROM raw").fetchone()[0]) + len(unreadable)  # type: ignore[index]
    if total == 0:
        raise IngestProblem("empty", _("The file has a header but no rows."))

    prehashed = "id_number" not in mapping
    if prehashed:
        con.execute(
            "CREATE TABLE keyed AS SELECT row_no, TRY_CAST(trim(f_id_key) AS BIGINT) AS id_key, '' AS id_masked, "
            f"CASE WHEN TRY_CAST(trim(f_id_key) AS BIGINT) IS NULL THEN {_q(_('Not a keyed hash (64-bit integer)'))} "
            "END AS reason FROM raw"
        )
    else:
        _normalise_ids(con, day)

    checks = [
        "WHEN k.reason IS NOT NULL THEN k.reason",
        *(
            f"WHEN {_field_sql(s, 'raw.f_' + s.name)} IS NULL THEN "
            + _q(_("%(field)s is missing or not valid") % {"field": s.name})
            for s in specs
            if s.required
        ),
    ]
    # Every column of the kind is in the snapshot; one the file lacks is NULL.
    kind_specs = [s for s in fields_for(kind) if s.name not in _COMMON_FIELDS]
    values = ", ".join(
        f"{_field_sql(s, 'raw.f_' + s.name)} AS {s.name}" if s.name in mapping else f"{_NULLS[s.type]} AS {s.name}"
        for s in kind_specs
    )
    record_key = (
        "COALESCE(NULLIF(trim(raw.f_record_key), ''), 'row ' || raw.row_no)"
        if "record_key" in mapping
        else "'row ' || raw.row_no"
    )
    extra = ""
    if kind == DatasetKind.BUSINESS_ROLES:
        status = "COALESCE(raw.f_company_status, '')" if "company_status" in mapping else "''"
        inactive = " OR ".join(f"{status} LIKE {_q('%' + w + '%')}" for w in INACTIVE_COMPANY_WORDS)
        extra = f", NOT ({inactive}) AS company_active"
    name = "NULLIF(trim(raw.f_name), '')" if "name" in mapping else "CAST(NULL AS VARCHAR)"
    con.execute(
        f"CREATE TABLE checked AS SELECT raw.row_no, k.id_key, k.id_masked, {name} AS name, "
        f"{record_key} AS record_key{', ' + values if values else ''}{extra}, "
        f"CASE {' '.join(checks)} END AS reason FROM raw JOIN keyed k USING (row_no)"
    )
    good_cols = ["id_key", "id_masked", "name", "record_key"]
    good_cols += [s.name for s in kind_specs]
    if kind == DatasetKind.BUSINESS_ROLES:
        good_cols.append("company_active")
    # Exact duplicate records are taken once (the first); a hash aggregate, not a window.
    con.execute(
        f"CREATE TABLE good AS SELECT min(row_no) AS row_no, {', '.join(good_cols)}, "
        f"{name_norm_fast_sql('name')} AS name_norm FROM checked WHERE reason IS NULL GROUP BY ALL"
    )
    _normalise_other_names(con)
    valid = int(con.execute("SELECT count(*) FROM checked WHERE reason IS NULL").fetchone()[0])  # type: ignore[index]
    taken = int(con.execute("SELECT count(*) FROM good").fetchone()[0])  # type: ignore[index]
    rejected = total - valid
    reasons = dict(con.execute("SELECT reason, count(*) FROM checked WHERE reason IS NOT NULL GROUP BY 1").fetchall())
    if unreadable:
        reasons[_("Unreadable line")] = len(unreadable)
    if taken == 0 or rejected > MAX_REJECTED_SHARE * total:
        raise IngestProblem(
            "mostly_invalid",
            _("%(rejected)s of %(total)s rows were rejected; check that the ID column holds ID numbers.")
            % {"rejected": rejected, "total": total},
            rejected=rejected,
            total=total,
            reasons=reasons,
        )

    snapshot, rejected_csv = workdir / "snapshot.parquet", workdir / "rejected.csv"
    con.execute(f"COPY good TO {_q(str(snapshot))} (FORMAT parquet, COMPRESSION zstd)")
    _write_rejected(con, unreadable, rejected_csv)
    return IngestResult(
        snapshot=snapshot,
        rejected=rejected_csv,
        mapping=mapping,
        prehashed=prehashed,
        rows_total=total,
        rows_taken=taken,
        rows_rejected=rejected,
        rows_duplicate=valid - taken,
        reasons={str(k): int(v) for k, v in reasons.items()},
    )


def _unreadable_lines(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[int, str]]:
    if not relation.startswith("read_csv"):
        return []
    try:
        rows = con.execute("SELECT line, error_message FROM reject_errors ORDER BY line").fetchall()
    except duckdb.Error:
        return []
    return [(int(line), str(message)) for line, message in rows]


def _normalise_ids(con: duckdb.DuckDBPyConnection, day: dt.date) -> None:
    # Region and birth year of every 17-digit prefix (a superset of the fast path's, in integers).
    pairs = con.execute(
        "SELECT DISTINCT lpad(CAST(n // 100000000000 AS VARCHAR), 6, '0'), CAST((n // 10000000) % 10000 AS VARCHAR) "
        "FROM (SELECT TRY_CAST(substr(trim(f_id_number), 1, 17) AS BIGINT) AS n FROM raw) x "
        "WHERE n >= 10000000000000000"
    ).fetchall()
    con.execute("CREATE TABLE regions (region BIGINT, year BIGINT)")
    ok = [(int(r), int(y)) for r, y in pairs if _region_ok(r, y)]
    if ok:
        con.executemany("INSERT INTO regions VALUES (?, ?)", ok)
    con.execute(f"CREATE TABLE fast AS {_fast_id_sql(day)}")
    slow_rows = con.execute("SELECT raw.row_no, raw.f_id_number FROM raw ANTI JOIN fast USING (row_no)").fetchall()
    slow: list[tuple[int, str | None, str | None]] = []
    for row_no, value in slow_rows:
        try:
            slow.append((row_no, ResidentId.parse(value or "", today=day).value, None))
        except InvalidResidentId as exc:
            slow.append((row_no, None, exc.message))
    con.execute("CREATE TABLE slow (row_no BIGINT, id18 VARCHAR, reason VARCHAR)")
    if slow:
        con.executemany("INSERT INTO slow VALUES (?, ?, ?)", slow)
    con.execute(
        "CREATE TABLE ids AS SELECT row_no, id18, CAST(NULL AS VARCHAR) AS reason FROM fast "
        "UNION ALL SELECT row_no, id18, reason FROM slow"
    )
    # The keyed hash is computed outside SQL, vectorised over the column (crypto.keyed_hash64_arrow).
    ids = con.sql(
        "SELECT row_no, reason, CASE WHEN id18 IS NOT NULL THEN "
        "CAST(substr(id18, 1, 17) AS BIGINT) * 11 + CASE WHEN substr(id18, 18, 1) = 'X' THEN 10 "
        "ELSE CAST(substr(id18, 18, 1) AS BIGINT) END END AS id_int, "
        f"CASE WHEN id18 IS NOT NULL THEN {_mask_sql('id18')} END AS id_masked FROM ids"
    ).to_arrow_table()
    hashed = ids.append_column("id_key", crypto.keyed_hash64_arrow(ids.column("id_int"))).drop_columns(["id_int"])
    con.register("hashed_arrow", hashed)
    con.execute("CREATE TABLE keyed AS SELECT row_no, id_key, id_masked, reason FROM hashed_arrow")
    con.unregister("hashed_arrow")


def _normalise_other_names(con: duckdb.DuckDBPyConnection) -> None:
    """Names the SQL fast path leaves (dots, spaces, letters …): ``normalise_name``, once each."""
    names = [r[0] for r in con.execute("SELECT DISTINCT name FROM good WHERE name_norm IS NULL").fetchall()]
    if not names:
        return
    con.register("other_names", pa.table({"name": names, "norm": [normalise_name(n) for n in names]}))
    con.execute(
        "UPDATE good SET name_norm = o.norm FROM other_names o WHERE good.name_norm IS NULL AND good.name = o.name"
    )
    con.unregister("other_names")


def _write_rejected(con: duckdb.DuckDBPyConnection, unreadable: list[tuple[int, str]], out: Path) -> None:
    masked = _mask_sql("COALESCE(trim(raw.f_id_number), '')") if _has_column(con, "raw", "f_id_number") else "''"
    con.execute("CREATE TABLE unreadable (row_no BIGINT, reason VARCHAR)")
    if unreadable:
        label = _("Unreadable line")
        con.executemany("INSERT INTO unreadable VALUES (?, ?)", [(n, f"{label}: {m}") for n, m in unreadable])
    con.execute(
        f"COPY (SELECT row_no AS row, {masked} AS id_number, reason FROM checked JOIN raw USING (row_no) "
        "WHERE reason IS NOT NULL UNION ALL SELECT row_no, '', reason FROM unreadable ORDER BY 1) "
        f"TO {_q(str(out))} (HEADER, DELIMITER ',')"
    )


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    rows = con.execute(f"DESCRIBE {table}").fetchall()
    return any(r[0] == column for r in rows)
