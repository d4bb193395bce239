"""Legacy import: a file in the template's layout is checked row by row, previewed and committed —
every valid household or none; problems name the row and column; bad files are refused whole;
the same file twice changes nothing."""

from __future__ import annotations

import io
import itertools
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
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


def test_template_has_every_header_and_a_sample_that_imports_only_when_copied(tree: Any, users: Any) -> None:
    """The sample household is on a sheet of its own: the template imported as it is writes
    nothing (a sample left above a cadre's rows was imported as a household); its rows copied
    onto the first sheet import."""
    content = legacy.template_xlsx()
    book = load_workbook(io.BytesIO(content))
    first, sample = book.worksheets
    assert [c.value for c in first[1]] == HEADERS and first.max_row == 1
    assert sample.title == legacy.SAMPLE_SHEET and [c.value for c in sample[1]] == HEADERS
    staff, unit = users["xiangyun_staff"], tree["xiangyun"]
    with pytest.raises(ValidationError) as refused:
        imports.import_file(actor=staff, unit_id=unit.pk, name="t.xlsx", content=content, commit=True)
    assert "only the headers" in str(refused.value) and legacy.SAMPLE_SHEET in str(refused.value)
    assert not Household.objects.exists() and not ImportBatch.objects.exists()
    rows = [[c.value if c.value is not None else "" for c in r] for r in sample.iter_rows(min_row=2)]
    batch = imports.import_file(actor=staff, unit_id=unit.pk, name="s.xlsx", content=xlsx(rows), commit=True)
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


def test_full_width_amounts_and_areas_and_their_units_are_read(tree: Any, users: Any) -> None:
    """A county's file typed in full-width mode: ４６．５ (the full-width point too), １，２００元."""
    staff = users["xiangyun_staff"]
    rows = household_rows("L-0031", 住房面积="４６．５㎡", 月收入="１，２００元")
    batch = imports.import_batch_create(actor=staff, unit_id=tree["xiangyun"].pk, name="fw.xlsx", content=xlsx(rows))
    batch = imports.import_batch_commit(actor=staff, batch_id=batch.pk)
    h = Household.objects.get(file_number="L-0031")
    assert str(h.housing_area) == "46.50" and h.head_monthly_income == 1200


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
    rows = household_rows("L-0020")
    content = xlsx(rows)
    one = imports.import_file(actor=staff, unit_id=tree["xiangyun"].pk, name="x.xlsx", content=content, commit=True)
    again = imports.import_file(actor=staff, unit_id=tree["xiangyun"].pk, name="x.xlsx", content=content, commit=True)
    assert again.pk == one.pk and again.state == ImportState.COMMITTED
    # The same households in another file: skipped by file number (the file on record holds them).
    other = xlsx([*rows, *household_rows("L-0021", members=1)])
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

    def broken(model: Any, rows: Any, *args: Any) -> None:
        if model is TimelineEvent:
            from django.db import IntegrityError

            raise IntegrityError("simulated")
        real(model, rows, *args)

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
        # an .xlsx saved with a password: an OLE container holding an EncryptedPackage stream
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le") + b"\0" * 2000, "password"),
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
    assert "1 files opened." in out.getvalue()  # checked before, committed now
    again = io.StringIO()
    call_command(
        "intake", "--user", "xiangyun_staff", "import", str(path), "--unit", tree["xiangyun"].code, "--commit",
        stdout=again,
    )  # fmt: skip
    assert "was uploaded before" in again.getvalue() and "files opened" not in again.getvalue()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--report", "/nonexistent/dir/r.csv"], "The report cannot be written to"),
        (["--report", "{tmp}/r.pdf"], "The report is a .csv or an .xlsx file"),
        (["--user", "nobody"], "No active user is named nobody"),
        (["--file", "{tmp}/missing.xlsx"], "No file at"),
    ],
)
def test_cli_refuses_what_it_cannot_do_before_importing_anything(
    tree: Any, users: Any, tmp_path: Any, args: list[str], said: str
) -> None:
    """A report path that cannot be written was found after the commit (a traceback, the files
    already opened); a user that does not exist was told to name one."""
    from django.core.management.base import CommandError

    path = tmp_path / "old.xlsx"
    path.write_bytes(xlsx(household_rows("L-0062")))
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    user = args[1] if args[0] == "--user" else "xiangyun_staff"
    target = args[1] if args[0] == "--file" else str(path)
    extra = args if args[0] == "--report" else []
    with pytest.raises(CommandError) as caught:
        call_command("intake", "--user", user, "import", target, "--unit", tree["xiangyun"].code, "--commit", *extra)
    assert said in str(caught.value)
    assert not Household.objects.exists()


# --- the fast paths equal the plain ones --------------------------------------------------------------

POLYPHONIC_SURNAME_NAMES = [
    "单雄信", "单田芳", "曾国藩", "曾志伟", "区志强", "仇英", "解缙", "查良镛", "朴树", "盖聂",
    "乐嘉", "尉迟恭", "尉缭", "万俟卨", "长孙无忌", "澹台灭明", "覃建国", "繁漪", "种师道", "秘书华",
    "黑建平", "重阳", "缪建华", "翟秀英", "单于", "区", "曾", "李银行", "王长江", "张行",
    "阿依古丽·买买提", "Tom张", "张 三", "张三3", "𠮷建国", "李秀英", "欧阳娜娜", "司马光", "诸葛亮", "上官婉儿",
]  # fmt: skip


