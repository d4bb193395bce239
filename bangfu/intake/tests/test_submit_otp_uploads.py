"""Submitting (every mandatory field, idempotent, refused for a person on an open file), sign-in
codes (expiry, replay, rate limit) and attachments (type and size by content, location stripped)."""

from __future__ import annotations

import datetime as dt
import io
import zlib
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from bangfu.common.errors import DomainError
from bangfu.intake import otp, services, steps
from bangfu.intake.messaging import outbox
from bangfu.intake.models import Applicant, Application, ApplicationState, OneTimeCode
from bangfu.intake.tests.helpers import form_data, submitted
from bangfu.registry import services as registry
from bangfu.testing.factories import household_input, new_id

pytestmark = pytest.mark.django_db


def _applicant(phone: str = "13912345678") -> Applicant:
    return Applicant.objects.create(phone=phone)


def test_draft_saves_partially_and_submit_names_every_missing_field(tree: dict) -> None:
    a = _applicant()
    app = services.application_create(actor=a, unit_id=tree["xiangyun_g"].pk, form={"address": "文化路12号"})
    app = services.application_save_draft(
        actor=a,
        application_id=app.pk,
        form={"address": "文化路12号", "members": [{"relationship": "head", "name": "张三"}]},
    )
    with pytest.raises(ValidationError) as err:
        services.application_submit(actor=a, application_id=app.pk)
    fields = err.value.message_dict
    assert fields["members.0.id_number"]
    assert fields["main_cause"] == ["Choose the main cause of hardship."]
    assert "housing_type" in fields and "bank_account.card_number" in fields
    assert "category" not in fields  # set at approval, not by the worker
    assert Application.objects.get(pk=app.pk).state == ApplicationState.DRAFT


def test_double_tap_never_makes_two_applications(tree: dict) -> None:
    a = _applicant()
    first = services.application_create(
        actor=a, unit_id=tree["xiangyun_g"].pk, form=form_data(tree["xiangyun_g"]), idempotency_key="k1"
    )
    again = services.application_create(
        actor=a, unit_id=tree["xiangyun_g"].pk, form=form_data(tree["xiangyun_g"]), idempotency_key="k1"
    )
    assert first.pk == again.pk
    one = services.application_submit(actor=a, application_id=first.pk, expected_version=first.version)
    two = services.application_submit(actor=a, application_id=first.pk, expected_version=first.version)
    assert one.pk == two.pk and two.state == ApplicationState.SUBMITTED
    assert Application.objects.count() == 1
    assert one.events.filter(action="submit").count() == 1


def test_person_on_an_open_file_is_refused_at_submit(tree: dict, users: dict[str, Any]) -> None:
    form = form_data(tree["xiangyun_g"])
    existing = household_input(tree["xiangyun_g"], members=1)
    existing.members[0].id_number = form["members"][0]["id_number"]
    registry.household_create(actor=users["xiangyun_staff"], data=existing)
    a = _applicant()
    app = services.application_create(actor=a, unit_id=tree["xiangyun_g"].pk, form=form)
    with pytest.raises(ValidationError) as err:
        services.application_submit(actor=a, application_id=app.pk)
    # The worker is not told which union keeps the file, nor under what name (anyone who knows an
    # ID number could learn of someone's hardship); staff are (``registry`` tests).
    message = err.value.message_dict["members.0.id_number"][0]
    assert "already on an open file" in message
    assert tree["xiangyun_g"].name not in message and existing.members[0].name[0] + "*" not in message


