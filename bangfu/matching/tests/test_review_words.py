"""What a confirmed finding writes into a household file, and how a record is named, in the
reader's language: the file keeps the department record's own values (a plate and its vehicle
type, a certificate), never words of the language of the person who confirmed it; a record
without a key of its own is named by its row in the words of whoever reads it."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from bangfu.common.models import AuditEntry
from bangfu.common.retranslate import in_reader_language
from bangfu.matching import services
from bangfu.matching.models import Finding
from bangfu.matching.record_words import record_in_words_again
from bangfu.org.services import token_create
from bangfu.registry.models import TimelineEvent

CERTIFICATE = "云(2019)祥云县不动产权第0777号"


def _client(user: Any, language: str) -> Client:
    c = Client(headers={"Accept-Language": language})
    c.force_login(user)
    return c


def _import_and_run(users: dict[str, Any], write_csv: Any, capture: Any, kind: str, rows: list[list[str]]) -> None:
    ds = services.dataset_import(actor=users["admin"], kind=kind, path=write_csv(f"{kind}.csv", rows))
    with capture(execute=True):
        services.match_run(actor=users["admin"], dataset_ids=[ds.pk])


@pytest.fixture
def homes_with_a_row(
    make_household: Any, users: dict[str, Any], write_csv: Any, django_capture_on_commit_callbacks: Any
) -> tuple[Any, Finding]:
    """Two homes over the limit, the second without a certificate number: its record is ``row 3``."""
    household, ids = make_household(members=2)
    rows = [
        ["身份证号", "姓名", "不动产权证号", "建筑面积", "登记日期"],
        [ids[0], "张建国", CERTIFICATE, "80", "2019-05-10"],
        [ids[0], "张建国", "", "90.5", "2015-03-01"],
    ]
    _import_and_run(users, write_csv, django_capture_on_commit_callbacks, "real_estate", rows)
    return household, Finding.objects.get(rule="homes_over_limit")


def test_a_record_named_by_its_row_is_in_the_readers_words_on_every_page_and_in_the_download(
    homes_with_a_row: tuple[Any, Finding], users: dict[str, Any]
) -> None:
    """The finding's key, ``row 3,云(2019)…`` as stored (a recheck compares it so), read
    "记录号 row 3,云(2019)…" on the Chinese list and finding page: only a key that was a row
    and nothing else was put in words."""
    _household, finding = homes_with_a_row
    assert finding.record_key == f"row 3,{CERTIFICATE}"  # stored as before: rechecks match it again
    staff = users["xiangyun_staff"]
    for language, row in (("zh-hans", "文件第 3 行"), ("en", "row 3 of the file")):
        c = _client(staff, language)
        listed = c.get(reverse("matching:finding_list")).content.decode()
        page = c.get(reverse("matching:finding_detail", args=[finding.pk])).content.decode()
        response: Any = c.get(reverse("matching:finding_export"), {"rule": "homes_over_limit"})
        exported = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
        assert exported[1][4].startswith(row) and CERTIFICATE in exported[1][4]
        for shown in (listed, page):
            assert row in shown and CERTIFICATE in shown
            assert "row 3," not in shown
        assert "row 3," not in exported[1][4]


def test_a_confirmation_writes_the_departments_values_not_the_confirming_users_words(
    make_household: Any, users: dict[str, Any], write_csv: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """County staff reading English confirmed a car; the Chinese file read
    车辆: 私家车 (Vehicles 云L22222 小型普通客车)."""
    household, ids = make_household()
    rows = [["身份证号", "姓名", "号牌号码", "车辆类型"], [ids[0], "张建国", "云L22222", "小型普通客车"]]
    _import_and_run(users, write_csv, django_capture_on_commit_callbacks, "vehicles", rows)
    finding = Finding.objects.get(rule="vehicle_owned")
    with translation.override("en"):
        services.finding_confirm(actor=users["xiangyun_staff"], finding_id=finding.pk, reason="车管所记录属实")
    assert [v.note for v in household.vehicles.all()] == ["云L22222 小型普通客车"]
    page = _client(users["xiangyun_staff"], "zh-hans").get(reverse("web:household_detail", args=[household.pk]))
    assert "Vehicles" not in page.content.decode()
    added = AuditEntry.objects.filter(target_type="household", target_id=str(household.pk)).last()
    assert added is not None and (added.after or {}).get("added") == [
        {"vehicle": "car", "note": "云L22222 小型普通客车"}
    ]


def test_homes_written_from_a_confirmation_keep_the_certificate_and_no_words(
    homes_with_a_row: tuple[Any, Finding], users: dict[str, Any]
) -> None:
    """A home was written "Real estate row 3 of the file" in the confirming user's language."""
    household, finding = homes_with_a_row
    with translation.override("en"):
        services.finding_confirm(actor=users["xiangyun_staff"], finding_id=finding.pk, reason="不动产登记属实")
    assert sorted(h.note for h in household.homes.all()) == ["", CERTIFICATE]


def test_the_timeline_and_the_audit_log_name_a_confirmed_record_in_the_readers_language(
    homes_with_a_row: tuple[Any, Finding], users: dict[str, Any]
) -> None:
    """Confirmed by staff reading English, the Chinese timeline read
    经核查比对确认：…，记录row 3 of the file, 云(2019)…"""
    household, finding = homes_with_a_row
    with translation.override("en"):
        services.finding_confirm(actor=users["xiangyun_staff"], finding_id=finding.pk, reason="不动产登记属实")
    kept = TimelineEvent.objects.get(household=household, kind="file_updated").summary
    audit = AuditEntry.objects.filter(target_type="household", target_id=str(household.pk)).last()
    assert audit is not None and audit.note == kept
    message = "Confirmed from a cross-department check: %(rule)s, record %(record)s"
    for language, records in (("zh-hans", f"文件第 3 行、{CERTIFICATE}"), ("en", f"row 3 of the file, {CERTIFICATE}")):
        with translation.override(language):
            expected = _(message) % {"rule": _("Two or more homes above the floor-area limit"), "record": records}
            assert in_reader_language(kept) == expected
    # The household page's timeline and the API's say it so.
    staff = users["xiangyun_staff"]
    page = _client(staff, "zh-hans").get(reverse("web:household_detail", args=[household.pk]))
    assert f"文件第 3 行、{CERTIFICATE}" in page.content.decode()
    token = token_create(actor=staff, user=staff, name="tests")
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "zh-hans"}
    body = Client().get(f"/api/v1/households/{household.pk}", headers=headers).json()
    summaries = [e["summary"] for e in body["timeline"] if e["kind"] == "file_updated"]
    assert len(summaries) == 1 and f"记录文件第 3 行、{CERTIFICATE}" in summaries[0]


def test_a_record_in_words_is_read_again_in_the_readers_language() -> None:
    with translation.override("en"):
        english = services.record_in_words("row 12")
        assert english == "row 12 of the file"
        assert services.record_in_words("云L22222") == "云L22222"
        assert services.record_in_words(f"row 3,{CERTIFICATE}") == f"row 3 of the file, {CERTIFICATE}"
    with translation.override("zh-hans"):
        assert record_in_words_again(english) == "文件第 12 行"
        assert record_in_words_again(f"row 3 of the file, {CERTIFICATE}") == f"文件第 3 行、{CERTIFICATE}"
        assert record_in_words_again("云L22222") is None
