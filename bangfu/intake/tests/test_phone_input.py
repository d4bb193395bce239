"""What workers type on a phone, and what a tester sends the worker's pages and API: codes typed in
full-width digits, a sign-in ended by the number's next sign-in, forms sent back damaged, uploads
too large or of a staff kind, a yearly-review report the file could not take. Each gets a specific
answer (a message on the page, a 4xx error body in the API), never a 500, and nothing is written."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from typing import Any
from unittest import mock

import pytest
from django.core.files.uploadedfile import InMemoryUploadedFile, SimpleUploadedFile, TemporaryUploadedFile
from django.test import Client
from django.utils import timezone
from django.utils.http import content_disposition_header

from bangfu.common import crypto
from bangfu.intake import otp, reviews, services
from bangfu.intake.messaging import outbox
from bangfu.intake.models import Applicant, ApplicantLogin, OneTimeCode, ReviewState, ReviewTask
from bangfu.intake.tests.helpers import sign_in
from bangfu.registry.models import Household
from bangfu.registry.services import household_create
from bangfu.testing.factories import household_input, new_id, pdf_file

pytestmark = pytest.mark.django_db

PHONE = "13900002222"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _code(phone: str = PHONE) -> str:
    OneTimeCode.objects.update(created_at=timezone.now() - dt.timedelta(minutes=2))  # past the resend wait
    otp.code_request(phone=phone)
    return next(code for to, code in reversed(outbox) if to == phone)


# --- codes ------------------------------------------------------------------------------------------


def test_a_code_typed_in_full_width_digits_signs_in() -> None:
    """A Chinese keyboard in full-width mode types ０１２…: the same digits, not a wrong try."""
    code = _code()
    applicant = otp.code_verify(phone=PHONE, code=f" {code[:3]} {code[3:]}".translate(FULL_WIDTH))
    assert applicant.phone == PHONE
    # Through the API as well.
    code = _code()
    r = Client().post(
        "/api/v1/applicant/token",
        json.dumps({"phone": PHONE, "code": code.translate(FULL_WIDTH)}),
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    # Pasted with a space, as a text message groups it: read, not refused for its length.
    code = _code()
    r = Client().post(
        "/api/v1/applicant/token",
        json.dumps({"phone": PHONE, "code": f" {code[:3]} {code[3:]}"}),
        content_type="application/json",
    )
    assert r.status_code == 200, r.content


def test_a_code_that_is_not_six_digits_is_a_typing_slip_not_a_wrong_try() -> None:
    code = _code()
    for slip in ("12345", "12a456", "1234567"):
        r = Client(HTTP_ACCEPT_LANGUAGE="en").post("/apply/login/", {"phone": PHONE, "code": slip, "step": "verify"})
        assert r.status_code == 200 and "The code is the 6 digits in the text message." in r.content.decode()
    assert OneTimeCode.objects.get().attempts == 0
    assert otp.code_verify(phone=PHONE, code=code).phone == PHONE


# --- a sign-in that ended -----------------------------------------------------------------------------


def _page_client(phone: str = PHONE) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    r = c.post("/apply/login/", {"phone": phone, "code": _code(phone), "step": "verify"})
    assert r.status_code == 302 and r["Location"] == "/apply/"
    return c


def test_the_older_phone_is_told_it_was_signed_out_by_the_newer_sign_in() -> None:
    older = _page_client()
    _page_client()  # the same number signs in on another phone
    r = older.get("/apply/", follow=True)
    page = r.content.decode()
    assert r.redirect_chain == [("/apply/login/", 302)]
    assert "your number was used to sign in on another phone or in the app" in page
    assert 'action="/apply/logout/"' not in page  # no longer shown as signed in
    # Said once: the next visit is a plain sign-in page.
    again = older.get("/apply/login/").content.decode()
    assert "another phone" not in again and 'id="phone"' in again


def test_a_search_as_the_worker_types_after_the_sign_in_ended_takes_the_whole_page_to_sign_in() -> None:
    older = _page_client()
    _page_client()
    r = older.get("/apply/unions/", {"q": "祥云"}, headers={"HX-Request": "true"})
    # Not the sign-in page put inside the union box: htmx is told to go there.
    assert r.status_code == 200 and r["HX-Redirect"] == "/apply/login/"
    assert b"<html" not in r.content
    assert "another phone" in older.get("/apply/login/").content.decode()


def test_an_expired_sign_in_says_so() -> None:
    c = _page_client()
    ApplicantLogin.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    page = c.get("/apply/", follow=True).content.decode()
    assert "Your sign-in has ended; sign in again to go on." in page
    assert 'action="/apply/logout/"' not in page


def test_the_phone_pages_are_not_kept_by_the_browser(tree: dict) -> None:
    """They show ID numbers, and phones are shared: after signing out, Back must not show them."""
    c = _page_client()
    applicant = Applicant.objects.get(phone=PHONE)
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk)
    for url in ("/apply/", f"/apply/{app.pk}/", "/apply/login/"):
        r = c.get(url)
        assert r.status_code == 200 and "no-store" in r["Cache-Control"], url


# --- forms sent back damaged --------------------------------------------------------------------------


def test_a_union_id_in_other_digits_is_refused_not_a_500(tree: dict) -> None:
    """``"²".isdigit()`` is true but ``int("²")`` fails."""
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), Applicant.objects.create(phone=PHONE))
    r = c.post("/apply/", {"unit_id": "²", "kind": "formal"})
    assert r.status_code == 200 and "Select a valid choice" in r.content.decode()
    r = c.get("/apply/unions/", {"q": "祥云", "unit_id": "²"}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and 'id="union-choice"' in r.content.decode()


def test_submit_tapped_twice_shows_what_is_missing_not_a_conflict(tree: dict) -> None:
    """A double tap sends the form twice with the version it was opened at: the first saves the
    draft (and finds fields missing), the second must say the same, not "Someone else acted"."""
    applicant = Applicant.objects.create(phone=PHONE)
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk)
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), applicant)
    management = {f"{p}-{k}": v for p in "mie" for k, v in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))}
    form = {
        **management,
        "m-TOTAL_FORMS": "1",
        "m-INITIAL_FORMS": "1",
        "m-0-relationship": "head",
        "m-0-name": "王😀华",
    }
    form |= {"version": str(app.version), "submit": "1", "h-address": "祥云县🏠路1号"}
    first, second = (c.post(f"/apply/{app.pk}/", form).content.decode() for _ in range(2))
    for page in (first, second):
        assert "Not submitted: please correct the marked fields." in page and "Choose the main cause" in page
    assert "another window" not in second and "Someone else acted" not in second
    app.refresh_from_db()
    assert app.state == "draft" and app.version == 2 and app.data["members"][0]["name"] == "王😀华"
    # A change made meanwhile is still protected: a different form with the old version is refused.
    third = c.post(f"/apply/{app.pk}/", {**form, "h-address": "别的地址"}).content.decode()
    # The worker's own draft: saved from another window, not by "someone else".
    assert "This draft was saved from another window since you opened it" in third
    assert "Not submitted" in third


@pytest.mark.parametrize("version", ["abc", "1.5", "-1", "²", "9" * 30])
def test_a_damaged_version_in_the_application_form_is_a_message(tree: dict, version: str) -> None:
    applicant = Applicant.objects.create(phone=PHONE)
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk)
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), applicant)
    management = {f"{p}-{k}": v for p in "mie" for k, v in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))}
    r = c.post(f"/apply/{app.pk}/", {**management, "version": version, "save": "1", "h-address": "新地址"})
    assert r.status_code == 400
    assert "This form is out of date or damaged; reload the page and try again." in r.content.decode()
    app.refresh_from_db()
    assert app.data.get("address") in (None, "")


def test_an_oversized_upload_is_refused_before_it_is_read(tree: dict, users: Any, settings: Any) -> None:
    settings.BANGFU_INTAKE_MAX_UPLOAD_MB = 1
    applicant = Applicant.objects.create(phone=PHONE)
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk)
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), applicant)
    # A plain file object: the test client reads it to send it; the server must not read it whole.
    big = io.BytesIO(b"%PDF-" + b"0" * (1024 * 1024 + 10) + b"%%EOF")
    big.name = "big.pdf"
    with (
        mock.patch.object(InMemoryUploadedFile, "read", side_effect=AssertionError("read whole")) as m1,
        mock.patch.object(TemporaryUploadedFile, "read", side_effect=AssertionError("read whole")) as m2,
    ):
        r = c.post(f"/apply/{app.pk}/upload/", {"file": big}, follow=True)
        token = otp.token_for(applicant)
        big.seek(0)
        api = Client().post(
            f"/api/v1/applicant/applications/{app.pk}/attachments",
            {"file": big},
            headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
        )
        staff = Client(HTTP_ACCEPT_LANGUAGE="en")  # the staff's page too
        staff.force_login(users["xiangyun_staff"])
        big.seek(0)
        counter = staff.post(f"/applications/{app.pk}/upload/", {"file": big, "kind": "minutes"}, follow=True)
    assert not m1.called and not m2.called
    assert "The file is larger than 1 MB." in r.content.decode()
    assert "The file is larger than 1 MB." in counter.content.decode()
    assert api.status_code == 422 and api.json()["error"]["fields"]["file"] == ["The file is larger than 1 MB."]
    assert not app.attachments.exists()


@pytest.mark.parametrize("kind", ["minutes", "check_answer", "visit_photo", "nonsense"])
def test_a_worker_attaches_only_proofs(tree: dict, kind: str, settings: Any, tmp_path: Any) -> None:
    """The review's minutes and the checking centre's answer are the union's: a worker cannot add
    a paper that staff would read as one."""
    settings.MEDIA_ROOT = tmp_path
    applicant = Applicant.objects.create(phone=PHONE)
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk)
    api = Client(headers={"Authorization": f"Bearer {otp.token_for(applicant)}", "Accept-Language": "en"})
    url = f"/api/v1/applicant/applications/{app.pk}/attachments"
    pdf = pdf_file()
    r = api.post(url, {"file": SimpleUploadedFile("answer.pdf", pdf), "kind": kind})
    assert r.status_code == 422 and r.json()["error"]["fields"] == {"kind": ["Only proofs can be attached here."]}
    assert not app.attachments.exists()
    r = api.post(url, {"file": SimpleUploadedFile("proof.pdf", pdf)})
    assert r.status_code == 201 and r.json()["kind"] == "proof"


@pytest.mark.parametrize("in_memory", [True, False], ids=["in-memory", "temporary-file"])
def test_a_name_the_browser_escaped_is_kept_as_the_worker_wrote_it(
    tree: dict, settings: Any, tmp_path: Any, in_memory: bool
) -> None:
    """A browser sends 证明"终稿".pdf as 证明%22终稿%22.pdf (the HTML standard's escape in a form)."""
    settings.MEDIA_ROOT = tmp_path
    if not in_memory:
        settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    applicant = Applicant.objects.create(phone=PHONE)
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk)
    api = Client(headers={"Authorization": f"Bearer {otp.token_for(applicant)}", "Accept-Language": "en"})
    pdf = pdf_file()
    upload = SimpleUploadedFile("证明%22终稿%22%0D%0A 100%.pdf", pdf)
    r = api.post(f"/api/v1/applicant/applications/{app.pk}/attachments", {"file": upload})
    assert r.status_code == 201, r.content
    assert app.attachments.get().name == '证明"终稿" 100%.pdf'


