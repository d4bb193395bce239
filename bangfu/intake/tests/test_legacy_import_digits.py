"""Long numbers that name something — a bank card number, a file number — typed into cells not
formatted as text: Excel keeps 15 significant digits of a number, so such a cell holds a wrong but
well-formed number. It is named, never taken (a card that pays someone else; another file)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bangfu.intake import imports, legacy
from bangfu.intake.tests.test_found_in_use import _both
from bangfu.intake.tests.test_legacy_import import HEADERS, household_rows, xlsx
from bangfu.registry.models import BankAccount, Household

MESSAGE = (
    "The number was stored as a number, so Excel kept only its first 15 digits: "
    "format the column as text and type the number again."
)


def test_a_card_number_stored_as_a_number_is_named() -> None:
    rows = household_rows("L-1")
    rows[0][HEADERS.index("银行卡号")] = 6222021234567890000.0  # 6222021234567890123 as Excel keeps it
    households, _loose = _both([HEADERS, *rows])
    issues = [(i.row, i.column, i.reason) for i in households[0].issues]
    assert issues == [(2, "银行卡号", MESSAGE)]


def test_a_file_number_stored_as_a_number_is_named_on_each_row() -> None:
    rows = household_rows("5329232015000123")  # two rows, both with the number as Excel keeps it
    at = HEADERS.index("档案编号")
    for row in rows:
        row[at] = 5329232015000120.0
    households, _loose = _both([HEADERS, *rows])
    assert [(i.row, i.column, i.reason) for i in households[0].issues] == [
        (2, "档案编号", MESSAGE),
        (3, "档案编号", MESSAGE),
    ]


@pytest.mark.parametrize("cell", [622202123456.0, 6222021234567, 532923201500012.0])
def test_numbers_of_up_to_15_digits_are_whole(cell: Any) -> None:
    rows = household_rows("L-1", members=1)
    rows[0][HEADERS.index("银行卡号")] = cell
    households, _loose = _both([HEADERS, *rows])
    assert not households[0].issues
    assert households[0].data.bank_account is not None
    assert households[0].data.bank_account.card_number == str(int(cell))


@pytest.mark.django_db
def test_the_import_keeps_nothing_of_such_a_household(tree: Any, users: Any) -> None:
    rows = household_rows("L-0070")
    rows[0][HEADERS.index("银行卡号")] = 6222021234567890000
    good = household_rows("L-0071")
    batch = imports.import_file(
        actor=users["xiangyun_staff"],
        unit_id=tree["xiangyun"].pk,
        name="a.xlsx",
        content=xlsx([*rows, *good]),
        commit=True,
    )
    assert batch.households_created == 1
    assert list(Household.objects.values_list("file_number", flat=True)) == ["L-0071"]
    assert BankAccount.objects.count() == 1
    assert any(i.column == "银行卡号" and i.reason == legacy.lost_digits_message() for i in batch.issues.all())


@pytest.mark.django_db
def test_names_are_imported_without_zero_width_characters(tree: Any, users: Any) -> None:
    """A name pasted from a chat with a zero-width space is kept as it shows, so a search finds it."""
    rows = household_rows("L-0072", 姓名="张\u200b建国\u3000")
    batch = imports.import_file(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="a.xlsx", content=xlsx(rows), commit=True
    )
    assert batch.households_created == 1
    assert sorted(Household.objects.get().members.values_list("name", flat=True)) == ["张建国", "李秀英"]


@pytest.mark.django_db
def test_a_file_number_merged_down_a_households_rows_keeps_its_members(tree: Any, users: Any) -> None:
    """A paper-era sheet merges the file number over the household's rows: only the first row held
    it, and the household was written with its head alone."""
    import io

    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    rows = household_rows("L-0073", members=2)
    at = HEADERS.index("档案编号")
    rows[1][at] = None
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADERS)
    for r in rows:
        ws.append(r)
    column = get_column_letter(at + 1)
    ws.merge_cells(f"{column}2:{column}3")
    out = io.BytesIO()
    wb.save(out)
    batch = imports.import_file(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="a.xlsx", content=out.getvalue(), commit=True
    )
    assert batch.households_created == 1
    assert Household.objects.get().members.count() == 2


@pytest.mark.django_db
def test_a_file_number_of_another_household_is_named_not_skipped(tree: Any, users: Any) -> None:
    """A number already in the registry is skipped when the file on record is this household (an
    import done before); when none of the row's people are on it, the number is another
    household's, and the row says so instead of vanishing into "already filed"."""
    from bangfu.testing.factories import new_id

    staff, unit = users["xiangyun_staff"], tree["xiangyun"].pk
    first = household_rows("L-0080")
    imports.import_file(actor=staff, unit_id=unit, name="a.xlsx", content=xlsx(first), commit=True)
    other = household_rows("L-0080", members=1, 姓名="赵四", 身份证号=new_id("532923", dt.date(1980, 1, 2)))
    batch = imports.import_file(actor=staff, unit_id=unit, name="b.xlsx", content=xlsx(other), commit=True)
    assert batch.households_existing == 0 and batch.households_created == 0
    [issue] = batch.issues.all()
    assert (issue.row, issue.column) == (2, "档案编号") and "another household's" in issue.reason
    same = imports.import_file(
        actor=staff, unit_id=unit, name="c.xlsx", content=xlsx([*first, *household_rows("L-0081")]), commit=True
    )
    assert same.households_existing == 1 and same.households_created == 1 and not same.issues.exists()