def test_fast_pinyin_equals_pypinyin_on_names() -> None:
    import random

    from bangfu.registry.pinyin import name_pinyin, name_pinyin_reference
    from bangfu.registry.services import name_pinyin as service_pinyin

    rng = random.Random(5)
    common = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏单区仇解查朴盖乐尉"
    given = "建国秀英明华丽军伟芳敏静强磊洋艳勇杰娟涛超霞平刚桂兰玉梅红春燕海波云鹏飞文志东长行重乐和朝"
    names = POLYPHONIC_SURNAME_NAMES + [
        rng.choice(common) + "".join(rng.choice(given) for _ in range(rng.choice([1, 2, 3]))) for _ in range(3000)
    ]
    # Any character of the basic block, in names of one to four characters.
    block = [chr(c) for c in range(0x4E00, 0x9FA6)]
    names += ["".join(rng.choice(block) for _ in range(rng.randint(1, 4))) for _ in range(3000)]
    for name in names:
        assert name_pinyin(name) == name_pinyin_reference(name), name
        assert service_pinyin(name) == name_pinyin_reference(name), name
    assert name_pinyin("单雄信") == ("danxiongxin", "dxx")  # pypinyin's default reading, as before
    assert name_pinyin("长孙无忌") == ("zhangsunwuji", "zswj")  # a phrase: pypinyin's phrase reading


def test_batch_hash_and_encryption_equal_the_single_ones() -> None:
    from bangfu.common import crypto

    values = [new_id() for _ in range(50)] + ["6222021234567890123", "", "张三"]
    assert crypto.keyed_hash_many(values) == [crypto.keyed_hash(v) for v in values]
    sealed = crypto.encrypt_many(values)
    assert [crypto.decrypt(s) for s in sealed] == values
    assert len({s[:20] for s in sealed}) == len(values)  # a fresh nonce each


def _messy_sheet() -> list[list[Any]]:
    first = household_rows("M-0001")
    first[1][HEADERS.index("住房类型")] = "城堡"  # a household cell on a member's row is read too
    second = household_rows(
        "M-0002", 次要致困原因="3、火灾、9", 住房面积="四十", 建档日期="2016/13/01", 是否农民工="也许"
    )
    second[1][HEADERS.index("月收入")] = "abc"
    second[1][HEADERS.index("民族")] = "火星族"
    third = household_rows("M-0003", members=1, 是否农民工=True, 残疾等级=1, 残疾类别="肢体")
    fourth = household_rows("M-0004", members=1, 是否农民工=1.0, 月收入=1200.5, 建档日期="20160401")
    no_number = household_rows("", members=1)
    blank: list[list[Any]] = [[""] * len(HEADERS), [None] * len(HEADERS)]
    zero_row = _row(档案编号="M-0005", 姓名="王五", 与户主关系="户主", 月收入=0)
    # A member listed before the head: the household fields come from the head's row.
    before_head = household_rows("M-0006")
    return [list(HEADERS), *first, *second, *blank, third[0], *no_number, fourth[0], zero_row, *before_head[::-1]]


def test_the_column_parse_equals_the_row_parse() -> None:
    rows = _messy_sheet()
    fast = legacy.parse(iter(rows))
    plain = legacy.parse_by_row(iter(rows))
    assert fast == plain
    households, loose, count = fast
    assert count == len(rows) - 3 and len(loose) == 1
    issues = {(i.row, i.column) for h in households for i in h.issues}
    assert (3, "住房类型") in issues and (5, "月收入") in issues and (5, "民族") in issues
    assert households[-1].data.members[0].relationship == "spouse" and households[-1].data.address


def test_fast_id_numbers_equal_parse() -> None:
    import datetime as dt

    from bangfu.common.ids import InvalidResidentId, ResidentId, build_resident_id
    from bangfu.intake import fastcheck

    today = fastcheck.Today.now()
    good = [
        build_resident_id("532923", date(1960 + i % 60, 1 + i % 12, 1 + i % 28), i % 100, i % 2 == 0)
        for i in range(300)
    ]
    bad = [
        good[0][:-1] + ("0" if good[0][-1] != "0" else "1"),  # check digit
        "532923197213091234", "532923197202301234", "999999197203091234", "110101180001011234",
        good[1].lower(), " " + good[2], good[3][:15], "53292319720309123", "5329231972030912345",
        "5329X3197203091234", "532923" + (today.shanghai + dt.timedelta(days=1)).strftime("%Y%m%d") + "1234",
    ]  # fmt: skip
    for raw in good + bad:
        try:
            expected: str | None = ResidentId.parse(raw).value
        except InvalidResidentId:
            expected = None
        fast = fastcheck.resident_id(raw, today)
        assert fast is None or fast.value == expected, raw  # a yes is always parse's yes
        if raw in good:
            assert fast is not None and fast == ResidentId.parse(raw)


