"""The application page reads as the household file does: each language's punctuation between a
label and its value and between the items of a list, amounts grouped in thousands."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from bangfu.intake import steps
from bangfu.intake.models import Application, ApplicationState
from bangfu.intake.tests.helpers import submitted, to_state

pytestmark = pytest.mark.django_db


def _text(app: Application, user: Any, language: str) -> str:
    """The page's text without its tags, white space run together."""
    c = Client(HTTP_ACCEPT_LANGUAGE=language)
    c.force_login(user)
    html = c.get(f"/applications/{app.pk}/").content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "zh-hans",
            [
                "住址：云南省",
                "主要致困原因：患重特大疾病",
                "次要致困原因：下岗失业、子女上学",
                "收入：养老金 2,400.00",
                "刚性支出：自付医疗费 18,000.00",
                " 1,200.00 ",
            ],
        ),
        (
            "en",
            [
                "Address: 云南省",
                "Main cause of hardship: Major illness",
                "Secondary causes: Laid off or unemployed, Children's schooling",
                "Income: Pension 2,400.00",
                "Rigid expense: Medical costs paid out of pocket 18,000.00",
                " 1,200.00 ",
            ],
        ),
    ],
)
def test_the_application_reads_in_the_language_of_the_page(
    language: str, expected: list[str], tree: dict, users: dict[str, Any], standard: Any
) -> None:
    app = to_state(submitted(tree["xiangyun_g"]), ApplicationState.HIGHER_REVIEW, users)
    text = _text(app, users["xiangyun_staff"], language)
    for shown in expected:
        assert shown in text
    assert "2400.00" not in text and "18000.00" not in text


def test_an_amount_that_is_not_a_number_is_shown_as_typed(tree: dict, users: dict[str, Any], standard: Any) -> None:
    app = to_state(submitted(tree["xiangyun_g"]), ApplicationState.HIGHER_REVIEW, users)
    data = {**app.data, "incomes": [{"kind": "pension", "amount_yearly": "两千四"}]}
    Application.objects.filter(pk=app.pk).update(data=data)
    assert "Income: Pension 两千四" in _text(app, users["xiangyun_staff"], "en")


def _act(c: Client, app: Application, action: str, **more: str) -> list[str]:
    app.refresh_from_db()
    response = c.post(f"/applications/{app.pk}/act/", {"action": action, "version": app.version, **more}, follow=True)
    return [str(m) for m in response.context["messages"]]


def test_the_page_says_what_an_action_did(tree: dict, users: dict[str, Any], standard: Any) -> None:
    cadre = Client(HTTP_ACCEPT_LANGUAGE="en")
    cadre.force_login(users["xiangyun_cadre"])
    app = submitted(tree["xiangyun_g"])
    assert _act(cadre, app, "accept") == ["The application was accepted for review."]
    assert _act(cadre, app, "return", reason="缺病历") == ["The application was returned to “Submitted”."]
    assert _act(cadre, app, "refuse", reason="不符合条件") == ["The application was refused."]


def test_every_action_has_its_words_for_what_it_did() -> None:
    from bangfu.intake import workflow

    assert set(workflow.ACTION_DONE) == set(workflow.ALL_ACTIONS) == set(workflow.ACTION_LABELS)


def test_a_notice_that_begins_tomorrow_says_so_in_words_that_read(tree: dict, users: dict[str, Any]) -> None:
    app = to_state(submitted(tree["xiangyun_g"]), ApplicationState.UNIT_REVIEW, users)
    steps.unit_review_record(
        actor=users["xiangyun_cadre"], application_id=app.pk, held_on=timezone.localdate(), minutes="同意"
    )
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(users["xiangyun_cadre"])
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c.get("/applications/notice/").content.decode()))
    app.refresh_from_db()
    assert f"{app.notice_from:%Y-%m-%d} – {app.notice_to:%Y-%m-%d} (from the next day)" in text