def test_a_phone_trying_id_numbers_is_told_of_a_few_persons_on_file_then_nothing(tree: dict, users: dict) -> None:
    """Any signed-in phone could test, number after number, whether a person is on a hardship file."""
    from django.core.cache import cache

    from bangfu.common.errors import DomainError

    cache.clear()
    a = _applicant()
    app = services.application_create(actor=a, unit_id=tree["xiangyun_g"].pk)  # one draft, number after number
    for n in range(services.ON_FILE_ANSWERS_PER_DAY + 1):
        form = form_data(tree["xiangyun_g"])
        existing = household_input(tree["xiangyun_g"], members=1)
        form["members"][0]["id_number"] = existing.members[0].id_number = new_id()
        registry.household_create(actor=users["xiangyun_staff"], data=existing)
        app = services.application_save_draft(actor=a, application_id=app.pk, form=form)
        if n < services.ON_FILE_ANSWERS_PER_DAY:
            with pytest.raises(ValidationError):
                services.application_submit(actor=a, application_id=app.pk)
        else:
            with pytest.raises(DomainError) as refused:
                services.application_submit(actor=a, application_id=app.pk)
            assert refused.value.code == "too_many_on_file" and "ask your union" in refused.value.message
    # Another phone is not held back by this one.
    other = _applicant("13900001111")
    app = services.application_create(actor=other, unit_id=tree["xiangyun_g"].pk, form=form)
    with pytest.raises(ValidationError):
        services.application_submit(actor=other, application_id=app.pk)


def test_second_application_for_the_same_person_is_refused(tree: dict) -> None:
    first = submitted(tree["xiangyun_g"])
    other = Applicant.objects.create(phone="13700000000")
    app = services.application_create(actor=other, unit_id=tree["xiangyun_g"].pk, form=first.data)
    with pytest.raises(ValidationError) as err:
        services.application_submit(actor=other, application_id=app.pk)
    message = err.value.message_dict["members.0.id_number"][0]
    assert "already under way" in message and first.reference not in message  # another worker's case


def test_worker_sees_only_own_applications(tree: dict) -> None:
    app = submitted(tree["xiangyun_g"])
    stranger = Applicant.objects.create(phone="13700000001")
    from django.http import Http404

    with pytest.raises(Http404):
        services.application_transition(actor=stranger, application_id=app.pk, action="withdraw")


# --- one-time codes -------------------------------------------------------------------------------


def _last_code(phone: str) -> str:
    return next(code for to, code in reversed(outbox) if to == phone)


def test_code_signs_in_once_and_cannot_be_replayed() -> None:
    otp.code_request(phone="139 1234 5678")
    code = _last_code("13912345678")
    assert not OneTimeCode.objects.filter(digest__contains=code).exists()  # only a keyed hash is kept
    applicant = otp.code_verify(phone="13912345678", code=code)
    assert applicant.phone == "13912345678"
    with pytest.raises(DomainError) as err:
        otp.code_verify(phone="13912345678", code=code)
    assert err.value.code == otp.OtpError.INVALID


def test_code_expires_after_five_minutes() -> None:
    otp.code_request(phone="13912345678")
    code = _last_code("13912345678")
    OneTimeCode.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(DomainError) as err:
        otp.code_verify(phone="13912345678", code=code)
    assert err.value.code == otp.OtpError.EXPIRED


def test_wrong_codes_and_requests_are_limited() -> None:
    otp.code_request(phone="13912345678")
    code = _last_code("13912345678")
    with pytest.raises(DomainError) as err:
        otp.code_request(phone="13912345678")  # again within the minute
    assert err.value.code == otp.OtpError.THROTTLED
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(otp.MAX_ATTEMPTS):
        with pytest.raises(DomainError):
            otp.code_verify(phone="13912345678", code=wrong)
    with pytest.raises(DomainError) as err:
        otp.code_verify(phone="13912345678", code=code)  # the right code is dead now
    assert "Too many wrong codes" in err.value.message
    OneTimeCode.objects.update(created_at=timezone.now() - dt.timedelta(minutes=2))
    for _ in range(otp.HOURLY_LIMIT - 1):
        otp.code_request(phone="13912345678")
        OneTimeCode.objects.update(created_at=timezone.now() - dt.timedelta(minutes=2))
    with pytest.raises(DomainError) as err:
        otp.code_request(phone="13912345678")
    assert "in an hour" in err.value.message


def test_bad_phone_number() -> None:
    with pytest.raises(ValidationError):
        otp.code_request(phone="12345")


# --- attachments ----------------------------------------------------------------------------------


