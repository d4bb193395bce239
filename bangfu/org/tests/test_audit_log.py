"""Reading the audit log (``org.audit_log``) and ``bangfu audit list`` / ``verify``: a reader sees
the entries of the unions where they hold the permission, entries of no union only at the top of
the tree; the CSV export is audit-logged; ID numbers never show in full."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation

from bangfu.common.audit import audit_record
from bangfu.common.models import AuditEntry
from bangfu.org import audit_log
from bangfu.org.audit_log import AuditFilters
from bangfu.org.models import OrgUnit, Role
from bangfu.testing.catalog import translated
from bangfu.testing.factories import new_id, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def log(tree: dict[str, OrgUnit], users: dict[str, Any]) -> dict[str, AuditEntry]:
    """One entry in each of 祥云县, 大理市 and 昆明市, and one of no union."""
    staff = users["xiangyun_staff"]
    return {
        "xiangyun": audit_record(
            actor=staff,
            action="update",
            target_type="registry.household",
            target_id=11,
            unit_path=tree["xiangyun_g"].path,
        ),
        "dalishi": audit_record(
            actor=users["dalishi_staff"],
            action="create",
            target_type="registry.household",
            target_id=12,
            unit_path=tree["dalishi"].path,
        ),
        "kunming": audit_record(
            actor=users["admin"], action="export", target_type="matching.findings_export", unit_path=tree["wuhua"].path
        ),
        "none": audit_record(actor=staff, action="login", target_type="auth.user", target_id=staff.pk),
    }


@pytest.fixture
def readers(tree: dict[str, OrgUnit]) -> dict[str, Any]:
    return {
        "dali": user_with_role(tree["dali"], Role.MANAGER, "dali_manager"),
        "xiangyun": user_with_role(tree["xiangyun"], Role.MANAGER, "xiangyun_manager"),
    }


def _seqs(reader: Any, **filters: Any) -> list[int]:
    return list(audit_log.audit_list(actor=reader, filters=AuditFilters(**filters)).values_list("seq", flat=True))


def test_each_reader_sees_their_jurisdiction_newest_first(
    log: dict[str, AuditEntry], users: dict[str, Any], readers: dict[str, Any]
) -> None:
    every = [log[k].seq for k in ("none", "kunming", "dalishi", "xiangyun")]
    assert _seqs(users["province_manager"]) == every  # the top of the tree: also the entries of no union
    assert _seqs(users["admin"]) == every
    assert _seqs(readers["dali"]) == [log["dalishi"].seq, log["xiangyun"].seq]
    assert _seqs(readers["xiangyun"]) == [log["xiangyun"].seq]
    assert _seqs(users["xiangyun_staff"]) == []  # staff do not hold the permission
    assert _seqs(users["evaluator"]) == []


def test_filters(
    log: dict[str, AuditEntry], users: dict[str, Any], readers: dict[str, Any], tree: dict[str, OrgUnit]
) -> None:
    boss = users["province_manager"]
    assert _seqs(boss, actor="XIANGYUN_STAFF") == [log["none"].seq, log["xiangyun"].seq]
    assert _seqs(boss, action="create") == [log["dalishi"].seq]
    assert _seqs(boss, target_type="registry.household", target_id="12") == [log["dalishi"].seq]
    assert _seqs(boss, unit_id=tree["dali"].pk) == [log["dalishi"].seq, log["xiangyun"].seq]
    # A union outside the reader's jurisdiction finds nothing rather than widening it.
    assert _seqs(readers["xiangyun"], unit_id=tree["dali"].pk) == []
    today = timezone.localdate()
    assert len(_seqs(boss, since=today, until=today)) == 4
    assert _seqs(boss, until=today - dt.timedelta(days=1)) == []
    assert _seqs(boss, since=today + dt.timedelta(days=1)) == []


def test_a_plaintext_id_number_in_an_entry_is_masked_when_shown() -> None:
    number = new_id()
    assert (
        audit_log.masked_text(f"wrote {number} by mistake") == f"wrote {number[:4]}{'*' * 10}{number[-4:]} by mistake"
    )
    assert audit_log.data_text({"id": number, "n": [number]}).count(number) == 0
    wrong_check = number[:17] + ("0" if number[17] != "0" else "1")
    assert audit_log.masked_text(wrong_check) == wrong_check  # not an ID number: a file number, a hash …


def _list(*args: str) -> tuple[list[dict[str, str]], str]:
    out, err = io.StringIO(), io.StringIO()
    with translation.override("en"):
        call_command("audit", *args, stdout=out, stderr=err)
    return list(csv.DictReader(io.StringIO(out.getvalue()))), err.getvalue()


def test_cli_lists_the_users_jurisdiction_and_logs_the_export(
    log: dict[str, AuditEntry], readers: dict[str, Any], tree: dict[str, OrgUnit]
) -> None:
    rows, _err = _list("--user", "dali_manager", "list", "--format", "csv")
    assert [int(r["seq"]) for r in rows] == [log["dalishi"].seq, log["xiangyun"].seq]
    assert rows[1]["actor"] == "xiangyun_staff" and rows[1]["unit"] == tree["xiangyun_g"].code
    assert rows[1]["target_type"] == "registry.household" and rows[1]["target_id"] == "11"
    export = AuditEntry.objects.order_by("-seq").first()
    assert export is not None and export.seq == log["none"].seq + 1
    assert (export.action, export.target_type, export.actor_label) == ("export", "common.audit_log", "dali_manager")
    assert export.unit_path == tree["dali"].path
    assert export.after == {"rows": 2, "format": "csv", "filters": {}}
    # The user may follow the action, too; filters as on the page.
    rows, _err = _list("list", "--user", "xiangyun_manager", "--unit", "532923", "--actor", "xiangyun_staff")
    assert [int(r["seq"]) for r in rows] == [log["xiangyun"].seq]
    rows, _err = _list("--user", "admin", "list", "--action", "login", "--since", "2000-01-01")
    assert [int(r["seq"]) for r in rows] == [log["none"].seq]
    assert (AuditEntry.objects.order_by("-seq").first().after or {})["filters"] == {  # type: ignore[union-attr]
        "action": "login",
        "since": "2000-01-01",
    }


def test_cli_writes_a_file_for_excel_and_plain_utf8_to_a_pipe(
    log: dict[str, AuditEntry], readers: dict[str, Any], tmp_path: Any
) -> None:
    """One rule for every command's CSV: ``--output`` writes a file with a byte-order mark (Excel
    read the Chinese without it as GBK), readable by its owner only; stdout stays plain UTF-8. The
    export is logged as before, whichever it went to. Times are local, as a spreadsheet reads them
    (the ISO form with its offset stayed text)."""
    rows, _err = _list("--user", "dali_manager", "list")
    assert rows[0]["at"] == timezone.localtime(log["dalishi"].at).strftime("%Y-%m-%d %H:%M:%S")
    out = io.StringIO()
    call_command("audit", "--user", "dali_manager", "list", stdout=out, stderr=io.StringIO())
    assert not out.getvalue().startswith("\ufeff")
    piped = list(csv.DictReader(io.StringIO(out.getvalue())))
    logged = AuditEntry.objects.order_by("-seq").first()
    assert logged is not None and logged.after == {"rows": len(piped), "format": "csv", "filters": {}}

    target = tmp_path / "审计.csv"
    err = io.StringIO()
    call_command("audit", "--user", "dali_manager", "list", "--output", str(target), stdout=io.StringIO(), stderr=err)
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    filed = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [int(r["seq"]) for r in filed] == [logged.seq, *(int(r["seq"]) for r in piped)]
    assert target.stat().st_mode & 0o777 == 0o600
    assert list(tmp_path.iterdir()) == [target]  # no part file left beside it
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None and entry.after == {"rows": len(filed), "format": "csv", "filters": {}}
    with pytest.raises(CommandError, match="No such folder"):
        _list("--user", "dali_manager", "list", "--output", str(tmp_path / "none" / "a.csv"))
    assert AuditEntry.objects.order_by("-seq").first() == entry  # refused before anything was logged


def test_cli_names_each_object_type_in_words_beside_its_code(
    log: dict[str, AuditEntry], readers: dict[str, Any]
) -> None:
    """The page's download says "Sign-in" where it said ``auth.user``; the command, made for other
    programs, keeps the code (``--target-type`` takes it) and says the words in a column of their
    own, in the command's language; its help names the zone in the reader's words."""
    rows, _err = _list("--user", "admin", "list")
    assert list(rows[0])[4:6] == ["target_type", "target_label"]
    by_seq = {int(r["seq"]): r for r in rows}
    assert (by_seq[log["none"].seq]["target_type"], by_seq[log["none"].seq]["target_label"]) == (
        "auth.user",
        "Sign-in",
    )
    assert by_seq[log["kunming"].seq]["target_label"] == "Findings export"
    assert by_seq[log["xiangyun"].seq]["target_label"] == "registry.household"  # no name: the code as stored
    out = io.StringIO()
    with translation.override("zh-hans"):
        call_command("audit", "--user", "admin", "list", stdout=out, stderr=io.StringIO())
    chinese = {int(r["seq"]): r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert chinese[log["none"].seq]["target_label"] == "登录"
    assert chinese[log["kunming"].seq]["target_type"] == "matching.findings_export"

    from bangfu.org.management.commands.audit import Command

    def help_text() -> str:
        parser = Command().create_parser("bangfu", "audit")
        sub = next(a for a in parser._actions if a.dest == "action")
        return " ".join(sub.choices["list"].format_help().split())  # type: ignore[index]

    with translation.override("en"):
        assert "local time (Asia/Shanghai)" in help_text()
    with translated("zh-hans", "Asia/Shanghai", "东八区", context="time zone"), translation.override("zh-hans"):
        assert "本地时间（东八区）" in help_text()


def test_cli_refusals(log: dict[str, AuditEntry], readers: dict[str, Any]) -> None:
    before = AuditEntry.objects.count()
    with pytest.raises(CommandError, match="needs the permission to read the audit log"):
        _list("--user", "xiangyun_staff", "list")
    with pytest.raises(CommandError, match="outside the jurisdiction of xiangyun_manager"):
        _list("--user", "xiangyun_manager", "list", "--unit", "532901")
    with pytest.raises(CommandError, match="Name the user"):
        _list("list")
    with pytest.raises(CommandError, match="--since is after --until"):
        _list("--user", "admin", "list", "--since", "2026-02-01", "--until", "2026-01-01")
    with pytest.raises(CommandError, match="is not a date"):
        _list("--user", "admin", "list", "--since", "yesterday")
    assert AuditEntry.objects.count() == before  # nothing exported, nothing logged


def test_cli_masks_an_id_number_written_by_mistake(users: dict[str, Any]) -> None:
    number = new_id()
    audit_record(actor=users["admin"], action="update", target_type="x", note=f"ID {number}")
    rows, _err = _list("--user", "admin", "list")
    assert number not in str(rows)
    assert rows[-1]["note"] == f"ID {number[:4]}{'*' * 10}{number[-4:]}"


def test_verify_speaks_the_users_language(log: dict[str, AuditEntry], monkeypatch: Any) -> None:
    out = io.StringIO()
    with translation.override("en"):
        call_command("audit", "verify", stdout=out)
    assert out.getvalue().strip() == "The audit log is intact: 4 rows."
    # Its messages go through the catalogue (the words come from gettext, as every command's do).
    from bangfu.org.management.commands import audit as command

    monkeypatch.setattr(command, "ngettext", lambda one, many, n: "«" + (one if n == 1 else many) + "»")
    monkeypatch.setattr(command, "_", lambda text: "«" + text + "»")
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert out.getvalue().strip() == "«The audit log is intact: 4 rows.»"
    from bangfu.common.audit import ChainProblem

    assert command.problem_text(ChainProblem(7, "missing", "", 5)) == (
        "«The audit log is broken at row 7: rows 5 to 6 are missing (deleted).»"
    )
    assert command.problem_text(ChainProblem(3, "edited", "")).startswith("«The audit log is broken at row 3")
