"""The rows of totals and the notes a department's table ends with (合计, 注：…, 填表人：…) are
skipped and counted apart — on the page, in the API and by the command — not rejected: they
filled the rejected rows and pushed a small file over the share of rejected rows that refuses
it (the tester's file: "6 of 9 rows rejected", two of them a totals row and a note)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

from bangfu.common.ids import build_resident_id
from bangfu.matching import ingest
from bangfu.matching.engine.schemas import DatasetKind
from bangfu.matching.models import Dataset
from bangfu.org.services import token_create

TODAY = dt.date(2026, 6, 1)
IDS = [build_resident_id("532923", dt.date(1970, 1, 1 + i), 10 + i, i % 2 == 0) for i in range(8)]
HOMES = ["权利人", "身份证号", "不动产权证号", "建筑面积", "登记日期"]
# Seven homes, three rejected for their own reasons (an area in words, a lost ID, a date written
# day first): with the totals row and the note, more than half the file's rows were rejected.
DATA = [
    ["张二", IDS[0], "H1", "85.5㎡", "2019.3.5"],
    ["张三", IDS[1], "H2", "一百二十", "2019年3月5日"],
    ["某甲", "5.32923E+17", "H3", "60", "43529"],
    ["某乙", IDS[2], "H4", "60平方米", "2019-3-5"],
    ["某丙", IDS[3], "H5", "60", "3/5/2019"],
    ["某丁", IDS[5], "H7", "75", "2020-01-01"],
    ["某戊", IDS[6], "H8", "75", "2020-01-01"],
]
TOTALS = ["合计", "", "", "365.5", ""]
NOTE = ["注：数据来源于县不动产登记中心", "", "", "", ""]


def _csv(path: Path, rows: list[list[Any]], encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def _workbook(path: Path, rows: list[list[Any]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def _ingest(path: Path, tmp_path: Path, kind: DatasetKind = DatasetKind.REAL_ESTATE) -> ingest.IngestResult:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    with translation.override("en"):
        return ingest.ingest(path, kind, work, today=TODAY)


def _rejected_rows(result: ingest.IngestResult) -> list[int]:
    with result.rejected.open(encoding="utf-8", newline="") as fh:
        return [int(r["row"]) for r in csv.DictReader(fh)]


def test_a_totals_row_and_a_note_at_the_end_are_skipped_not_rejected(tmp_path: Path) -> None:
    path = _csv(tmp_path / "homes.csv", [HOMES, *DATA, TOTALS, NOTE], "gbk")
    result = _ingest(path, tmp_path)
    assert (result.rows_total, result.rows_taken, result.rows_rejected, result.rows_skipped) == (7, 4, 3, 2)
    assert _rejected_rows(result) == [3, 4, 6]


@pytest.mark.parametrize(
    "tail",
    [
        # totals in the first column, an empty row, the clerk's and the checker's names, a note
        [TOTALS, ["", "", "", "", ""], ["填表人：张三    审核人：李四", "", "", "", ""], NOTE],
        [["", "", "", "365.5", ""], ["", "合 计", "", "", ""]],  # the ID column's totals; a row of sums first
        [
            ["", "", "", "", ""],
            ["小计", "", "", "365.5", ""],
            ["总计", "", "", "365.5", ""],
            ["说明：面积单位为平方米"],
        ],
    ],
)
def test_the_end_of_a_sheet_in_its_forms_is_skipped(tmp_path: Path, tail: list[list[str]]) -> None:
    """A row of sums alone (no word) is a rejected row of its own: it is not said to be totals."""
    path = _workbook(tmp_path / "homes.xlsx", [HOMES, *DATA, *tail])
    result = _ingest(path, tmp_path)
    sums_alone = tail[0][3] and not any(tail[0][:3])
    assert result.rows_skipped == len([r for r in tail if any(r)]) - bool(sums_alone)
    assert _rejected_rows(result) == [3, 4, 6] + ([9] if sums_alone else [])


def test_totals_in_the_name_column_under_a_column_of_row_numbers_are_skipped(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["序号", *HOMES], *([i + 1, *row] for i, row in enumerate(DATA))]
    rows.append(["", "合计", "", "", "515.5", ""])
    result = _ingest(_csv(tmp_path / "homes.csv", rows), tmp_path)
    assert (result.rows_rejected, result.rows_skipped) == (3, 1)


def test_a_note_on_a_line_of_its_own_without_separators_is_skipped(tmp_path: Path) -> None:
    """Typed below the table in a text editor, the note has one column where the header has five:
    it was an unreadable line."""
    path = tmp_path / "homes.csv"
    lines = [",".join(HOMES), *(",".join(r) for r in DATA), ",".join(TOTALS), "注：数据来源于县不动产登记中心", ""]
    path.write_text("\r\n".join(lines), encoding="utf-8")
    result = _ingest(path, tmp_path)
    assert (result.rows_rejected, result.rows_skipped) == (3, 2)


def test_totals_and_notes_before_the_last_row_of_data_are_rejected_rows(tmp_path: Path) -> None:
    """Only the end of the file is skipped: a 合计 row among the data, or followed by a row of data
    rejected for its own reasons, is a row of the file like any other."""
    rows = [HOMES, DATA[0], TOTALS, DATA[3], NOTE, DATA[1], ["某丁", IDS[4], "H6", "70", "2019-03-05"], TOTALS]
    result = _ingest(_csv(tmp_path / "homes.csv", rows), tmp_path)
    assert (result.rows_taken, result.rows_skipped) == (3, 1)
    assert _rejected_rows(result) == [3, 5, 6]


def test_a_file_of_only_totals_has_no_rows(tmp_path: Path) -> None:
    path = _csv(tmp_path / "homes.csv", [HOMES, TOTALS, NOTE])
    with pytest.raises(ingest.IngestProblem) as caught:
        _ingest(path, tmp_path)
    assert caught.value.code == "empty"


def test_the_rows_skipped_are_counted_on_the_page_in_the_api_and_by_the_command(
    users: dict[str, Any], tmp_path: Path
) -> None:
    body = _csv(tmp_path / "homes.csv", [HOMES, *DATA, TOTALS, NOTE], "gbk").read_bytes()
    admin = users["admin"]

    page = Client(headers={"Accept-Language": "en"})
    page.force_login(admin)
    upload = SimpleUploadedFile("homes.csv", body, content_type="text/csv")
    response = page.post(reverse("matching:dataset_import"), {"kind": "real_estate", "file": upload}, follow=True)
    html = response.content.decode()
    assert "rows taken 4, rejected 3. Skipped 2 rows of totals or notes." in html
    assert 'id="rows-skipped">2<' in html and 'id="rows-rejected">3<' in html

    token = token_create(actor=admin, user=admin, name="tests")
    upload = SimpleUploadedFile("homes.csv", body, content_type="text/csv")
    api = Client(headers={"Authorization": f"Bearer {token}"}).post(
        "/api/v1/matching/datasets", {"kind": "real_estate", "file": upload}
    )
    assert api.status_code == 201, api.content
    assert (api.json()["rows_rejected"], api.json()["rows_skipped"]) == (3, 2)

    out = io.StringIO()
    with translation.override("en"):
        call_command(
            "match", "--user", "admin", "import", "--kind", "real_estate", str(tmp_path / "homes.csv"), stdout=out
        )
    assert "rows taken 4, rejected 3" in out.getvalue() and "Skipped 2 rows of totals or notes." in out.getvalue()
    assert [d.rows_skipped for d in Dataset.objects.order_by("pk")] == [2, 2, 2]


VEHICLES = ["姓名", "身份证号", "号牌号码", "车辆类型"]
CARS = [[f"人{i}", IDS[i], f"云A0000{i}", "小型轿车"] for i in range(8)]


def _spaced_out(blank: list[str]) -> list[list[str]]:
    """The tester's file: each row of data followed by two empty rows, then a row of totals."""
    rows = [VEHICLES]
    for car in CARS:
        rows += [car, blank, blank]
    return [*rows, ["合计", "", "8", ""]]