def test_a_name_left_a_dot_or_two_by_the_unescaping_is_taken_as_it_came(
    tree: dict, settings: Any, tmp_path: Any
) -> None:
    """``.%0A.`` without its line break would be ``..``, a name Django refuses by failing the whole
    request (a 400 page, even from the API): it is kept as it came."""
    from bangfu.common.uploads import sent_name

    assert sent_name(".%0A.") == ".%0A." and sent_name("%0D%0A") == "%0D%0A" and sent_name("a%0A.pdf") == "a.pdf"
    settings.MEDIA_ROOT = tmp_path
    applicant = Applicant.objects.create(phone=PHONE)
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk)
    api = Client(headers={"Authorization": f"Bearer {otp.token_for(applicant)}", "Accept-Language": "en"})
    upload = SimpleUploadedFile(".%0A.", pdf_file())
    r = api.post(f"/api/v1/applicant/applications/{app.pk}/attachments", {"file": upload})
    assert r.status_code == 201, r.content
    assert r.json()["name"] == "%0A..pdf"  # no leading dot (a hidden file once saved); a PDF's extension


def test_several_files_in_one_upload_are_refused_not_all_but_the_last_dropped(
    tree: dict, users: Any, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    applicant = Applicant.objects.create(phone=PHONE)
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk)

    def files() -> list[SimpleUploadedFile]:
        return [SimpleUploadedFile(f"{n}.pdf", pdf_file()) for n in "abc"]

    api = Client(headers={"Authorization": f"Bearer {otp.token_for(applicant)}", "Accept-Language": "en"})
    r = api.post(f"/api/v1/applicant/applications/{app.pk}/attachments", {"file": files()})
    assert r.status_code == 422 and r.json()["error"]["fields"] == {"file": ["Send one file at a time."]}
    page = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), applicant).post(
        f"/apply/{app.pk}/upload/", {"file": files()}, follow=True
    )
    assert "Send one file at a time." in page.content.decode()
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(users["xiangyun_staff"])
    page = staff.post(f"/applications/{app.pk}/upload/", {"file": files(), "kind": "proof"}, follow=True)
    assert "Send one file at a time." in page.content.decode()
    assert not app.attachments.exists()


JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a"
    "1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001000101011100ffc4001f"
    "0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d010203"
    "00041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738"
    "393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2"
    "a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7"
    "f8f9faffda0008010100003f00fbd3ffd9"
)


@pytest.mark.parametrize(
    ("sent", "content", "kept"),
    [
        ("a" * 240 + ".pdf", "pdf", "a" * 146 + ".pdf"),  # cut to 150 characters, the extension kept
        ("扫描件", "pdf", "扫描件.pdf"),  # no extension: the file's own
        ("身份证.pdf.exe", "pdf", "身份证.pdf.exe.pdf"),  # a PDF never downloads as a program
        ("photo.pdf", "jpeg", "photo.pdf.jpg"),  # a photo named as a PDF opens as a photo
        ("PHOTO.JPEG", "jpeg", "PHOTO.JPEG"),
        ("...pdf", "pdf", "file.pdf"),  # no hidden file, no name lost to the dots
        ("😀证明📄.pdf", "pdf", "😀证明📄.pdf"),
    ],
)
def test_an_attachment_keeps_a_name_that_downloads_as_what_it_is(
    tree: dict, settings: Any, tmp_path: Any, sent: str, content: str, kept: str
) -> None:
    settings.MEDIA_ROOT = tmp_path
    applicant = Applicant.objects.create(phone=PHONE)
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk)
    api = Client(headers={"Authorization": f"Bearer {otp.token_for(applicant)}", "Accept-Language": "en"})
    body = pdf_file() if content == "pdf" else JPEG
    r = api.post(f"/api/v1/applicant/applications/{app.pk}/attachments", {"file": SimpleUploadedFile(sent, body)})
    assert r.status_code == 201, r.content
    assert r.json()["name"] == kept
    row = app.attachments.get()
    r = api.get(f"/api/v1/applicant/applications/{app.pk}/attachments/{row.pk}")
    assert r.status_code == 200 and r["Content-Disposition"] == content_disposition_header(True, kept)