def test_fast_household_check_only_says_yes_when_the_registry_does(tree: Any) -> None:
    from dataclasses import replace

    from bangfu.intake import fastcheck
    from bangfu.registry.inputs import BankAccountInput
    from bangfu.registry.validation import check_household
    from bangfu.testing.factories import household_input

    today = fastcheck.Today.now()
    base = household_input(tree["xiangyun"], members=2)
    base = replace(base, incomes=[], rigid_expenses=[], homes=[], vehicles=[], business_roles=[])  # not in a sheet
    base.bank_account = BankAccountInput(bank="中国工商银行", holder_name="张建国", card_number="6222 0212 3456 7890")
    head, spouse = base.members[0], base.members[1]
    members_variants: list[dict[str, Any]] = [
        {"name": " "}, {"name": "\u200b"}, {"name": "·"}, {"name": "-李四"}, {"name": "·李四"}, {"name": "张" * 61},
        {"relationship": "boss"},
        {"ethnicity": ""}, {"sex": "X"},
        {"sex": "F" if head.sex != "F" else "M"}, {"health": "flu"}, {"work_status": "astronaut"},
        {"disability_grade": 2}, {"disability_grade": 2, "disability_type": "physical"}, {"deceased": True},
        {"monthly_income": Decimal("-1")}, {"monthly_income": Decimal("0.001")}, {"monthly_income": Decimal("NaN")},
        {"monthly_income": Decimal("2000000")}, {"phone": "138-0013 8000"}, {"phone": "call me"},
        {"id_number": head.id_number[:-1] + "0"}, {"id_number": head.id_number.lower()},
        {"id_number": spouse.id_number}, {"birth_date": date(1900, 1, 1)}, {"enrolment_year": 1800},
        {"work_start_date": date(2999, 1, 1)}, {"id_number": "110101190001011234"},
    ]  # fmt: skip
    household_variants: list[dict[str, Any]] = [
        {"category": "rich"}, {"category": ""}, {"housing_type": ""}, {"address": "  "}, {"tier": "galactic"},
        {"housing_area": Decimal("5001")}, {"housing_area": Decimal("-1")}, {"filed_on": date(2999, 1, 1)},
        {"main_cause": None}, {"main_cause": 99}, {"secondary_causes": [1, 2, 3, 4]}, {"secondary_causes": [3, 3]},
        {"secondary_causes": [6]}, {"secondary_causes": [10]}, {"secondary_causes": [10], "cause_note": "火灾"},
        {"main_cause": 10}, {"unit_id": None}, {"members": []}, {"state": "gone"},
        {"bank_account": BankAccountInput(bank="", holder_name="张建国", card_number="6222021234567890")},
        {"bank_account": BankAccountInput(bank="工行", holder_name="张建国", card_number="62220212")},
        {"bank_account": None},
    ]  # fmt: skip
    # Text one character past each column's limit (the registry's limits: a field missing from
    # the fast check would be a wrong yes here).
    from bangfu.registry.validation import BANK_TEXT, HOUSEHOLD_TEXT, MEMBER_TEXT

    members_variants += [{name: "长" * (limit + 1)} for name, limit in MEMBER_TEXT.items()]
    household_variants += [{name: "长" * (limit + 1)} for name, limit in HOUSEHOLD_TEXT.items()]
    household_variants += [
        {"bank_account": replace(base.bank_account, **{name: "长" * (limit + 1)})} for name, limit in BANK_TEXT.items()
    ]
    cases = [base]
    for change in members_variants:
        for i in (0, 1):
            members = [replace(m) for m in base.members]
            members[i] = replace(members[i], **change)
            cases.append(replace(base, members=members))
    cases += [replace(base, **change) for change in household_variants]
    cases.append(replace(base, members=[replace(m, relationship="head") for m in base.members]))
    accepted = 0
    for data in cases:
        errors, slow = check_household(data)
        fast = fastcheck.accept(data, today)
        if fast is not None:
            accepted += 1
            assert not errors.errors, (data, errors.errors)
            assert fastcheck.same(fast, slow)
    assert fastcheck.accept(base, today) is not None and accepted > 5


def test_a_wrong_yes_of_the_fast_check_is_caught_by_the_sample(tree: Any, users: Any, monkeypatch: Any) -> None:
    from bangfu.intake import fastcheck

    real = fastcheck.accept
    calls = []

    def lenient(data: Any, today: Any) -> Any:
        calls.append(data)
        bad = replace_housing(data)
        return real(bad, today)

    def replace_housing(data: Any) -> Any:
        from dataclasses import replace

        return replace(data, housing_type="commercial")  # vouches as if the housing type were right

    monkeypatch.setattr(fastcheck, "accept", lenient)
    content = xlsx(household_rows("L-0070", 住房类型="城堡") + household_rows("L-0071"))
    batch = imports.import_batch_create(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="s", content=content
    )
    batch.refresh_from_db()
    assert calls and (batch.households_valid, batch.households_invalid) == (1, 1)
    assert {(i.row, i.column) for i in batch.issues.all()} == {(2, "住房类型")}


