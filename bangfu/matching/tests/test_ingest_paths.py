"""Import of a department file, checked against the definition of each column it writes.

The snapshot must not depend on how the rows reach it: in one Arrow batch or in many, with or
without rows that SQL leaves to ``ResidentId.parse``, names it leaves to ``normalise_name``,
or exact duplicate records. Each test builds the expected snapshot in Python from the
definitions (``ResidentId.parse``, ``keyed_hash64``, ``normalise_name``,
``name_keys``) and compares it with what ``ingest`` wrote, row for row.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from django.utils import translation
from django.utils.translation import gettext as _

from bangfu.common import divisions
from bangfu.common.crypto import keyed_hash64
from bangfu.common.ids import InvalidResidentId, ResidentId, build_resident_id, compute_check_digit
from bangfu.matching import ingest
from bangfu.matching.engine import record_keys
from bangfu.matching.engine.names import NAME_KEY_META, name_keys, normalise_name
from bangfu.matching.engine.schemas import DatasetKind

TODAY = dt.date(2026, 6, 1)
HEADER = ["身份证号", "姓名", "号牌号码", "车辆类型"]
# The record key as two integers where it fits, else as text (record_keys).
SNAPSHOT_COLUMNS = ["row_no", "id_key", "name", "rk_hi", "rk_lo", "record_key", "vehicle_type", "name_key"]


def _id(seed: int) -> str:
    rng = random.Random(seed)
    region = rng.choice(["532923", "530102", "110101", "532901", "440305"])
    return build_resident_id(
        region, dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(25000)), seed % 100, seed % 2 == 0
    )


def _write(tmp_path: Path, name: str, rows: list[list[str | None]], parquet: bool) -> Path:
    path = tmp_path / f"{name}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows([["" if v is None else v for v in row] for row in rows])
    if not parquet:
        return path
    target = tmp_path / f"{name}.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT * FROM read_csv('{path}', all_varchar = true)) TO '{target}' (FORMAT parquet)"  # noqa: S608
    )
    return target


def _text(value: str | None) -> str | None:
    return None if value is None or not value.strip(ingest.PADDING) else value.strip(ingest.PADDING)


def _expected(rows: list[list[str | None]], first_line: int) -> dict[str, Any]:
    """The snapshot rows, the rejected rows (line, reason) and the counts, from the definitions."""
    missing = _("%(column)s is empty") % {"column": "车辆类型"}
    taken: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    rejected: list[tuple[int, str]] = []
    for i, (raw, name, plate, vehicle_type) in enumerate(rows):
        row_no = first_line + i
        try:
            number = ResidentId.parse(raw or "", today=TODAY).value
        except InvalidResidentId as exc:
            rejected.append((row_no, exc.message))
            continue
        if _text(vehicle_type) is None:
            rejected.append((row_no, missing))
            continue
        record = (number, _text(name), _text(plate) or f"row {row_no}", _text(vehicle_type))
        taken.setdefault(record, (row_no, *record))  # an exact duplicate record: its first row
    norms = [normalise_name(r[2]) for r in taken.values()]
    keys = name_keys(norms).to_pylist()
    snapshot = sorted(
        (row_no, keyed_hash64(number), name, plate, vehicle_type, key)
        for (row_no, number, name, plate, vehicle_type), key in zip(taken.values(), keys, strict=True)
    )
    reasons: dict[str, int] = {}
    for _row, reason in rejected:
        reasons[reason] = reasons.get(reason, 0) + 1
    valid = len(rows) - len(rejected)
    pairs = {(number, plate) for (_row, number, _name, plate, _type) in taken.values()}
    return {
        "snapshot": snapshot,
        "unique": "1" if len(pairs) == len(taken) == valid else "0",
        "rejected": sorted(rejected),
        "counts": (len(rows), len(taken), len(rejected), valid - len(taken)),
        "reasons": reasons,
    }


def _unique(result: ingest.IngestResult) -> str:
    """What the snapshot's footer says of its records' ID and record key pairs."""
    meta = pq.read_schema(result.snapshot).metadata or {}
    return meta[record_keys.UNIQUE_META.encode()].decode()


def _ingest(path: Path, tmp_path: Path) -> tuple[ingest.IngestResult, list[tuple[Any, ...]], list[tuple[int, str]]]:
    work = tmp_path / f"work-{path.suffix[1:]}"
    work.mkdir()
    result = ingest.ingest(path, DatasetKind.VEHICLES, work, today=TODAY)
    con = duckdb.connect()
    snapshot = f"read_parquet('{result.snapshot}')"
    assert [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {snapshot}").fetchall()] == SNAPSHOT_COLUMNS  # noqa: S608
    meta = dict(
        con.execute(f"SELECT key::VARCHAR, value::VARCHAR FROM parquet_kv_metadata('{result.snapshot}')").fetchall()  # noqa: S608
    )
    assert NAME_KEY_META in meta
    record = record_keys.unpack_sql("rk_hi", "rk_lo", "record_key")
    rows = sorted(
        con.execute(f"SELECT row_no, id_key, name, {record}, vehicle_type, name_key FROM {snapshot}").fetchall()  # noqa: S608
    )
    with result.rejected.open(encoding="utf-8", newline="") as fh:
        rejected = sorted((int(r["row"]), r["reason"]) for r in csv.DictReader(fh))
    return result, rows, rejected


@pytest.fixture(params=[None, 7, "spill"], ids=["one-batch", "batches-of-7", "spilled-batches-of-7"])
def batch_rows(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[int | None]:
    """Every batch layout: the default (every file here is one batch), 7 rows a batch, and 7 rows
    a batch written to a memory-mapped Arrow file (as a file above ``SPILL_ROWS`` is)."""
    if request.param == "spill":
        monkeypatch.setattr(ingest, "SPILL_ROWS", 0)
        real = ingest._spilled

        files: list[int] = []

        def spilled(relation: Any, target: Path) -> Any:
            table = real(relation, target)
            files.append(target.stat().st_size)
            return table

        monkeypatch.setattr(ingest, "_spilled", spilled)
        monkeypatch.setattr(ingest, "_BATCH_ROWS", 7)
        yield 7
        assert files and all(files), "the rows did not go through the Arrow file"
        return
    if request.param:
        monkeypatch.setattr(ingest, "_BATCH_ROWS", request.param)
    yield request.param


def _mixed_rows() -> list[list[str | None]]:
    """Plain numbers, numbers only parse settles, bad numbers, missing fields, names only
    normalise_name settles, values padded with white space, and exact duplicates (also of a row
    only parse settles, and one padded)."""
    odd_but_valid = [
        f"{_id(900)[:9]}\u00ad{_id(900)[9:]}",  # a soft hyphen inside
        f"{_id(901)[:9]}\u2028{_id(901)[9:]}",  # a line separator inside
    ]
    bad = [
        _id(902)[:17] + ("0" if _id(902)[17] != "0" else "1"),  # bad check digit
        "",
        "5.32923E+17",
        "532923" + "19990229" + "1231",  # no 29 February in 1999
    ]
    rows: list[list[str | None]] = []
    for i in range(60):
        name = ["张三", "艾合买提·阿吉", "艾合买提•阿吉", "張偉", "John Smith", " 李四 ", None][i % 7]
        plate = None if i % 9 == 0 else f"云A{i:05d}"
        rows.append([_id(i), name, plate, "小型轿车" if i % 13 else " "])
    rows += [[v, "王五", f"云B{n}", "货车"] for n, v in enumerate(odd_but_valid)]
    rows += [[v, "赵六", f"云C{n}", "货车"] for n, v in enumerate(bad)]
    rows.append([odd_but_valid[0], "王五", None, None])  # parse accepts the number, the field is missing
    rows.append([_id(3), "艾合买提·阿吉", "云A00003", "小型轿车"])  # the same person, another name form
    rows += [rows[1], rows[2], rows[60], rows[1]]  # exact duplicates, one of a row parse settles
    rows.append([_id(900), "王五", "云B0", "货车"])  # row 60 again, its number written plainly
    rows.append([_id(5), "John Smith", "云Z99999", "小型轿车"])  # the same person, another vehicle
    rows.append([_id(70), "\u3000李四\t", "\t云E1\u3000", "小型轿车\r\n"])  # padded: taken without it
    rows.append([_id(1), "艾合买提·阿吉\u3000", "云A00001\t", "\xa0小型轿车"])  # row 1 again, padded
    return rows


@pytest.mark.parametrize("parquet", [False, True], ids=["csv", "parquet"])
def test_snapshot_and_rejected_rows_follow_the_definitions(
    tmp_path: Path, parquet: bool, batch_rows: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _mixed_rows()
    expected = _expected(rows, first_line=1 if parquet else 2)
    parsed: list[str] = []
    real_parse = ResidentId.parse

    def counting(raw: str, **kwargs: Any) -> ResidentId:
        parsed.append(raw)
        return real_parse(raw, **kwargs)

    monkeypatch.setattr(ingest.ResidentId, "parse", counting)
    result, snapshot, rejected = _ingest(_write(tmp_path, "mixed", rows, parquet), tmp_path)

    assert snapshot == expected["snapshot"]
    assert _unique(result) == expected["unique"]
    assert rejected == expected["rejected"]
    assert (result.rows_total, result.rows_taken, result.rows_rejected, result.rows_duplicate) == expected["counts"]
    assert result.reasons == expected["reasons"]
    assert result.rows_duplicate == 6
    # Only the numbers SQL cannot settle reach parse: the odd forms and the bad ones.
    assert len(parsed) == 2 + 4 + 1 + 1


@pytest.mark.parametrize("parquet", [False, True], ids=["csv", "parquet"])
def test_a_plain_file_without_duplicates(tmp_path: Path, parquet: bool, batch_rows: int | None) -> None:
    """The usual file: every number plain and valid, plain names, no duplicate: nothing reaches
    Python row by row."""
    rows: list[list[str | None]] = [[_id(i), "张三", f"云A{i}", "小型轿车"] for i in range(50)]
    expected = _expected(rows, first_line=1 if parquet else 2)
    result, snapshot, rejected = _ingest(_write(tmp_path, "plain", rows, parquet), tmp_path)
    assert snapshot == expected["snapshot"]
    assert rejected == []
    assert (result.rows_total, result.rows_taken, result.rows_rejected, result.rows_duplicate) == (50, 50, 0, 0)
    assert _unique(result) == expected["unique"] == "1"


@pytest.mark.parametrize("parquet", [False, True], ids=["csv", "parquet"])
def test_record_keys_of_every_length_come_back_as_written(
    tmp_path: Path, parquet: bool, batch_rows: int | None
) -> None:
    """Keys of up to 16 bytes are kept as two integers, longer ones as text: all read back as
    written. A second record with one person's ID and record key marks the snapshot not unique."""
    plates: list[str | None] = ["云A1", "京A·B1234", "x" * 16, "y" * 17, "不动产权第0012345号", "粤B12345"]
    plates += ["1234567", "12345678", "123456789", None, "  ", "a\u3000b", "云" * 5, "云" * 6, "é" * 8]
    rows: list[list[str | None]] = [[_id(i), "张三", p, "小型轿车"] for i, p in enumerate(plates)]
    expected = _expected(rows, first_line=1 if parquet else 2)
    result, snapshot, _rejected = _ingest(_write(tmp_path, "keys", rows, parquet), tmp_path)
    assert snapshot == expected["snapshot"]
    assert _unique(result) == expected["unique"] == "1"
    packed = duckdb.connect().execute(f"SELECT count(rk_hi), count(record_key) FROM '{result.snapshot}'").fetchall()  # noqa: S608
    assert packed == [(12, 3)]  # the keys of 17, 25 and 18 bytes are text

    rows.append([_id(0), "张三", "云A1", "中型客车"])
    expected = _expected(rows, first_line=1 if parquet else 2)
    again = tmp_path / "again"
    again.mkdir()
    result, snapshot, _rejected = _ingest(_write(again, "shared", rows, parquet), again)
    assert snapshot == expected["snapshot"]
    assert _unique(result) == expected["unique"] == "0"


