"""The audit log's page (``/audit/``): for readers of the audit log only, their jurisdiction, newest
first, filtered and paged; its CSV download is logged; ID numbers never show in full."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from bangfu.common.audit import audit_record
from bangfu.common.models import AuditEntry
from bangfu.org import audit_log
from bangfu.org.models import OrgUnit, Role
from bangfu.testing.catalog import translated
from bangfu.testing.factories import new_id, user_with_role

from .test_pages import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries(tree: dict[str, OrgUnit], users: dict[str, Any]) -> dict[str, AuditEntry]:
    return {
        "xiangyun": audit_record(
            actor=users["xiangyun_staff"],
            action="update",
            target_type="household",
            target_id=101,
            unit_path=tree["xiangyun_g"].path,
            note="moved to 祥云县纺织厂",
        ),
        "wuhua": audit_record(
            actor=users["admin"], action="export", target_type="matching.findings_export", unit_path=tree["wuhua"].path
        ),
        "none": audit_record(
            actor=users["admin"], action="token", target_type="auth.user", target_id=users["admin"].pk
        ),
    }


def _seqs(response: Any) -> list[int]:
    return [int(s) for s in re.findall(r'<tr data-seq="(\d+)">', response.content.decode())]


def test_only_readers_of_the_audit_log_see_it_and_its_link(
    entries: dict[str, AuditEntry], users: dict[str, Any], tree: dict[str, OrgUnit]
) -> None:
    staff = client_for(users["xiangyun_staff"])
    assert staff.get("/audit/").status_code == 403
    assert staff.get("/audit/export.csv").status_code == 403
    assert 'id="nav-audit"' not in staff.get("/households/").content.decode()

    manager = client_for(users["province_manager"])
    assert 'id="nav-audit"' in manager.get("/households/").content.decode()
    page = manager.get("/audit/")
    assert page.status_code == 200
    html = page.content.decode()
    # (the sign-ins of the test's clients come after them)
    assert [s for s in _seqs(page) if s <= entries["none"].seq] == [
        entries["none"].seq,
        entries["wuhua"].seq,
        entries["xiangyun"].seq,
    ]
    for text in ("Time", "Actor", "Action", "Object", "Union", "Note", "xiangyun_staff", "Changed", "祥云县纺织厂工会"):
        assert text in html, text
    assert "moved to 祥云县纺织厂" in html and 'Household file · <span class="font-monospace">101</span>' in html

    county = client_for(user_with_role(tree["xiangyun"], Role.MANAGER, "xiangyun_manager"))
    assert _seqs(county.get("/audit/")) == [entries["xiangyun"].seq]  # no other county, nothing of no union


def test_filters_paging_and_htmx(
    entries: dict[str, AuditEntry], users: dict[str, Any], tree: dict, settings: Any
) -> None:
    c = client_for(users["admin"])
    assert _seqs(c.get("/audit/", {"actor": "XIANGYUN_STAFF"})) == [entries["xiangyun"].seq]
    assert _seqs(c.get("/audit/", {"action": "token"})) == [entries["none"].seq]
    assert _seqs(c.get("/audit/", {"target_type": "household", "target_id": "101"})) == [entries["xiangyun"].seq]
    assert _seqs(c.get("/audit/", {"unit": tree["kunming"].pk})) == [entries["wuhua"].seq]
    assert _seqs(c.get("/audit/", {"date_from": "2000-01-01", "date_to": "2000-01-02"})) == []
    wrong = c.get("/audit/", {"date_from": "2026-02-01", "date_to": "2026-01-01"})
    assert "This day is before the day the list starts from." in wrong.content.decode()

    settings.BANGFU_PAGE_SIZE = 2
    first = c.get("/audit/")
    assert len(_seqs(first)) == 2 and "Page 1 of 2" in first.content.decode()  # three, and the sign-in
    second = c.get("/audit/", {"page": "2", "action": ""}, headers={"HX-Request": "true"})
    assert _seqs(second) == [entries["wuhua"].seq, entries["xiangyun"].seq]
    assert '<nav class="navbar' not in second.content.decode()
    assert "HX-Request" in second["Vary"]
    assert not AuditEntry.objects.filter(target_type="common.audit_log").exists()  # reading is not logged


def test_the_download_is_logged_and_in_the_users_language(
    entries: dict[str, AuditEntry], users: dict[str, Any]
) -> None:
    c = client_for(users["admin"])
    response = c.get("/audit/export.csv", {"actor": "xiangyun_staff"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    text = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(text)))
    # The time in local time, named in the header, as a spreadsheet reads it (ISO stayed text).
    assert rows[0][:4] == ["No.", "Time (Asia/Shanghai)", "Actor", "Action"]
    assert len(rows) == 2 and rows[1][0] == str(entries["xiangyun"].seq) and rows[1][3] == "Changed"
    assert rows[1][1] == timezone.localtime(entries["xiangyun"].at).strftime("%Y-%m-%d %H:%M:%S")
    export = AuditEntry.objects.order_by("-seq").first()
    assert export is not None and export.seq > entries["none"].seq
    assert (export.action, export.target_type, export.actor_label) == ("export", "common.audit_log", "admin")
    assert export.after == {"rows": 1, "format": "csv", "filters": {"actor": "xiangyun_staff"}}


def test_an_id_number_in_an_entry_is_shown_masked(users: dict[str, Any]) -> None:
    number = new_id()
    audit_record(actor=users["admin"], action="update", target_type="t", note=f"typed {number}", after={"id": number})
    c = client_for(users["admin"])
    html = c.get("/audit/").content.decode()
    assert number not in html and f"typed {number[:4]}{'*' * 10}{number[-4:]}" in html
    csv_text = b"".join(c.get("/audit/export.csv").streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    assert number not in csv_text


def test_phone_numbers_in_a_files_snapshot_are_read_masked(users: dict[str, Any], tree: dict) -> None:
    """A file's audit entries held its members' phone numbers, which the log showed in full to a
    manager who reads them masked on the file."""
    from bangfu.common.audit import audit_record

    audit_record(
        actor=users["admin"],
        action="create",
        target_type="household",
        target_id="7",
        unit_path=tree["xiangyun_g"].path,
        after={"members": [{"name": "王五", "phone": "13987650001"}]},
    )
    c = client_for(users["province_manager"])
    page = c.get("/audit/", {"target_type": "household", "target_id": "7"}).content.decode()
    assert "13987650001" not in page and "139****0001" in page


def test_actors_that_are_no_user_are_named_in_the_readers_language(users: dict[str, Any], tree: dict) -> None:
    """ "command line", "system" and "demo" stood in English on the Chinese page."""
    from django.test import Client

    from bangfu.common.audit import audit_record

    for actor in ("command line", "system", "demo"):
        audit_record(actor=actor, action="create", target_type="seed", unit_path=tree["province"].path)
    c = Client(headers={"Accept-Language": "zh-hans"})
    c.force_login(users["province_manager"])
    page = c.get("/audit/", {"target_type": "seed"}).content.decode()
    assert "命令行" in page and "系统" in page and "演示数据准备" in page
    assert ">command line<" not in page


@pytest.fixture
def zone_translated() -> Iterator[None]:
    """The zone as the translators will name it in Chinese (this change adds the message)."""
    with translated("zh-hans", "Asia/Shanghai", "东八区", context="time zone"):
        yield


def _download(client: Any, **query: str) -> list[list[str]]:
    text = b"".join(client.get("/audit/export.csv", query).streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_the_download_names_objects_and_actors_in_the_pages_words(
    entries: dict[str, AuditEntry], users: dict[str, Any], tree: dict[str, OrgUnit], zone_translated: None
) -> None:
    """The "Object type" column held the codes (``matching.findings_export``, ``auth.user``) where
    the page shows "Findings export" and "Sign-in"; the actor "command line" stayed in English in
    the Chinese file; its time column said "时间（Asia/Shanghai）"."""
    from django.test import Client

    audit_record(actor="command line", action="export", target_type="matching.dataset_rejected", target_id=7)
    english = client_for(users["admin"])
    rows = _download(english)
    header = rows[0]
    assert header[1] == "Time (Asia/Shanghai)" and header[2:5] == ["Actor", "Action", "Object type"]
    kinds = {r[0]: (r[2], r[4]) for r in rows[1:]}
    assert kinds[str(entries["wuhua"].seq)] == ("admin", "Findings export")
    assert kinds[str(entries["none"].seq)] == ("admin", "Sign-in")
    assert kinds[str(entries["xiangyun"].seq)] == ("xiangyun_staff", "Household file")
    assert ("command line", "Rejected rows of a dataset") in kinds.values()
    assert not any("." in kind or kind == "household" for _actor, kind in kinds.values())

    chinese = Client(headers={"Accept-Language": "zh-hans"})
    chinese.force_login(users["admin"])
    rows = _download(chinese)
    assert rows[0][:5] == ["序号", "时间（东八区）", "操作人", "操作", "对象类型"]
    kinds = {r[0]: (r[2], r[4]) for r in rows[1:]}
    assert kinds[str(entries["wuhua"].seq)][1] == "疑点导出"
    assert kinds[str(entries["none"].seq)][1] == "登录"
    assert ("命令行", "数据集的拒收行") in kinds.values()


def test_an_id_number_typed_as_the_object_id_is_taken_out_of_the_address(
    entries: dict[str, AuditEntry], users: dict[str, Any]
) -> None:
    """The object id box filtered live and put whatever was typed in the address: an ID number
    pasted there went to the access logs, the history and the Referer. It is not looked up; the
    page, its htmx filter and the download go to the list's address without it, and say why."""
    c = client_for(users["admin"])
    typed = new_id()
    spaced = f"{typed[:6]} {typed[6:14]} {typed[14:]}".lower()
    for value in (typed, spaced, typed[:-1]):
        page = c.get("/audit/", {"action": "update", "target_id": value, "page": "2"})
        assert page.status_code == 302 and page["Location"] == "/audit/?action=update", value
    shown = c.get("/audit/?action=update").content.decode()
    assert "The audit log is not searched by ID number" in shown
    live = c.get("/audit/", {"target_id": typed}, headers={"HX-Request": "true"})
    assert live.status_code == 204 and live["HX-Redirect"] == "/audit/"
    download = c.get("/audit/export.csv", {"target_id": typed, "actor": "admin"})
    assert download.status_code == 302 and download["Location"] == "/audit/?actor=admin"
    assert not AuditEntry.objects.filter(action="export", target_type=audit_log.EXPORT_TARGET).exists()
    # A record's number is still a filter, and the box is no longer sent at each key typed.
    assert _seqs(c.get("/audit/", {"target_id": "101"})) == [entries["xiangyun"].seq]
    assert "from:#id_target_id" not in c.get("/audit/").content.decode()