def test_a_download_name_with_a_percent_sign_is_not_read_as_an_escape(tree: dict, users: Any, media: Any) -> None:
    """Chrome reads %20 in a plain filename="…" as a space (it saved 100%20done.pdf as "100 done.pdf");
    a name kept before the extension rule (``noext``) downloads with its type's extension."""
    from bangfu.intake.tests.helpers import old_attachment

    app = services.application_create(actor=users["xiangyun_staff"], unit_id=tree["xiangyun_g"].pk)  # at the counter
    staff = Client()
    staff.force_login(users["xiangyun_staff"])
    pdf = pdf_file()
    for name, header in [
        ("100%20done.pdf", "attachment; filename*=utf-8''100%2520done.pdf"),
        ("noext", 'attachment; filename="noext.pdf"'),
    ]:
        row = old_attachment(app, pdf, name)
        r = staff.get(f"/attachments/{row.pk}/")
        assert r.status_code == 200 and r["Content-Disposition"] == header, r.get("Content-Disposition")
        assert r["Cache-Control"] == "no-store"


def test_the_application_form_takes_what_a_chinese_keyboard_types(tree: dict) -> None:
    """Full-width digits, comma and point (１，２００．５) are an amount; the cause's description
    is cut where the file's field ends (200), not let run to 500 and refused at submission."""
    from bangfu.intake import data

    form = {"members": [{"relationship": "head", "monthly_income": "１，２００．５"}]}
    h, errors = data.to_input(form, unit_id=tree["xiangyun_g"].pk)
    assert not errors and str(h.members[0].monthly_income) == "1200.5"
    applicant = Applicant.objects.create(phone=PHONE)
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk)
    page = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), applicant).get(f"/apply/{app.pk}/").content.decode()
    assert 'name="h-cause_note" maxlength="200"' in page


def _input(page: str, name: str) -> str:
    """The ``<input>`` tag of the box named ``name``."""
    found = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', page)
    assert found, name
    return found.group(0)


