"""Department files as departments send them: a byte-order mark before GBK text, decorated or
full-width headers, a title above the header of a sheet, ID numbers stored as numbers, dates in
the forms spreadsheets write, a file of another kind, a damaged Parquet file; and the rejected
rows as Excel opens them."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from bangfu.common.errors import DomainError
from bangfu.common.ids import build_resident_id
from bangfu.matching import ingest, selectors, services
from bangfu.matching.engine import record_keys
from bangfu.matching.engine.schemas import DatasetKind
from bangfu.matching.models import Dataset

KEY = record_keys.unpack_sql("rk_hi", "rk_lo", "record_key")  # a snapshot's record key as text

TODAY = dt.date(2026, 6, 1)
IDS = [build_resident_id("532923", dt.date(1970 + i, 3, 1 + i), i, i % 2 == 0) for i in range(6)]
VEHICLES = ["身份证号", "姓名", "号牌号码", "车辆类型"]


def _csv(path: Path, rows: list[list[Any]], encoding: str = "utf-8", prefix: bytes = b"") -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes(prefix + buf.getvalue().encode(encoding))
    return path


def _ingest(path: Path, kind: DatasetKind, tmp_path: Path) -> ingest.IngestResult:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    with translation.override("en"):
        return ingest.ingest(path, kind, work, today=TODAY)


def _rejected(result: ingest.IngestResult) -> list[tuple[int, str]]:
    with result.rejected.open(encoding="utf-8", newline="") as fh:
        return [(int(r["row"]), r["reason"]) for r in csv.DictReader(fh)]


def _problem(path: Path, kind: DatasetKind, tmp_path: Path) -> ingest.IngestProblem:
    with pytest.raises(ingest.IngestProblem) as caught:
        _ingest(path, kind, tmp_path)
    return caught.value


def test_gbk_text_after_a_utf8_byte_order_mark_is_read(tmp_path: Path) -> None:
    rows = [VEHICLES, [IDS[0], "张建国", "云A1", "小型轿车"], [IDS[1], "李秀英", "云A2", "轻型货车"]]
    path = _csv(tmp_path / "gbk-bom.csv", rows, "gbk", codecs.BOM_UTF8)
    result = _ingest(path, DatasetKind.VEHICLES, tmp_path)
    assert (result.rows_taken, result.rows_rejected) == (2, 0)
    names = duckdb.connect().execute(f"SELECT name FROM read_parquet('{result.snapshot}') ORDER BY 1").fetchall()  # noqa: S608
    assert names == [("张建国",), ("李秀英",)]


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_lines_ending_both_ways_are_read_with_their_line_numbers(tmp_path: Path, encoding: str) -> None:
    """Rows appended by another program end with CRLF after LF lines (or the other way): the reader
    settled the ending from its sample and refused the file in its own English words."""
    lines = [
        ",".join(VEHICLES),
        f"{IDS[0]},张建国,云A1,小型轿车",
        f"{IDS[1][:17]}{'1' if IDS[1][17] != '1' else '2'},李秀英,云A2,小型轿车",
    ]
    lines += [f"{IDS[2]},王五,云A3,小型轿车"]
    text = "\n".join(lines[:3]) + "\r\n" + lines[3] + "\r\n"
    path = tmp_path / "mixed.csv"
    path.write_bytes(text.encode(encoding))
    result = _ingest(path, DatasetKind.VEHICLES, tmp_path)
    assert (result.rows_taken, result.rows_rejected) == (2, 1)
    assert [row for row, _reason in _rejected(result)] == [3]


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.tuples(st.text("ab\r,", max_size=6), st.sampled_from([b"\n", b"\r\n"])), max_size=12),
    chunk_size=st.integers(1, 7),
)
def test_a_file_is_rewritten_with_one_line_ending_exactly_when_it_has_both(
    tmp_path_factory: pytest.TempPathFactory, lines: list[tuple[str, bytes]], chunk_size: int
) -> None:
    """Whatever the chunks the file is read in cut (a CRLF split across two, a CR inside a field)."""
    tmp = tmp_path_factory.mktemp("endings")
    content = b"".join(text.encode() + end for text, end in lines)
    path = tmp / "f.csv"
    path.write_bytes(content)
    result = ingest._one_line_ending(path, tmp / "lf.csv", chunk_size=chunk_size)
    crlf = content.count(b"\r\n")
    mixed = 0 < crlf < content.count(b"\n")
    assert (result != path) == mixed
    if mixed:
        assert result.read_bytes() == content.replace(b"\r\n", b"\n")


@pytest.mark.parametrize(
    "header",
    ["＊身份证号", "身份证号码：", "身份证号（必填）", "ＩＤ"],
    ids=["required-mark", "colon", "note-in-brackets", "full-width"],
)
def test_a_decorated_id_header_is_recognised(tmp_path: Path, header: str) -> None:
    path = _csv(tmp_path / "v.csv", [[header, "姓名", "车辆类型"], [IDS[0], "张建国", "小型轿车"]])
    result = _ingest(path, DatasetKind.VEHICLES, tmp_path)
    assert result.mapping["id_number"] == header
    assert result.rows_taken == 1


def test_a_floor_area_header_with_its_unit_is_recognised(tmp_path: Path) -> None:
    path = _csv(tmp_path / "homes.csv", [["身份证号", "姓名", "建筑面积(㎡)"], [IDS[0], "张建国", "89.5"]])
    result = _ingest(path, DatasetKind.REAL_ESTATE, tmp_path)
    assert result.mapping["area"] == "建筑面积(㎡)"


def test_a_vehicles_file_is_not_taken_as_a_dibao_roll(tmp_path: Path) -> None:
    """The dibao roll's own columns are all optional, so the ID column alone let any file in."""
    path = _csv(tmp_path / "v.csv", [VEHICLES, [IDS[0], "张建国", "云A1", "小型轿车"]])
    problem = _problem(path, DatasetKind.DIBAO_ROLL, tmp_path)
    assert problem.code == "wrong_kind"
    assert problem.message == (
        "This looks like a vehicle registration file, not a dibao or extreme-poverty roll "
        "(it has the columns 车辆类型)."
    )
    # A roll of only numbers and names is still a dibao roll.
    path = _csv(tmp_path / "roll.csv", [["身份证号", "姓名"], [IDS[0], "张建国"]])
    assert _ingest(path, DatasetKind.DIBAO_ROLL, tmp_path).rows_taken == 1


