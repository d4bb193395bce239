"""The application pages as a keyboard and screen-reader user meets them (WCAG 2.2 AA): the
worker's phone pages (sign-in, home, the application form) and the staff's case page, queue and
yearly reviews."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from django.test import Client

from bangfu.intake.messaging import outbox
from bangfu.intake.models import Applicant, Application, ReviewTask
from bangfu.intake.tests.helpers import sign_in, submitted
from bangfu.testing.a11y import Page

pytestmark = pytest.mark.django_db


def staff_client(user: Any) -> Client:
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(user)
    return c


def assert_fields_described(page: Page, where: str) -> None:
    assert page.broken_references() == [], where
    for f in page.fields():
        if f.get("aria-invalid") == "true":
            assert page.description_of(f), f"{where}: {f.get('name')} is invalid with no error read out"


def _draft(tree: dict) -> tuple[Client, Application]:
    """A worker signed in on the phone, with a draft just started."""
    applicant = Applicant.objects.create(phone="13812345678")
    c = sign_in(Client(headers={"Accept-Language": "en"}), applicant)
    c.post("/apply/", {"unit_id": tree["xiangyun_g"].pk, "kind": "formal", "idempotency_key": "tap-a11y"})
    return c, Application.objects.get(applicant=applicant, state="draft")


def test_the_application_form_ties_errors_and_hints_to_their_fields_and_names_each_row(tree: dict) -> None:
    c, draft = _draft(tree)
    url = f"/apply/{draft.pk}/"
    page = Page(c.get(url).content.decode())
    assert_fields_described(page, "blank draft")
    # Sent with a member's ID number wrong and the address missing.
    post = {
        "version": "",
        "m-TOTAL_FORMS": "2",
        "m-INITIAL_FORMS": "0",
        "m-0-relationship": "head",
        "m-0-name": "王海涛",
        "m-0-id_number": "123",
        "m-1-relationship": "spouse",
        "m-1-name": "李秀英",
        "m-1-id_number": "456",
        "i-TOTAL_FORMS": "1",
        "i-INITIAL_FORMS": "0",
        "e-TOTAL_FORMS": "1",
        "e-INITIAL_FORMS": "0",
        "submit": "1",
    }
    response = c.post(url, post)
    assert response.status_code == 400
    page = Page(response.content.decode())
    invalid = [f for f in page.fields() if f.get("aria-invalid") == "true"]
    assert "m-0-id_number" in [f.get("name") for f in invalid]
    assert_fields_described(page, "draft sent with errors")
    # Each member is a group of its own, named by number and name; no two fields read alike.
    assert page.groups_of(page.by_id["id_m-0-name"])[0] == "Member 1: 王海涛"
    assert page.groups_of(page.by_id["id_m-1-id_number"])[0] == "Member 2: 李秀英"
    assert page.groups_of(page.by_id["id_i-0-kind"])[0] == "Other income 1"
    read = Counter(page.read_as(f) for f in page.fields())
    assert [r for r, n in read.items() if n > 1] == []


def test_a_refused_step_form_points_at_its_errors(tree: dict, users: dict[str, Any]) -> None:
    from bangfu.intake.models import ApplicationState
    from bangfu.intake.tests.helpers import to_state

    app = to_state(submitted(tree["xiangyun_g"]), ApplicationState.HOME_VISIT, users)
    c = staff_client(users["xiangyun_cadre"])
    page = Page(c.post(f"/applications/{app.pk}/visit/", {"visitors": "王干事"}, follow=True).content.decode())
    assert page.by_id["id_visited_on"].get("aria-invalid") == "true"
    assert_fields_described(page, "visit refused")


def test_a_decision_without_its_reason_marks_the_reason_box_of_that_decision(tree: dict, users: dict[str, Any]) -> None:
    """Refuse with the reason empty: the page came back with the error at its top only, the
    reason box not marked and the focus nowhere. The two reason boxes had the same name."""
    app = submitted(tree["xiangyun_g"])
    c = staff_client(users["xiangyun_cadre"])
    page = Page(c.get(f"/applications/{app.pk}/").content.decode())
    reasons = {page.name_of(t) for t in page.all("textarea", name="reason")}
    assert {
        "Reason for returning it one step (the worker sees it)",
        "Reason for refusing (the worker sees it)",
    } <= reasons
    response = c.post(f"/applications/{app.pk}/act/", {"action": "refuse", "reason": " ", "version": app.version})
    assert response.status_code == 302
    page = Page(c.get(response["Location"]).content.decode())
    refuse = page.by_id["reason-refuse"]
    assert refuse.get("aria-invalid") == "true"
    # The error read first, then the box's limit.
    assert page.description_of(refuse) == "Give the reason; the worker will see it. At most 1000 characters."
    assert page.by_id["reason-return"].get("aria-invalid") != "true"
    assert_fields_described(page, "refused without a reason")
    # Shown once: the page opened again is as before.
    page = Page(c.get(f"/applications/{app.pk}/").content.decode())
    assert page.by_id["reason-refuse"].get("aria-invalid") != "true"


def test_the_phone_sign_in_marks_the_box_in_error_and_moves_on_to_the_code(tree: dict) -> None:
    c = Client(headers={"Accept-Language": "en"})
    page = Page(c.post("/apply/login/", {"phone": "12", "step": "send"}).content.decode())
    phone = page.by_id["phone"]
    assert phone.get("aria-invalid") == "true"
    assert page.description_of(phone) == "Enter an 11-digit mobile number."
    assert_fields_described(page, "bad phone")
    # The code sent: the cursor goes to the code box.
    page = Page(c.post("/apply/login/", {"phone": "13812345678", "step": "send"}).content.decode())
    assert "autofocus" in page.by_id["code"].attrs and "autofocus" not in page.by_id["phone"].attrs
    assert page.by_id["phone"].get("aria-invalid") != "true"
    # A wrong code: the code box is marked, the number is not.
    code = next(code for to, code in reversed(outbox) if to == "13812345678")
    wrong = "000000" if code != "000000" else "111111"
    page = Page(c.post("/apply/login/", {"phone": "13812345678", "code": wrong, "step": "verify"}).content.decode())
    assert page.by_id["code"].get("aria-invalid") == "true"
    assert "The code is wrong" in page.description_of(page.by_id["code"])
    assert page.by_id["phone"].get("aria-invalid") != "true"
    assert_fields_described(page, "wrong code")


def test_each_phone_page_has_its_own_title_and_the_language_button_its_language(tree: dict) -> None:
    c, draft = _draft(tree)
    titles = {
        "/apply/login/": Page(Client(headers={"Accept-Language": "en"}).get("/apply/login/").content.decode()),
        "/apply/": Page(c.get("/apply/").content.decode()),
        f"/apply/{draft.pk}/": Page(c.get(f"/apply/{draft.pk}/").content.decode()),
    }
    seen = {url: page.all("title")[0].text() for url, page in titles.items()}
    assert len(set(seen.values())) == len(seen), seen
    assert draft.reference in seen[f"/apply/{draft.pk}/"]
    for page in titles.values():
        toggle = next(b for b in page.all("button") if b.get("name") == "language")
        assert toggle.get("lang") == toggle.get("value")


def test_the_union_search_is_read_by_its_visible_label(tree: dict) -> None:
    c, _draft_app = _draft(tree)
    page = Page(c.get("/apply/").content.decode())
    box = page.by_id["union-q"]
    assert page.name_of(box) == "Find your union"
    assert page.description_of(box) == "Part of its name, or your county"


def test_the_queue_tabs_and_filters_say_which_is_shown_and_the_review_buttons_which_file(
    tree: dict, users: dict[str, Any]
) -> None:
    from bangfu.registry import services as registry
    from bangfu.testing.factories import household_input

    submitted(tree["xiangyun_g"])
    h = registry.household_create(actor=users["admin"], data=household_input(tree["xiangyun_g"], members=1))
    ReviewTask.objects.create(household=h, year=2026, due_on=dt.date(2026, 1, 1))
    c = staff_client(users["xiangyun_cadre"])
    page = Page(c.get("/applications/").content.decode())
    tabs = page.by_id["queue-scope"]
    assert [a.text() for a in tabs.iter() if a.tag == "a" and a.get("aria-current") == "page"] == ["Waiting for me 1"]
    counts = page.by_id["queue-counts"]
    assert [a.text() for a in counts.iter() if a.tag == "a" and a.get("aria-current") == "true"] == ["All"]
    page = Page(c.get("/applications/", {"state": "submitted"}).content.decode())
    current = [a for a in page.by_id["queue-counts"].iter() if a.tag == "a" and a.get("aria-current") == "true"]
    assert len(current) == 1 and "submitted" in current[0].get("href")
    # The yearly reviews, on the queue and on their own page: a named action column, and the
    # buttons say which file they confirm.
    for url in ("/applications/", "/applications/reviews/"):
        page = Page(c.get(url).content.decode())
        table = page.by_id["reviews"]
        headers = [th.text() for th in table.iter() if th.tag == "th"]
        assert "" not in headers and "Actions" in headers, url
        buttons = [b for b in table.iter() if b.tag == "button"]
        assert buttons and all(h.file_number in page.name_of(b) for b in buttons), url


def test_a_submit_refused_at_the_save_says_what_the_submit_would_say_too(tree: dict) -> None:
    # Four secondary causes (wrong in itself: the draft is not saved) hid the rest — a name with
    # digits — until the causes were put right and the form sent again.
    from bangfu.registry import codes

    c, draft = _draft(tree)
    causes = [value for value, _label in codes.Cause.choices][:4]
    post = {
        "version": "",
        "h-secondary_causes": causes,
        "m-TOTAL_FORMS": "1",
        "m-INITIAL_FORMS": "0",
        "m-0-relationship": "head",
        "m-0-name": "王海涛201",
        "i-TOTAL_FORMS": "0",
        "i-INITIAL_FORMS": "0",
        "e-TOTAL_FORMS": "0",
        "e-INITIAL_FORMS": "0",
        "submit": "1",
    }
    response = c.post(f"/apply/{draft.pk}/", post)
    assert response.status_code == 400
    page = Page(response.content.decode())
    invalid = {f.get("name") for f in page.fields() if f.get("aria-invalid") == "true"}
    assert "m-0-name" in invalid and "h-secondary_causes" in invalid, invalid
    assert_fields_described(page, "submit refused at the save")
