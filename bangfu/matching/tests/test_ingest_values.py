"""Numbers and dates in department files as clerks send them: the import reads them as the legacy
import and the forms do (full-width digits, a currency or an area unit beside the figure,
commas between thousands), and refuses by name what no one means as a figure or a date (nan,
inf, a comma that could be a decimal one, a two-digit year, a date before 1900 or after the
data's date) rather than storing it and acting on it."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.utils import translation

from bangfu.common.ids import build_resident_id
from bangfu.matching import ingest, services
from bangfu.matching.engine import record_keys
from bangfu.matching.engine.schemas import DatasetKind
from bangfu.matching.models import Finding

KEY = record_keys.unpack_sql("rk_hi", "rk_lo", "record_key")
TODAY = dt.date(2026, 6, 1)
ID = build_resident_id("532923", dt.date(1970, 3, 1), 12, False)
HOMES = ["身份证号", "姓名", "不动产权证号", "建筑面积", "登记日期"]

# The rule for amounts and areas that the legacy import and the forms follow too
# (common.text.plain_amount): typed → the number taken, or None where it is refused.
AMOUNTS: list[tuple[str, float | None]] = [
    ("3500", 3500.0),
    ("85.5", 85.5),
    ("１２０", 120.0),  # full-width digits
    ("３５００", 3500.0),
    ("１，２００．５", 1200.5),  # full-width comma and point
    ("￥3500", 3500.0),
    ("¥3500", 3500.0),
    ("3,500元", 3500.0),
    ("85.5㎡", 85.5),
    ("85.5m2", 85.5),
    ("85.5 平方米", 85.5),
    ("60平米", 60.0),
    ("60平方", 60.0),
    ("3 500", 3500.0),  # spaces dropped
    ("1,200", 1200.0),  # commas between thousands
    ("12,345.50", 12345.5),
    ("1,234,567", 1234567.0),
    ("1,20", None),  # any other comma: ambiguous
    ("12,00", None),
    ("85,5", None),
    ("1.200,50", None),
    ("1,2,3", None),
    ("一百二十", None),
]
AMBIGUOUS = {"1,20", "12,00", "85,5", "1.200,50", "1,2,3"}
NOT_FINITE = ["nan", "NaN", "inf", "-inf", "Infinity", "1e400"]


def _csv(path: Path, rows: list[list[Any]]) -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def _ingest(path: Path, kind: DatasetKind, tmp_path: Path, as_of: dt.date | None = None) -> ingest.IngestResult:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    with translation.override("en"):
        return ingest.ingest(path, kind, work, today=TODAY, as_of=as_of)


def _rejected(result: ingest.IngestResult) -> dict[int, str]:
    with result.rejected.open(encoding="utf-8", newline="") as fh:
        return {int(r["row"]): r["reason"] for r in csv.DictReader(fh)}


def _taken(result: ingest.IngestResult, column: str) -> dict[str, Any]:
    query = f"SELECT {KEY}, {column} FROM read_parquet('{result.snapshot}')"  # noqa: S608
    return dict(duckdb.connect().execute(query).fetchall())


def _ids(n: int) -> list[str]:
    born = [dt.date(1960 + i % 40, 1 + i % 12, 1 + i % 28) for i in range(n)]
    return [build_resident_id("532923", day, i, i % 2 == 0) for i, day in enumerate(born)]


# Each kind's number column and the other columns it needs.
NUMBER_KINDS = [
    (DatasetKind.REAL_ESTATE, ["不动产权证号", "建筑面积"], "建筑面积", "area"),
    (DatasetKind.SOCIAL_INSURANCE, ["参保单位", "缴费基数"], "缴费基数", "contribution_base"),
    (DatasetKind.HOUSING_FUND, ["缴存单位", "缴存基数"], "缴存基数", "deposit_base"),
    (DatasetKind.TAX, ["纳税人识别号", "年收入"], "年收入", "taxable_income"),
]


@pytest.mark.parametrize(("kind", "columns", "header", "field"), NUMBER_KINDS)
def test_a_number_that_is_not_finite_is_rejected_by_name_in_every_number_column(
    tmp_path: Path, kind: DatasetKind, columns: list[str], header: str, field: str
) -> None:
    """TRY_CAST(… AS DOUBLE) read nan, inf and Infinity as numbers and 1e400 as inf: a
    contribution base of nan gave a high-confidence income finding without a figure."""
    ids = _ids(len(NOT_FINITE) + 8)
    rows = [["身份证号", "姓名", *columns]]
    rows += [[ids[i], "张三", f"K{i}", "3000"] for i in range(8)]  # enough good rows not to refuse the file
    rows += [[ids[8 + i], "李四", f"K{8 + i}", value] for i, value in enumerate(NOT_FINITE)]
    result = _ingest(_csv(tmp_path / "f.csv", rows), kind, tmp_path)
    assert _rejected(result) == {10 + i: f"{header}: {value} is not a number" for i, value in enumerate(NOT_FINITE)}
    assert set(_taken(result, field).values()) == {3000.0}


@pytest.mark.parametrize(("typed", "number"), AMOUNTS)
@pytest.mark.parametrize("kind", [DatasetKind.REAL_ESTATE, DatasetKind.SOCIAL_INSURANCE])
def test_amounts_and_areas_are_read_by_the_rule_of_the_legacy_import(
    tmp_path: Path, kind: DatasetKind, typed: str, number: float | None
) -> None:
    """Every comma was removed: 85,5 was read as 855 and 1.200,5 as 1.2005. A comma is taken only
    between thousands; any other is refused as ambiguous, saying how to write the figure."""
    columns, header, field = next((c, h, f) for k, c, h, f in NUMBER_KINDS if k == kind)
    rows = [["身份证号", "姓名", *columns], [ID, "张三", "K1", typed]]
    path = _csv(tmp_path / "f.csv", rows)
    if number is not None:
        assert _taken(_ingest(path, kind, tmp_path), field) == {"K1": number}
        return
    with pytest.raises(ingest.IngestProblem) as caught:  # the file's one row rejected: the file is refused
        _ingest(path, kind, tmp_path)
    if typed in AMBIGUOUS:
        reason = (
            f"{header}: {typed} is ambiguous: write decimals with a point and commas only between thousands "
            "(for example 1,200.50)"
        )
    else:
        reason = f"{header}: {typed} is not a number"
    assert caught.value.details["reasons"] == {reason: 1}


def test_a_monthly_figure_may_say_yuan_a_month(tmp_path: Path) -> None:
    rows = [["身份证号", "姓名", "参保单位", "缴费基数"], [ID, "张三", "K1", "3500.00元/月"]]
    result = _ingest(_csv(tmp_path / "f.csv", rows), DatasetKind.SOCIAL_INSURANCE, tmp_path)
    assert _taken(result, "contribution_base") == {"K1": 3500.0}


def test_dates_with_a_short_year_or_outside_1900_to_the_data_s_date_are_rejected_by_name(tmp_path: Path) -> None:
    """19-3-5 and 99-1-1 were stored as the years 19 and 99, 2030-01-01 in data of 2026 taken
    (only a death after the data's date was refused). The century of a two-digit year is not
    guessed."""
    as_of = dt.date(2026, 5, 1)
    dates = {
        "19-3-5": "登记日期: 19-3-5 is not a date (write it as 2024-01-05)",
        "99-1-1": "登记日期: 99-1-1 is not a date (write it as 2024-01-05)",
        "19.3.5": "登记日期: 19.3.5 is not a date (write it as 2024-01-05)",
        "inf": "登记日期: inf is not a date (write it as 2024-01-05)",
        "0019-03-05": "登记日期: 0019-03-05 is before 1900",
        "1899/12/31": "登记日期: 1899/12/31 is before 1900",
        "2030-01-01": "登记日期: 2030-01-01 is after the date of the data (2026-05-01)",
        "2026/5/2": "登记日期: 2026/5/2 is after the date of the data (2026-05-01)",
    }
    good = ["1900-01-01", "2026-05-01", "2019-03-05"]
    ids = _ids(len(dates) + len(good) + 9)
    rows = [HOMES] + [[ids[i], "张三", f"G{i}", "80", "2019-03-05"] for i in range(9)]
    rows += [[ids[9 + i], "张三", f"D{i}", "80", d] for i, d in enumerate([*good, *dates])]
    result = _ingest(_csv(tmp_path / "homes.csv", rows), DatasetKind.REAL_ESTATE, tmp_path, as_of=as_of)
    first = 11 + len(good)  # the line of the first bad date
    assert _rejected(result) == {first + i: reason for i, reason in enumerate(dates.values())}
    taken = _taken(result, "purchase_date")
    assert [taken[f"D{i}"] for i in range(len(good))] == [dt.date.fromisoformat(d) for d in good]


def test_a_date_with_a_time_is_read_as_its_date_in_every_form(tmp_path: Path) -> None:
    """2019年3月5日 10:00 was refused, though the form with seconds was read; a department's
    system writes its record's time after the date."""
    forms = ["2019年3月5日 10:00", "2019年3月5日 10:00:00", "2019/3/5 0:00:00", "2019/3/5 10:00", "2019-03-05 10:00"]
    ids = _ids(len(forms))
    rows = [HOMES] + [[ids[i], "张三", f"D{i}", "80", d] for i, d in enumerate(forms)]
    result = _ingest(_csv(tmp_path / "homes.csv", rows), DatasetKind.REAL_ESTATE, tmp_path)
    assert set(_taken(result, "purchase_date").values()) == {dt.date(2019, 3, 5)}
    assert result.rows_rejected == 0


def test_a_contribution_base_of_nan_gives_no_finding(
    make_household: Any, users: dict[str, Any], write_csv: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The tester's file: nan and inf as contribution bases were taken ("13 rows taken, 0
    rejected") and gave high-confidence income findings whose page showed no figure."""
    _household, ids = make_household()
    strangers = _ids(40)[20:30]
    rows = [["姓名", "身份证号", "参保单位", "缴费基数"]]
    rows += [[f"王{i}", n, "某公司", "3000"] for i, n in enumerate(strangers)]
    rows += [["张建国", ids[0], "祥云县钢铁厂", "nan"], ["李秀英", ids[1], "祥云县钢铁厂", "inf"]]
    with translation.override("en"):
        ds = services.dataset_import(actor=users["admin"], kind="social_insurance", path=write_csv("si.csv", rows))
    assert (ds.rows_taken, ds.rows_rejected) == (10, 2)
    with django_capture_on_commit_callbacks(execute=True):
        services.match_run(actor=users["admin"], dataset_ids=[ds.pk])
    assert not Finding.objects.exists()