def test_the_one_pass_import_reads_and_checks_the_file_once(tree: Any, users: Any, monkeypatch: Any) -> None:
    opened: list[int] = []
    parsed: list[int] = []
    real_open, real_parse = legacy.open_rows, legacy.read_sheet

    def counted_open(*args: Any, **kwargs: Any) -> Any:
        opened.append(1)
        return real_open(*args, **kwargs)

    def counted_parse(*args: Any, **kwargs: Any) -> Any:
        parsed.append(1)
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(legacy, "open_rows", counted_open)
    monkeypatch.setattr(legacy, "read_sheet", counted_parse)
    content = xlsx(household_rows("L-0080") + household_rows("L-0081", 住房类型="城堡"))
    batch = imports.import_file(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="p.xlsx", content=content, commit=True
    )
    assert (len(opened), len(parsed)) == (1, 1)
    assert batch.state == ImportState.COMMITTED and batch.households_created == 1 and batch.validated_at
    assert {(i.row, i.column) for i in batch.issues.all()} == {(4, "住房类型")}
    assert Household.objects.filter(file_number="L-0080").exists()
    h = Household.objects.get(file_number="L-0080")
    assert h.members.count() == 2 and h.members.filter(on_open_file=True).count() == 2
    assert all(m.id_cipher.startswith("v1:") and len(m.id_hash) == 32 for m in h.members.all())
    # Nothing valid: the one pass leaves the batch checked, with its problems.
    bad = imports.import_file(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="q.xlsx",
        content=xlsx(household_rows("L-0082", 住房类型="城堡")), commit=True,
    )  # fmt: skip
    assert bad.state == ImportState.VALIDATED and bad.households_valid == 0 and bad.issues_count == 1


def test_distinct_cells_are_read_once_whatever_their_type() -> None:
    """Columns of one number type are read per distinct cell; True, 1 and 1.0 in one column are
    still read as themselves; equal lists are not shared between households."""
    rows: list[list[Any]] = [list(HEADERS)]
    incomes: list[Any] = [800, 800.0, "800", 0, None, 1200.5]
    for i, income in enumerate(incomes):
        rows += household_rows(f"D-{i:04d}", 次要致困原因="3、9", 月收入=income, 住房面积=46.5 + i % 2)
    migrant = HEADERS.index("是否农民工")
    rows[1][migrant], rows[3][migrant], rows[5][migrant], rows[7][migrant] = True, 1, 1.0, "也许"
    fast = legacy.parse(iter(rows))
    assert fast == legacy.parse_by_row(iter(rows))
    households = fast[0]
    assert [h.data.is_migrant_worker for h in households[:3]] == [True, True, True]
    causes = [h.data.secondary_causes for h in households]
    assert causes[0] == causes[1] == [3, 9] and causes[0] is not causes[1]
    assert [i.column for i in households[3].issues] == ["是否农民工"]


def test_fast_card_numbers_equal_the_registry_normal_form() -> None:
    from bangfu.intake import fastcheck
    from bangfu.registry.validation import normalise_card

    for raw in ["6222 0212-3456\u30007890\t123", "６２２２０２１２３４５６７８９０１２３", "6222-abc", "", " - "]:
        assert fastcheck.card(raw) == normalise_card(raw)


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="sequences and operator classes of PostgreSQL")
def test_fresh_ids_when_others_take_some_meanwhile() -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT setval(pg_get_serial_sequence('registry_household', 'id'), 1000)")
        assert imports._ids(Household, 3) == [1001, 1002, 1003]  # one run: sent as a range
        cur.execute("ALTER SEQUENCE registry_household_id_seq INCREMENT BY 2")  # as if others took every other
        try:
            assert imports._ids(Household, 3) == [1005, 1007, 1009]
        finally:
            cur.execute("ALTER SEQUENCE registry_household_id_seq INCREMENT BY 1")


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="sequences and operator classes of PostgreSQL")
def test_members_have_one_index_per_kind_of_look_up() -> None:
    """What an import keeps up on PostgreSQL: a name, pinyin or initials prefix (alone or with the
    union) on a pattern index, an ID hash on one plain index, the heads' phone numbers (the yearly
    review's look-up), and the constraints' own."""
    with connection.cursor() as cur:
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'registry_member'")
        indexes = {name: definition.split(" USING btree ")[1] for name, definition in cur.fetchall()}
    assert indexes == {
        "registry_member_pkey": "(id)",
        "registry_member_id_hash": "(id_hash)",
        "registry_member_name": "(name varchar_pattern_ops)",
        "registry_member_pinyin_like": "(name_pinyin varchar_pattern_ops)",
        "registry_member_initials_like": "(name_initials varchar_pattern_ops)",
        "registry_member_unit_name": "(unit_id, name varchar_pattern_ops)",
        "registry_member_unit_pinyin": "(unit_id, name_pinyin varchar_pattern_ops)",
        "registry_member_unit_initials": "(unit_id, name_initials varchar_pattern_ops)",
        "registry_member_once": "(household_id, id_hash)",
        "registry_one_head": "(household_id) WHERE ((relationship)::text = 'head'::text)",
        "registry_one_open_file_per_person": "(id_hash) WHERE on_open_file",
        "registry_member_head_phone": "(phone) WHERE ((relationship)::text = 'head'::text)",
    }


