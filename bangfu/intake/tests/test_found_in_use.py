"""What a worker, a cadre and a union's old spreadsheets did that the first tests did not: a photo
whose header claims a giant picture, a location kept in XMP, an iPhone HEIC photo, a code asked
for again too soon, digits typed full-width, an ID typed with spaces, date boxes in Chinese, the
notice list's causes, maker-checker on temporary aid, and legacy files as unions keep them (a
title above the header, notes in the headers, IDs stored as numbers, dates as Excel serials, one
file number for two households)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone, translation
from PIL import Image

from bangfu.common.errors import DomainError
from bangfu.intake import legacy, otp, services, steps
from bangfu.intake.forms import ApplicationForms, ObjectionForm, ReviewForm, VisitForm
from bangfu.intake.models import Applicant, ApplicationEvent, ApplicationKind, ApplicationState
from bangfu.intake.tests.helpers import submitted, to_state
from bangfu.intake.tests.test_legacy_import import HEADERS, household_rows
from bangfu.registry.codes import Cause

pytestmark = pytest.mark.django_db
S = ApplicationState


def _draft(tree: dict) -> tuple[Applicant, Any]:
    a = Applicant.objects.create(phone="13912345678")
    return a, services.application_create(actor=a, unit_id=tree["xiangyun_g"].pk)


# --- attachments ------------------------------------------------------------------------------------


def _bomb() -> bytes:
    """A small JPEG whose header says 30000 × 30000 pixels."""
    out = io.BytesIO()
    Image.new("RGB", (64, 64)).save(out, "JPEG")
    data = bytearray(out.getvalue())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (30000).to_bytes(2, "big") * 2
    return bytes(data)


def test_a_photo_claiming_a_giant_size_is_refused_not_a_crash(tree: dict) -> None:
    a, app = _draft(tree)
    with pytest.raises(ValidationError) as err:
        steps.attachment_add(actor=a, application_id=app.pk, name="x.jpg", content=_bomb())
    assert "too many pixels" in err.value.message_dict["file"][0]
    assert not app.attachments.exists()


def test_the_location_in_a_photos_xmp_is_removed(tree: dict) -> None:
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="25,28.5N" '
        b'exif:GPSLongitude="100,33.1E"/></rdf:RDF></x:xmpmeta>'
    )
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (200, 100, 50)).save(out, "JPEG", xmp=xmp)
    a, app = _draft(tree)
    row = steps.attachment_add(actor=a, application_id=app.pk, name="x.jpg", content=out.getvalue())
    with row.file.open("rb") as fh:
        stored = fh.read()
    assert b"GPSLatitude" not in stored and b"100,33.1E" not in stored
    assert Image.open(io.BytesIO(stored)).size == (80, 60)


def test_a_heic_photo_gets_a_message_saying_what_to_do(tree: dict) -> None:
    a, app = _draft(tree)
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 100
    with pytest.raises(ValidationError) as err:
        steps.attachment_add(actor=a, application_id=app.pk, name="IMG_0001.jpg", content=heic)
    assert "HEIC" in err.value.message_dict["file"][0]


# --- sign-in ----------------------------------------------------------------------------------------


def test_asking_for_a_code_again_too_soon_keeps_the_box_for_the_code_just_sent(tree: dict) -> None:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    first = c.post("/apply/login/", {"phone": "13912345678", "step": "send"}).content.decode()
    assert 'id="code"' in first
    again = c.post("/apply/login/", {"phone": "13912345678", "step": "send"}).content.decode()
    assert "ask again in" in again
    assert 'id="code"' in again


def test_full_width_digits_are_a_phone_number() -> None:
    assert otp.normalise_phone("１３９ １２３４ ５６７８") == "13912345678"


# --- the forms --------------------------------------------------------------------------------------


def test_an_id_typed_with_spaces_is_kept_whole(tree: dict) -> None:
    forms = ApplicationForms(
        {
            "m-TOTAL_FORMS": "1",
            "m-INITIAL_FORMS": "0",
            "m-0-relationship": "head",
            "m-0-id_number": "532923 19720309 0012",
            "i-TOTAL_FORMS": "0",
            "i-INITIAL_FORMS": "0",
            "e-TOTAL_FORMS": "0",
            "e-INITIAL_FORMS": "0",
        }
    )
    assert forms.is_valid(), forms.members.errors
    assert forms.form_data()["members"][0]["id_number"] == "532923 19720309 0012"


@pytest.mark.parametrize(
    ("form", "name"), [(VisitForm, "visited_on"), (ReviewForm, "held_on"), (ObjectionForm, "received_on")]
)
def test_date_boxes_are_filled_in_chinese_too(form: Any, name: str) -> None:
    with translation.override("zh-hans"):
        html = str(form(initial={name: dt.date(2026, 11, 30)})[name])
    assert 'value="2026-11-30"' in html


def test_the_notice_list_names_the_cause(tree: dict, users: dict[str, Any], standard: Any) -> None:
    app = to_state(submitted(tree["xiangyun_g"]), S.UNIT_REVIEW, users)
    steps.unit_review_record(
        actor=users["xiangyun_cadre"],
        application_id=app.pk,
        held_on=timezone.localdate() - dt.timedelta(days=1),
        minutes="同意",
    )
    cadre = Client(HTTP_ACCEPT_LANGUAGE="en")
    cadre.force_login(users["xiangyun_cadre"])
    page = cadre.get("/applications/notice/").content.decode()
    assert f"<td>{Cause(int(app.data['main_cause'])).label}</td>" in page


# --- maker-checker ----------------------------------------------------------------------------------


def test_who_accepts_an_emergency_does_not_approve_it(tree: dict, users: dict[str, Any], standard: Any) -> None:
    staff = users["xiangyun_staff"]
    app = submitted(tree["xiangyun_g"], kind=ApplicationKind.TEMPORARY)
    app = services.application_transition(actor=staff, application_id=app.pk, action="emergency_accept")
    assert "approve" not in services.allowed_actions(staff, app)
    with pytest.raises(DomainError) as err:
        services.application_transition(actor=staff, application_id=app.pk, action="approve")
    assert err.value.code == services.IntakeError.MAKER_CHECKER
    assert "approve" in services.allowed_actions(users["dali_staff"], app)


def test_the_approve_button_is_not_offered_to_the_first_reviewer(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    """An admin (who may act at every level) passed the first review: the approval is not
    offered to them, only to someone else."""
    admin = users["admin"]
    app = to_state(submitted(tree["xiangyun_g"]), S.FIRST_REVIEW, users)
    app = services.application_transition(actor=admin, application_id=app.pk, action="first_review_pass")
    app = to_state(app, S.APPROVAL, users)
    assert app.first_reviewer_id == admin.pk
    assert "approve" not in services.allowed_actions(admin, app)
    assert "approve" in services.allowed_actions(users["dali_staff"], app)


def test_the_history_names_the_worker_and_the_system_in_words() -> None:
    with translation.override("en"):
        assert ApplicationEvent(actor_label="applicant:139****5678").who == "the worker 139****5678"
        assert ApplicationEvent(actor_label="").who == "the system"
        assert ApplicationEvent(actor_label="county_staff").who == "county_staff"


# --- legacy files as unions keep them ---------------------------------------------------------------


def _both(rows: list[list[Any]]) -> tuple[list[legacy.ParsedHousehold], list[legacy.Issue]]:
    """Parsed the fast way, after checking the plain reading gives the same."""
    households, loose, _n = legacy.parse(rows)
    slow, slow_loose, _m = legacy.parse_by_row(rows)
    assert [(h.file_number, h.rows, [(i.row, i.column, i.reason) for i in h.issues]) for h in households] == [
        (h.file_number, h.rows, [(i.row, i.column, i.reason) for i in h.issues]) for h in slow
    ]
    assert [(i.row, i.reason) for i in loose] == [(i.row, i.reason) for i in slow_loose]
    return households, loose


def test_a_title_and_a_row_of_group_names_above_the_header_are_passed_over() -> None:
    group = ["家庭信息"] + [""] * 12 + ["成员信息"] + [""] * (len(HEADERS) - 14)
    rows = [["祥云县总工会困难职工档案（2019年）"], [], group, HEADERS, *household_rows("L-1")]
    households, _loose = _both(rows)
    assert [(h.file_number, h.rows) for h in households] == [("L-1", [5, 6])]
    assert not households[0].issues


def test_wrong_headers_below_a_title_name_their_row() -> None:
    headers = ["档案号" if h == "档案编号" else h for h in HEADERS]
    with pytest.raises(legacy.SheetProblem) as err:
        legacy.parse([["困难职工档案"], headers, *household_rows("L-1")])
    assert err.value.message.startswith("Row 2 does not have the template's headers")
    assert "档案编号" in err.value.message and "档案号" in err.value.message


def test_headers_with_spaces_marks_and_notes_are_known() -> None:
    noted = {"身份证号": "身份证号\n（18位）", "档案编号": "档案编号*", "月收入": "月收入(元)", "住址": " 住 址 "}
    households, _loose = _both([[noted.get(h, h) for h in HEADERS], *household_rows("L-1")])
    assert households[0].data.members[0].monthly_income == 800
    assert households[0].data.members[0].id_number


def test_an_id_stored_as_a_number_is_named_as_such() -> None:
    rows = household_rows("L-1")
    at = HEADERS.index("身份证号")
    real = str(rows[0][at])
    # What Excel keeps of 18 digits: 15 of them (a number ending in X cannot be typed as a number:
    # its 17 digits stand for it).
    rows[0][at] = float(real[:17] + "0" if real.endswith("X") else real)
    households, _loose = _both([HEADERS, *rows])
    issues = [(i.row, i.column, i.reason) for i in households[0].issues]
    assert (2, "身份证号", legacy.id_stored_as_number_message()) in issues
    assert len(issues) == 1


def test_a_fifteen_digit_id_stored_as_a_number_is_whole() -> None:
    rows = household_rows("L-1", members=1, 出生日期="")
    rows[0][HEADERS.index("身份证号")] = 532923720309001.0
    households, _loose = _both([HEADERS, *rows])
    assert households[0].data.members[0].id_number == "532923720309001"
    assert not households[0].issues


def test_dates_as_excel_serials_and_as_text_are_read() -> None:
    rows = household_rows("L-1", members=1)
    at = HEADERS.index("建档日期")
    cells: list[Any] = [43529, 43529.25, "2019.3.5", "2019年3月5日", 20190305, "20190305"]
    for cell in cells:
        rows[0][at] = cell
        households, _loose = _both([HEADERS, *rows])
        assert households[0].data.filed_on == dt.date(2019, 3, 5), cell
        assert not households[0].issues, cell


def test_one_file_number_for_two_households_is_named() -> None:
    rows = [HEADERS, *household_rows("L-1"), *household_rows("L-2"), *household_rows("L-1")]
    households, _loose = _both(rows)
    issues = [(i.row, i.column, i.reason) for h in households if h.file_number == "L-1" for i in h.issues]
    assert issues == [
        (6, "档案编号", "File number L-1 is already used from row 2: give each household its own number.")
    ]


def test_the_phone_home_links_to_the_self_test_and_a_resent_form_shows_the_status(tree: Any) -> None:
    from django.test import Client

    from bangfu.intake.tests.helpers import sign_in, submitted

    app = submitted(tree["xiangyun_g"], phone="13812340000")
    assert app.applicant is not None
    c = sign_in(Client(headers={"Accept-Language": "en"}), app.applicant)
    assert 'id="self-test-link"' in c.get("/apply/").content.decode()
    again = c.post(f"/apply/{app.pk}/", {"submit": "1"}, follow=True)
    assert again.status_code == 200 and "This application was already sent" in again.content.decode()


def test_an_empty_code_is_not_counted_as_a_wrong_try() -> None:
    from django.core.exceptions import ValidationError

    from bangfu.intake import otp
    from bangfu.intake.models import OneTimeCode

    otp.code_request(phone="13812340001")
    with pytest.raises(ValidationError):
        otp.code_verify(phone="13812340001", code="  ")
    assert OneTimeCode.objects.get(phone="13812340001").attempts == 0


def test_a_unit_review_cannot_come_before_the_home_visit(tree: Any, users: Any) -> None:
    import datetime as dt

    from django.core.exceptions import ValidationError
    from django.utils import timezone

    from bangfu.intake import steps
    from bangfu.intake.tests.helpers import submitted, to_state

    app = to_state(submitted(tree["xiangyun_g"], phone="13812340002"), "unit_review", users)
    visited = app.visits.get().visited_on
    with pytest.raises(ValidationError) as caught:
        steps.unit_review_record(
            actor=users["xiangyun_cadre"], application_id=app.pk, held_on=visited - dt.timedelta(days=1), minutes="x"
        )
    assert "held_on" in caught.value.message_dict
    assert (
        steps.unit_review_record(
            actor=users["xiangyun_cadre"], application_id=app.pk, held_on=timezone.localdate(), minutes="x"
        ).unit_review_on
        == timezone.localdate()
    )


def test_a_workers_notice_is_shown_in_the_language_it_is_read_in(
    tree: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from bangfu.intake.models import Notice
    from bangfu.intake.tests.helpers import submitted

    with translation.override("zh-hans"), django_capture_on_commit_callbacks(execute=True):
        app = submitted(tree["xiangyun_g"], phone="13812340003")
    notice = Notice.objects.get(application=app)
    assert "已提交" in notice.text  # sent in the site's language
    with translation.override("en"):
        assert notice.shown == f"Your application {app.reference} is now at “Submitted”."
    with translation.override("zh-hans"):
        assert notice.shown == notice.text
    older = Notice.objects.create(applicant=app.applicant, text="旧通知")  # from before sources were kept
    with translation.override("en"):
        assert older.shown == "旧通知"


def test_without_a_configured_sender_no_code_goes_to_the_log(settings: Any) -> None:
    from bangfu.intake import messaging, otp
    from bangfu.intake.models import OneTimeCode

    settings.BANGFU_INTAKE_CODE_SENDER = ""
    settings.DEBUG = False
    sent = len(messaging.outbox)
    with pytest.raises(DomainError) as caught:
        otp.code_request(phone="13812340009")
    assert caught.value.code == otp.OtpError.UNAVAILABLE and "counter" in str(caught.value.message)
    assert len(messaging.outbox) == sent and not OneTimeCode.objects.filter(phone="13812340009").exists()
    settings.DEBUG = True  # development: the log's sender
    otp.code_request(phone="13812340009")
    assert messaging.outbox[-1][0] == "13812340009"


def test_an_objection_id_that_is_not_a_number_is_not_found(tree: Any, users: Any) -> None:
    from bangfu.intake.tests.helpers import submitted

    app = submitted(tree["xiangyun_g"], phone="13812340010")
    c = Client()
    c.force_login(users["xiangyun_cadre"])
    response = c.post(f"/applications/{app.pk}/objection/", {"objection_id": "abc", "answer": "x"})
    assert response.status_code == 404


def test_one_address_cannot_ask_codes_for_many_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    from bangfu.intake import otp

    monkeypatch.setattr(otp, "ADDRESS_HOURLY_LIMIT", 3)
    for i in range(3):
        otp.code_request(phone=f"1391234000{i}", address="203.0.113.9")
    with pytest.raises(DomainError) as caught:
        otp.code_request(phone="13912340009", address="203.0.113.9")
    assert caught.value.code == otp.OtpError.THROTTLED and "network" in str(caught.value.message)
    otp.code_request(phone="13912340009", address="203.0.113.10")  # another client may