# The keyboard a phone opens for each number box of the application form (the login page and the
# self-test open the same); an ID number can end in X, so its box is a text box in capitals.
KEYBOARDS = {
    "m-0-phone": 'inputmode="tel"',
    "m-0-monthly_income": 'inputmode="decimal"',
    "h-housing_area": 'inputmode="decimal"',
    "i-0-amount_yearly": 'inputmode="decimal"',
    "e-0-amount_yearly": 'inputmode="decimal"',
    "h-card_number": 'inputmode="numeric"',
    "m-0-id_number": 'autocapitalize="characters"',
}


def _form_pages(tree: dict, users: dict[str, Any]) -> tuple[str, str]:
    """The application form as a worker's phone and a cadre's counter show it (English)."""
    applicant = Applicant.objects.create(phone=PHONE)
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk)
    phone = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), applicant).get(f"/apply/{app.pk}/").content.decode()
    counter_app = services.application_create(actor=users["xiangyun_cadre"], unit_id=tree["xiangyun_g"].pk)
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(users["xiangyun_cadre"])
    return phone, staff.get(f"/applications/{counter_app.pk}/").content.decode()


def test_the_number_boxes_open_a_number_keyboard_on_the_phone_and_at_the_counter(
    tree: dict, users: dict[str, Any]
) -> None:
    phone, counter = _form_pages(tree, users)
    for page in (phone, counter):
        for name, mode in KEYBOARDS.items():
            assert mode in _input(page, name), (name, _input(page, name))
        # The ID box: no spelling help, and the X key's name for app.js (a number pad has no X).
        box = _input(page, "m-0-id_number")
        assert 'spellcheck="false"' in box and 'data-id-number="Type X (the last character' in box
        assert 'inputmode="text"' in box


def test_the_yearly_amounts_say_they_are_a_years_total_beside_the_monthly_incomes(
    tree: dict, users: dict[str, Any]
) -> None:
    """A member's income is a month's, another income or an expense a year's: a monthly benefit
    typed as it is paid was read as a twelfth of itself. Each yearly box says so, read with it."""
    phone, counter = _form_pages(tree, users)
    hint = "The whole year&#x27;s total: for a monthly payment, the monthly amount × the months."
    for page in (phone, counter):
        for prefix in ("i", "e"):
            assert f'<div class="form-text" id="id_{prefix}-0-amount_yearly_helptext">{hint}</div>' in page
            assert f'aria-describedby="id_{prefix}-0-amount_yearly_helptext"' in _input(
                page, f"{prefix}-0-amount_yearly"
            )
        assert "_helptext" not in _input(page, "m-0-monthly_income")


def test_amounts_typed_with_their_currency_or_unit_are_kept_as_plain_numbers(tree: dict) -> None:
    """1,800元, １８００元, ¥1,800 and 45.5㎡ are the numbers people mean; the draft keeps them as plain
    numbers (staff read "1800", not "１，８００"), and what is no number stays as typed, for its error."""
    from bangfu.intake import data

    form = {
        "housing_area": "４５.５㎡",
        "members": [{"relationship": "head", "monthly_income": "1,800元"}],
        "incomes": [{"kind": "pension", "amount_yearly": "１，８００"}],
        "rigid_expenses": [{"kind": "medical", "amount_yearly": "¥20,000"}],
        "homes": [{"floor_area": "60平方米"}],
    }
    kept = data.normalise(form)
    assert kept["housing_area"] == "45.5" and kept["members"][0]["monthly_income"] == "1800"
    assert kept["incomes"][0]["amount_yearly"] == "1800" and kept["rigid_expenses"][0]["amount_yearly"] == "20000"
    assert kept["homes"][0]["floor_area"] == "60"
    h, errors = data.to_input(kept, unit_id=tree["xiangyun_g"].pk)
    assert not errors and h.members[0].monthly_income == 1800
    wrong = data.normalise({"members": [{"relationship": "head", "monthly_income": "一千八"}]})
    assert wrong["members"][0]["monthly_income"] == "一千八"
    _h, errors = data.to_input(wrong, unit_id=tree["xiangyun_g"].pk)
    assert "members.0.monthly_income" in errors.errors


# --- the yearly review's report -----------------------------------------------------------------------


@pytest.fixture
def task(tree: Any, users: Any) -> ReviewTask:
    data = household_input(tree["xiangyun_g"], members=2)
    data.members[0].phone = PHONE
    data.filed_on = timezone.localdate() - dt.timedelta(days=400)
    household_create(actor=users["xiangyun_staff"], data=data)
    reviews.yearly_review_create()
    return ReviewTask.objects.select_related("household").get()


def _head(task: ReviewTask) -> Any:
    return task.household.members.get(relationship="head")


