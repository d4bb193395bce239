"""The whole path in a real Chromium: a worker applies on a phone-width screen, the grassroots
cadre reviews and visits, the unit reviews with a public notice, the county checks, the city
approves; the active file is visible to the county and not to the neighbouring county."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from bangfu.intake.demo import as_if_noticed, as_if_submitted
from bangfu.intake.messaging import outbox
from bangfu.intake.models import Application
from bangfu.registry.models import Household
from bangfu.testing.browser import sign_in
from bangfu.testing.factories import new_id, pdf_file

SHOTS = Path(os.environ.get("BANGFU_SCREENSHOTS", tempfile.gettempdir()))

pytestmark = [pytest.mark.browser]


def _staff_page(browser: Any, base: str, username: str) -> Any:
    page = browser.new_context(locale="en-US").new_page()
    sign_in(page, base, username)
    return page


def _phone_page(browser: Any, base: str, number: str) -> Any:
    """A worker signed in on a phone-sized page (the code from the outbox)."""
    phone = browser.new_context(viewport={"width": 375, "height": 812}, locale="en-US").new_page()
    phone.goto(f"{base}/apply/login/")
    phone.fill("#phone", number)
    phone.click("button[value=send]")
    phone.fill("#code", next(code for to, code in reversed(outbox) if to == number))
    phone.click("button[value=verify]")
    phone.wait_for_url(f"{base}/apply/")
    return phone


def _act(page: Any, label: str, reason: str = "") -> None:
    form = page.locator("#actions form", has=page.locator(f"button:text-is('{label}')"))
    if reason:
        form.locator("textarea").fill(reason)
    form.locator("button").click()
    page.wait_for_load_state()


def test_phone_application_to_active_file(
    audit_log_emptied: None, live_server: Any, browser: Any, tree: dict, users: dict[str, Any], standard: Any
) -> None:
    from bangfu.org.models import Role
    from bangfu.testing.factories import user_with_role

    user_with_role(tree["dali"], Role.CENTRE_STAFF, "dali_approver")
    base = live_server.url
    phone = browser.new_context(viewport={"width": 375, "height": 812}, locale="en-US").new_page()
    phone.goto(f"{base}/apply/login/")
    phone.fill("#phone", "13812345678")
    phone.click("button[value=send]")
    code = next(code for to, code in reversed(outbox) if to == "13812345678")
    phone.fill("#code", code)
    phone.click("button[value=verify]")
    phone.wait_for_url(f"{base}/apply/")
    phone.select_option("#id_unit_id", str(tree["xiangyun_g"].pk))
    phone.click("text=Start")
    phone.wait_for_url(f"{base}/apply/*/")
    phone.select_option("#id_m-0-relationship", "head")
    phone.fill("#id_m-0-name", "张建国")
    phone.fill("#id_m-0-id_number", new_id("532923", dt.date(1972, 3, 9)))
    phone.fill("#id_m-0-phone", "13812345678")
    phone.fill("#id_m-0-monthly_income", "600")
    phone.select_option("#id_m-0-health", "malignant_tumour")
    phone.fill("#id_h-address", "祥云县祥城镇文化路12号")
    phone.select_option("#id_h-housing_type", "unit_public_rental")
    phone.select_option("#id_h-main_cause", "6")
    phone.select_option("#id_e-0-kind", "medical")
    phone.fill("#id_e-0-amount_yearly", "18000")
    phone.fill("#id_h-bank", "中国工商银行")
    phone.fill("#id_h-holder_name", "张建国")
    phone.fill("#id_h-card_number", "6222021234567890123")
    phone.click("#submit-application")
    phone.wait_for_selector("text=was submitted")
    phone.check("#agreed")
    phone.click("#sign-authorisation")
    phone.wait_for_selector("#authorised")
    app = Application.objects.get()
    assert app.state == "submitted" and app.authorised_ip

    cadre = _staff_page(browser, base, "xiangyun_cadre")
    cadre.goto(f"{base}/applications/")
    cadre.click(f"text={app.reference}")
    _act(cadre, "Accept for review")
    _act(cadre, "First review passed")
    as_if_submitted(app, 20)  # a visit may not be dated before the application
    cadre.fill("#id_visited_on", (timezone.localdate() - dt.timedelta(days=14)).isoformat())
    cadre.fill("#id_visitors", "王干事")
    cadre.fill("#id_seen", "老旧公房")
    cadre.fill("#id_asked", "收入与病情")
    cadre.fill("#id_explained", "帮扶政策")
    cadre.fill("#id_findings", "情况属实")
    cadre.click("#visit-form button")
    cadre.wait_for_selector("text=The home visit was recorded.")
    _act(cadre, "Home visit done")
    cadre.fill("#id_held_on", (timezone.localdate() - dt.timedelta(days=10)).isoformat())
    cadre.fill("#id_minutes", "全体委员同意")
    cadre.click("#review-form button")
    cadre.wait_for_selector("text=public notice starts")
    as_if_noticed(Application.objects.get())  # the notice's days pass
    cadre.reload()
    _act(cadre, "Report to the higher union")
    assert "Higher review" in cadre.inner_text("#app-state")

    county = _staff_page(browser, base, "xiangyun_staff")
    county.goto(f"{base}/applications/{app.pk}/")
    decision = county.inner_text("#decision")
    assert "net income per head" in decision
    assert decision.split("·")[0].strip() in {"Deep hardship", "Relative hardship"}  # the category by its name
    _act(county, "Higher review passed")
    county.click("#check button[value=request]")
    county.wait_for_selector("button[value=passed]")
    county.click("#check button[value=passed]")
    county.wait_for_selector("text=The answer was recorded.")
    _act(county, "Economic check done")

    city = _staff_page(browser, base, "dali_approver")
    city.goto(f"{base}/applications/{app.pk}/")
    _act(city, "Approve and open the file")
    city.wait_for_selector("#file-link")
    h = Household.objects.get()
    assert h.state == "active" and h.tier == "city"

    county.goto(f"{base}/households/")
    assert h.file_number in county.inner_text("body")
    neighbour = _staff_page(browser, base, "dalishi_staff")
    assert h.file_number not in neighbour.inner_text("body")
    assert neighbour.goto(f"{base}/households/{h.pk}/").status == 404

    phone.goto(f"{base}/apply/")
    assert "approved" in phone.inner_text("#notices")


def test_a_long_unbroken_file_name_stays_within_the_phone_screen(
    audit_log_emptied: None, live_server: Any, browser: Any, tree: dict, media: Any
) -> None:
    """The proof list and the progress both show a file's name; 140 characters without a space
    (a camera's or a scanner's name) wrap, rather than widening the page past a 375-pixel phone
    (which then shows everything shrunk)."""
    from bangfu.intake import services, steps
    from bangfu.intake.models import Applicant

    applicant = Applicant.objects.create(phone="13812345679")
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk)
    steps.attachment_add(actor=applicant, application_id=app.pk, name="IMG" * 46 + ".pdf", content=pdf_file())
    base = live_server.url
    phone = _phone_page(browser, base, "13812345679")
    phone.goto(f"{base}/apply/{app.pk}/")
    assert "IMG" * 46 + ".pdf" in phone.locator("#timeline").inner_text()
    widths = phone.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], widths


def test_one_tap_on_withdraw_only_asks(audit_log_emptied: None, live_server: Any, browser: Any, tree: dict) -> None:
    """Withdrawing cannot be undone: the tap on "Withdraw the application" (easily made on a phone
    while scrolling the progress) opens the question; "Yes, withdraw it" withdraws."""
    from bangfu.intake import services
    from bangfu.intake.models import Applicant

    applicant = Applicant.objects.create(phone="13812345670")
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk)
    base = live_server.url
    phone = _phone_page(browser, base, "13812345670")
    phone.goto(f"{base}/apply/{app.pk}/")
    phone.click("text=Withdraw the application")
    phone.wait_for_selector("text=cannot be taken up again")
    app.refresh_from_db()
    assert app.state == "draft"
    phone.click("text=Yes, withdraw it")
    phone.wait_for_load_state()
    assert phone.inner_text("#app-state") == "Withdrawn"
    app.refresh_from_db()
    assert app.state == "withdrawn"


def test_an_upload_asks_before_losing_what_was_typed_into_the_form(
    audit_log_emptied: None, live_server: Any, browser: Any, tree: dict, media: Any, tmp_path: Any
) -> None:
    """The proofs' form reloads the page: with something typed into the application form and not
    saved, the worker is asked first; cancelling keeps what was typed, going on uploads."""
    from bangfu.intake import services
    from bangfu.intake.models import Applicant

    applicant = Applicant.objects.create(phone="13812345671")
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk)
    proof = tmp_path / "proof.pdf"
    proof.write_bytes(pdf_file())
    base = live_server.url
    phone = _phone_page(browser, base, "13812345671")
    phone.goto(f"{base}/apply/{app.pk}/")
    upload = phone.locator("form[enctype='multipart/form-data']")
    upload.locator("input[type=file]").set_input_files(str(proof))  # nothing typed yet: no question
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    phone.on("dialog", dismiss)
    upload.locator("button").click()
    phone.wait_for_selector("text=proof.pdf")
    assert asked == []
    phone.fill("#id_h-holder_name", "欧阳 娜娜")
    upload = phone.locator("form[enctype='multipart/form-data']")
    upload.locator("input[type=file]").set_input_files(str(proof))
    upload.locator("button").click()
    assert asked and "not saved" in asked[0]
    assert phone.input_value("#id_h-holder_name") == "欧阳 娜娜"
    assert app.attachments.count() == 1
    # Leaving by a link (the header, Back) with the typed text not saved: the browser asks first.
    asked.clear()
    phone.locator("a[href='/apply/']").first.click(no_wait_after=True)
    phone.wait_for_timeout(500)
    assert [d for d in asked if d.startswith("beforeunload")], asked
    assert phone.input_value("#id_h-holder_name") == "欧阳 娜娜"  # stayed: the question was dismissed


def test_a_wrong_proof_comes_off_the_draft_after_a_question(
    audit_log_emptied: None, live_server: Any, browser: Any, tree: dict, media: Any
) -> None:
    """A wrong photo on the draft: the tap on "Remove" (easily made while scrolling) opens the
    question; "Yes, remove it" removes it, and the page says so."""
    from bangfu.intake import services, steps
    from bangfu.intake.models import Applicant

    applicant = Applicant.objects.create(phone="13812345672")
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk)
    steps.attachment_add(actor=applicant, application_id=app.pk, name="wrong.pdf", content=pdf_file())
    base = live_server.url
    phone = _phone_page(browser, base, "13812345672")
    phone.goto(f"{base}/apply/{app.pk}/")
    phone.click("#proofs summary")
    phone.wait_for_selector("text=Remove “wrong.pdf” from the application?")
    assert app.attachments.count() == 1
    phone.click("text=Yes, remove it")
    phone.wait_for_selector("text=The file was removed.")
    assert "None yet." in phone.inner_text("#proofs")
    assert app.attachments.count() == 0


def test_the_id_box_is_a_number_pad_with_an_x_key(
    audit_log_emptied: None, live_server: Any, browser: Any, tree: dict
) -> None:
    """An ID number is typed on the number pad, as the other numbers are; the X that ends some
    numbers, which no number pad has, is the key beside the box, which leaves the cursor there."""
    from bangfu.intake import services
    from bangfu.intake.models import Applicant

    applicant = Applicant.objects.create(phone="13812345673")
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk)
    base = live_server.url
    phone = _phone_page(browser, base, "13812345673")
    phone.set_viewport_size({"width": 360, "height": 760})
    phone.goto(f"{base}/apply/{app.pk}/")
    box = phone.locator("#id_m-0-id_number")
    assert box.evaluate("b => b.inputMode") == "numeric"
    box.fill("53292319720309123")
    member = phone.get_by_role("group", name="Member 1")
    key = member.get_by_role("button", name="Type X (the last character of some ID numbers)")
    key.click()
    assert box.input_value() == "53292319720309123X"
    assert phone.evaluate("document.activeElement.id") == "id_m-0-id_number"
    widths = phone.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], widths


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_cadre_reads_the_queue_on_a_360_px_phone_without_scrolling_sideways(
    audit_log_emptied: None, live_server: Any, browser: Any, tree: dict, users: dict[str, Any], language: str
) -> None:
    """The case, the worker's name, the step and the days waiting of every row were not all on the
    screen at 360 px: the queue was 763 px wide in its scrolling box, the ID number cut in the
    middle and the step and the days out of sight."""
    from django.utils import translation

    from bangfu.intake.demo import seed_demo_applications
    from bangfu.testing.phone import unreadable_cells

    seed_demo_applications(unit=tree["xiangyun_g"], cadre=users["xiangyun_cadre"], staff=users["xiangyun_staff"])
    # One case long overdue at its step: the widest row (its badge names the limit).
    late = Application.objects.filter(state="home_visit").get()
    Application.objects.filter(pk=late.pk).update(state_since=timezone.now() - dt.timedelta(days=400))
    base = live_server.url
    locale = "zh-CN" if language == "zh-hans" else "en-US"
    page = browser.new_context(viewport={"width": 360, "height": 740}, locale=locale).new_page()
    sign_in(page, base, "xiangyun_cadre")
    with translation.override(language):
        wanted = [str(translation.gettext(h)) for h in ("Application", "Applicant", "Step", "Days waiting")]
    for scope in ("", "all"):  # waiting for the cadre; every case under way in the cadre's unions
        page.goto(f"{base}/applications/?scope={scope}")
        assert page.locator("#queue tbody tr").count() >= 2
        page.screenshot(path=str(SHOTS / f"bangfu-queue-360-{language}-{scope}.png"), full_page=True)
        assert unreadable_cells(page, "#queue", wanted) == []
    # A wide screen keeps every column.
    page.set_viewport_size({"width": 1280, "height": 900})
    with translation.override(language):
        wider = [str(translation.gettext(h)) for h in ("ID number", "Union")]
    assert unreadable_cells(page, "#queue", [*wanted, *wider]) == []


def test_a_review_sent_back_puts_the_cursor_in_the_first_box_in_error(
    audit_log_emptied: None, live_server: Any, browser: Any, tree: dict, users: dict[str, Any]
) -> None:
    """On a 360 px phone: a phone of 5 digits and an income of "abc" come back with each problem
    beside its box, the cursor in the phone's box (the first in error) and what was typed kept. On
    the reviews page, a decline's reason the server refuses comes back in its open box, which the
    cursor is in (the copy shown, not the narrow screen's hidden one)."""
    from bangfu.common import crypto
    from bangfu.intake import reviews
    from bangfu.intake.models import ReviewTask
    from bangfu.registry.services import household_create
    from bangfu.testing.factories import household_input

    data = household_input(tree["xiangyun_g"], members=2)
    data.members[0].phone = "13900007777"
    data.filed_on = timezone.localdate() - dt.timedelta(days=400)
    h = household_create(actor=users["xiangyun_staff"], data=data)
    reviews.yearly_review_create()
    task = ReviewTask.objects.get(household=h)
    head = h.members.get(relationship="head")
    other = h.members.exclude(pk=head.pk).get()
    base = live_server.url
    phone = _phone_page(browser, base, "13900007777")
    phone.set_viewport_size({"width": 360, "height": 760})
    phone.goto(f"{base}/apply/review/{task.pk}/")
    phone.fill("#id_number", crypto.decrypt(head.id_cipher))
    phone.click("button[value=prove]")
    phone.wait_for_selector("#review-form")
    phone.fill("#phone", "12345")
    phone.fill(f"#m{other.pk}-income", "abc")
    phone.click("button[value=report]")
    phone.wait_for_selector("#phone_error")
    assert phone.evaluate("document.activeElement.id") == "phone"
    assert phone.input_value("#phone") == "12345" and phone.input_value(f"#m{other.pk}-income") == "abc"
    assert phone.locator(f"#m{other.pk}-income").get_attribute("aria-describedby") == f"m{other.pk}-income_error"
    assert f"{other.name}'s monthly income: Enter a number." in phone.inner_text("main")
    widths = phone.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], widths
    # The worker sends a report; staff decline it with spaces only.
    phone.fill("#phone", "13900008888")
    phone.fill(f"#m{other.pk}-income", "")
    phone.click("button[value=report]")
    phone.wait_for_url(f"{base}/apply/")
    staff = _staff_page(browser, base, "xiangyun_staff")
    staff.goto(f"{base}/applications/reviews/?state=reported")
    row = staff.locator("#reviews tbody tr").first
    row.locator("summary:visible").click()
    row.locator("textarea:visible").fill("  ")
    row.locator("textarea:visible").evaluate("b => b.removeAttribute('required')")  # the server's own check
    row.locator("button.btn-outline-danger:visible").click()
    staff.wait_for_selector(f"text=File {h.file_number}: Give the reason; the worker will see it.")
    assert staff.evaluate("document.activeElement.name") == "reason"
    assert staff.evaluate("document.activeElement.getAttribute('aria-describedby')") == f"decline-{task.pk}-error"
