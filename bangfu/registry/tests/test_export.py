"""``bangfu registry export``: one row per person, masked unless revealed, always audit-logged."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from python_calamine import CalamineWorkbook

from bangfu.common import crypto
from bangfu.common.models import AuditEntry
from bangfu.registry import services
from bangfu.registry.models import Member
from bangfu.testing.factories import household_input


@pytest.fixture
def files(tree: dict, users: dict[str, Any]) -> dict[str, list[str]]:
    """Two files in 祥云县 and one in 大理市; returns the full ID numbers per county."""
    ids: dict[str, list[str]] = {"xiangyun": [], "dalishi": []}
    for county, unit, actor in [
        ("xiangyun", "xiangyun_g", "xiangyun_cadre"),
        ("xiangyun", "xiangyun_g", "xiangyun_cadre"),
        ("dalishi", "dalishi_g", "dalishi_staff"),
    ]:
        h = services.household_create(actor=users[actor], data=household_input(tree[unit]))
        ids[county] += [
            crypto.decrypt(c) for c in Member.objects.filter(household=h).values_list("id_cipher", flat=True)
        ]
    return ids


def _export(*args: str) -> list[list[str]]:
    out = StringIO()
    with translation.override("en"):
        call_command("registry", "export", *args, stdout=out, stderr=StringIO())
    return list(csv.reader(StringIO(out.getvalue())))


def _exports() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="export").order_by("seq"))


def test_ids_are_masked_by_default_and_the_export_is_logged(files: dict[str, list[str]]) -> None:
    rows = _export()
    header, data = rows[0], rows[1:]
    assert header[:2] == ["File number", "Union"] and "ID number" in header
    assert len(data) == 9
    text = "\n".join(",".join(r) for r in rows)
    for number in files["xiangyun"] + files["dalishi"]:
        assert number not in text
        assert f"{number[:4]}{'*' * 10}{number[-4:]}" in text
    (entry,) = _exports()
    assert entry.actor_label == "command line"
    assert entry.after == {"rows": 9, "format": "csv", "unit": "", "reveal": False, "output": "stdout"}


def test_reveal_writes_full_ids_and_says_so_in_the_audit_log(files: dict[str, list[str]]) -> None:
    rows = _export("--reveal")
    id_col = rows[0].index("ID number")
    assert sorted(r[id_col] for r in rows[1:]) == sorted(files["xiangyun"] + files["dalishi"])
    (entry,) = _exports()
    assert entry.after == {"rows": 9, "format": "csv", "unit": "", "reveal": True, "output": "stdout"}
    # Logged doubly: a full-ID export is a reveal too, as the findings export with full IDs is.
    (reveal,) = AuditEntry.objects.filter(action="reveal")
    assert (reveal.target_type, reveal.actor_label) == ("registry.members", "command line")
    assert reveal.after == {"rows": 9, "unit": "", "format": "csv"}
    assert reveal.seq == entry.seq - 1


def test_a_masked_export_is_no_reveal(files: dict[str, list[str]]) -> None:
    _export("--username", "xiangyun_staff")
    assert not AuditEntry.objects.filter(action="reveal").exists()
    assert len(_exports()) == 1


def test_a_users_full_id_export_is_a_reveal_in_their_union(files: dict[str, list[str]], tree: dict) -> None:
    _export("--username", "xiangyun_staff", "--unit", "532923", "--reveal")
    (reveal,) = AuditEntry.objects.filter(action="reveal")
    assert reveal.actor_label == "xiangyun_staff"
    assert reveal.unit_path == tree["xiangyun"].path
    assert reveal.after == {"rows": 6, "unit": "532923", "format": "csv"}


def test_unit_limits_the_rows_to_its_subtree(files: dict[str, list[str]], tree: dict) -> None:
    rows = _export("--unit", "532923", "--reveal")
    id_col = rows[0].index("ID number")
    assert sorted(r[id_col] for r in rows[1:]) == sorted(files["xiangyun"])
    assert (_exports()[0].after or {}).get("unit") == "532923"
    assert len(_export("--unit", tree["dalishi_g"].code)) == 1 + 3


def test_a_user_exports_only_their_jurisdiction(files: dict[str, list[str]]) -> None:
    rows = _export("--username", "xiangyun_staff", "--reveal")
    id_col = rows[0].index("ID number")
    assert sorted(r[id_col] for r in rows[1:]) == sorted(files["xiangyun"])
    assert _exports()[0].actor_label == "xiangyun_staff"
    with pytest.raises(CommandError, match="No union"):
        _export("--username", "xiangyun_staff", "--unit", "532901")


def test_permissions_are_required(files: dict[str, list[str]]) -> None:
    with pytest.raises(CommandError):
        _export("--username", "xiangyun_cadre")  # cadres may not export
    with pytest.raises(CommandError):
        _export("--username", "province_manager", "--reveal")  # managers may not reveal
    assert len(_export("--username", "province_manager")) == 1 + 9
    assert len(_exports()) == 1


def test_xlsx_opens_with_a_header_row(files: dict[str, list[str]], tmp_path: Path) -> None:
    target = tmp_path / "files.xlsx"
    with translation.override("en"):
        call_command("registry", "export", "--format", "xlsx", "--output", str(target), stderr=StringIO())
    sheet = CalamineWorkbook.from_path(str(target)).get_sheet_by_index(0).to_python()
    assert sheet[0][0] == "File number" and "ID number" in sheet[0]
    assert len(sheet) == 1 + 9
    assert "5329**********" in "".join(str(c) for c in sheet[1])
    assert target.stat().st_mode & 0o777 == 0o600  # people's data: the writer's only


def test_xlsx_needs_an_output_file(files: dict[str, list[str]]) -> None:
    with pytest.raises(CommandError):
        _export("--format", "xlsx")


def test_text_that_looks_like_a_formula_is_exported_as_text(files: dict[str, list[str]], tmp_path: Path) -> None:
    """A name typed as a formula (CSV injection) is not run by the spreadsheet that opens the export."""
    first, second = Member.objects.filter(relationship="head")[:2]
    Member.objects.filter(pk=first.pk).update(name='=HYPERLINK("http://x","y")')
    Member.objects.filter(pk=second.pk).update(name="+cmd|' /C calc'!A0")
    csv_text = "\n".join(",".join(r) for r in _export())
    assert "'=HYPERLINK" in csv_text
    assert "'+cmd|" in csv_text
    path = tmp_path / "out.xlsx"
    with translation.override("en"):
        call_command(
            "registry", "export", "--format", "xlsx", "--output", str(path), stdout=StringIO(), stderr=StringIO()
        )
    import openpyxl

    cells = [c for row in openpyxl.load_workbook(path).active.iter_rows() for c in row]
    formula = [c for c in cells if isinstance(c.value, str) and c.value.startswith("=HYPERLINK")]
    assert formula and all(c.data_type == "s" for c in formula)
