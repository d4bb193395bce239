"""The values of a department file as import takes them: padding of every kind around a record
key, a name or a vehicle type is not part of it, a record key Excel has shortened to a float is
refused, and a file refused for its rejected rows says what was most often wrong."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

from bangfu.common.errors import DomainError
from bangfu.common.ids import build_resident_id
from bangfu.matching import ingest, services
from bangfu.matching.engine import record_keys
from bangfu.matching.engine.schemas import DatasetKind
from bangfu.matching.models import Dataset
from bangfu.matching.tests.test_dirty_files import _workbook

KEY = record_keys.unpack_sql("rk_hi", "rk_lo", "record_key")  # a snapshot's record key as text
TODAY = dt.date(2026, 6, 1)
IDS = [build_resident_id("532923", dt.date(1970 + i, 3, 1 + i), i, i % 2 == 0) for i in range(12)]
VEHICLES = ["身份证号", "姓名", "号牌号码", "车辆类型"]


def _write(path: Path, rows: list[list[Any]]) -> Path:
    """``rows`` (the header first) as CSV, Parquet or a workbook, by the suffix of ``path``."""
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\r\n").writerows(rows)
    elif path.suffix == ".parquet":
        header, *body = rows
        pq.write_table(pa.table({h: [row[i] for row in body] for i, h in enumerate(header)}), path)
    else:
        _workbook(path, rows)
    return path


def _ingest(path: Path, tmp_path: Path, kind: DatasetKind = DatasetKind.VEHICLES) -> ingest.IngestResult:
    work = tmp_path / f"work-{path.name}"
    work.mkdir()
    with translation.override("en"):
        return ingest.ingest(path, kind, work, today=TODAY)


def _problem(path: Path, tmp_path: Path, kind: DatasetKind = DatasetKind.VEHICLES) -> ingest.IngestProblem:
    with pytest.raises(ingest.IngestProblem) as caught:
        _ingest(path, tmp_path, kind)
    return caught.value


def _rejected(result: ingest.IngestResult) -> list[tuple[int, str]]:
    with result.rejected.open(encoding="utf-8", newline="") as fh:
        return [(int(r["row"]), r["reason"]) for r in csv.DictReader(fh)]


def _snapshot(result: ingest.IngestResult) -> list[tuple[Any, ...]]:
    query = f"SELECT row_no, name, {KEY}, vehicle_type FROM '{result.snapshot}' ORDER BY row_no"  # noqa: S608
    return duckdb.connect().execute(query).fetchall()


# -- padding -----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_padding_of_every_kind_is_not_part_of_a_value(tmp_path: Path, suffix: str) -> None:
    """Tabs, line breaks, no-break and ideographic spaces around a value are trimmed before
    anything looks at it: the record key (a key of padding only is no key), the name, the type
    (the empty check), the length check and the duplicate test; inside a value they stay."""
    long_key = "L" * ingest.RECORD_KEY_MAX_CHARS
    rows: list[list[Any]] = [
        VEHICLES,
        [IDS[0], "张建国", "云A12345", "小型轿车"],
        [IDS[0], "\u3000张建国\t", "云A12345\t", "\xa0小型轿车\r\n"],  # the same record, padded
        [IDS[1], "李秀英\ufeff", "\r\n云B\u30001\u3000", "轻型货车\u200b"],
        [IDS[2], "王五", "\u3000\t\xa0", "小型轿车"],  # no key of its own
        [IDS[3], "赵六", "云C1", "\u3000\t\r\n"],  # no type
        [IDS[4], "孙七", f"\t{long_key}\u3000\n", "小型轿车"],  # 200 characters once trimmed
        [IDS[5], "周八", "\t云D1", "小型轿车"],
    ]
    result = _ingest(_write(tmp_path / f"v{suffix}", rows), tmp_path)
    first = 1 if suffix == ".parquet" else 2  # the line of the first record
    assert _rejected(result) == [(first + 4, "车辆类型 is empty")]
    assert (result.rows_total, result.rows_taken, result.rows_rejected, result.rows_duplicate) == (7, 5, 1, 1)
    assert _snapshot(result) == [
        (first, "张建国", "云A12345", "小型轿车"),
        (first + 2, "李秀英", "云B\u30001", "轻型货车"),
        (first + 3, "王五", f"row {first + 3}", "小型轿车"),
        (first + 5, "孙七", long_key, "小型轿车"),
        (first + 6, "周八", "云D1", "小型轿车"),
    ]
    # The names' keys are those of the names as written plainly.
    keys = duckdb.connect().execute(f"SELECT name, name_key FROM '{result.snapshot}'").fetchall()  # noqa: S608
    plain = _ingest(_write(tmp_path / f"plain{suffix}", [VEHICLES, [IDS[0], "张建国", "云A1", "小型轿车"]]), tmp_path)
    ((plain_key,),) = duckdb.connect().execute(f"SELECT name_key FROM '{plain.snapshot}'").fetchall()  # noqa: S608
    assert dict(keys)["张建国"] == plain_key


def test_a_padded_number_or_date_is_read(tmp_path: Path) -> None:
    """The typed columns read the trimmed text too."""
    rows: list[list[Any]] = [["身份证号", "姓名", "不动产权证号", "建筑面积", "登记日期"]]
    rows += [[IDS[0], "张建国", "证1", "\u300080\t", "2024-01-05\r\n"], [IDS[1], "李秀英", "证2", "90", "\xa02024/1/5"]]
    result = _ingest(_write(tmp_path / "homes.csv", rows), tmp_path, DatasetKind.REAL_ESTATE)
    assert _rejected(result) == []
    query = f"SELECT {KEY}, area, purchase_date FROM '{result.snapshot}' ORDER BY 1"  # noqa: S608
    assert duckdb.connect().execute(query).fetchall() == [
        ("证1", 80.0, dt.date(2024, 1, 5)),
        ("证2", 90.0, dt.date(2024, 1, 5)),
    ]


def test_padded_and_plain_keys_are_one_record_through_the_import_service(users: dict[str, Any], tmp_path: Path) -> None:
    rows: list[list[Any]] = [VEHICLES, [IDS[0], "张建国", "云A12345", "小型轿车"]]
    rows += [[IDS[0], "张建国\u3000", "云A12345\t", "小型轿车\r"], [IDS[1], "李秀英", "云A2", "小型轿车"]]
    ds = services.dataset_import(actor=users["xiangyun_staff"], kind="vehicles", path=_write(tmp_path / "v.csv", rows))
    assert (ds.rows_total, ds.rows_taken, ds.rows_rejected, ds.rows_duplicate) == (3, 2, 0, 1)


# -- a record key Excel shortened --------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["5.32923E+17", "5.32923197607288E+17", "\t5.32923E+17 ", "5.32923e17", "1.2E+15"],
    ids=["csv-export", "workbook", "padded", "lower-case-no-plus", "fifteen-digits"],
)
def test_a_record_key_shortened_to_a_float_is_refused_by_name(tmp_path: Path, key: str) -> None:
    """Two long numbers Excel writes alike (5.32923E+17) would be one record: the row is refused,
    naming the column and the value, saying why and what to do."""
    rows: list[list[Any]] = [VEHICLES, [IDS[0], "张三", key, "小型轿车"], [IDS[1], "李四", key, "小型轿车"]]
    rows += [[IDS[i], "张三", f"云B{i}", "小型轿车"] for i in range(2, 6)]
    result = _ingest(_write(tmp_path / "v.csv", rows), tmp_path)
    reason = (
        f"号牌号码: {key.strip()} was stored as a number (for example by Excel) and its last digits are lost; "
        "format the column as text and export again"
    )
    assert _rejected(result) == [(2, reason), (3, reason)]
    assert result.reasons == {reason: 2}
    assert result.rows_taken == 4


def test_a_long_number_in_a_workbook_as_record_key_is_refused(tmp_path: Path) -> None:
    """A number stored as a number in a workbook (a long certificate number) arrives as Excel shows
    it (``_excel_cell``)."""
    rows: list[list[Any]] = [VEHICLES, [IDS[0], "张三", 532923197607288123, "小型轿车"]]
    rows += [[IDS[0], "张三", 532923197607288456, "小型轿车"], [IDS[1], "李四", 532923197607, "小型轿车"]]
    rows += [[IDS[i], "张三", f"云B{i}", "小型轿车"] for i in range(2, 6)]
    result = _ingest(_write(tmp_path / "v.xlsx", rows), tmp_path)
    assert [(row, reason.split(" was stored")[0]) for row, reason in _rejected(result)] == [
        (2, "号牌号码: 5.32923197607288E+17"),
        (3, "号牌号码: 5.32923197607288E+17"),
    ]
    keys = {k for (_row, _name, k, _type) in _snapshot(result)}
    assert "532923197607" in keys  # a number a float holds exactly is taken as written


@pytest.mark.parametrize("key", ["5.3E-05", "3.14", "1E+17", "V1.0E+2", "1.5E+3x", "12.5E+3"])
def test_other_keys_with_a_dot_or_an_exponent_are_taken(tmp_path: Path, key: str) -> None:
    rows: list[list[Any]] = [VEHICLES, [IDS[0], "张三", key, "小型轿车"], [IDS[1], "李四", "云A1", "小型轿车"]]
    result = _ingest(_write(tmp_path / "v.csv", rows), tmp_path)
    assert _rejected(result) == []
    assert key in {k for (_row, _name, k, _type) in _snapshot(result)}


def test_the_shortened_key_reason_is_shown_in_the_readers_language(users: dict[str, Any], tmp_path: Path) -> None:
    from bangfu.matching import selectors

    rows: list[list[Any]] = [VEHICLES, [IDS[0], "张三", "5.32923E+17", "小型轿车"]]
    rows += [[IDS[i], "张三", f"云B{i}", "小型轿车"] for i in range(1, 4)]
    with translation.override("zh-hans"):
        ds = services.dataset_import(
            actor=users["xiangyun_staff"], kind="vehicles", path=_write(tmp_path / "v.csv", rows)
        )
    with translation.override("en"):
        shown = selectors.dataset_rejected_csv(actor=users["xiangyun_staff"], dataset_id=ds.pk).decode("utf-8-sig")
    assert "号牌号码: 5.32923E+17 was stored as a number" in shown


# -- a file refused for its rejected rows ------------------------------------------------


def test_a_file_refused_for_a_date_column_says_so_not_the_id_column(tmp_path: Path) -> None:
    """The dates are all in a form not read: each quotes its own value, but they are one reason,
    named without the value; the ID column is not blamed."""
    rows: list[list[Any]] = [["身份证号", "姓名", "不动产权证号", "建筑面积", "登记日期"]]
    rows += [[IDS[i], "张三", f"证{i}", "80", f"{i + 1:02d}/01/2024"] for i in range(8)]
    rows += [["abc", "李四", "证X", "80", "2024-01-05"], [IDS[9], "王五", "证Y", "80", "2024-01-05"]]
    problem = _problem(_write(tmp_path / "homes.csv", rows), tmp_path, DatasetKind.REAL_ESTATE)
    assert problem.code == "mostly_invalid"
    assert problem.message == (
        "9 of 10 rows were rejected; the most common reason (8 rows): "
        "登记日期: … is not a date (write it as 2024-01-05)."
    )
    assert "ID column" not in problem.message
    # The details list the kinds of reason, not each value: a million bad dates are one line.
    reasons = problem.details["reasons"]
    assert len(reasons) == 2
    assert reasons["登记日期: … is not a date (write it as 2024-01-05)"] == 8


def test_a_refused_file_lists_at_most_twenty_kinds_of_reason() -> None:
    kinds = [(f"reason {i}", 100 - i, False) for i in range(25)]
    shown = ingest._problem_reasons(kinds)
    assert len(shown) == 21
    assert list(shown)[:2] == ["reason 0", "reason 1"]
    with translation.override("en"):
        assert ingest._problem_reasons(kinds)["5 other reasons"] == sum(100 - i for i in range(20, 25))


def test_a_file_refused_for_an_empty_required_column_names_it(tmp_path: Path) -> None:
    rows: list[list[Any]] = [VEHICLES, *([IDS[i], "张三", f"云A{i}", ""] for i in range(3))]
    rows.append([IDS[3], "张三", "云A3", "小型轿车"])
    problem = _problem(_write(tmp_path / "v.csv", rows), tmp_path)
    assert problem.message == "3 of 4 rows were rejected; the most common reason (3 rows): 车辆类型 is empty."


def test_a_file_refused_for_its_id_numbers_keeps_the_advice(tmp_path: Path) -> None:
    rows: list[list[Any]] = [VEHICLES, ["abc", "张三", "云A1", "小型轿车"], ["xyz", "张三", "云A2", "小型轿车"]]
    rows += [["", "张三", "云A3", "小型轿车"], [IDS[0], "张三", "云A4", "小型轿车"]]
    problem = _problem(_write(tmp_path / "v.csv", rows), tmp_path)
    assert problem.message == (
        "3 of 4 rows were rejected; the most common reason (2 rows): "
        "Character … of the ID number, “…”, is not allowed: an ID number has only digits, and an X only as its "
        "last character. Check that the ID column holds ID numbers."
    )
    rows = [VEHICLES, ["", "张三", "云A1", "小型轿车"]]
    problem = _problem(_write(tmp_path / "one.csv", rows), tmp_path)
    assert problem.message == (
        "1 of 1 rows were rejected; the most common reason (1 row): "
        "The ID number is empty. Check that the ID column holds ID numbers."
    )


def test_a_file_refused_for_shortened_record_keys_says_so(tmp_path: Path) -> None:
    rows: list[list[Any]] = [VEHICLES, *([IDS[i], "张三", f"5.3292{i}E+17", "小型轿车"] for i in range(3))]
    rows.append([IDS[3], "张三", "云A3", "小型轿车"])
    problem = _problem(_write(tmp_path / "v.csv", rows), tmp_path)
    assert problem.message == (
        "3 of 4 rows were rejected; the most common reason (3 rows): 号牌号码: … was stored as a number "
        "(for example by Excel) and its last digits are lost; format the column as text and export again."
    )


def _mostly_empty_types(tmp_path: Path) -> Path:
    rows: list[list[Any]] = [VEHICLES, *([IDS[i], "张三", f"云A{i}", "\u3000"] for i in range(3))]
    rows.append([IDS[3], "张三", "云A3", "小型轿车"])
    return _write(tmp_path / "v.csv", rows)


def test_the_page_the_api_and_the_command_give_the_most_common_reason(users: dict[str, Any], tmp_path: Path) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from bangfu.org.services import token_create

    path = _mostly_empty_types(tmp_path)
    expected = "3 of 4 rows were rejected; the most common reason (3 rows): 车辆类型 is empty."
    staff = users["xiangyun_staff"]

    with translation.override("en"), pytest.raises(DomainError) as caught:
        services.dataset_import(actor=staff, kind="vehicles", path=path)
    assert caught.value.message == expected and caught.value.details["problem"] == "mostly_invalid"

    with translation.override("en"), pytest.raises(CommandError) as command:
        call_command("match", "--user", "admin", "import", "--kind", "vehicles", str(path))
    assert str(command.value).splitlines()[0] == expected
    assert "  车辆类型 is empty (3)" in str(command.value).splitlines()

    c = Client(headers={"Accept-Language": "en"})
    c.force_login(staff)
    upload = SimpleUploadedFile("v.csv", path.read_bytes(), content_type="text/csv")
    page = c.post(reverse("matching:dataset_import"), {"kind": "vehicles", "file": upload})
    assert page.status_code == 400
    assert expected in page.content.decode()

    token = token_create(actor=staff, user=staff, name="tests")
    upload = SimpleUploadedFile("v.csv", path.read_bytes(), content_type="text/csv")
    api = Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"}).post(
        "/api/v1/matching/datasets", {"kind": "vehicles", "file": upload}
    )
    assert api.status_code >= 400, api.content
    assert api.json()["error"]["message"] == expected
    assert api.json()["error"]["details"]["reasons"] == {"车辆类型 is empty": 3}
    assert not Dataset.objects.exists()