def test_a_person_given_an_open_file_while_writing_fails_the_batch_whole(
    tree: Any, users: Any, monkeypatch: Any
) -> None:
    """The database's one-open-file rule still holds when the look-up missed someone (a file opened
    between the check and the write): the batch fails with a message and nothing is written."""
    staff, unit = users["xiangyun_staff"], tree["xiangyun"]
    person = new_id("532923", date(1970, 5, 6))
    first = imports.import_file(
        actor=staff,
        unit_id=unit.pk,
        name="a.xlsx",
        content=xlsx(household_rows("R-0001", 身份证号=person)),
        commit=True,
    )
    assert first.state == ImportState.COMMITTED
    monkeypatch.setattr(imports, "_present", lambda *args, **kwargs: set())  # as if the look-up ran earlier
    content = xlsx(household_rows("R-0002") + household_rows("R-0003", 身份证号=person))
    batch = imports.import_file(actor=staff, unit_id=unit.pk, name="b.xlsx", content=content, commit=True)
    assert batch.state == ImportState.VALIDATED and "check again" in batch.message  # back to checked
    assert not Household.objects.filter(file_number__in=["R-0002", "R-0003"]).exists()


# --- the one pass checks and writes a part at a time -------------------------------------------------


def _many_households(tree: Any, person_on_file: str) -> list[list[Any]]:
    """Eleven households: good ones, bad ones, a person twice in the file (in two parts), one whose
    person is on an open file (in a late part), and text that COPY must escape."""
    rows: list[list[Any]] = []
    twice = new_id("532923", date(1981, 2, 3))
    for i in range(11):
        number = f"P-{i:04d}"
        head: dict[str, Any] = {}
        if i == 1:
            head["住房类型"] = "城堡"  # a bad code
        if i == 2:
            head["身份证号"] = twice
        if i == 8:
            head["身份证号"] = twice  # the same person again, in a later part
        if i == 9:
            head["身份证号"] = person_on_file
        if i == 5:
            head.update(住址="祥云县\t文化路\\12号\n二楼\r", 致困原因说明="说明\\N")
            head["工会"] = tree["xiangyun_g"].code
        rows += household_rows(number, members=1 + i % 2, **head)
    return rows


@pytest.mark.parametrize("parts", [(2500, 12500), (1, 2), (3, 4)])
def test_the_one_pass_writes_what_check_then_commit_writes(
    tree: Any, users: Any, monkeypatch: Any, parts: tuple[int, int]
) -> None:
    """Parsed, checked and written a few rows at a time (small parts here), the one pass gives the
    problems, counts and rows of a check followed by a commit."""
    staff, unit = users["xiangyun_staff"], tree["xiangyun"]
    person = new_id("532923", date(1969, 9, 9))
    on_file = xlsx(household_rows("P-OPEN", 身份证号=person))
    imports.import_file(actor=staff, unit_id=unit.pk, name="o.xlsx", content=on_file, commit=True)
    monkeypatch.setattr(imports, "FIRST_ROWS", parts[0])
    monkeypatch.setattr(imports, "PART_ROWS", parts[1])
    monkeypatch.setattr(imports, "WRITE_CHUNK", 2)
    monkeypatch.setattr(imports, "MEMBER_CHUNK", 3)
    content = xlsx(_many_households(tree, person))
    checked = imports.import_batch_create(actor=staff, unit_id=unit.pk, name="m.xlsx", content=content)
    checked.refresh_from_db()
    columns = ("row", "column", "file_number", "reason")
    expected_issues = list(checked.issues.order_by("row", "column").values_list(*columns))
    ImportBatch.objects.filter(pk=checked.pk).delete()

    batch = imports.import_file(actor=staff, unit_id=unit.pk, name="m.xlsx", content=content, commit=True)
    assert batch.state == ImportState.COMMITTED
    issues = list(batch.issues.order_by("row", "column").values_list(*columns))
    assert issues == expected_issues
    assert {i[2] for i in issues} == {"P-0001", "P-0008", "P-0009"}
    assert any("P-OPEN" in i[3] for i in issues)  # the registry's own message names the open file
    assert (batch.households_valid, batch.households_created, batch.households_invalid) == (8, 8, 3)
    assert (checked.households_valid, checked.persons_valid) == (batch.households_valid, batch.persons_valid)
    written = Household.objects.filter(file_number__startswith="P-0")
    assert sorted(written.values_list("file_number", flat=True)) == [
        f"P-{i:04d}" for i in range(11) if i not in {1, 8, 9}
    ]
    assert Member.objects.filter(household__in=written).count() == batch.persons_valid
    assert TimelineEvent.objects.filter(household__in=written).count() == 8
    odd = Household.objects.get(file_number="P-0005")
    # Kept as names are (a tab or a line break inside as one space, none at the ends); the
    # backslashes as typed (COPY's escapes of tabs and line breaks: test_copy_text_is_what_the_database_reads).
    assert (odd.address, odd.cause_note) == ("祥云县 文化路\\12号 二楼", "说明\\N")
    assert odd.unit_id == tree["xiangyun_g"].pk
    assert set(odd.members.values_list("unit_id", flat=True)) == {tree["xiangyun_g"].pk}
    # A household's members keep their order; ids follow the file.
    two = Household.objects.get(file_number="P-0003")
    assert list(two.members.order_by("position").values_list("relationship", "name")) == [
        ("head", "张建国"),
        ("spouse", "李秀英"),
    ]
    assert list(written.order_by("pk").values_list("file_number", flat=True)) == sorted(
        written.values_list("file_number", flat=True)
    )
    assert TimelineEvent.objects.get(household=odd).data == {"file_number": "P-0005", "import_batch": batch.pk}