def test_the_wrong_kind_is_named_in_words_not_code(tmp_path: Path) -> None:
    path = _csv(tmp_path / "v.csv", [VEHICLES, [IDS[0], "张建国", "云A1", "小型轿车"]])
    problem = _problem(path, DatasetKind.REAL_ESTATE, tmp_path)
    assert problem.code == "wrong_kind"
    assert problem.message == (
        "This does not look like a real-estate file: it has no column such as 建筑面积, 面积, floor_area."
    )


def test_dates_in_the_forms_spreadsheets_write_are_read_and_others_are_rejected_by_name(tmp_path: Path) -> None:
    dates = ["2024/1/5", "20240105", "45296", "2024年1月5日", "2024/01/05 00:00:00", "2024-01-05T08:30:00"]
    bad = ["05/01/2024", "2024-13-45"]
    rows = [["身份证号", "姓名", "不动产权证号", "建筑面积", "登记日期"]]
    rows += [[IDS[i % 6], "张建国", f"证{i}", "80", d] for i, d in enumerate([*dates, *bad, ""])]
    rows.append([IDS[0], "张建国", "证X", "八十", "2024-01-05"])
    result = _ingest(_csv(tmp_path / "homes.csv", rows), DatasetKind.REAL_ESTATE, tmp_path)
    snapshot = dict(
        duckdb.connect()
        .execute(f"SELECT {KEY}, purchase_date FROM read_parquet('{result.snapshot}')")  # noqa: S608
        .fetchall()
    )
    assert {snapshot[f"证{i}"] for i in range(len(dates))} == {dt.date(2024, 1, 5)}
    assert snapshot[f"证{len(dates) + 2}"] is None  # no date given: taken without one
    assert _rejected(result) == [
        (8, "登记日期: 05/01/2024 is not a date (write it as 2024-01-05)"),
        (9, "登记日期: 2024-13-45 is not a date (write it as 2024-01-05)"),
        (11, "建筑面积: 八十 is not a number"),
    ]