def test_a_file_of_duplicates_only(tmp_path: Path, batch_rows: int | None) -> None:
    rows: list[list[str | None]] = [[_id(1), "张三", "云A1", "小型轿车"]] * 30
    result, snapshot, _rejected = _ingest(_write(tmp_path, "dups", rows, False), tmp_path)
    assert snapshot == _expected(rows, first_line=2)["snapshot"]
    assert [r[0] for r in snapshot] == [2]  # the first line of the record
    assert (result.rows_total, result.rows_taken, result.rows_duplicate) == (30, 1, 29)


@pytest.mark.parametrize("parquet", [False, True], ids=["csv", "parquet"])
def test_the_only_duplicate_is_a_number_parse_settles(tmp_path: Path, parquet: bool, batch_rows: int | None) -> None:
    """A record written once with a number SQL leaves to parse and once plainly is one record."""
    rows: list[list[str | None]] = [[_id(i), "张三", f"云A{i}", "小型轿车"] for i in range(20)]
    rows.insert(4, [f"{_id(7)[:9]}\u00ad{_id(7)[9:]}", "张三", "云A7", "小型轿车"])
    expected = _expected(rows, first_line=1 if parquet else 2)
    result, snapshot, _rejected = _ingest(_write(tmp_path, "one-dup", rows, parquet), tmp_path)
    assert snapshot == expected["snapshot"]
    assert (result.rows_total, result.rows_taken, result.rows_duplicate) == (21, 20, 1)
    assert _unique(result) == expected["unique"] == "0"  # duplicates were removed: not known unique