def test_a_member_without_a_monthly_income_does_not_break_the_page(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    """A worker may submit a member with the monthly income left empty (the draft keeps no key for
    it): the staff page answered 500, and the error's text held the member, ID number included."""
    app = submitted(tree["xiangyun_g"])
    members = [{k: v for k, v in m.items() if k != "monthly_income"} for m in app.data["members"]]
    incomes = [{k: v for k, v in i.items() if k != "amount_yearly"} for i in app.data.get("incomes", [])]
    Application.objects.filter(pk=app.pk).update(data={**app.data, "members": members, "incomes": incomes})
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(users["xiangyun_staff"])
    response = c.get(f"/applications/{app.pk}/")
    assert response.status_code == 200
    assert "Income: Pension " in _text(app, users["xiangyun_staff"], "en")


def test_a_case_returned_to_the_worker_is_said_to_be_so(tree: dict, users: dict[str, Any], standard: Any) -> None:
    """The page said "returned to 'Draft'" while the case's badge and the worker's phone said
    "returned for correction"."""
    from bangfu.intake import services
    from bangfu.intake.models import Applicant

    worker = Applicant.objects.create(phone="13900000077")
    app = services.application_create(actor=worker, unit_id=tree["xiangyun_g"].pk)
    sent = submitted(tree["xiangyun_g"])
    Application.objects.filter(pk=app.pk).update(data=sent.data)
    Application.objects.filter(pk=sent.pk).delete()
    app = services.application_transition(actor=worker, application_id=app.pk, action="submit")
    cadre = Client(HTTP_ACCEPT_LANGUAGE="en")
    cadre.force_login(users["xiangyun_cadre"])
    assert _act(cadre, app, "return", reason="缺病历") == ["The application was returned to the worker for correction."]


def test_a_counter_case_returned_is_said_to_be_back_at_the_counter(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    """A case made at the counter, returned, was said to be "returned to the worker", whom no one
    had asked to put it right: the union does, and sends it again."""
    from bangfu.intake import services
    from bangfu.intake.tests.helpers import form_data

    cadre_user = users["xiangyun_cadre"]
    unit = tree["xiangyun_g"]
    app = services.application_create(actor=cadre_user, unit_id=unit.pk, form=form_data(unit))
    app = services.application_submit(actor=cadre_user, application_id=app.pk)
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(users["xiangyun_cadre"])
    said = _act(staff, app, "return", reason="请补充收入证明")
    assert said == ["The application was returned to the counter for correction: put it right and submit it again."]
    page = staff.get(f"/applications/{app.pk}/").content.decode()
    top = page.index('id="return-word"')
    assert top < page.index("data-unsaved-warning=") and "请补充收入证明" in page[top : top + 400]


def test_the_printed_notice_says_who_issues_it_when_and_where_to_object(tree: dict, users: dict[str, Any]) -> None:
    """The printed notice said only "objections may be raised with the union": no issuing union, no
    date, nowhere to write the union's address and phone; and a county printed every union's cases
    on one sheet, with no way to print one union's for its own board."""
    for phone in ("13900003001", "13900003002"):
        app = to_state(submitted(tree["xiangyun_g"], phone=phone), ApplicationState.UNIT_REVIEW, users)
        steps.unit_review_record(
            actor=users["xiangyun_cadre"], application_id=app.pk, held_on=timezone.localdate(), minutes="同意"
        )
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(users["xiangyun_staff"])
    union = tree["xiangyun_g"]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c.get("/applications/notice/").content.decode()))
    today = f"{timezone.localdate():%Y-%m-%d}"
    assert f"Issued by {union.name}, {today}" in text  # the only union on the list issues it
    assert "Address: ____" in text and "Phone: ____" in text
    page = c.get("/applications/notice/", {"unit": union.pk}).content.decode()
    assert f"{union.name} · Public notice list" in page and page.count("<tr>") == 3  # the head and two cases
    other = tree["dalishi_g"]
    refused = c.get("/applications/notice/", {"unit": other.pk})  # not in the jurisdiction: as the API, 404
    assert refused.status_code == 404 and other.name not in refused.content.decode()