def test_a_wrong_yes_of_the_fast_check_while_writing_undoes_the_parts_written(
    tree: Any, users: Any, monkeypatch: Any
) -> None:
    """The sample catches a wrong yes of the fast check after earlier parts were written: they are
    undone and the file is checked and written again with the registry's check alone."""
    from dataclasses import replace

    from bangfu.intake import fastcheck

    real = fastcheck.accept
    bad_id = household_rows("x")[0][HEADERS.index("身份证号")][:-1] + "0"
    if fastcheck.resident_id(bad_id, fastcheck.Today.now()) is not None:
        bad_id = bad_id[:-1] + "1"
    vouched_bad = []

    def lenient(data: Any, today: Any) -> Any:
        """Vouches for a wrong ID number as if it were another, valid one."""
        if any(m.id_number == bad_id for m in data.members):
            vouched_bad.append(1)
            members = [replace(m, id_number=new_id()) if m.id_number == bad_id else m for m in data.members]
            return real(replace(data, members=members), today)
        return real(data, today)

    monkeypatch.setattr(fastcheck, "accept", lenient)
    monkeypatch.setattr(fastcheck, "SAMPLE_FIRST", 5)  # every vouched household goes to the registry too
    monkeypatch.setattr(imports, "FIRST_ROWS", 1)
    monkeypatch.setattr(imports, "PART_ROWS", 1)
    rows = household_rows("W-0001") + household_rows("W-0002") + household_rows("W-0003", 身份证号=bad_id)
    batch = imports.import_file(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="w.xlsx", content=xlsx(rows), commit=True
    )
    assert vouched_bad and batch.state == ImportState.COMMITTED
    assert (batch.households_created, batch.households_invalid, batch.households_existing) == (2, 1, 0)
    assert {(i.row, i.column) for i in batch.issues.all()} == {(6, "身份证号")}
    assert sorted(Household.objects.filter(file_number__startswith="W-").values_list("file_number", flat=True)) == [
        "W-0001",
        "W-0002",
    ]
    assert Member.objects.filter(household__file_number__startswith="W-").count() == 4
    assert TimelineEvent.objects.filter(household__file_number__startswith="W-").count() == 2


def test_copy_text_is_what_the_database_reads(db: Any) -> None:
    """The COPY text made for a bulk write reads back as the values on PostgreSQL (SQLite takes the
    rows as they are)."""
    import datetime as dt

    values = [
        (1, "a\tb\\c\nd\re", None, True, Decimal("1.50"), dt.date(2020, 1, 2), [1, 2], {"k": 'x\\y"z'}),
        (2, "张三", "\\N", False, Decimal("3"), None, [], {}),
        (3, "", "x", None, Decimal("0.00"), dt.date(1999, 12, 31), [3], {"n": None}),
    ]
    text = imports._copy_text(values)
    assert text.count("\n") == len(values)
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE copy_probe (i int, t text, u text, b bool, d numeric(12, 2), day date, l jsonb, j jsonb)"
        )
        with cur.cursor.copy("COPY copy_probe FROM STDIN") as copy:
            copy.write(text)
        cur.execute("SELECT i, t, u, b, d, day, l, j FROM copy_probe ORDER BY i")
        back = cur.fetchall()
        cur.execute("DROP TABLE copy_probe")
    # (Django's connection hands jsonb back as its text.)
    assert [(*r[:6], *(json.loads(j) if isinstance(j, str) else j for j in r[6:])) for r in back] == values


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="constraints of PostgreSQL")
def test_a_members_union_is_not_a_foreign_key_in_the_database() -> None:
    """The member's union is its household's (whose own key holds it): no key checked per member."""
    with connection.cursor() as cur:
        keys = {
            tuple(c["columns"])
            for c in connection.introspection.get_constraints(cur, "registry_member").values()
            if c["foreign_key"]
        }
    assert keys == {("household_id",)}


