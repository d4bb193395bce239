"""Legacy import: cells as they are pasted and typed. Invisible characters (zero-width spaces, a
byte-order mark, no-break spaces) are not kept in any text the import keeps, and a file number is
one number however it is typed (full or half width, upper or lower case, spaces inside); the
bank card's holder (the head, the template has no column of its own) is not a second problem of
the head's name; and no problem or refusal quotes a whole overlong cell."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from bangfu.intake import imports, legacy
from bangfu.intake.tests.test_found_in_use import _both
from bangfu.intake.tests.test_legacy_import import HEADERS, _row, household_rows, xlsx
from bangfu.registry.models import BankAccount, Household, Member
from bangfu.testing.factories import new_id

pytestmark = pytest.mark.django_db


def _head(number: str, name: str, born: date, **values: Any) -> list[list[Any]]:
    return household_rows(number, members=1, 姓名=name, 身份证号=new_id("532923", born), **values)


def _issues(batch: Any) -> list[tuple[int, str, str]]:
    return list(batch.issues.values_list("row", "column", "reason"))


# --- 1. invisible characters and the forms of a file number -----------------------------------------


@pytest.mark.parametrize(
    ("numbers", "kept"),
    [
        (["Z1", "Z1\u200b", "\ufeffZ1"], "Z1"),  # a zero-width space, a byte-order mark
        (["Z1", "Z1\u00a0", "Z\u20601"], "Z1"),  # a no-break space, a word joiner
        (["Z1", "Ｚ１", "z1"], "Z1"),  # full width, lower case
        (["5329232015000123", "5329 2320 1500 0123", "５３２９２３２０１５０００１２３"], "5329232015000123"),
    ],
)
def test_one_file_number_however_it_is_typed_is_one_household(
    tree: Any, users: Any, numbers: list[str], kept: str
) -> None:
    """Three rows whose numbers look alike were three files (the unique number got round): they
    are one household, with three heads, and nothing is written."""
    rows = [
        *_head(numbers[0], "张一", date(1970, 1, 1)),
        *_head(numbers[1], "张二", date(1971, 2, 2)),
        *_head(numbers[2], "张三", date(1972, 3, 3)),
    ]
    households, _loose = _both([HEADERS, *rows])
    assert [h.file_number for h in households] == [kept]
    batch = imports.import_file(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="z.xlsx", content=xlsx(rows), commit=True
    )
    assert (batch.households_total, batch.households_created) == (1, 0)
    assert batch.issues.filter(column="与户主关系").exists()
    assert not Household.objects.exists()


def test_a_file_number_of_invisible_characters_only_is_missing(tree: Any, users: Any) -> None:
    rows = _head("\u200b\ufeff\u00a0", "张一", date(1970, 1, 1))
    batch = imports.import_file(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="z.xlsx", content=xlsx(rows), commit=True
    )
    assert _issues(batch) == [(2, "档案编号", "This field is required.")]
    assert not Household.objects.exists()


def test_a_file_number_is_kept_in_half_width_and_upper_case(tree: Any, users: Any) -> None:
    rows = _head("ｘｙ-２０１６\u200b-００１", "张一", date(1970, 1, 1))
    batch = imports.import_file(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="z.xlsx", content=xlsx(rows), commit=True
    )
    assert batch.households_created == 1, _issues(batch)
    assert list(Household.objects.values_list("file_number", flat=True)) == ["XY-2016-001"]
    guide = next(c for c in legacy.column_guide() if c["header"] == "档案编号")
    assert "half width" in guide["meaning"]  # the import page says how a file number is read


def test_no_text_the_import_keeps_has_invisible_characters(tree: Any, users: Any) -> None:
    zw = "\u200b"
    rows = household_rows(
        "Z9",
        members=1,
        姓名=f"张{zw}建国",
        住址=f"\ufeff祥云县{zw}文化路\u00a012号{zw}",
        致困原因说明=f"{zw}看病{zw}花钱",
        开户银行=f"中国{zw}工商银行\u00a0",
        银行卡号=f"6222021234567890123{zw}",
        工作单位=f"祥云县{zw}纺织厂",
        联系电话=f"138{zw}00138000",
        民族=f"汉族{zw}",
        与户主关系=f"户主{zw}",
    )
    batch = imports.import_file(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="z.xlsx", content=xlsx(rows), commit=True
    )
    assert batch.households_created == 1, _issues(batch)
    h = Household.objects.get(file_number="Z9")
    assert (h.address, h.cause_note) == ("祥云县文化路 12号", "看病花钱")
    head = Member.objects.get(household=h)
    assert (head.name, head.employer, head.ethnicity) == ("张建国", "祥云县纺织厂", "01")
    acc = BankAccount.objects.get(household=h)
    assert (acc.bank, acc.holder_name) == ("中国工商银行", "张建国")


# --- 2. the card's holder is the head: one problem, under the name ----------------------------------


@pytest.mark.parametrize("length", [100, 300_000])
def test_an_overlong_head_name_is_one_problem_under_the_name(tree: Any, users: Any, length: int) -> None:
    rows = household_rows("N1", members=1, 姓名="张" * length)
    batch = imports.import_file(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="n.xlsx", content=xlsx(rows), commit=True
    )
    assert _issues(batch) == [(2, "姓名", "The name is longer than 60 characters.")]


def test_a_blank_head_name_is_one_problem_under_the_name(tree: Any, users: Any) -> None:
    rows = household_rows("N2", members=2, 姓名="\u00a0")
    batch = imports.import_file(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="n.xlsx", content=xlsx(rows), commit=True
    )
    assert _issues(batch) == [(2, "姓名", "Enter the name.")]


# --- 3. no message quotes a whole overlong cell ------------------------------------------------------


def _with_header(extra: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append([*HEADERS, extra])
    ws.append(_row(档案编号="H1"))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_an_overlong_unknown_header_is_quoted_cut(tree: Any, users: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        imports.import_batch_create(
            actor=users["xiangyun_staff"],
            unit_id=tree["xiangyun"].pk,
            name="h.xlsx",
            content=_with_header("表" * 30_000),
        )
    (message,) = refused.value.message_dict["file"]
    assert "unknown columns: " + "表" * 39 + "…" in message
    assert len(message) < 300


def test_an_overlong_header_of_a_left_out_column_is_named_cut(tree: Any, users: Any) -> None:
    rows = household_rows("H2", members=1)
    content = xlsx([[*r, "x"] for r in rows], headers=[*HEADERS, "备注（" + "表" * 30_000 + "）"])
    batch = imports.import_file(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="h.xlsx", content=content, commit=True
    )
    assert batch.households_created == 1
    assert max(len(n) for n in batch.notes) < 300 and any("…" in n for n in batch.notes)


def test_row_problems_quote_an_overlong_value_cut(tree: Any, users: Any) -> None:
    long = "城堡" * 20_000
    rows = [
        *household_rows("V1", members=1, 住房类型=long),
        *household_rows("V2", members=1, 住房面积="4" + "," * 5000),
        *household_rows("V3", members=1, 工会=long, 身份证号=new_id("532923", date(1980, 1, 1))),
        *household_rows("V4" * 5000, members=1, 身份证号=new_id("532923", date(1981, 1, 1))),
    ]
    batch = imports.import_file(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="v.xlsx", content=xlsx(rows), commit=True
    )
    reasons = [reason for _row, _column, reason in _issues(batch)]
    assert len(reasons) >= 4
    assert all(len(r) < 300 for r in reasons), [len(r) for r in reasons]
    assert all("…" in r for r in reasons if "城堡" in r or ",,," in r)


@pytest.mark.parametrize("typed", ["1980-13-01", "2020-02-30", "2020/2/30", "20200230", "2020年2月30日"])
def test_a_day_that_does_not_exist_is_said_so_not_asked_for_in_its_own_form(typed: str) -> None:
    from bangfu.common.text import date_message

    assert date_message(typed) == f"There is no such day as {typed}: check the month and the day."
    assert date_message("5 March") == "Enter a date as YYYY-MM-DD."


def test_the_guide_names_each_disability_grade_in_the_readers_language() -> None:
    """The English guide said "一级 = 一级": the grade's word was given as its own meaning."""
    from django.utils import translation

    with translation.override("en"):
        guide = next(c for c in legacy.column_guide() if c["header"] == "残疾等级")
    assert guide["allowed"] == [
        ("一级", "Grade 1 (most severe)"),
        ("二级", "Grade 2"),
        ("三级", "Grade 3"),
        ("四级", "Grade 4"),
    ]


@pytest.mark.parametrize("typed", ["２０１６－０４－０１", "２０１６年４月１日", "２０１６／４／１"])
def test_a_date_typed_in_full_width_is_read(tree: Any, users: Any, typed: str) -> None:
    """Full-width file numbers and ID numbers were read, a full-width date refused as not YYYY-MM-DD."""
    batch = imports.import_file(
        actor=users["xiangyun_staff"],
        unit_id=tree["xiangyun"].pk,
        name="a.xlsx",
        content=xlsx(household_rows("Z7", "532923", 建档日期=typed)),
        commit=True,
    )
    assert batch.households_created == 1, _issues(batch)
    assert Household.objects.get(file_number="Z7").filed_on == date(2016, 4, 1)