def test_sql_checks_agree_with_parse_on_many_numbers(tmp_path: Path) -> None:
    """Random numbers across regions (in use, withdrawn), dates (leap days, month ends, before
    1900, after today) and check characters: SQL takes exactly what parse takes, as the same
    number, and gives the rest to parse."""
    rng = random.Random(11)
    table = divisions.division_table()
    in_use = [c for c, p in table.items() if p and any(x.end is None for x in p)]
    withdrawn = [c for c, p in table.items() if p and all(x.end is not None for x in p)]
    values = []
    for _n in range(3000):
        region = rng.choice(withdrawn) if rng.random() < 0.3 else rng.choice(in_use)
        year = rng.choice([rng.randrange(1890, 2030), 1900, 2000, 2004, 1996, 2026])
        month, day = rng.randrange(0, 14), rng.choice([rng.randrange(0, 33), 28, 29, 30, 31])
        first17 = f"{region}{year:04d}{month:02d}{day:02d}{rng.randrange(1000):03d}"
        check = compute_check_digit(first17)
        roll = rng.random()
        if roll < 0.5:
            values.append(first17 + check)
        elif roll < 0.7:
            values.append(first17 + rng.choice("0123456789X"))
        elif roll < 0.8:
            values.append(first17[:6] + first17[8:])  # the 15-digit form
        elif roll < 0.9:
            values.append((first17 + check).lower() if check == "X" else f" {first17}-{check} ")
        else:
            values.append(f"{first17[:6]} {first17[6:]}{check}")
    # Enough plain valid rows that the file is not refused as mostly invalid.
    values += [_id(i) for i in range(len(values))]
    path = tmp_path / "ids.csv"
    path.write_text("身份证号,车辆类型\n" + "".join(f'"{v}",car\n' for v in values), encoding="utf-8")
    work = tmp_path / "w"
    work.mkdir()
    result = ingest.ingest(path, DatasetKind.VEHICLES, work, today=TODAY)

    keys: set[int] = set()
    reasons: dict[str, int] = {}
    for v in values:
        try:
            keys.add(keyed_hash64(ResidentId.parse(v, today=TODAY).value))
        except InvalidResidentId as exc:
            reasons[exc.message] = reasons.get(exc.message, 0) + 1
    got = duckdb.connect().sql(f"SELECT id_key FROM '{result.snapshot}'").fetchall()  # noqa: S608
    assert {r[0] for r in got} == keys
    assert result.reasons == reasons
    assert result.rows_total == len(values)


