"""Legacy import of the files counties really send: a household already on file with new people,
hidden rows, totals and notes under the table, the data on a second sheet, file numbers of
another union, the columns counties add, amounts with a comma and dates with a time. Nothing is
taken or left out without a word: a row not taken is a problem naming it, and what is said of the
file as a whole is a note on the batch (page, API and command alike)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from openpyxl import Workbook

from bangfu.common import sheets
from bangfu.intake import imports, legacy
from bangfu.intake.models import ImportState
from bangfu.intake.tests.test_legacy_import import HEADERS, _row, household_rows, xlsx
from bangfu.registry.models import Household, Member
from bangfu.testing.factories import new_id
from bangfu.testing.workbooks import KINDS, workbook

pytestmark = pytest.mark.django_db


def _saved(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _reasons(batch: Any) -> list[tuple[int, str, str]]:
    return list(batch.issues.values_list("row", "file_number", "reason"))


# --- 1. a household already on file, with people the file does not have ---------------------------


def test_a_household_on_file_with_new_people_names_each_of_them(tree: Any, users: Any) -> None:
    staff, unit = users["xiangyun_staff"], tree["xiangyun"]
    head = household_rows("SPLIT-001", members=1, 姓名="钱大")
    first = imports.import_file(actor=staff, unit_id=unit.pk, name="a.xlsx", content=xlsx(head), commit=True)
    assert first.households_created == 1
    spouse = _row(
        档案编号="SPLIT-001",
        姓名="钱妻",
        与户主关系="配偶",
        身份证号=new_id("532923", date(1960, 5, 5), female=True),
        性别="女",
        月收入="900",
    )
    son = _row(
        档案编号="SPLIT-001",
        姓名="钱子",
        与户主关系="儿子",
        身份证号=new_id("532923", date(1985, 6, 6)),
        性别="男",
        月收入="3000",
    )
    batch = imports.import_file(
        actor=staff, unit_id=unit.pk, name="c.xlsx", content=xlsx([*head, spouse, son]), commit=True
    )
    reasons = _reasons(batch)
    assert [(row, number) for row, number, _r in reasons] == [(3, "SPLIT-001"), (4, "SPLIT-001")]
    assert "钱妻" in reasons[0][2] and "钱子" in reasons[1][2] and "SPLIT-001" in reasons[0][2]
    # Not "already on file (skipped)": a household with errors, nothing written.
    assert (batch.households_existing, batch.households_invalid, batch.households_valid) == (0, 1, 0)
    assert Member.objects.filter(household__file_number="SPLIT-001").count() == 1
    # The household again as it is on file: skipped, and the batch names its rows.
    same = imports.check(actor=staff, unit=unit, content=xlsx([*head, *household_rows("NEW-1", members=1)]))
    assert same.existing == 1 and not same.issues
    assert any("2" in note and "already on record" in note for note in same.notes)


def test_a_household_on_file_sent_again_with_changes_names_each_changed_cell(tree: Any, users: Any) -> None:
    """A county sends its list again with some rows brought up to date: the household is still
    skipped (the import changes no file), and each cell that says otherwise than the file is a
    problem of its row and column with both values; a cell left blank is not a difference, and
    the phone number on record is not shown."""
    staff, unit = users["xiangyun_staff"], tree["xiangyun"]
    before = household_rows("UPD-001", members=2, 联系电话="13800138000")
    first = imports.import_file(actor=staff, unit_id=unit.pk, name="a.xlsx", content=xlsx(before), commit=True)
    assert first.households_created == 1
    after = [list(r) for r in before]
    column = HEADERS.index
    after[0][column("住址")] = "祥云县祥城镇文化路14号" + "（老纺织厂宿舍区）" * 20  # 190 characters
    after[0][column("月收入")] = 1500
    after[0][column("联系电话")] = "13900139000"
    after[0][column("健康状况")] = ""  # left blank: not a difference
    after[1][column("就业状况")] = "失(无)业"  # the spouse's, blank on record
    sent = xlsx(after)
    out = imports.check(actor=staff, unit=unit, content=sent)
    assert out.existing == 1 and not out.ready
    found = sorted((i.row, i.column, i.file_number) for i in out.issues)
    assert found == [
        (2, "住址", "UPD-001"),
        (2, "月收入", "UPD-001"),
        (2, "联系电话", "UPD-001"),
        (3, "就业状况", "UPD-001"),
    ]
    said = {i.column: i.reason for i in out.issues}
    assert "“祥云县祥城镇文化路12号”" in said["住址"] and "“祥云县祥城镇文化路14号（老纺织厂宿舍区）" in said["住址"]
    assert "…”" in said["住址"] and said["住址"].endswith("change the file on its page.") and len(said["住址"]) < 500
    assert "“800”" in said["月收入"] and "“1500”" in said["月收入"]
    assert "138" not in said["联系电话"] and "139" not in said["联系电话"] and "UPD-001" in said["联系电话"]
    assert "has nothing here" in said["就业状况"] and "“Unemployed”" in said["就业状况"]
    assert any("already on record" in note and "problems say so" in note for note in out.notes)

    batch = imports.import_file(actor=staff, unit_id=unit.pk, name="b.xlsx", content=sent, commit=True)
    # Counted as on file, not as a household with errors besides.
    assert (batch.households_existing, batch.households_created, batch.households_invalid) == (1, 0, 0)
    assert sorted((row, number) for row, number, _r in _reasons(batch)) == [
        (2, "UPD-001"),
        (2, "UPD-001"),
        (2, "UPD-001"),
        (3, "UPD-001"),
    ]
    head = Member.objects.get(household__file_number="UPD-001", relationship="head")
    assert (head.monthly_income, head.phone, head.household.address) == (
        Decimal(800),
        "13800138000",
        "祥云县祥城镇文化路12号",
    )


# --- 5. file numbers of another union --------------------------------------------------------------


def test_a_file_number_of_another_union_is_a_problem_naming_nothing_of_it(tree: Any, users: Any) -> None:
    elsewhere = household_rows("D1-002", members=1, 姓名="张二") + household_rows("D1-003", members=1, 姓名="王三")
    done = imports.import_file(
        actor=users["dalishi_staff"], unit_id=tree["dalishi"].pk, name="d.xlsx", content=xlsx(elsewhere), commit=True
    )
    assert done.households_created == 2
    cadre, unit = users["xiangyun_cadre"], tree["xiangyun_g"]
    mine = [
        *household_rows("D1-002", members=1, 姓名="张二", 身份证号=elsewhere[0][HEADERS.index("身份证号")]),
        *household_rows("D1-003", members=1, 姓名="路人"),
    ]
    out = imports.check(actor=cadre, unit=unit, content=xlsx(mine))
    assert out.existing == 0 and not out.ready
    assert [(i.row, i.file_number) for i in out.issues] == [(2, "D1-002"), (3, "D1-003")]
    for issue in out.issues:
        assert "another union" in issue.reason and issue.file_number not in issue.reason
        assert tree["dalishi"].name not in issue.reason and "张二" not in issue.reason
        assert "another household" not in issue.reason


# --- 2. hidden rows and columns ---------------------------------------------------------------------


def _hidden_book(kind: str) -> bytes:
    rows = [household_rows(f"T3-{n}", members=1, 身份证号=new_id("532923", date(1964, 3, 1 + n)))[0] for n in range(5)]
    # Rows 3 and 5 hidden by a filter, the column 月收入 (X) by hand.
    return workbook(
        kind, [HEADERS, *rows], hidden_rows={3, 5}, hidden_columns={HEADERS.index("月收入") + 1}, by_filter=True
    )


@pytest.mark.parametrize("kind", KINDS)
def test_hidden_rows_are_problems_not_imported_and_a_hidden_column_is_named(tree: Any, users: Any, kind: str) -> None:
    """Alike in an .xlsx, an .xls and an .ods (the two older kinds' hidden rows were imported)."""
    content = _hidden_book(kind)
    name = f"t3.{kind}"
    rows = sheets.first_sheet_rows(content, name)
    assert rows.hidden_rows == {3, 5} and rows.column_hidden(HEADERS.index("月收入"))
    batch = imports.import_file(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name=name, content=content, commit=True
    )
    assert batch.households_created == 3 and batch.households_total == 5 and batch.households_invalid == 2
    assert [(row, number) for row, number, _r in _reasons(batch)] == [(3, "T3-1"), (5, "T3-3")]
    assert all("hidden" in reason for _row_, _n, reason in _reasons(batch))
    assert not Household.objects.filter(file_number__in=["T3-1", "T3-3"]).exists()
    assert any("月收入" in note for note in batch.notes)


# --- 3. totals and notes under the table ---------------------------------------------------------------


def test_totals_and_notes_under_the_table_are_not_households(tree: Any, users: Any) -> None:
    data = [
        *household_rows("T1-0", members=1),
        *household_rows("T1-1", members=1, 身份证号=new_id("532923", date(1961, 1, 1))),
    ]
    total = _row(档案编号="合计", 月收入=1503)
    named = _row(姓名="合 计", 月收入=1503)
    rows = [
        *data,
        total,
        named,
        [],
        ["填表人：张三    审核人：李四"],
        ["注：本表由各县区工会填报。"],
        _row(工作单位="某厂"),
    ]
    out = imports.check(actor=users["xiangyun_staff"], unit=tree["xiangyun"], content=xlsx(rows))
    assert out.households == 2 and len(out.ready) == 2 and not out.issues
    assert out.notes == ["Rows 4–5, 7–9 are totals or notes, not households: they were not read."]


# --- 4. the data on a sheet after a cover -------------------------------------------------------------


def test_the_sheet_with_the_templates_headers_is_read_and_named(tree: Any, users: Any) -> None:
    wb = Workbook()
    cover = wb.active
    assert cover is not None
    cover.title = "封面"
    cover.append(["祥云县2024年困难职工档案"])
    data = wb.create_sheet("档案")
    data.append(HEADERS)
    for r in household_rows("T4-1"):
        data.append(r)
    out = imports.check(actor=users["xiangyun_staff"], unit=tree["xiangyun"], content=_saved(wb))
    assert len(out.ready) == 1 and not out.issues
    assert any("档案" in note for note in out.notes)
    # No sheet with the headers: the sheets looked at are named.
    data.delete_rows(1)
    with pytest.raises(ValidationError) as refused:
        imports.import_batch_create(
            actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="x.xlsx", content=_saved(wb)
        )
    assert "封面, 档案" in str(refused.value)


# --- 6. the columns counties add ----------------------------------------------------------------------


def test_the_columns_counties_add_are_left_out_with_a_note_and_others_still_refuse(tree: Any, users: Any) -> None:
    rows = [[i + 1, *r, "无"] for i, r in enumerate(household_rows("T6-1"))]
    content = xlsx(rows, headers=["序号", *HEADERS, "备注（选填）"])
    batch = imports.import_file(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="t6.xlsx", content=content, commit=True
    )
    assert batch.state == ImportState.COMMITTED and batch.households_created == 1
    assert batch.notes == ["Columns not in the template were left out: 序号, 备注（选填）."]
    with pytest.raises(ValidationError) as refused:
        imports.import_batch_create(
            actor=users["xiangyun_staff"],
            unit_id=tree["xiangyun"].pk,
            name="t6b.xlsx",
            content=xlsx([[*r, "x"] for r in household_rows("T6-2")], headers=[*HEADERS, "月收人"]),
        )
    assert "月收人" in str(refused.value)


def test_notes_are_in_the_api_and_the_command(tree: Any, users: Any, client: Any, tmp_path: Any) -> None:
    rows = [[i + 1, *r] for i, r in enumerate(household_rows("T6-3"))]
    path = tmp_path / "t6.xlsx"
    path.write_bytes(xlsx(rows, headers=["序号", *HEADERS]))
    out = io.StringIO()
    call_command("intake", "--user", "xiangyun_staff", "import", str(path), "--unit", tree["xiangyun"].code, stdout=out)
    assert "序号" in out.getvalue()
    from bangfu.intake.models import ImportBatch

    client.force_login(users["xiangyun_staff"])
    batch = ImportBatch.objects.get()
    body = client.get(f"/api/v1/imports/{batch.pk}").json()
    assert body["notes"] == ["Columns not in the template were left out: 序号."]
    assert "序号" in client.get(reverse("intake:import_detail", args=[batch.pk])).content.decode()


# --- 7. amounts with a comma, dates with a time -----------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "read"),
    [("1,200", Decimal("1200.00")), ("12,345.50", Decimal("12345.50")), ("１，２００元", Decimal("1200.00"))],
)
def test_a_comma_between_thousands_is_read(typed: str, read: Decimal) -> None:
    households, _loose, _n = legacy.parse([HEADERS, *household_rows("A-1", members=1, 月收入=typed)])
    assert not households[0].issues and households[0].data.members[0].monthly_income == read


