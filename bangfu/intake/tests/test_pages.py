"""The pages through HTTP: the worker signs in by code, fills the form, submits; staff see the
case in their queue only inside their jurisdiction and take the steps from the application page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from bangfu.intake import services, steps
from bangfu.intake.messaging import outbox
from bangfu.intake.models import Applicant, Application, ApplicationState
from bangfu.intake.tests.helpers import form_data, submitted, to_state

pytestmark = pytest.mark.django_db


def _phone_client(phone: str = "13812345678") -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.post("/apply/login/", {"phone": phone, "step": "send"})
    code = next(code for to, code in reversed(outbox) if to == phone)
    r = c.post("/apply/login/", {"phone": phone, "code": code, "step": "verify"})
    assert r.status_code == 302 and r["Location"] == "/apply/"
    return c


def _post_form(unit: Any) -> dict[str, Any]:
    d = form_data(unit, members=1)
    m = d["members"][0]
    post = {
        "version": "",
        "h-address": d["address"],
        "h-housing_type": d["housing_type"],
        "h-main_cause": d["main_cause"],
        "h-secondary_causes": d["secondary_causes"],
        "h-bank": "中国工商银行",
        "h-holder_name": m["name"],
        "h-card_number": "6222021234567890123",
        "m-TOTAL_FORMS": "1",
        "m-INITIAL_FORMS": "0",
        "m-0-relationship": "head",
        "m-0-name": m["name"],
        "m-0-id_number": m["id_number"],
        "m-0-phone": "13812345678",
        "m-0-monthly_income": "800",
        "i-TOTAL_FORMS": "1",
        "i-INITIAL_FORMS": "0",
        "i-0-kind": "pension",
        "i-0-amount_yearly": "2400",
        "e-TOTAL_FORMS": "1",
        "e-INITIAL_FORMS": "0",
        "e-0-kind": "medical",
        "e-0-amount_yearly": "18000",
    }
    return post


def test_worker_applies_from_the_phone(
    tree: dict, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    c = _phone_client()
    r = c.post("/apply/", {"unit_id": tree["xiangyun_g"].pk, "kind": "formal", "idempotency_key": "tap-1"})
    app = Application.objects.get()
    assert r["Location"] == f"/apply/{app.pk}/"
    c.post("/apply/", {"unit_id": tree["xiangyun_g"].pk, "kind": "formal", "idempotency_key": "tap-1"})
    assert Application.objects.count() == 1  # the double tap
    post = _post_form(tree["xiangyun_g"])
    bad = {**post, "m-0-id_number": "123", "submit": "1"}
    r = c.post(f"/apply/{app.pk}/", bad)
    assert r.status_code == 400
    assert "Not submitted" in r.content.decode()
    # The draft took what was sent (only the submit was refused): nothing to lose by leaving.
    assert 'data-unsaved="1"' not in r.content.decode()
    r = c.post(f"/apply/{app.pk}/", {**bad, "h-secondary_causes": ["2", "3", "4", "5"]})
    assert r.status_code == 400 and 'data-unsaved="1"' in r.content.decode()  # not saved: leaving asks first
    r = c.post(f"/apply/{app.pk}/", {**post, "submit": "1"})
    assert r.status_code == 302
    app.refresh_from_db()
    assert app.state == ApplicationState.SUBMITTED
    page = c.get(f"/apply/{app.pk}/").content.decode()
    assert "Submitted" in page
    assert "The authorisation for the economic check is not signed yet" in page  # told at once
    c.post(f"/apply/{app.pk}/authorise/", {"agreed": "1"})
    app.refresh_from_db()
    assert app.authorised_at is not None and app.authorised_ip == "127.0.0.1"

    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(users["xiangyun_cadre"])
    queue = staff.get("/applications/").content.decode()
    assert app.reference in queue
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    other.force_login(users["dalishi_staff"])
    assert app.reference not in other.get("/applications/").content.decode()
    assert other.get(f"/applications/{app.pk}/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(f"/applications/{app.pk}/act/", {"action": "return", "reason": "请补充病历", "version": app.version})
    app.refresh_from_db()
    assert app.state == ApplicationState.DRAFT
    assert "请补充病历" in c.get(f"/apply/{app.pk}/").content.decode()
    assert "请补充病历" in c.get("/apply/").content.decode()  # in-app notice (on commit)


def test_phone_pages_need_sign_in(tree: dict) -> None:
    app = submitted(tree["xiangyun_g"])
    r = Client().get(f"/apply/{app.pk}/")
    assert r.status_code == 302 and "/apply/login/" in r["Location"]
    c = _phone_client("13700000009")
    assert c.get(f"/apply/{app.pk}/").status_code == 404  # another worker's case


def test_staff_detail_shows_decision_actions_and_notice_list(tree: dict, users: dict[str, Any], standard: Any) -> None:
    app = to_state(submitted(tree["xiangyun_g"]), ApplicationState.HIGHER_REVIEW, users)
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(users["xiangyun_staff"])
    page = staff.get(f"/applications/{app.pk}/").content.decode()
    assert "Higher review passed" in page
    assert "net income per head" in page
    cadre = Client(HTTP_ACCEPT_LANGUAGE="en")
    cadre.force_login(users["xiangyun_cadre"])
    assert "Nothing for you to do" in cadre.get(f"/applications/{app.pk}/").content.decode()
    on_notice = to_state(submitted(tree["xiangyun_g"], phone="13600000000"), ApplicationState.UNIT_REVIEW, users)
    steps.unit_review_record(
        actor=users["xiangyun_cadre"],
        application_id=on_notice.pk,
        held_on=timezone.localdate() - dt.timedelta(days=1),
        minutes="同意",
    )
    listing = cadre.get("/applications/notice/").content.decode()
    assert on_notice.head_id_masked in listing and "*" in on_notice.head_id_masked


def test_the_phone_lists_unions_under_their_county_and_chooses_none(tree: dict, users: dict[str, Any]) -> None:
    c = _phone_client()
    page = c.get("/apply/").content.decode()
    assert '<option value="" selected>Choose your union</option>' in page
    group = page.index(f'<optgroup label="{tree["xiangyun_g"].parent.name}">')
    assert page.index(f'<option value="{tree["xiangyun_g"].pk}">', group) > group
    r = c.post("/apply/", {"unit_id": "", "kind": "formal", "idempotency_key": "tap-1"})
    assert r.status_code == 200 and not Application.objects.exists()
    assert "This field is required." in r.content.decode()
    # A cadre of one union has it chosen already.
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(users["xiangyun_cadre"])
    counter = staff.get("/applications/new/").content.decode()
    assert f'<option value="{tree["xiangyun_g"].pk}" selected>' in counter


def test_the_secondary_causes_are_boxes_each_with_its_label(tree: dict) -> None:
    """Django gives a box list's class to its container too; the page lays the boxes out itself."""
    c = _phone_client()
    c.post("/apply/", {"unit_id": tree["xiangyun_g"].pk, "kind": "formal", "idempotency_key": "tap-1"})
    page = c.get(f"/apply/{Application.objects.get().pk}/").content.decode()
    assert 'id="id_h-secondary_causes" class="form-check-input"' not in page
    assert page.count('name="h-secondary_causes"') == 10
    assert '<label class="form-check-label" for="id_h-secondary_causes_0">No capacity to work</label>' in page