def _proven_api(task: ReviewTask) -> Client:
    token = otp.token_for(Applicant.objects.get_or_create(phone=PHONE)[0])
    api = Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    head_id = crypto.decrypt(_head(task).id_cipher)
    r = api.post(
        f"/api/v1/applicant/reviews/{task.pk}/proof",
        json.dumps({"id_number": head_id}),
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    return api


def _bad_changes(head: int) -> list[tuple[Any, str]]:
    return [
        ({"members": {str(head): {"monthly_income": "1e999"}}}, "“1e999” is a power of ten; write the amount in full"),
        ({"members": {str(head): {"monthly_income": "1" * 500}}}, "is implausibly large."),
        ({"members": {str(head): {"monthly_income": "-5"}}}, "Amounts cannot be negative."),
        ({"members": {str(head): {"monthly_income": "12.345"}}}, "Use at most two decimal places"),
        ({"members": {str(head): {"monthly_income": True}}}, "Enter a number."),
        ({"members": {str(head): {"work_status": ["employed"]}}}, "is not one of the allowed values."),
        ({"members": {"²": {"monthly_income": "1"}}}, "This person is not a member of this file."),
        ({"members": {"99999999999999999999999": {"monthly_income": "1"}}}, "This person is not a member"),
        ({"members": ["a"]}, "This person is not a member of this file."),
        ({"members": "abc"}, "This person is not a member of this file."),
        ({"members": 5}, "This person is not a member of this file."),
        ({"address": {"a": 1}}, "Address: Enter text."),
        ({"address": "路" * 201}, "Address: Enter at most 200 characters (201 given)."),
        ({"phone": "call me"}, "Phone: A phone number has digits only."),
        ({"phone": 13900002222}, "Phone: Enter text."),
        ({"members": {str(head): {"monthly_income": "一千八百"}}}, "Enter a number."),
    ]


def test_a_report_the_file_could_not_take_is_refused_by_name_through_the_api(task: ReviewTask) -> None:
    api = _proven_api(task)
    head = _head(task)
    url = f"/api/v1/applicant/reviews/{task.pk}/report"
    for changes, message in _bad_changes(head.pk):
        r = api.post(url, json.dumps({"changes": changes}), content_type="application/json")
        assert r.status_code == 422, (changes, r.content)
        fields = r.json()["error"]["fields"]
        problems = [p for key, said in fields.items() if key.split(".")[0] == "changes" for p in said]
        if not isinstance(changes.get("members", {}), dict):  # the API's schema names the shape
            message = "Enter an object keyed by member id"
        assert any(message in p for p in problems), (changes, problems)
    task.refresh_from_db()
    assert task.state == ReviewState.OPEN and task.changes == {}
    # Every problem at once, each with the member it is about.
    r = api.post(
        url,
        json.dumps({"changes": {"members": {str(head.pk): {"monthly_income": "-1", "work_status": "zz"}}}}),
        content_type="application/json",
    )
    assert r.json()["error"]["fields"]["changes"] == [
        f"{head.name}'s monthly income: Amounts cannot be negative.",
        f"{head.name}'s work status: “zz” is not one of the allowed values.",
    ]
    # What a phone types is taken: full-width digits, a thousands separator.
    body = {"changes": {"members": {str(head.pk): {"monthly_income": "１,２００.５"}}, "phone": "１３９ 0000 1111"}}
    r = api.post(url, json.dumps(body), content_type="application/json")
    assert r.status_code == 200, r.content
    # The phone as a sign-in has it (the next review finds the file by it): no spaces.
    assert r.json()["changes"] == {"phone": "13900001111", "members": {str(head.pk): {"monthly_income": "1200.5"}}}
    # Sent again: it is with the union now.
    r = api.post(url, json.dumps({"changes": {}, "note": "again"}), content_type="application/json")
    assert r.status_code == 409 and r.json()["error"]["message"] == "Your report is being checked."
    assert r.json()["error"]["code"] == "review_reported"  # not "review_done": the review is not done


def test_a_reported_change_is_one_staff_can_apply(task: ReviewTask, users: Any) -> None:
    """Refused before: what would have made the staff's confirmation fail afterwards."""
    api = _proven_api(task)
    head = _head(task)
    body: dict[str, Any] = {"changes": {"members": {str(head.pk): {"monthly_income": "2000000"}}}}
    r = api.post(f"/api/v1/applicant/reviews/{task.pk}/report", json.dumps(body), content_type="application/json")
    assert r.status_code == 422
    body = {"changes": {"members": {str(head.pk): {"monthly_income": "2,500元"}}, "address": "祥云县新街3号"}}
    r = api.post(f"/api/v1/applicant/reviews/{task.pk}/report", json.dumps(body), content_type="application/json")
    assert r.status_code == 200, r.content
    reviews.review_confirm(actor=users["xiangyun_staff"], task_id=task.pk)
    household = Household.objects.get(pk=task.household_id)
    assert household.address == "祥云县新街3号"
    assert str(household.members.get(relationship="head").monthly_income) == "2500.00"


def test_the_review_page_says_what_is_wrong_and_keeps_what_was_typed(task: ReviewTask) -> None:
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), Applicant.objects.create(phone=PHONE))
    url = f"/apply/review/{task.pk}/"
    assert c.post(url, {"what": "prove", "id_number": crypto.decrypt(_head(task).id_cipher)}).status_code == 302
    head = _head(task)
    typed = {
        "what": "report",
        "address": "祥云县新街3号",
        "phone": "13900001111",
        "note": "换了工作",
        f"m{head.pk}-monthly_income": "1e999",
        f"m{head.pk}-work_status": "employed",
    }
    r = c.post(url, typed)  # was a 500
    page = r.content.decode()
    said = f"{head.name}&#x27;s monthly income: “1e999” is a power of ten; write the amount in full, in digits."
    assert r.status_code == 400 and said in page
    assert 'value="祥云县新街3号"' in page and 'value="13900001111"' in page and ">换了工作</textarea>" in page
    assert 'value="1e999"' in page and '<option value="employed" selected>' in page
    r = c.post(url, {**typed, "note": "长" * 501, f"m{head.pk}-monthly_income": "1200"})
    assert r.status_code == 400 and "Note: Enter at most 500 characters (501 given)." in r.content.decode()
    task.refresh_from_db()
    assert task.state == ReviewState.OPEN and task.note == ""