def test_a_prehashed_file_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file of keyed hashes: no parse; bad keys rejected, duplicates once."""
    monkeypatch.setattr(ingest, "_BATCH_ROWS", 5)
    keys = [str(keyed_hash64(_id(i))) for i in range(20)]
    lines = [f"{k},张三,云A{i},小型轿车" for i, k in enumerate(keys)]
    lines += ["not-a-key,张三,云A99,小型轿车", lines[3], lines[4]]
    path = tmp_path / "hashed.csv"
    path.write_text("id_key,姓名,号牌号码,车辆类型\n" + "\n".join(lines) + "\n", encoding="utf-8")
    work = tmp_path / "w"
    work.mkdir()
    result = ingest.ingest(path, DatasetKind.VEHICLES, work, today=TODAY)
    assert result.prehashed
    assert (result.rows_total, result.rows_taken, result.rows_rejected, result.rows_duplicate) == (23, 20, 1, 2)
    got = duckdb.connect().sql(f"SELECT id_key, row_no FROM '{result.snapshot}' ORDER BY row_no").fetchall()  # noqa: S608
    assert [str(k) for k, _row in got] == keys
    assert [r[1] for r in got] == list(range(2, 22))


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_a_line_of_too_few_or_too_many_columns_is_one_rejected_row(tmp_path: Path, encoding: str) -> None:
    """The reader reports such a line once per missing or extra column; the import counts it
    once, with the columns it has, in the user's language."""
    good = [f"{_id(i)},张{i},云A{i},小型轿车" for i in range(6)]
    lines = [",".join(HEADER), *good[:3], "只有一列", f"{_id(50)},李四,云B1,轿车,多余,又多余", *good[3:]]
    path = tmp_path / f"ragged-{encoding}.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    work = tmp_path / f"w-{encoding}"
    work.mkdir()
    with translation.override("en"):
        result = ingest.ingest(path, DatasetKind.VEHICLES, work, today=TODAY)
    assert (result.rows_total, result.rows_taken, result.rows_rejected) == (8, 6, 2)
    assert result.reasons == {"Unreadable line": 2}
    with result.rejected.open(encoding="utf-8", newline="") as fh:
        rejected = [(int(r["row"]), r["reason"]) for r in csv.DictReader(fh)]
    assert rejected == [
        (5, "Unreadable line: it has 1 column, the header has 4"),
        (6, "Unreadable line: it has 6 columns, the header has 4"),
    ]