def test_a_required_column_left_empty_is_named_as_the_file_names_it(tmp_path: Path) -> None:
    rows = [VEHICLES, [IDS[0], "张建国", "云A1", "小型轿车"], [IDS[1], "李秀英", "云A2", " "]]
    result = _ingest(_csv(tmp_path / "v.csv", rows), DatasetKind.VEHICLES, tmp_path)
    assert _rejected(result) == [(3, "车辆类型 is empty")]


def _workbook(path: Path, rows: list[list[Any]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_a_sheet_with_a_title_and_blank_rows_above_the_header_is_read_with_its_row_numbers(tmp_path: Path) -> None:
    rows: list[list[Any]] = [[], ["2026年车辆登记信息"], [], VEHICLES, [IDS[0], "张建国", "云A1", "小型轿车"]]
    rows.append([IDS[1][:17] + ("0" if IDS[1][17] != "0" else "1"), "李秀英", "云A2", "小型轿车"])
    result = _ingest(_workbook(tmp_path / "v.xlsx", rows), DatasetKind.VEHICLES, tmp_path)
    assert (result.rows_total, result.rows_taken) == (2, 1)
    assert [row for row, _reason in _rejected(result)] == [6]  # the sheet's row 6


def test_an_id_number_stored_as_a_number_in_a_sheet_is_said_to_have_lost_digits(tmp_path: Path) -> None:
    """A float keeps 15 or 16 digits: the number read back is another, whose check digit is
    usually wrong; the reason must be the lost digits, not the check digit."""
    plain = next(n for n in IDS if n[-1] != "X")
    rows: list[list[Any]] = [VEHICLES, [int(plain), "张建国", "云A1", "小型轿车"]]
    rows += [[n, "李秀英", f"云B{i}", "小型轿车"] for i, n in enumerate(IDS)]
    result = _ingest(_workbook(tmp_path / "v.xlsx", rows), DatasetKind.VEHICLES, tmp_path)
    (rejected,) = _rejected(result)
    assert rejected[0] == 2
    assert "stored as a number" in rejected[1]


def test_a_damaged_parquet_file_is_named_without_the_server_paths(tmp_path: Path) -> None:
    path = tmp_path / "v.parquet"
    path.write_bytes(b"PAR1 this is not really parquet")
    problem = _problem(path, DatasetKind.VEHICLES, tmp_path)
    assert problem.code == "unreadable"
    assert str(tmp_path) not in problem.message and "LINE 1" not in problem.message


def test_rejected_rows_download_opens_in_excel(users: dict[str, Any], tmp_path: Path) -> None:
    """Excel reads a CSV without a byte-order mark as GBK on a Chinese system: the reasons
    would be garbled. The page's download names its columns in the user's language."""
    rows = [VEHICLES, [IDS[0], "张建国", "云A1", "小型轿车"], [IDS[1], "李秀英", "云A2", ""]]
    rows += [[n, "王五", f"云C{i}", "小型轿车"] for i, n in enumerate(IDS[2:])]
    path = _csv(tmp_path / "v.csv", rows)
    ds = services.dataset_import(actor=users["xiangyun_staff"], kind="vehicles", path=path)
    assert ds.rows_rejected == 1
    data = selectors.dataset_rejected_csv(actor=users["xiangyun_staff"], dataset_id=ds.pk)
    assert data.startswith(codecs.BOM_UTF8)
    assert data.decode("utf-8-sig").splitlines()[0] == "row,id_number,reason"  # the API's names

    c = Client(headers={"Accept-Language": "en"})
    c.force_login(users["xiangyun_staff"])
    response = c.get(reverse("matching:dataset_rejected", args=[ds.pk]))
    body = response.getvalue()
    assert body.startswith(codecs.BOM_UTF8)
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0] == "Row in the file,ID number,Reason"
    assert lines[1].startswith("3,") and lines[1].endswith("车辆类型 is empty")
    assert default_storage.exists(ds.rejected_file)
    # Each download of the rejected rows (masked numbers, the department's names) is logged.
    from bangfu.common.models import AuditEntry

    assert AuditEntry.objects.filter(action="export", target_type="matching.dataset_rejected").count() == 2


def test_rejected_rows_reasons_come_in_the_readers_language(users: dict[str, Any], tmp_path: Path) -> None:
    """The file keeps the reasons in the importer's language; whoever downloads it reads them in
    their own, by the page and by the API, and the rest of each row as it was."""
    rows = [VEHICLES, [IDS[0], "张建国", "云A1", "小型轿车"], [IDS[1], "李秀英", "云A2", ""]]
    rows.append(["", "王五", "云A3", "轿车"])
    rows += [[n, "王五", f"云C{i}", "小型轿车"] for i, n in enumerate(IDS[2:])]
    path = _csv(tmp_path / "v.csv", rows)
    path.write_bytes(path.read_bytes() + b'"' + IDS[0].encode() + b'",too,many,columns,here\r\n')
    with translation.override("zh-hans"):
        ds = services.dataset_import(actor=users["xiangyun_staff"], kind="vehicles", path=path)
    assert ds.rows_rejected == 3
    with default_storage.open(ds.rejected_file, "rb") as fh:
        stored = fh.read().decode("utf-8-sig")
    assert "车辆类型列为空" in stored and "身份证号为空" in stored and "无法读取的行: " in stored

    def reasons(content: bytes) -> list[str]:
        return [r[2] for r in list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))[1:]]

    with translation.override("en"):
        by_api = selectors.dataset_rejected_csv(actor=users["xiangyun_staff"], dataset_id=ds.pk)
    assert reasons(by_api)[:2] == ["车辆类型 is empty", "The ID number is empty."]
    assert reasons(by_api)[2].startswith("Unreadable line: ")
    assert [r[:2] for r in csv.reader(io.StringIO(by_api.decode("utf-8-sig")))] == [
        r[:2] for r in csv.reader(io.StringIO(stored))
    ]
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(users["xiangyun_staff"])
    shown = c.get(reverse("matching:dataset_rejected", args=[ds.pk])).getvalue()
    assert reasons(shown) == reasons(by_api)
    with translation.override("zh-hans"):
        again = selectors.dataset_rejected_csv(actor=users["xiangyun_staff"], dataset_id=ds.pk)
    assert list(csv.reader(io.StringIO(again.decode("utf-8-sig")))) == list(csv.reader(io.StringIO(stored)))