def test_a_refused_step_form_comes_back_with_what_was_typed(tree: dict, users: dict[str, Any]) -> None:
    """A visit dated tomorrow: the long texts typed stay, and the error is under the date."""
    app = to_state(submitted(tree["xiangyun_g"]), ApplicationState.HOME_VISIT, users)
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(users["xiangyun_cadre"])
    seen = "老旧公房，家具简陋，屋顶漏雨，厨房与卧室合一"
    typed = {
        "visited_on": (timezone.localdate() + dt.timedelta(days=1)).isoformat(),
        "visitors": "王干事、李委员",
        "seen": seen,
        "asked": "收入与病情",
        "explained": "帮扶政策",
        "findings": "情况属实",
    }
    page = c.post(f"/applications/{app.pk}/visit/", typed, follow=True).content.decode()
    assert seen in page and "王干事、李委员" in page
    assert (
        '<div class="text-danger small field-error" id="id_visited_on_error">The date is in the future.</div>' in page
    )
    assert not app.visits.exists()
    # Once shown, the page is fresh again.
    again = c.get(f"/applications/{app.pk}/").content.decode()
    assert seen not in again
    # A date before the application, refused by the service: also kept, under its field.
    typed["visited_on"] = (timezone.localdate() - dt.timedelta(days=30)).isoformat()
    page = c.post(f"/applications/{app.pk}/visit/", typed, follow=True).content.decode()
    assert seen in page and "cannot come before the application was submitted" in page