def test_a_sheet_parsed_in_parts_equals_it_parsed_whole() -> None:
    """Cuts never part a household, even one whose rows are apart; the parts parse as the whole."""
    rows = _messy_sheet()
    apart = household_rows("M-0009")
    rows = [rows[0], apart[0], *rows[1:], apart[1]]  # M-0009's head first, its spouse last
    sheet = legacy.read_sheet(iter(rows))
    whole = legacy.parse(iter(rows))
    assert sheet.cuts(1, 1) == [0, sheet.count]  # M-0009 spans the sheet
    plain = _messy_sheet()
    sheet = legacy.read_sheet(iter(plain))
    for first, size in [(1, 1), (2, 3), (1, 100), (100, 1)]:
        cuts = sheet.cuts(first, size)
        assert cuts[0] == 0 and cuts[-1] == sheet.count and cuts == sorted(set(cuts))
        households: list[legacy.ParsedHousehold] = []
        loose: list[legacy.Issue] = []
        for start, end in itertools.pairwise(cuts):
            h, lo = sheet.parse(start, end)
            households += h
            loose += lo
        assert (households, loose, sheet.count) == legacy.parse(iter(plain))
    assert len(sheet.cuts(1, 1)) > 5
    assert whole[0][0].file_number == "M-0009" and len(whole[0][0].data.members) == 2


def test_the_facts_of_the_bulk_write_are_the_registrys(tree: Any) -> None:
    """The facts the bulk write hands ``compute_economy`` are those of ``person_facts``, and
    give the same economy."""
    from dataclasses import replace

    from bangfu.registry.economy import PersonFacts, compute_economy, person_facts
    from bangfu.registry.validation import check_household
    from bangfu.testing.factories import household_input

    today = date(2026, 11, 29)
    base = household_input(tree["xiangyun"], members=3)
    head, spouse, child = base.members
    variants = [
        base,
        replace(base, members=[head, replace(spouse, deceased=True, monthly_income=Decimal("900.5")), child]),
        replace(base, members=[replace(head, living_together=False), spouse, replace(child, disability_grade=1)]),
        replace(base, members=[replace(head, work_status="retired", identity="working"), spouse]),
    ]
    for data in variants:
        _errors, checked = check_household(data)
        plain = [person_facts(c.data, c.birth_date) for c in checked]
        fast = imports._facts(checked)
        assert fast == plain
        assert all(type(f) is PersonFacts for f in fast)
        assert compute_economy(fast, [], [], today) == compute_economy(plain, [], [], today)


def test_the_error_report_keeps_a_formula_like_file_number_as_text(tree: Any, users: Any) -> None:
    from bangfu.intake.models import ImportIssue

    staff = users["xiangyun_staff"]
    bad = household_rows("@SUM(1)", 住房类型="城堡")
    batch = imports.import_batch_create(actor=staff, unit_id=tree["xiangyun"].pk, name="f.xlsx", content=xlsx(bad))
    body, _ctype = imports.error_report(actor=staff, batch_id=batch.pk, fmt="csv")
    assert "'@SUM(1)" in body.decode("utf-8-sig")
    # A workbook cannot hold such a number as text once typed (the sheet makes it a formula), but a
    # report row may: it is written as text.
    ImportIssue.objects.create(batch=batch, row=9, column="档案编号", file_number="=1+1", reason="x")
    body, _ctype = imports.error_report(actor=staff, batch_id=batch.pk, fmt="xlsx")
    cells = [c for row in load_workbook(io.BytesIO(body)).active.iter_rows() for c in row]
    formula_like = [c for c in cells if c.value == "=1+1"]
    assert formula_like and all(c.data_type == "s" for c in formula_like)


def test_the_error_reports_sheet_is_named_in_the_readers_language(tree: Any, users: Any) -> None:
    """The workbook's one sheet was openpyxl's "Sheet" in both languages."""
    from django.utils import translation

    from bangfu.testing.catalog import translated

    staff = users["xiangyun_staff"]
    bad = household_rows("L-0100", 住房类型="城堡")
    batch = imports.import_batch_create(actor=staff, unit_id=tree["xiangyun"].pk, name="s.xlsx", content=xlsx(bad))
    context = "the sheet of an import's error report"
    with translation.override("en"):
        body, _ctype = imports.error_report(actor=staff, batch_id=batch.pk, fmt="xlsx")
    book = load_workbook(io.BytesIO(body))
    assert book.sheetnames == ["Problems"] and book.active["D1"].value == "Reason"
    with translated("zh-hans", "Problems", "问题", context=context), translation.override("zh-hans"):
        body, _ctype = imports.error_report(actor=staff, batch_id=batch.pk, fmt="xlsx")
    assert load_workbook(io.BytesIO(body)).sheetnames == ["问题"]


def test_overlong_text_is_refused_by_the_fast_check_too(tree: Any, users: Any) -> None:
    """Past the rows the registry's check samples, text longer than its column is still refused
    with the row and column (it would fail the database's write on PostgreSQL)."""
    from bangfu.intake import fastcheck

    staff = users["xiangyun_staff"]
    rows = [r for i in range(fastcheck.SAMPLE_FIRST + 4) for r in household_rows(f"T-{i:04d}", members=1)]
    long_one = household_rows("T-9999", members=1, 住址="文化路" * 80)
    batch = imports.import_file(
        actor=staff, unit_id=tree["xiangyun"].pk, name="long.xlsx", content=xlsx(rows + long_one), commit=True
    )
    assert batch.state == "committed"
    assert batch.households_created == fastcheck.SAMPLE_FIRST + 4
    issue = batch.issues.get()
    assert (issue.file_number, issue.column) == ("T-9999", "住址")
    assert "at most 200 characters" in issue.reason
    assert not Household.objects.filter(file_number="T-9999").exists()