def test_rejected_rows_quoting_commas_and_quotes_survive_the_translation(users: dict[str, Any], tmp_path: Path) -> None:
    """A reason quotes the file: commas, quotation marks, a formula. Shown in another language,
    the rows stay whole and in their order."""
    rows = [["身份证号", "姓名", "不动产权证号", "建筑面积"], [IDS[0], "张建国", "H1", "80"]]
    rows += [[IDS[1], "李秀英", "H2", '1,2"3'], [IDS[2], "王五", "H3", "=1+2"], [IDS[3], "赵六", "H4", "90"]]
    rows += [[n, "王五", f"H{i + 5}", "70"] for i, n in enumerate(IDS[4:])]
    path = _csv(tmp_path / "homes.csv", rows)
    with translation.override("zh-hans"):
        ds = services.dataset_import(actor=users["xiangyun_staff"], kind="real_estate", path=path)
    assert ds.rows_rejected == 2
    with default_storage.open(ds.rejected_file, "rb") as fh:
        stored = list(csv.reader(io.StringIO(fh.read().decode("utf-8-sig"))))
    with translation.override("en"):
        shown = list(
            csv.reader(
                io.StringIO(
                    selectors.dataset_rejected_csv(actor=users["xiangyun_staff"], dataset_id=ds.pk).decode("utf-8-sig")
                )
            )
        )
    assert [r[:2] for r in shown] == [r[:2] for r in stored]
    assert shown[1][2] == '建筑面积: 1,2"3 is not a number'
    assert shown[2][2] == "建筑面积: =1+2 is not a number"