def _jpeg_with_gps() -> bytes:
    from PIL import Image

    img = Image.new("RGB", (40, 30), "red")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (25.0, 3.0, 0.0), 3: "E", 4: (100.0, 34.0, 0.0)}
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_photo_location_is_stripped(tree: dict, settings: Any, tmp_path: Any) -> None:
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    a = _applicant()
    app = services.application_create(actor=a, unit_id=tree["xiangyun_g"].pk)
    raw = _jpeg_with_gps()
    assert 0x8825 in Image.open(io.BytesIO(raw)).getexif()
    row = steps.attachment_add(actor=a, application_id=app.pk, name="proof.jpg", content=raw)
    with row.file.open("rb") as fh:
        stored = Image.open(io.BytesIO(fh.read()))
        assert 0x8825 not in stored.getexif()
        assert stored.getexif().get(0x010F) == "PhoneMaker"
    assert row.content_type == "image/jpeg"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"MZ\x90\x00 not a picture", "Only photos (JPEG, PNG) and PDF files"),
        (b"\xff\xd8\xff\xe0 truncated jpeg", "damaged or incomplete"),
        (b"%PDF-1.7 no end", "incomplete"),
        (b"", "empty"),
    ],
)
def test_wrong_or_broken_files_are_refused(
    tree: dict, content: bytes, message: str, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    a = _applicant()
    app = services.application_create(actor=a, unit_id=tree["xiangyun_g"].pk)
    with pytest.raises(ValidationError) as err:
        steps.attachment_add(actor=a, application_id=app.pk, name="x.jpg", content=content)
    assert message in err.value.message_dict["file"][0]
    assert not app.attachments.exists()


def _png_with(chunk_type: bytes, data: bytes) -> bytes:
    """A 10×10 PNG with one more chunk after its header."""
    import struct
    import zlib

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (10, 10), "blue").save(out, "PNG")
    png = out.getvalue()
    chunk = struct.pack(">I", len(data)) + chunk_type + data
    chunk += struct.pack(">I", zlib.crc32(chunk_type + data) & 0xFFFFFFFF)
    return png[:33] + chunk + png[33:]  # the signature (8) and IHDR (25) first


@pytest.mark.parametrize(
    "picture",
    [
        # A compressed comment and a colour profile that inflate beyond what Pillow reads (a few
        # KB sent, megabytes inflated): Pillow raises ValueError, which once gave a server error.
        pytest.param(lambda: _png_with(b"zTXt", b"Comment\0\0" + zlib.compress(b"A" * 4_000_000, 9)), id="zTXt"),
        pytest.param(lambda: _png_with(b"iCCP", b"icc\0\0" + zlib.compress(b"\0" * 4_000_000, 9)), id="iCCP"),
    ],
)
def test_a_picture_pillow_cannot_read_is_refused_on_the_api_and_the_page(
    tree: dict, picture: Any, settings: Any, tmp_path: Any
) -> None:
    from django.test import Client

    from bangfu.intake.tests.helpers import sign_in

    settings.MEDIA_ROOT = tmp_path
    content = picture()
    a = _applicant()
    app = services.application_create(actor=a, unit_id=tree["xiangyun_g"].pk)
    upload = io.BytesIO(content)
    upload.name = "proof.png"
    api = Client().post(
        f"/api/v1/applicant/applications/{app.pk}/attachments",
        {"file": upload},
        headers={"Authorization": f"Bearer {otp.token_for(a)}", "Accept-Language": "en"},
    )
    assert api.status_code == 422
    assert api.json()["error"]["fields"]["file"] == ["The picture is damaged or incomplete."]
    upload.seek(0)
    phone = sign_in(Client(HTTP_ACCEPT_LANGUAGE="zh-hans"), a)
    page = phone.post(f"/apply/{app.pk}/upload/", {"file": upload}, follow=True)
    assert page.status_code == 200
    assert "图片已损坏或不完整。" in page.content.decode()
    # Nothing half-written: no row, no event, no stored file.
    assert not app.attachments.exists()
    assert not app.events.filter(action="attachment").exists()
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_oversized_file_is_refused(tree: dict, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.BANGFU_INTAKE_MAX_UPLOAD_MB = 1
    a = _applicant()
    app = services.application_create(actor=a, unit_id=tree["xiangyun_g"].pk)
    with pytest.raises(ValidationError) as err:
        steps.attachment_add(
            actor=a, application_id=app.pk, name="big.pdf", content=b"%PDF-" + b"0" * (1024 * 1024) + b"%%EOF"
        )
    assert "larger than 1 MB" in err.value.message_dict["file"][0]