def test_each_problem_of_a_review_is_said_beside_its_box_and_named_at_the_top(task: ReviewTask) -> None:
    """A phone of 5 digits and a monthly income of "abc": each box is marked invalid and read with
    its problem (aria-describedby), the first of them takes the cursor (app.js: the first shown
    box marked invalid), the summary at the top names the person and the field, and what was typed
    stays; the boxes without a problem are not marked."""
    from django.utils.html import escape

    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), Applicant.objects.create(phone=PHONE))
    url = f"/apply/review/{task.pk}/"
    assert c.post(url, {"what": "prove", "id_number": crypto.decrypt(_head(task).id_cipher)}).status_code == 302
    other = task.household.members.exclude(relationship="head").get()
    r = c.post(url, {"what": "report", "phone": "12345", f"m{other.pk}-monthly_income": "abc", "note": "x"})
    page = r.content.decode()
    assert r.status_code == 400
    assert escape(f"{other.name}'s monthly income: Enter a number.") in page
    assert "Phone: A phone number has 7 to 12 digits (a mobile number 11)." in page
    phone = re.search(r'<input[^>]* id="phone"[^>]*>', page)
    income = re.search(rf'<input[^>]* id="m{other.pk}-income"[^>]*>', page)
    assert phone is not None and income is not None
    assert 'value="12345"' in phone.group() and 'aria-invalid="true" aria-describedby="phone_error"' in phone.group()
    assert 'value="abc"' in income.group()
    assert f'aria-invalid="true" aria-describedby="m{other.pk}-income_error"' in income.group()
    assert re.search(r'id="phone_error">A phone number has 7 to 12 digits \(a mobile number 11\).</div>', page)
    assert f'id="m{other.pk}-income_error">Enter a number.</div>' in page
    # The phone comes first on the page: the cursor goes there; nothing else is marked.
    assert page.index('aria-invalid="true"') == page.index('aria-describedby="phone_error"') - len(
        'aria-invalid="true" '
    )
    assert page.count('aria-invalid="true"') == 2 and ">x</textarea>" in page
    task.refresh_from_db()
    assert task.state == ReviewState.OPEN


