"""``bangfu org load`` / ``add``: a fresh install gets its province's union tree from a file, checked
row by row, all or nothing, and loading it again changes nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from bangfu.common.models import AuditEntry
from bangfu.org.models import OrgKind, OrgLevel, OrgUnit

TREE = """code,name,parent_code
530000,云南省总工会,
530100,昆明市总工会,530000
530102,五华区总工会,530100
530102-001,五华区华山街道工会,530102
530102-002,昆明机床厂工会,530102
"""


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("org", *args, stdout=out)
    return out.getvalue()


def _csv(tmp_path: Path, text: str, encoding: str = "utf-8") -> str:
    path = tmp_path / "tree.csv"
    path.write_bytes(text.encode(encoding))
    return str(path)


@pytest.mark.django_db
def test_a_fresh_install_loads_its_tree_and_adds_the_first_admin(tmp_path: Path) -> None:
    out = _run("load", _csv(tmp_path, TREE))
    assert "5" in out
    units = {u.code: u for u in OrgUnit.objects.select_related("parent")}
    assert units["530000"].level == OrgLevel.PROVINCE and units["530000"].parent is None
    assert units["530100"].level == OrgLevel.CITY and units["530100"].parent == units["530000"]
    assert units["530102"].level == OrgLevel.COUNTY
    street = units["530102-001"]
    assert (street.level, street.kind, street.division_code) == (OrgLevel.GRASSROOTS, OrgKind.STREET, "530102")
    assert units["530102-002"].kind == OrgKind.ENTERPRISE
    assert street.is_within(units["530000"])
    assert AuditEntry.objects.filter(target_type="org_unit", action="create").count() == 5
    # The first admin, at the province, as the README's users command says.
    call_command("users", "add", "--username", "admin1", "--unit", "530000", "--role", "admin", stdout=io.StringIO())


@pytest.mark.django_db
def test_loading_again_changes_nothing_and_a_new_name_is_written(tmp_path: Path) -> None:
    _run("load", _csv(tmp_path, TREE))
    entries = AuditEntry.objects.count()
    out = _run("load", _csv(tmp_path, TREE))
    assert "0" in out and OrgUnit.objects.count() == 5 and AuditEntry.objects.count() == entries
    # GBK, a renamed union and the parent given after its child: all read.
    renamed = TREE.replace("昆明机床厂工会", "昆明机床股份有限公司工会")
    _run("load", _csv(tmp_path, renamed, "gbk"))
    assert OrgUnit.objects.get(code="530102-002").name == "昆明机床股份有限公司工会"
    entry = AuditEntry.objects.filter(target_type="org_unit", action="update").get()
    assert entry.before == {"name": "昆明机床厂工会"} and entry.after == {"name": "昆明机床股份有限公司工会"}


@pytest.mark.django_db
def test_an_excel_file_with_chinese_headers_and_rows_in_any_order(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["单位代码", "单位名称", "上级代码", "级别"])
    sheet.append(["530102", "五华区总工会", "530100", ""])
    sheet.append([530100, "昆明市总工会", 530000, "市"])
    sheet.append([530000, "云南省总工会", None, "省"])
    path = tmp_path / "tree.xlsx"
    book.save(path)
    _run("load", str(path))
    assert OrgUnit.objects.get(code="530102").parent == OrgUnit.objects.get(code="530100")


@pytest.mark.django_db
def test_every_bad_row_is_named_and_nothing_is_loaded(tmp_path: Path) -> None:
    bad = (
        "code,name,parent_code,level\n"
        "530000,云南省总工会,,\n"
        "530100,,530000,\n"  # no name
        "530102,五华区总工会,539999,\n"  # no such parent
        "530102,五华区总工会,530100,\n"  # the code twice
        "520100,贵阳市总工会,530000,\n"  # not inside Yunnan
        "5301-X,某厂工会,530100,town\n"  # not a level
    )
    with pytest.raises(CommandError) as error:
        _run("load", _csv(tmp_path, bad))
    message = str(error.value)
    assert "Row 3, column name: The name is empty." in message
    assert "Row 4, column parent_code: No union has the code 539999" in message
    assert "Row 5, column code: The code 530102 is also on row 4." in message
    assert "Row 6, column code: 520100 does not lie inside 云南省总工会." in message
    assert "Row 7, column level: town is not a level" in message
    assert OrgUnit.objects.count() == 0
    assert not AuditEntry.objects.filter(target_type="org_unit").exists()


@pytest.mark.django_db
def test_a_missing_column_and_a_move_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="parent_code"):
        _run("load", _csv(tmp_path, "code,name\n530000,云南省总工会\n"))
    _run("load", _csv(tmp_path, TREE))
    moved = TREE.replace("530102-002,昆明机床厂工会,530102", "530102-002,昆明机床厂工会,530100")
    with pytest.raises(CommandError, match="does not move a union"):
        _run("load", _csv(tmp_path, moved))
    assert OrgUnit.objects.get(code="530102-002").parent.code == "530102"  # type: ignore[union-attr]


@pytest.mark.django_db
def test_add_one_union_by_its_options(tmp_path: Path) -> None:
    _run("add", "--code", "530000", "--name", "云南省总工会")
    _run("add", "--code", "530100", "--name", "昆明市总工会", "--parent", "530000")
    with pytest.raises(CommandError) as error:
        _run("add", "--code", "530102", "--name", "五华区总工会", "--parent", "530999")
    assert str(error.value).startswith("--parent: No union has the code 530999")
    out = _run("list")
    assert "530100\t昆明市总工会" in out