def test_a_closed_application_offers_the_worker_nothing_to_upload_or_sign(tree: dict, users: dict[str, Any]) -> None:
    from bangfu.intake import services

    from .helpers import sign_in

    app = submitted(tree["xiangyun_g"])
    assert app.applicant is not None
    c = sign_in(Client(headers={"Accept-Language": "en"}), app.applicant)
    page = c.get(f"/apply/{app.pk}/").content.decode()
    assert "Upload" in page and 'id="sign-authorisation"' in page and "up to 10 MB each" in page
    services.application_transition(actor=app.applicant, application_id=app.pk, action="withdraw", reason="不需要了")
    page = c.get(f"/apply/{app.pk}/").content.decode()
    assert "Upload" not in page and 'id="sign-authorisation"' not in page and "Not signed." in page


@pytest.mark.parametrize("who", ["evaluator", "province_manager"])
def test_the_import_page_offers_no_upload_to_roles_that_cannot_import(users: dict[str, Any], who: str) -> None:
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(users[who])
    page = c.get("/applications/import/").content.decode()
    assert 'id="import-form"' not in page and 'id="import-not-allowed"' in page
    c.force_login(users["xiangyun_staff"])
    assert 'id="import-form"' in c.get("/applications/import/").content.decode()


def test_a_case_offers_its_upload_only_to_who_may_attach(tree: dict, users: dict[str, Any]) -> None:
    """The evaluator reads a case: it was shown an upload box that answered "no permission"."""
    from bangfu.intake.tests.helpers import submitted

    app = submitted(tree["xiangyun_g"])
    for who, offered in (("evaluator", False), ("xiangyun_staff", True)):
        c = Client(headers={"Accept-Language": "en"})
        c.force_login(users[who])
        page = c.get(f"/applications/{app.pk}/").content.decode()
        assert (f'action="/applications/{app.pk}/upload/"' in page) is offered, who


def test_the_reviewer_reads_every_field_the_worker_gave_with_numbers_masked(tree: dict, users: dict[str, Any]) -> None:
    form = form_data(tree["xiangyun_g"])
    head = form["members"][0]
    head.update({"phone": "13912345678", "employer": "祥云县纺织厂", "work_status": "laid_off"})
    form.update({"housing_area": "45.5", "bank_account": {"bank": "中国工商银行", "holder_name": head["name"],
                                                            "card_number": "6222 0212 3456 7890 123"}})  # fmt: skip
    applicant = Applicant.objects.create(phone="13912345678")
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk, form=form)
    app = services.application_submit(actor=applicant, application_id=app.pk)
    cadre = Client(HTTP_ACCEPT_LANGUAGE="en")
    cadre.force_login(users["xiangyun_cadre"])
    page = cadre.get(f"/applications/{app.pk}/").content.decode()
    for shown in ("13912345678", "祥云县纺织厂", "Laid off", "45.5", "中国工商银行", "6222***********0123"):
        assert shown in page, shown
    for m in form["members"]:
        assert m["id_number"] not in page
        assert m["id_number"][:4] + "**********" + m["id_number"][-4:] in page
    assert "6222021234567890123" not in page


def test_a_paper_signature_is_recorded_at_any_step_of_an_open_case(tree: dict, users: dict[str, Any]) -> None:
    """The counter takes the signed paper with the application: the button was only on the
    economic check's step, so a cadre holding the paper at the first review had nowhere to record it."""
    app = submitted(tree["xiangyun_g"])
    assert app.state == ApplicationState.SUBMITTED and app.authorised_at is None
    evaluator = Client(headers={"Accept-Language": "en"})
    evaluator.force_login(users["evaluator"])
    assert 'id="paper-form"' not in evaluator.get(f"/applications/{app.pk}/").content.decode()
    cadre = Client(headers={"Accept-Language": "en"})
    cadre.force_login(users["xiangyun_cadre"])
    assert 'id="paper-form"' in cadre.get(f"/applications/{app.pk}/").content.decode()
    r = cadre.post(f"/applications/{app.pk}/check/", {"what": "paper"}, follow=True)
    assert "The signature on paper was recorded." in r.content.decode()
    app.refresh_from_db()
    assert app.authorised_at is not None and app.state == ApplicationState.SUBMITTED
    assert 'id="paper-form"' not in r.content.decode()
    services.application_transition(
        actor=users["xiangyun_cadre"], application_id=app.pk, action="refuse", reason="重复申请"
    )
    other = submitted(tree["xiangyun_g"], phone="13600000001")
    services.application_transition(
        actor=users["xiangyun_cadre"], application_id=other.pk, action="refuse", reason="重复申请"
    )
    assert 'id="paper-form"' not in cadre.get(f"/applications/{other.pk}/").content.decode()


