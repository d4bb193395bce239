"""``manage.py ids check``: arguments, CSV and Excel files, exit statuses. No database."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from bangfu.common.ids import InvalidResidentId, ResidentId, build_resident_id

VALID = build_resident_id("532923", dt.date(1990, 1, 1), 12, female=False)  # 532923199001011212
VALID_X = "11010519491231002X"
BAD_CHECK = VALID[:17] + "9"
ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test"}


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def run(*args: str) -> tuple[list[dict[str, str]], str, int]:
    """Runs the command; returns the CSV rows, stderr and the exit status it would have."""
    out, err = io.StringIO(), io.StringIO()
    status = 0
    try:
        call_command("ids", *args, stdout=out, stderr=err)
    except CommandError as error:
        status = error.returncode
        err.write(str(error))
    return list(csv.DictReader(io.StringIO(out.getvalue()))), err.getvalue(), status


def test_numbers_as_arguments() -> None:
    rows, err, status = run("check", f" {VALID[:6]} {VALID[6:]}", "11010519491231002x", BAD_CHECK)
    assert status == 1
    assert "1 of 3 ID numbers are invalid" in err
    assert list(rows[0]) == ["row", "input", "id_number", "valid", "birth_date", "sex", "birthplace", "error"]
    first, second, third = rows
    assert first == {
        "row": "1",
        "input": f" {VALID[:6]} {VALID[6:]}",
        "id_number": VALID,
        "valid": "true",
        "birth_date": "1990-01-01",
        "sex": "M",
        "birthplace": "云南省大理白族自治州祥云县",
        "error": "",
    }
    assert (second["row"], second["id_number"], second["sex"]) == ("2", VALID_X, "F")
    assert (third["row"], third["valid"], third["id_number"]) == ("3", "false", "")
    assert third["error"] == "The check digit of the ID number (its 18th character) should be 2, not 9."


def test_all_valid_exits_zero() -> None:
    rows, err, status = run("check", VALID, VALID_X)
    assert status == 0
    assert [r["valid"] for r in rows] == ["true", "true"]
    assert "2 ID numbers checked, all valid" in err


def test_csv_in_gbk_finds_the_id_column_by_its_header(tmp_path: Path) -> None:
    path = tmp_path / "名单.csv"
    text = f"姓名,公民身份号码,电话\n张三,{VALID},123\n,,\n李四,{BAD_CHECK},456\n"
    path.write_bytes(text.encode("gbk"))
    rows, err, status = run("check", "--file", str(path))
    assert status == 1
    assert "column 2 (公民身份号码)" in err
    # The blank line is not reported but still counts: rows are data rows of the file.
    assert [(r["row"], r["input"], r["valid"]) for r in rows] == [("1", VALID, "true"), ("3", BAD_CHECK, "false")]


def test_csv_with_bom_and_column_by_name_or_index(tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    path.write_text(f"ID,备注\n{VALID},a\n{VALID_X},b\n", encoding="utf-8-sig")
    for column in ("ID", "id", "1"):
        rows, err, status = run("check", "--file", str(path), "--column", column)
        assert status == 0, err
        assert [r["id_number"] for r in rows] == [VALID, VALID_X]
        assert "column 1 (ID)" in err


def test_csv_without_header(tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    path.write_text(f"张三\t{VALID}\n李四\t{VALID_X}\n", encoding="utf-8")
    rows, err, status = run("check", "--file", str(path))
    assert status == 0, err
    assert [(r["row"], r["id_number"]) for r in rows] == [("1", VALID), ("2", VALID_X)]
    assert "column 2" in err


def test_excel_file(tmp_path: Path) -> None:
    path = tmp_path / "名单.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["序号", "姓名", "身份证号"])
    sheet.append([1, "张三", VALID])
    sheet.append([2, "李四", 532923199001011212])  # stored as a number: the last digits are lost
    sheet.append([3, "王五", 532923900101121])  # a 15-digit number survives as a number
    workbook.save(path)
    rows, err, status = run("check", "--file", str(path))
    assert status == 1
    assert "column 3 (身份证号)" in err
    assert [r["valid"] for r in rows] == ["true", "false", "true"]
    assert "stored as a number" in rows[1]["error"]
    assert rows[2]["id_number"] == VALID


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("check",), "Give ID numbers or --file"),
        (("check", VALID, "--file", "x.csv"), "not both"),
        (("check", VALID, "--column", "2"), "--column needs --file"),
        (("check", "--file", "/nonexistent/ids.csv"), "File not found"),
    ],
)
def test_usage_errors_exit_two(args: tuple[str, ...], message: str) -> None:
    rows, err, status = run(*args)
    assert status == 2
    assert message in err
    assert rows == []  # nothing on stdout, not even the header


def test_unknown_column_and_unreadable_files_exit_two(tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    path.write_text(f"姓名,身份证号\n张三,{VALID}\n", encoding="utf-8")
    _, err, status = run("check", "--file", str(path), "--column", "证件")
    assert status == 2
    assert "No column named 证件; the columns are: 姓名, 身份证号" in err
    _, err, status = run("check", "--file", str(path), "--column", "3")
    assert status == 2
    assert "Column 3 does not exist; the file has 2 columns" in err

    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip file")
    _, err, status = run("check", "--file", str(broken))
    assert status == 2
    assert "Cannot read" in err


def test_missing_action_is_a_usage_error() -> None:
    with pytest.raises(CommandError, match="required: ACTION"):
        call_command("ids")


def test_exit_status_and_no_traceback_from_the_command_line(tmp_path: Path) -> None:
    """Through manage.py, as an operator runs it."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "ids", "check", VALID, BAD_CHECK],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[1].startswith(f"1,{VALID},{VALID},true")
    assert "Traceback" not in result.stderr
    missing = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "ids", "check", "--file", str(tmp_path / "none.csv")],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr


def test_error_messages_are_translated() -> None:
    with pytest.raises(InvalidResidentId) as caught:
        ResidentId.parse(BAD_CHECK)
    assert caught.value.message == "The check digit of the ID number (its 18th character) should be 2, not 9."
    with translation.override("zh-hans"):
        # Chinese once the zh_Hans catalogue has the entry; the English msgid until then.
        assert caught.value.message in {
            "身份证号的校验码（第18位）应为2，而不是9。",
            "The check digit of the ID number (its 18th character) should be 2, not 9.",
        }