def test_a_locked_review_says_until_when_and_offers_no_box(task: ReviewTask) -> None:
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), Applicant.objects.create(phone=PHONE))
    url = f"/apply/review/{task.pk}/"
    assert reviews.review_proof_locked_until(task=task) is None
    for _ in range(reviews.PROOF_TRIES):
        c.post(url, {"what": "prove", "id_number": new_id()})
    until = reviews.review_proof_locked_until(task=task)
    assert until is not None and until > timezone.now() + dt.timedelta(hours=23)
    page = c.get(url).content.decode()
    assert 'id="proof-locked"' in page and 'id="proof-form"' not in page
    assert timezone.localtime(until).strftime("%Y-%m-%d %H:%M") in page
    # A day later the box is back.
    with mock.patch("django.utils.timezone.now", return_value=until + dt.timedelta(seconds=1)):
        assert reviews.review_proof_locked_until(task=task) is None


@pytest.mark.parametrize("kind", ["check_answer", "minutes"])
def test_the_service_takes_only_proofs_from_a_worker(tree: Any, kind: str) -> None:
    """Not only the API endpoint: the service itself refuses a worker's file of a staff kind."""
    from django.core.exceptions import ValidationError

    from bangfu.intake import steps
    from bangfu.intake.models import AttachmentKind
    from bangfu.intake.tests.helpers import submitted

    assert kind in AttachmentKind.values
    app = submitted(tree["xiangyun_g"], phone="13812349876")
    pdf = pdf_file()
    with pytest.raises(ValidationError) as err:
        steps.attachment_add(actor=app.applicant, application_id=app.pk, name="a.pdf", content=pdf, kind=kind)
    assert "Only proofs" in str(err.value)


def test_saving_a_draft_that_cannot_be_read_says_not_saved_not_not_submitted(tree: dict) -> None:
    applicant = Applicant.objects.create(phone=PHONE)
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk)
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), applicant)
    management = {f"{p}-{k}": v for p in "mie" for k, v in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))}
    form = {**management, "m-TOTAL_FORMS": "1", "m-0-name": "王华", "m-0-monthly_income": "八百"}
    page = c.post(f"/apply/{app.pk}/", {**form, "version": str(app.version)}).content.decode()
    assert "Not saved: please correct the marked fields." in page and "Not submitted" not in page


# --- what the form keeps -------------------------------------------------------------------------------


def test_names_phones_and_card_numbers_are_kept_as_the_file_keeps_them(tree: dict[str, Any]) -> None:
    """A name pasted with a direction override drew the masked ID number backwards in the case's
    header; a card number typed in groups was masked with its spaces. The draft keeps them clean."""
    from bangfu.intake.data import masked
    from bangfu.intake.tests.helpers import form_data

    applicant = Applicant.objects.create(phone=PHONE)
    form = form_data(tree["xiangyun_g"])
    form["members"][0]["name"] = "王\u202e五"
    form["members"][0]["phone"] = "１３７ 0000-1111"
    form["members"][1]["name"] = "李\u200b秀英"
    form["bank_account"]["card_number"] = "6228 4800 1234 5678 910"
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk, form=form)
    assert (app.head_name, app.data["members"][0]["name"], app.data["members"][1]["name"]) == ("王五", "王五", "李秀英")
    assert app.data["members"][0]["phone"] == app.phone == "13700001111"
    assert app.data["bank_account"]["card_number"] == "6228480012345678910"
    assert masked(app.data)["bank_account"]["card_number"] == "6228" + "*" * 11 + "8910"
    # What cannot be a card number stays as typed, for its error to show it.
    form["bank_account"]["card_number"] = "6228 48OO"
    app = services.application_save_draft(actor=applicant, application_id=app.pk, form=form)
    assert app.data["bank_account"]["card_number"] == "6228 48OO"


def test_a_report_applied_still_shows_what_the_file_held_before(task: ReviewTask, users: Any) -> None:
    """Once staff apply a report, the list shows the file's values of before (they were read from
    the file, which by then held the new ones: "address: X → X"); a value reported as it already
    was reads "as before", 1800 and 1800.00 alike."""
    head = _head(task)
    old_address, old_income = task.household.address, head.monthly_income
    reviews.review_report(
        actor=users["xiangyun_staff"],
        task_id=task.pk,
        changes={"address": "祥云县新街3号", "members": {str(head.pk): {"monthly_income": f"{old_income:.0f}"}}},
    )
    reviews.review_confirm(actor=users["xiangyun_staff"], task_id=task.pk)
    task = ReviewTask.objects.select_related("household").get(pk=task.pk)
    assert task.household.address == "祥云县新街3号"
    reviews.review_changes_shown([task])
    address, income = task.shown_changes  # type: ignore[attr-defined]
    assert (address.before, address.after, address.unchanged) == (old_address, "祥云县新街3号", False)
    assert income.unchanged and income.after == f"{old_income:.2f}"