def test_the_worker_reads_why_the_case_came_back_at_the_top_of_its_page(tree: dict, users: dict[str, Any]) -> None:
    """A case returned to the worker showed "Draft" at the top and its reason only at the end of
    the progress list, below the whole form (some 5,000 px down on a phone)."""
    app = submitted(tree["xiangyun_g"], phone="13812345678")
    c = _phone_client("13812345678")
    assert 'id="last-word"' not in c.get(f"/apply/{app.pk}/").content.decode()
    services.application_transition(
        actor=users["xiangyun_cadre"], application_id=app.pk, action="return", reason="请补充医院票据"
    )
    page = c.get(f"/apply/{app.pk}/").content.decode()
    assert 'id="last-word"' in page and "请补充医院票据" in page
    assert page.index('id="last-word"') < page.index("Proof (photos or PDF)") < page.index("Progress")


def test_a_refused_worker_is_told_what_they_can_do_next(
    tree: dict, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    """A refusal said only that it was over: nothing of asking the union again or applying again."""
    from django.utils import translation

    from bangfu.intake.models import Notice

    app = submitted(tree["xiangyun_g"], phone="13812345679")
    with django_capture_on_commit_callbacks(execute=True):
        services.application_transition(
            actor=users["xiangyun_cadre"], application_id=app.pk, action="refuse", reason="家庭收入超过标准"
        )
    union = tree["xiangyun_g"].name
    page = _phone_client("13812345679").get(f"/apply/{app.pk}/").content.decode()
    assert 'id="next-step"' in page and f"ask {union} to look at it again" in page
    notice = Notice.objects.filter(application=app).order_by("-pk").first()
    with translation.override("en"):
        shown = notice.shown if notice is not None else ""
    assert shown == (
        f"Your application {app.reference} was refused (家庭收入超过标准). If you think this is wrong, ask {union} "
        "to look at it again; you may apply again when your situation changes."
    )


def test_the_import_page_says_what_each_chinese_column_means_and_takes(users: dict[str, Any]) -> None:
    """An English reader saw only the template's Chinese headers, and a refused value did not say
    which ones the column takes."""
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(users["xiangyun_staff"])
    page = c.get("/applications/import/").content.decode()
    assert 'id="import-columns"' in page
    assert "困难类别</span> * — hardship category" in page
    assert "深度困难</span> = Deep hardship" in page


def test_an_evaluator_reads_the_workers_phone_numbers_masked(tree: dict, users: dict[str, Any]) -> None:
    from bangfu.org.services import token_create

    app = submitted(tree["xiangyun_g"])
    phone = next(m.get("phone") for m in app.data["members"] if m.get("phone"))
    masked_phone = phone[:3] + "****" + phone[-4:]
    staff = Client(headers={"Accept-Language": "en"})
    staff.force_login(users["xiangyun_staff"])
    assert phone in staff.get(f"/applications/{app.pk}/").content.decode()
    evaluator = Client(headers={"Accept-Language": "en"})
    evaluator.force_login(users["evaluator"])
    page = evaluator.get(f"/applications/{app.pk}/").content.decode()
    assert phone not in page and masked_phone in page
    token = token_create(actor=users["evaluator"], user=users["evaluator"], name="tests")
    api = Client(headers={"Authorization": f"Bearer {token}"})
    body = api.get(f"/api/v1/applications/{app.pk}").json()
    assert phone not in str(body) and masked_phone in str(body)


def test_a_manager_and_an_evaluator_follow_every_case_under_way(tree: dict, users: dict[str, Any]) -> None:
    """Their work queue is empty (no step is theirs): the page said "Nothing is waiting for you"
    and nothing more, and no page gave the province's cases, steps or overdue counts."""
    from bangfu.org.services import token_create

    submitted(tree["xiangyun_g"])
    to_state(submitted(tree["xiangyun_g"], phone="13600000002"), ApplicationState.HIGHER_REVIEW, users)
    for who in ("province_manager", "evaluator"):
        c = Client(headers={"Accept-Language": "en"})
        c.force_login(users[who])
        page = c.get("/applications/").content.decode()
        assert "Nothing is waiting for you." in page and "See the 2 cases under way in your unions." in page
        page = c.get("/applications/", {"scope": "all"}).content.decode()
        assert page.count('href="/applications/') >= 2 and "Higher review" in page
        token = token_create(actor=users[who], user=users[who], name="tests")
        api = Client(headers={"Authorization": f"Bearer {token}"})
        assert api.get("/api/v1/applications/queue").json()["count"] == 0
        body = api.get("/api/v1/applications/queue", {"scope": "all"}).json()
        assert body["count"] == 2 and len(body["results"]) == 2
        counts = api.get("/api/v1/applications/counts", {"scope": "all"}).json()
        assert sum(c["count"] for c in counts) == 2
    # Another county's manager sees none of them.
    from bangfu.org.models import Role
    from bangfu.testing.factories import user_with_role

    other = Client(headers={"Accept-Language": "en"})
    other.force_login(user_with_role(tree["dalishi"], Role.MANAGER, "dalishi_manager"))
    assert "No case is under way in your unions." in other.get("/applications/", {"scope": "all"}).content.decode()


def test_the_yearly_reviews_are_followed_union_by_union(tree: dict, users: dict[str, Any]) -> None:
    """A province's reviews were one flat list: no union filter, no count per city or county."""
    import datetime as dt

    from bangfu.intake.models import ReviewTask
    from bangfu.registry import services as registry
    from bangfu.testing.factories import household_input

    for unit in ("xiangyun_g", "dalishi_g"):
        h = registry.household_create(actor=users["admin"], data=household_input(tree[unit], members=1))
        ReviewTask.objects.create(household=h, year=2026, due_on=dt.date(2026, 1, 1))
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(users["province_manager"])
    page = c.get("/applications/reviews/").content.decode()
    assert 'id="review-by-union"' in page and tree["dali"].name in page and 'id="review-unit"' in page
    page = c.get("/applications/reviews/", {"unit": tree["dali"].pk}).content.decode()
    assert tree["xiangyun"].name in page and tree["dalishi"].name in page  # the counties below
    assert "2 yearly reviews" in page
    assert "1 yearly review" in c.get("/applications/reviews/", {"unit": tree["xiangyun"].pk}).content.decode()
    from bangfu.org.services import token_create

    token = token_create(actor=users["province_manager"], user=users["province_manager"], name="tests")
    api = Client(headers={"Authorization": f"Bearer {token}"})
    assert api.get("/api/v1/reviews", {"unit_id": tree["dalishi"].pk}).json()["count"] == 1


def test_a_step_refused_because_the_case_moved_on_keeps_what_was_typed(tree: dict, users: dict[str, Any]) -> None:
    """Two cadres at the home visit: one refuses the case while the other writes the visit. The
    visit's texts came back lost with the redirect; they are shown on the page, to be copied."""
    from bangfu.org.models import Role
    from bangfu.testing.factories import user_with_role

    cadre2 = user_with_role(tree["xiangyun_g"], Role.GRASSROOTS_CADRE, "cadre2")
    app = to_state(submitted(tree["xiangyun_g"]), ApplicationState.HOME_VISIT, users)
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(users["xiangyun_cadre"])
    assert 'id="visit-form"' in c.get(f"/applications/{app.pk}/").content.decode()
    services.application_transition(actor=cadre2, application_id=app.pk, action="refuse", reason="不符合条件")
    seen = "老旧公房，家具简陋，屋顶漏雨，厨房与卧室合一"
    typed = {
        "visited_on": timezone.localdate().isoformat(),
        "visitors": "王干事、李委员",
        "seen": seen,
        "asked": "收入与病情",
        "explained": "帮扶政策",
        "findings": "情况属实",
    }
    page = c.post(f"/applications/{app.pk}/visit/", typed, follow=True).content.decode()
    assert "This can only be recorded while the application is at the step “Home visit”." in page
    assert 'id="visit-form"' not in page  # the case is refused: no visit to record
    assert 'id="unsaved"' in page and "What you typed, not saved" in page
    assert f">{seen}</textarea>" in page and ">王干事、李委员</textarea>" in page
    assert "Seen (the home)" in page and "Visitors" in page
    assert not app.visits.exists()
    # Shown once: the page opened again is the application as it is.
    assert 'id="unsaved"' not in c.get(f"/applications/{app.pk}/").content.decode()

    # A reason typed on a page opened before someone else acted: kept, and the message says the
    # page shown is the application as it is now (not "reload it").
    other = to_state(submitted(tree["xiangyun_g"]), ApplicationState.HOME_VISIT, users)
    opened_at = other.version
    services.application_transition(actor=cadre2, application_id=other.pk, action="return", reason="请补充材料")
    reason = "收入核实不符，拒绝——我写了很长的理由"
    page = c.post(
        f"/applications/{other.pk}/act/",
        {"action": "refuse", "reason": reason, "version": str(opened_at)},
        follow=True,
    ).content.decode()
    assert "This application was changed after you opened it: it is shown below as it is now." in page
    assert "reload it and try again" not in page
    assert f">{reason}</textarea>" in page and "Reason for “Refuse”" in page
    other.refresh_from_db()
    assert other.state != ApplicationState.REFUSED


def test_the_union_counts_of_the_yearly_reviews_add_up_with_the_unions_own_files(
    tree: dict, users: dict[str, Any]
) -> None:
    """A file kept by the county union itself (a legacy import puts it there when its union column
    is blank) was in the totals and in no row of the counts by union."""
    import datetime as dt

    from bangfu.intake import selectors
    from bangfu.intake.models import ReviewTask
    from bangfu.registry import services as registry
    from bangfu.testing.factories import household_input

    for unit in ("xiangyun", "xiangyun", "xiangyun_g"):
        h = registry.household_create(actor=users["admin"], data=household_input(tree[unit], members=1))
        ReviewTask.objects.create(household=h, year=2026, due_on=dt.date(2026, 1, 1))
    rows = selectors.review_counts_by_union(
        actor=users["province_manager"], filters=selectors.ReviewFilters(unit_id=tree["xiangyun"].pk)
    )
    assert [(r.unit, r.own, r.open) for r in rows if r.open] == [
        (tree["xiangyun"], True, 2),
        (tree["xiangyun_g"], False, 1),
    ]
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(users["province_manager"])
    page = c.get("/applications/reviews/", {"unit": tree["xiangyun"].pk}).content.decode()
    assert f"{tree['xiangyun'].name}&#x27;s own files" in page or f"{tree['xiangyun'].name}'s own files" in page


def test_the_union_counts_of_the_yearly_reviews_roll_up_in_one_query(
    tree: dict, users: dict[str, Any], django_assert_num_queries: Any
) -> None:
    """The counts by union ran one query per union below the chosen one (a province's cities, a
    city's counties); they are now counted in one, each union's tasks added to the row of the union
    below the chosen one that holds it, however deep."""
    import datetime as dt

    from bangfu.intake import selectors
    from bangfu.intake.models import ReviewState, ReviewTask
    from bangfu.registry import services as registry
    from bangfu.testing.factories import household_input

    for unit, state in (("xiangyun_g", ReviewState.OPEN), ("dalishi_g", ReviewState.REPORTED), ("dali", "")):
        h = registry.household_create(actor=users["admin"], data=household_input(tree[unit], members=1))
        ReviewTask.objects.create(household=h, year=2026, due_on=dt.date(2026, 1, 1), state=state or ReviewState.OPEN)
    manager = users["province_manager"]
    with django_assert_num_queries(5):  # the grants, the top, the unions below it, the jurisdiction, the counts
        rows = selectors.review_counts_by_union(actor=manager, filters=selectors.ReviewFilters())
    dali = next(r for r in rows if r.unit == tree["dali"])
    assert (dali.open, dali.reported, dali.overdue, dali.own) == (2, 1, 3, False)
    assert sum(r.open + r.reported + r.done for r in rows) == 3
    rows = selectors.review_counts_by_union(actor=manager, filters=selectors.ReviewFilters(unit_id=tree["dali"].pk))
    assert {(r.unit, r.own, r.open, r.reported) for r in rows if r.open or r.reported} == {
        (tree["dali"], True, 1, 0),
        (tree["xiangyun"], False, 1, 0),
        (tree["dalishi"], False, 0, 1),
    }