def test_a_file_of_another_kind_leaves_nothing_behind(users: dict[str, Any], tmp_path: Path) -> None:
    path = _csv(tmp_path / "v.csv", [VEHICLES, [IDS[0], "张建国", "云A1", "小型轿车"]])
    with pytest.raises(DomainError) as caught:
        services.dataset_import(actor=users["xiangyun_staff"], kind="dibao_roll", path=path)
    assert caught.value.details["problem"] == "wrong_kind"
    assert not Dataset.objects.exists()


def test_the_command_names_the_columns_and_reasons_in_words(users: dict[str, Any], tmp_path: Path) -> None:
    from django.core.management import CommandError, call_command

    rows = [VEHICLES, *[["abc", "张三", "云A1", "小型轿车"]] * 3, [IDS[0], "张建国", "云A2", "小型轿车"]]
    path = _csv(tmp_path / "v.csv", rows)
    with translation.override("en"), pytest.raises(CommandError) as caught:
        call_command("match", "--user", "admin", "import", "--kind", "vehicles", str(path))
    text = str(caught.value)
    assert "{" not in text and "'problem'" not in text  # not the details as a Python dict
    assert "3 of 4 rows were rejected" in text
    assert (
        "  Character 1 of the ID number, “a”, is not allowed: an ID number has only digits, and an X only as its "
        "last character. (3)"
    ) in text.splitlines()

    path = _csv(tmp_path / "n.csv", [["姓名", "车辆类型"], ["张建国", "小型轿车"]])
    with translation.override("en"), pytest.raises(CommandError) as caught:
        call_command("match", "--user", "admin", "import", "--kind", "vehicles", str(path))
    assert str(caught.value).splitlines()[-1] == "Columns in the file: 姓名, 车辆类型"


def test_the_columns_used_are_named_in_words(users: dict[str, Any], tmp_path: Path) -> None:
    path = _csv(tmp_path / "v.csv", [VEHICLES, [IDS[0], "张建国", "云A1", "小型轿车"]])
    ds = services.dataset_import(actor=users["xiangyun_staff"], kind="vehicles", path=path)
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(users["xiangyun_staff"])
    page = c.get(reverse("matching:dataset_detail", args=[ds.pk])).content.decode()
    assert '<td title="vehicle_type">Vehicle type</td><td>车辆类型</td>' in page
    assert '<td title="id_number">ID number</td><td>身份证号</td>' in page
    assert page.index('id="column-id_number"') < page.index('id="column-vehicle_type"')  # the file's order