@pytest.mark.parametrize("blank", [["", "", "", ""], [" ", "", "\u3000", ""]], ids=["separators", "spaces"])
@pytest.mark.parametrize("form", ["csv", "xlsx"])
def test_empty_rows_among_the_data_are_skipped_not_rejected(tmp_path: Path, form: str, blank: list[str]) -> None:
    """Rows of nothing but separators or spaces are skipped wherever they are: 16 of them among 8
    cars had the file refused as "16 of 24 rows were rejected … The ID number is empty"."""
    rows = _spaced_out(blank)
    if form == "csv":
        path = _csv(tmp_path / "cars.csv", rows)
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # UTF-8 with a byte-order mark, as Excel saves it
    else:
        path = _workbook(tmp_path / "cars.xlsx", rows)
    result = _ingest(path, tmp_path, DatasetKind.VEHICLES)
    assert (result.rows_total, result.rows_taken, result.rows_rejected, result.rows_skipped) == (8, 8, 0, 1)
    assert result.reasons == {}
    assert _rejected_rows(result) == []


def test_one_empty_row_in_the_middle_is_not_a_rejected_row(tmp_path: Path) -> None:
    """Rows are still numbered as the file numbers them, and a rejected row keeps its reason."""
    rows = [VEHICLES, CARS[0], ["", "", "", ""], CARS[1], ["某某", "12345", "云A9", "小型轿车"], CARS[2]]
    result = _ingest(_csv(tmp_path / "cars.csv", rows), tmp_path, DatasetKind.VEHICLES)
    assert (result.rows_total, result.rows_taken, result.rows_rejected, result.rows_skipped) == (4, 3, 1, 0)
    assert _rejected_rows(result) == [5]


def test_a_spaced_out_file_is_taken_through_the_api(users: dict[str, Any], tmp_path: Path) -> None:
    admin = users["admin"]
    token = token_create(actor=admin, user=admin, name="tests")
    body = b"\xef\xbb\xbf" + _csv(tmp_path / "cars.csv", _spaced_out(["", "", "", ""])).read_bytes()
    upload = SimpleUploadedFile("cars.csv", body, content_type="text/csv")
    api = Client(headers={"Authorization": f"Bearer {token}"}).post(
        "/api/v1/matching/datasets", {"kind": "vehicles", "file": upload}
    )
    assert api.status_code == 201, api.content
    assert (api.json()["rows_total"], api.json()["rows_rejected"], api.json()["rows_skipped"]) == (8, 0, 1)