@pytest.mark.parametrize("typed", ["1,20", "12,00", "85,5", "1.200,50", "1,2,3"])
def test_any_other_comma_in_an_amount_is_refused_saying_how_to_write_it(typed: str) -> None:
    households, _loose, _n = legacy.parse([HEADERS, *household_rows("A-1", members=1, 月收入=typed, 住房面积=typed)])
    reasons = {(i.column, i.reason) for i in households[0].issues}
    assert {c for c, _r in reasons} == {"月收入", "住房面积"}
    assert all("1,200.50" in r and typed in r for _c, r in reasons)


@pytest.mark.parametrize("typed", ["2019/3/5 0:00:00", "2019-03-05 00:00:00", "2019-03-05 00:00"])
def test_a_date_with_midnight_is_the_date(typed: str) -> None:
    households, _loose, _n = legacy.parse([HEADERS, *household_rows("D-1", members=1, 建档日期=typed)])
    assert not households[0].issues and households[0].data.filed_on == date(2019, 3, 5)


@pytest.mark.parametrize("typed", ["2019-03-05 08:30:00", "2019/3/5 0:00:01"])
def test_a_date_with_another_time_is_refused(typed: str) -> None:
    households, _loose, _n = legacy.parse([HEADERS, *household_rows("D-1", members=1, 建档日期=typed)])
    assert [(i.column, i.reason) for i in households[0].issues] == [("建档日期", "Enter a date as YYYY-MM-DD.")]


@pytest.mark.parametrize("kind", KINDS)
def test_a_sheet_of_hidden_rows_only_imports_nothing_and_says_why(tree: Any, users: Any, kind: str) -> None:
    # Under a title row (rows keep their sheet numbers), the household's two rows hidden by hand.
    content = workbook(kind, [["祥云县困难职工档案"], HEADERS, *household_rows("H-1")], hidden_rows={3, 4})
    batch = imports.import_file(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name=f"h.{kind}", content=content, commit=True
    )
    assert batch.state == ImportState.VALIDATED and batch.households_valid == 0
    assert [(row, number) for row, number, _r in _reasons(batch)] == [(3, "H-1"), (4, "H-1")]


def test_a_long_file_number_is_quoted_cut_with_an_ellipsis(tree: Any, users: Any) -> None:
    """A problem kept 60 characters of a file number, cut with no sign of it: the reader could not
    tell the number in the list from the one in the file."""
    number = "X2V" + "9" * 500
    content = xlsx(household_rows(number, "532923"))
    batch = imports.import_file(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="a.xlsx", content=content, commit=False
    )
    kept = {file_number for _row, file_number, _reason in _reasons(batch)}
    assert kept == {number[:59] + "…"}
