"""Security review of the applications: full ID and card numbers in an application's form reach
only those who typed them or may still change the draft; everyone else reads them masked, as on
every other page (a full number is revealed on the household file, logged)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from bangfu.intake import otp
from bangfu.intake.models import Applicant
from bangfu.intake.tests.helpers import sign_in, submitted
from bangfu.org.services import token_create
from bangfu.testing.factories import pdf_file

pytestmark = pytest.mark.django_db


def _get(token: str, path: str) -> dict[str, Any]:
    response = Client(headers={"Authorization": f"Bearer {token}"}).get("/api/v1" + path)
    assert response.status_code == 200, response.content[:300]
    result: dict[str, Any] = response.json()
    return result


def test_a_submitted_application_shows_id_and_card_numbers_masked_to_staff(tree: dict, users: dict[str, Any]) -> None:
    app = submitted(tree["xiangyun_g"])
    card = "6222021234567890123"
    app.data["bank_account"] = {"bank": "工商银行", "branch": "", "holder_name": "张建国", "card_number": card}
    app.save(update_fields=["data"])
    full_ids = [m["id_number"] for m in app.data["members"]]
    assert all(full_ids)

    for who in ("evaluator", "province_manager", "xiangyun_staff"):
        user = users[who]
        shown = _get(token_create(actor=user, user=user, name="t"), f"/applications/{app.pk}")["data"]
        text = str(shown)
        assert not any(i in text for i in full_ids), who
        assert [m["id_number"] for m in shown["members"]] == [i[:4] + "*" * 10 + i[-4:] for i in full_ids]
        assert card not in text and shown["bank_account"]["card_number"] == "6222***********0123"

    # The worker who applied still reads what they typed.
    worker = app.applicant
    assert worker is not None
    mine = _get(otp.token_for(worker), f"/applicant/applications/{app.pk}")["data"]
    assert [m["id_number"] for m in mine["members"]] == full_ids


def _pdf() -> bytes:
    return pdf_file()


def test_an_attachment_is_downloaded_not_shown_inline(tree: dict, users: dict[str, Any]) -> None:
    from bangfu.intake import steps

    app = submitted(tree["xiangyun_g"], phone="13911112222")  # the union sees a case once it is sent
    worker = app.applicant
    row = steps.attachment_add(actor=worker, application_id=app.pk, name="proof.pdf", content=_pdf())
    staff = Client()
    staff.force_login(users["xiangyun_cadre"])
    response = staff.get(f"/attachments/{row.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_behind_the_proxy_the_authorisation_keeps_the_workers_address(tree: dict, settings: Any) -> None:
    from bangfu.intake import services

    settings.BANGFU_PROXY_HEADERS = True
    worker = Applicant.objects.create(phone="13911113333")
    app = services.application_create(actor=worker, unit_id=tree["xiangyun_g"].pk)
    phone = Client(headers={"X-Forwarded-For": "203.0.113.9"}, REMOTE_ADDR="10.0.0.1")
    sign_in(phone, worker)
    phone.post(f"/apply/{app.pk}/authorise/", {"agreed": "1"})
    app.refresh_from_db()
    assert app.authorised_at is not None and app.authorised_ip == "203.0.113.9"
