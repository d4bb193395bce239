"""Legacy import: a file in the template's layout is checked row by row, previewed and committed —
every valid household or none; problems name the row and column; bad files are refused whole;
the same file twice changes nothing."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from openpyxl import Workbook, load_workbook

from bangfu.common.audit import audit_verify
from bangfu.common.models import AuditEntry
from bangfu.intake import imports, legacy
from bangfu.intake.models import ImportBatch, ImportState
from bangfu.registry.models import Household, Member, TimelineEvent
from bangfu.testing.factories import new_id

pytestmark = pytest.mark.django_db
HEADERS = [c.header for c in legacy.COLUMNS]


def _row(**values: Any) -> list[Any]:
    return [values.get(h, "") for h in HEADERS]


def household_rows(number: str, unit_code: str = "", members: int = 2, **head: Any) -> list[list[Any]]:
    values = {
        "档案编号": number,
        "工会": unit_code,
        "困难类别": "低保户",
        "主要致困原因": "患重特大疾病",
        "次要致困原因": "3、9",
        "住址": "祥云县祥城镇文化路12号",
        "住房类型": "承租单位公房",
        "住房面积": 46.5,
        "建档日期": date(2016, 4, 1),
        "开户银行": "中国工商银行",
        "银行卡号": "6222021234567890123",
        "姓名": "张建国",
        "与户主关系": "户主",
        "身份证号": new_id("532923", date(1972, 3, 9)),
        "民族": "汉族",
        "健康状况": "恶性肿瘤",
        "就业状况": "下(待)岗",
        "月收入": 800,
    }
    values.update(head)
    rows = [_row(**values)]
    if members > 1:
        rows.append(
            _row(
                档案编号=number,
                姓名="李秀英",
                与户主关系="配偶",
                身份证号=new_id("532923", date(1974, 8, 2), female=True),
                民族="彝族",
                性别="女",
                月收入="1200.00",
            )
        )
    return rows


def xlsx(rows: list[list[Any]], headers: list[str] | None = None) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(headers or HEADERS)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_template_has_every_header_and_a_sample_that_imports(tree: Any, users: Any) -> None:
    content = legacy.template_xlsx()
    ws = load_workbook(io.BytesIO(content)).active
    assert [c.value for c in ws[1]] == HEADERS
    batch = imports.import_file(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="t.xlsx", content=content, commit=True
    )
    assert batch.state == ImportState.COMMITTED, list(batch.issues.values_list("row", "column", "reason"))
    assert batch.households_created == 1 and batch.persons_valid == 2


def test_valid_households_are_written_with_timeline_and_one_audit_entry(tree: Any, users: Any) -> None:
    staff = users["xiangyun_staff"]
    content = xlsx(household_rows("L-0001") + household_rows("L-0002", unit_code=tree["xiangyun_g"].code, members=1))
    audits = AuditEntry.objects.count()
    batch = imports.import_batch_create(actor=staff, unit_id=tree["xiangyun"].pk, name="old.xlsx", content=content)
    batch.refresh_from_db()
    assert batch.state == ImportState.VALIDATED
    assert (batch.households_total, batch.households_valid, batch.persons_valid) == (2, 2, 3)
    assert not Household.objects.filter(file_number__startswith="L-").exists()  # preview writes nothing

    batch = imports.import_batch_commit(actor=staff, batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.state == ImportState.COMMITTED and batch.households_created == 2
    h = Household.objects.get(file_number="L-0001")
    assert h.unit_id == tree["xiangyun"].pk and h.category == "legacy_dibao" and h.main_cause == 6
    assert h.secondary_causes == [3, 9] and h.state == "active" and str(h.housing_area) == "46.50"
    assert h.members_living_together == 2 and h.head_monthly_income == 800
    assert list(h.members.values_list("name", "relationship", "sex", "ethnicity")) == [
        ("张建国", "head", "M", "01"),
        ("李秀英", "spouse", "F", "07"),
    ]
    assert h.members.get(relationship="head").name_pinyin == "zhangjianguo"
    assert h.bank_account.card_masked.endswith("0123")
    assert Household.objects.get(file_number="L-0002").unit_id == tree["xiangyun_g"].pk
    assert TimelineEvent.objects.filter(household=h).count() == 1
    assert AuditEntry.objects.count() == audits + 1
    assert audit_verify() is None


def test_problems_name_row_column_and_reason_and_only_valid_households_are_written(tree: Any, users: Any) -> None:
    staff = users["xiangyun_staff"]
    bad_id = household_rows("L-0003", 身份证号="532923197203091230")  # wrong check digit
    bad_code = household_rows("L-0004", 住房类型="城堡")
    no_head = household_rows("L-0005", 与户主关系="子")
    foreign_unit = household_rows("L-0006", 工会=tree["dalishi_g"].code)
    content = xlsx(household_rows("L-0007") + bad_id + bad_code + no_head + foreign_unit)
    batch = imports.import_batch_create(actor=staff, unit_id=tree["xiangyun"].pk, name="mixed.xlsx", content=content)
    batch.refresh_from_db()
    assert (batch.households_valid, batch.households_invalid) == (1, 4)
    issues = {(i.row, i.column, i.file_number) for i in batch.issues.all()}
    assert (4, "身份证号", "L-0003") in issues
    assert (6, "住房类型", "L-0004") in issues
    assert (8, "与户主关系", "L-0005") in issues
    assert (10, "工会", "L-0006") in issues
    reasons = " ".join(batch.issues.values_list("reason", flat=True))
    assert "城堡" in reasons and "check" in reasons.lower()

    imports.import_batch_commit(actor=staff, batch_id=batch.pk)
    assert list(Household.objects.filter(file_number__startswith="L-").values_list("file_number", flat=True)) == [
        "L-0007"
    ]
    body, ctype = imports.error_report(actor=staff, batch_id=batch.pk, fmt="csv")
    assert ctype.startswith("text/csv") and "L-0004" in body.decode("utf-8-sig")
    body, _ctype = imports.error_report(actor=staff, batch_id=batch.pk, fmt="xlsx")
    report = load_workbook(io.BytesIO(body)).active
    assert report.max_row == 1 + batch.issues_count


def test_a_person_on_an_open_file_or_twice_in_the_file_is_refused(tree: Any, users: Any) -> None:
    staff = users["xiangyun_staff"]
    first = household_rows("L-0010", members=1)
    imports.import_file(actor=staff, unit_id=tree["xiangyun"].pk, name="a.xlsx", content=xlsx(first), commit=True)
    same_person = household_rows("L-0011", members=1, 身份证号=first[0][HEADERS.index("身份证号")])
    batch = imports.import_file(
        actor=staff, unit_id=tree["xiangyun"].pk, name="b.xlsx", content=xlsx(same_person), commit=False
    )
    assert batch.households_valid == 0
    assert "L-0010" in batch.issues.get().reason  # the registry's own message names the open file
    twice = household_rows("L-0012", members=1)
    twice2 = household_rows("L-0013", members=1, 身份证号=twice[0][HEADERS.index("身份证号")])
    batch = imports.import_file(
        actor=staff, unit_id=tree["xiangyun"].pk, name="c.xlsx", content=xlsx(twice + twice2), commit=False
    )
    assert batch.households_valid == 1 and batch.issues.get().row == 3


def test_the_same_file_again_changes_nothing(tree: Any, users: Any) -> None:
    staff = users["xiangyun_staff"]
    content = xlsx(household_rows("L-0020"))
    one = imports.import_file(actor=staff, unit_id=tree["xiangyun"].pk, name="x.xlsx", content=content, commit=True)
    again = imports.import_file(actor=staff, unit_id=tree["xiangyun"].pk, name="x.xlsx", content=content, commit=True)
    assert again.pk == one.pk and again.state == ImportState.COMMITTED
    # The same households in another file: skipped by file number.
    other = xlsx([*household_rows("L-0020"), *household_rows("L-0021", members=1)])
    batch = imports.import_file(actor=staff, unit_id=tree["xiangyun"].pk, name="y.xlsx", content=other, commit=True)
    assert (batch.households_existing, batch.households_created) == (1, 1)
    assert Household.objects.filter(file_number="L-0020").count() == 1
    assert Member.objects.filter(household__file_number="L-0020").count() == 2


def test_commit_is_all_or_nothing(tree: Any, users: Any, monkeypatch: Any) -> None:
    staff = users["xiangyun_staff"]
    batch = imports.import_file(
        actor=staff,
        unit_id=tree["xiangyun"].pk,
        name="z.xlsx",
        content=xlsx(household_rows("L-0030") + household_rows("L-0031")),
        commit=False,
    )
    real = imports._insert

    def broken(model: Any, rows: Any) -> None:
        if model is TimelineEvent:
            from django.db import IntegrityError

            raise IntegrityError("simulated")
        real(model, rows)

    monkeypatch.setattr(imports, "_insert", broken)
    batch = imports.import_batch_commit(actor=staff, batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.state == ImportState.VALIDATED and batch.message
    assert not Household.objects.filter(file_number__in=["L-0030", "L-0031"]).exists()
    assert not Member.objects.filter(name="李秀英", household__file_number__startswith="L-003").exists()


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"", "empty"),
        (xlsx([["x"]])[:1500], "truncated"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2000, "password"),
        (b"name,id\n", "not an Excel"),
    ],
)
def test_unreadable_files_are_refused_with_a_specific_message(
    tree: Any, users: Any, content: bytes, needle: str
) -> None:
    with pytest.raises(ValidationError) as err:
        imports.import_batch_create(
            actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="f.xlsx", content=content
        )
    assert needle in str(err.value)
    assert not ImportBatch.objects.exists()


def test_wrong_headers_name_the_missing_and_unknown_columns(tree: Any, users: Any) -> None:
    headers = [h for h in HEADERS if h != "身份证号"] + ["备注栏"]
    with pytest.raises(ValidationError) as err:
        imports.import_batch_create(
            actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="h.xlsx", content=xlsx([], headers)
        )
    assert "身份证号" in str(err.value) and "备注栏" in str(err.value)
    assert not ImportBatch.objects.exists()


def test_out_of_jurisdiction_union_and_batch(tree: Any, users: Any) -> None:
    from django.http import Http404

    content = xlsx(household_rows("L-0040"))
    with pytest.raises(ValidationError):
        imports.import_batch_create(
            actor=users["dalishi_staff"], unit_id=tree["xiangyun"].pk, name="a", content=content
        )
    batch = imports.import_batch_create(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="a", content=content
    )
    with pytest.raises(Http404):
        imports.import_batch_commit(actor=users["dalishi_staff"], batch_id=batch.pk)


def test_large_file_runs_as_a_background_task(
    tree: Any, users: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.BANGFU_INTAKE_IMPORT_BACKGROUND_KB = 0
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        batch = imports.import_batch_create(
            actor=users["xiangyun_staff"],
            unit_id=tree["xiangyun"].pk,
            name="big.xlsx",
            content=xlsx(household_rows("L-0050")),
        )
    assert len(callbacks) == 1
    batch.refresh_from_db()
    assert batch.state == ImportState.VALIDATED and batch.percent == 100


def test_cli_checks_and_commits(tree: Any, users: Any, tmp_path: Any) -> None:
    path = tmp_path / "old.xlsx"
    path.write_bytes(xlsx(household_rows("L-0060") + household_rows("L-0061", 住房类型="城堡")))
    out = io.StringIO()
    call_command("intake", "--user", "xiangyun_staff", "import", str(path), "--unit", tree["xiangyun"].code, stdout=out)
    assert "1 valid, 1 with errors" in out.getvalue() and not Household.objects.filter(file_number="L-0060").exists()
    report = tmp_path / "errors.csv"
    call_command(
        "intake", "--user", "xiangyun_staff", "import", str(path), "--unit", tree["xiangyun"].code, "--commit",
        "--report", str(report), stdout=out,
    )  # fmt: skip
    assert Household.objects.filter(file_number="L-0060").exists()
    assert "城堡" in report.read_text(encoding="utf-8-sig")
