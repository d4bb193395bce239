"""A CSV row that lacks only its trailing empty columns (a spreadsheet leaves them out; a row
typed by hand ends where its data does) is read with them empty: the tester's row under an
unused 备注 column was rejected as "Unreadable line: it has 4 columns, the header has 5", its
ID number left out of the rejected rows. A row that lacks a column a field is read from, or has
more columns than the header, stays an unreadable line naming its columns, and the rows after
it keep the numbers the file gives them."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.utils import translation

from bangfu.common.ids import build_resident_id
from bangfu.matching import ingest
from bangfu.matching.engine.schemas import DatasetKind

TODAY = dt.date(2026, 6, 1)
IDS = [build_resident_id("532923", dt.date(1970, 1, 1 + i), 10 + i, i % 2 == 0) for i in range(6)]
HEADER = "姓名,身份证号,号牌号码,车辆类型,备注"


def _ingest(tmp_path: Path, lines: list[str], encoding: str = "utf-8", end: str = "\r\n") -> ingest.IngestResult:
    path = tmp_path / "cars.csv"
    path.write_bytes((end.join([HEADER, *lines]) + end).encode(encoding))
    work = tmp_path / "work"
    work.mkdir()
    with translation.override("en"):
        return ingest.ingest(path, DatasetKind.VEHICLES, work, today=TODAY)


def _rejected(result: ingest.IngestResult) -> list[tuple[str, str]]:
    with result.rejected.open(encoding="utf-8", newline="") as fh:
        return [(r["row"], r["reason"]) for r in csv.DictReader(fh)]


def _taken(result: ingest.IngestResult) -> list[tuple[int, str]]:
    table = pq.read_table(result.snapshot, columns=["row_no", "name"]).sort_by("row_no")
    return list(zip(table["row_no"].to_pylist(), table["name"].to_pylist(), strict=True))


@pytest.mark.parametrize("end", ["\r\n", "\n"])
def test_a_row_without_its_trailing_empty_column_is_read(tmp_path: Path, end: str) -> None:
    lines = [f"王海涛,{IDS[0]},云E1,小型轿车,", f"陈光荣,{IDS[1]},云E2,小型轿车", f"鲁晨阳,{IDS[2]},云E3,小型轿车,"]
    result = _ingest(tmp_path, lines, end=end)
    assert (result.rows_total, result.rows_taken, result.rows_rejected) == (3, 3, 0)
    assert _taken(result) == [(2, "王海涛"), (3, "陈光荣"), (4, "鲁晨阳")]


def test_a_short_row_of_a_gbk_file_is_read_too(tmp_path: Path) -> None:
    result = _ingest(tmp_path, [f"陈光荣,{IDS[1]},云E2,小型轿车", f"鲁晨阳,{IDS[2]},云E3,小型轿车,"], "gbk")
    assert (result.rows_taken, result.rows_rejected) == (2, 0)


def test_a_row_lacking_a_column_read_or_with_one_too_many_names_its_columns(tmp_path: Path) -> None:
    lines = [
        f"王海涛,{IDS[0]},云E1,小型轿车,",
        f"陈光荣,{IDS[1]},云E2,小型轿车,备注,多余",  # one column too many
        f"鲁晨阳,{IDS[2]},云E3",  # no vehicle type: a column a field is read from
        f"韩静怡,{IDS[3]},云E4,小型轿车",
        f"某某,{IDS[4][:17]}0,云E5,小型轿车,",  # a wrong check digit: rejected for its own reason
        f"某乙,{IDS[5]},云E6,小型轿车",
    ]
    result = _ingest(tmp_path, lines)
    assert (result.rows_total, result.rows_taken, result.rows_rejected) == (6, 3, 3)
    reasons = dict(_rejected(result))
    assert reasons["3"] == "Unreadable line: it has 6 columns, the header has 5"
    assert reasons["4"] == "Unreadable line: it has 3 columns, the header has 5"
    assert reasons["6"].startswith("The check digit")
    # The rows after the lines not read keep the file's numbers (they were numbered one or two short).
    assert _taken(result) == [(2, "王海涛"), (5, "韩静怡"), (7, "某乙")]
