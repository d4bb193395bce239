"""A finding's page in the reader's words: the department's figures with their units, and what
confirming does for the findings that write nothing into the file."""

from __future__ import annotations

from typing import Any

from django.test import Client

from bangfu.matching import services
from bangfu.matching.models import Finding


def _page(user: Any, path: str, language: str = "en", **post: str) -> str:
    c = Client(headers={"Accept-Language": language})
    c.force_login(user)
    response = c.post(path, post, follow=True) if post else c.get(path)
    return response.content.decode()


def _income_finding(
    make_household: Any, users: dict[str, Any], write_csv: Any, capture: Any, kind: str, rows: list[list[str]]
) -> tuple[Any, Finding]:
    household, ids = make_household()
    rows = [rows[0], *[[ids[0], *r] for r in rows[1:]]]
    ds = services.dataset_import(actor=users["admin"], kind=kind, path=write_csv(f"{kind}.csv", rows))
    with capture(execute=True):
        services.match_run(actor=users["admin"], dataset_ids=[ds.pk])
    return household, Finding.objects.get(rule="income_discrepancy")


def test_a_tax_finding_shows_the_yearly_income_per_month_beside_the_declared_income(
    make_household: Any, users: dict[str, Any], write_csv: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _household, finding = _income_finding(
        make_household,
        users,
        write_csv,
        django_capture_on_commit_callbacks,
        "tax",
        [["身份证号", "姓名", "纳税人识别号", "年收入"], ["张建国", "T1", "36000"]],
    )
    page = _page(users["xiangyun_staff"], f"/matching/findings/{finding.pk}/")
    record = page.split('id="finding-record"')[1].split("</dl>")[0]
    assert "taxable_income" not in record
    assert "Taxable income (the year&#x27;s, divided by 12)" in record
    assert "3,000.00 yuan a month" in record
    assert "Monthly income on the file" in record and "800.00 yuan a month" in record
    zh = _page(users["xiangyun_staff"], f"/matching/findings/{finding.pk}/", "zh-hans")
    assert "taxable_income" not in zh.split('id="finding-record"')[1].split("</dl>")[0]


def test_confirming_an_income_discrepancy_says_it_writes_nothing_and_where_to_correct_the_income(
    make_household: Any, users: dict[str, Any], write_csv: Any, django_capture_on_commit_callbacks: Any
) -> None:
    household, finding = _income_finding(
        make_household,
        users,
        write_csv,
        django_capture_on_commit_callbacks,
        "social_insurance",
        [["身份证号", "姓名", "参保单位", "缴费基数"], ["张建国", "祥云县某厂", "3000"]],
    )
    staff = users["xiangyun_staff"]
    path = f"/matching/findings/{finding.pk}/"
    page = _page(staff, path)
    record = page.split('id="finding-record"')[1].split("</dl>")[0]
    assert "contribution_base" not in record and "Social insurance contribution base" in record
    assert "Confirming writes what the record shows into the file" not in page
    review = page.split('id="confirm-writes-nothing"')[1].split("</p>")[0]
    assert "writes nothing into the file" in review
    assert f'href="/households/{household.pk}/edit/"' in review
    done = _page(staff, f"/matching/findings/{finding.pk}/confirm/", **{"confirm-reason": "社保记录属实"})
    assert "Nothing was written into the file: correct the member&#x27;s income on the file by hand" in done
    assert Finding.objects.get(pk=finding.pk).status == "confirmed"


def test_the_findings_heading_follows_the_status_filtered_on(users: dict[str, Any]) -> None:
    staff = users["xiangyun_staff"]
    heading = lambda html: html.split('id="findings-heading"')[1].split("</h1>")[0]  # noqa: E731
    assert "Findings to review" in heading(_page(staff, "/matching/"))
    assert "Confirmed findings" in heading(_page(staff, "/matching/?status=confirmed"))
    assert "Dismissed findings" in heading(_page(staff, "/matching/?status=dismissed"))
    assert "All findings" in heading(_page(staff, "/matching/?status="))
    c = Client(headers={"Accept-Language": "en", "HX-Request": "true"})
    c.force_login(staff)
    partial = c.get("/matching/?status=confirmed").content.decode()
    assert 'hx-swap-oob="true"' in partial and "Confirmed findings" in heading(partial)