def test_a_person_in_an_application_under_way_is_not_imported(tree: Any, users: Any) -> None:
    """A file opened by the import for someone whose application is under way would leave that
    case unable to be approved: the household is a problem naming the case (the old 15-digit
    number of the person too); once the case is closed, it imports."""
    from bangfu.intake import services
    from bangfu.intake.tests.helpers import submitted

    app = submitted(tree["xiangyun_g"], phone="13812340001")
    spouse = app.data["members"][1]["id_number"]
    rows = household_rows("L-0041", members=1, 身份证号=spouse[:6] + spouse[8:17], 姓名=app.data["members"][1]["name"])
    staff = users["xiangyun_staff"]
    batch = imports.import_batch_create(actor=staff, unit_id=tree["xiangyun"].pk, name="a.xlsx", content=xlsx(rows))
    batch.refresh_from_db()
    assert batch.households_valid == 0
    (issue,) = batch.issues.all()
    assert app.reference in issue.reason and issue.column == "身份证号"
    services.application_transition(actor=app.applicant, application_id=app.pk, action="withdraw", reason="重复")
    rows[0][HEADERS.index("住址")] = "祥云县祥城镇文化路14号"  # another file (the same one is not checked again)
    batch = imports.import_batch_create(actor=staff, unit_id=tree["xiangyun"].pk, name="b.xlsx", content=xlsx(rows))
    batch.refresh_from_db()
    assert batch.households_valid == 1


def test_the_union_column_takes_a_union_by_its_name(tree: Any, users: Any) -> None:
    """The column guide says 工会 takes a union's name or code; a name of a union under the
    importing one was refused as "not a union in" it."""
    staff = users["xiangyun_staff"]
    by_name = household_rows("L-0101", 工会=tree["xiangyun_g"].name)
    unknown = household_rows("L-0102", 工会="不存在的工会")
    content = xlsx(by_name + unknown)
    batch = imports.import_batch_create(actor=staff, unit_id=tree["xiangyun"].pk, name="names.xlsx", content=content)
    batch.refresh_from_db()
    assert (batch.households_valid, batch.households_invalid) == (1, 1)
    assert [i.file_number for i in batch.issues.all()] == ["L-0102"]
    imports.import_batch_commit(actor=staff, batch_id=batch.pk)
    assert Household.objects.get(file_number="L-0101").unit == tree["xiangyun_g"]


def _api_upload(client: Any, unit: Any, name: str, content: bytes) -> Any:
    upload = io.BytesIO(content)
    upload.name = name
    return client.post("/api/v1/imports", {"unit_id": unit.pk, "file": upload})


def test_the_api_says_a_new_batch_from_one_given_back_and_names_the_state_as_the_page(tree: Any, users: Any) -> None:
    """201 makes a batch, 200 gives back the same file's (nothing made); a checked batch with no
    valid household is "nothing to import", and an import that opened no file says so, in the
    API as on the pages."""
    from bangfu.api.api import api
    from bangfu.intake.tests.helpers import staff_api, staff_page

    staff = users["xiangyun_staff"]
    client, page = staff_api(staff), staff_page(staff)
    content = xlsx(household_rows("L-0030", members=1))
    first = _api_upload(client, tree["xiangyun"], "a.xlsx", content)
    assert first.status_code == 201, first.content
    again = _api_upload(client, tree["xiangyun"], "a.xlsx", content)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert ImportBatch.objects.count() == 1
    answers = api.get_openapi_schema()["paths"]["/api/v1/imports"]["post"]["responses"]
    assert {200, 201} <= set(answers)

    # Every household of the batch checked above is imported by another file meanwhile: the
    # batch is committed, and opens no file.
    other = xlsx([*household_rows("L-0030", members=1), *household_rows("L-0031", members=1)])
    imports.import_file(actor=staff, unit_id=tree["xiangyun"].pk, name="b.xlsx", content=other, commit=True)
    committed = client.post(f"/api/v1/imports/{first.json()['id']}/commit").json()
    assert (committed["state"], committed["households_created"]) == ("committed", 0), committed
    assert committed["state_label"] == "Imported: no file opened"
    assert "Imported: no file opened" in page.get(f"/applications/import/{committed['id']}/").content.decode()

    # A file whose every household is wrong: checked, nothing to import.
    nothing = xlsx(household_rows("L-0032", members=1, 身份证号="123"))
    body = _api_upload(client, tree["xiangyun"], "c.xlsx", nothing).json()
    assert (body["state"], body["households_valid"]) == ("validated", 0), body
    assert body["state_label"] == "Checked: nothing to import"
    assert "Checked: nothing to import" in page.get(f"/applications/import/{body['id']}/").content.decode()