@pytest.mark.parametrize("content", [b"\r\n\r\n  \r\n", b"\xef\xbb\xbf\n\n", b",,,\n,,,\n"])
def test_a_file_of_blank_lines_is_called_empty(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "blank.csv"
    path.write_bytes(content)
    (tmp_path / "work").mkdir()
    with pytest.raises(ingest.IngestProblem) as caught:
        ingest.ingest(path, DatasetKind.VEHICLES, tmp_path / "work")
    assert caught.value.code == "empty"


def test_a_record_without_a_key_is_named_by_its_row_in_words() -> None:
    from bangfu.matching.templatetags.matching_pages import record

    with translation.override("en"):
        assert record("row 12") == "row 12 of the file"
    with translation.override("zh-hans"):
        assert record("row 12") != "row 12"
    assert record("云L12345") == "云L12345" and record("row 12a") == "row 12a"


def test_rejected_rows_quote_formula_like_text_as_text(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    rows = [["身份证号", "姓名", "号牌号码", "车辆类型"], ["=HYPERLINK(1,2)", "张三", "云A1", "小型轿车"]]
    rows += [
        [build_resident_id("532923", dt.date(1980, 1, i + 1), 1, False), "李四", f"云A{i}", "小型轿车"]
        for i in range(9)
    ]
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    (tmp_path / "work").mkdir()
    result = ingest.ingest(path, DatasetKind.VEHICLES, tmp_path / "work")
    text = result.rejected.read_text(encoding="utf-8")
    assert "'=HYP" in text and ",=" not in text


def test_a_nul_character_in_a_text_column_rejects_the_row_by_name(tmp_path: Path) -> None:
    """PostgreSQL's text (and JSON) cannot hold the NUL character: a finding quoting the record's
    key, the name or the vehicle type would stop the whole recheck. The row is rejected at import,
    naming the column; a Parquet file carries the character as it is, a CSV file too."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    keys = ["NUL\x00MID", "云N1\x00\x00", "云A1", "云A2", "云A3", "云A4", "云A5", "云A6"]
    names = ["张三", "张三", "李\x00四", "张三", "张三", "张三", "张三", "张三"]
    types = ["小型轿车", "小型轿车", "小型轿车", "小型\x00轿车", "小型轿车", "小型轿车", "小型轿车", "小型轿车"]
    table = pa.table({"身份证号": IDS + IDS[:2], "姓名": names, "号牌号码": keys, "车辆类型": types})
    pq.write_table(table, tmp_path / "v.parquet")
    result = _ingest(tmp_path / "v.parquet", DatasetKind.VEHICLES, tmp_path)
    key, name, kind = (
        f"{c} contains a NUL character, which cannot be stored" for c in ("号牌号码", "姓名", "车辆类型")
    )
    assert _rejected(result) == [(1, key), (2, key), (3, name), (4, kind)]
    assert result.reasons == {key: 2, name: 1, kind: 1}
    snapshot = duckdb.connect().execute(f"SELECT {KEY}, name, vehicle_type FROM '{result.snapshot}'").fetchall()  # noqa: S608
    assert not any("\x00" in str(v) for row in snapshot for v in row)
    assert sorted(k for k, _n, _t in snapshot) == ["云A3", "云A4", "云A5", "云A6"]

    rows = [
        VEHICLES,
        [IDS[0], "张三", "A\x00B", "小型轿车"],
        *([IDS[i], "张三", f"云B{i}", "小型轿车"] for i in range(4)),
    ]
    result = _ingest(_csv(tmp_path / "nul.csv", rows), DatasetKind.VEHICLES, tmp_path)
    assert _rejected(result) == [(2, key)]


def test_a_record_key_longer_than_a_finding_keeps_is_rejected_by_name(tmp_path: Path) -> None:
    """A finding keeps 200 characters of the record's key: two longer keys alike in their first
    200 became one finding, and the key shown was not the department's. Such a row is rejected,
    naming the column; a key of 200 characters (after trimming) is taken as written."""
    from bangfu.matching.models import Finding

    limit = Finding._meta.get_field("record_key").max_length
    assert ingest.RECORD_KEY_MAX_CHARS == limit == 200
    fits, long_a, long_b = "云" * 200, "L" * 200 + "A", "L" * 200 + "B"
    rows = [VEHICLES, [IDS[0], "张三", f"  {fits}  ", "小型轿车"], [IDS[0], "张三", long_a, "小型轿车"]]
    rows += [[IDS[0], "张三", long_b, "小型轿车"], *([IDS[i], "张三", f"云B{i}", "小型轿车"] for i in range(1, 5))]
    result = _ingest(_csv(tmp_path / "long.csv", rows), DatasetKind.VEHICLES, tmp_path)
    reason = "号牌号码 is longer than 200 characters"
    assert _rejected(result) == [(3, reason), (4, reason)]
    keys = {k for (k,) in duckdb.connect().execute(f"SELECT {KEY} FROM '{result.snapshot}'").fetchall()}  # noqa: S608
    assert fits in keys and len(keys) == 5