def test_an_excel_unicode_text_file_is_read(tmp_path: Path) -> None:
    """Excel's "Unicode text": UTF-16 with its byte-order mark, tab-separated."""
    lines = ["\t".join(HEADER), *(f"{_id(i)}\t张{i}\t云A{i}\t小型轿车" for i in range(4))]
    path = tmp_path / "unicode.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + ("\r\n".join(lines) + "\r\n").encode("utf-16-le"))
    work = tmp_path / "w"
    work.mkdir()
    result = ingest.ingest(path, DatasetKind.VEHICLES, work, today=TODAY)
    assert (result.rows_total, result.rows_taken) == (4, 4)


def test_a_file_whose_encoding_changes_past_the_sample_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "SNIFF_BYTES", 200)
    good = [f"{_id(i)},张{i},云A{i},小型轿车" for i in range(20)]
    path = tmp_path / "mixed.csv"
    path.write_bytes(("\n".join([",".join(HEADER), *good]) + "\n").encode("gb18030") + b"\xff\xff\xff,x,y,z\n")
    work = tmp_path / "w"
    work.mkdir()
    with translation.override("en"), pytest.raises(ingest.IngestProblem) as caught:
        ingest.ingest(path, DatasetKind.VEHICLES, work, today=TODAY)
    assert caught.value.code == "encoding"
    assert caught.value.message == "The file is not all in one encoding (GB18030): line 22 is not."


@pytest.mark.parametrize("kind", ["xlsx", "parquet"])
def test_a_workbook_or_parquet_file_named_csv_is_named_for_what_it_is(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "vehicles.csv"
    if kind == "xlsx":
        import openpyxl

        wb = openpyxl.Workbook()
        wb.active.append(HEADER)
        wb.save(path)
    else:
        duckdb.sql(f"COPY (SELECT 1 AS a) TO '{path}' (FORMAT parquet)")
    work = tmp_path / "w"
    work.mkdir()
    with translation.override("en"), pytest.raises(ingest.IngestProblem) as caught:
        ingest.ingest(path, DatasetKind.VEHICLES, work, today=TODAY)
    assert caught.value.code == "wrong_format"
    assert ("Excel workbook" if kind == "xlsx" else "Parquet file") in caught.value.message
