"""Downloads of personal data are audit entries: a proof attached to an application, a legacy
import's error report, a department dataset's rejected rows."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from bangfu.common.models import AuditEntry
from bangfu.intake import imports, otp, steps
from bangfu.intake.tests.helpers import submitted
from bangfu.intake.tests.test_legacy_import import household_rows, xlsx

pytestmark = pytest.mark.django_db


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "green").save(buf, "PNG")
    return buf.getvalue()


def _exports(target_type: str) -> int:
    return AuditEntry.objects.filter(action="export", target_type=target_type).count()


def test_a_staff_download_of_an_attachment_is_logged_the_workers_own_is_not(tree: Any, users: Any) -> None:
    app = submitted(tree["xiangyun_g"], phone="13812349999")
    row = steps.attachment_add(actor=app.applicant, application_id=app.pk, name="p.png", content=_png())
    staff = Client()
    staff.force_login(users["xiangyun_cadre"])
    assert staff.get(f"/attachments/{row.pk}/").status_code == 200
    assert _exports("intake.attachment") == 1
    worker = Client(headers={"Authorization": f"Bearer {otp.token_for(app.applicant)}"})  # type: ignore[arg-type]
    assert worker.get(f"/api/v1/applicant/applications/{app.pk}/attachments/{row.pk}").status_code == 200
    assert _exports("intake.attachment") == 1
    other = Client()
    other.force_login(users["dalishi_staff"])
    assert other.get(f"/attachments/{row.pk}/").status_code == 404
    assert _exports("intake.attachment") == 1


def test_an_import_error_report_is_logged(tree: Any, users: Any) -> None:
    staff = users["xiangyun_staff"]
    bad = household_rows("R-0001", 住房类型="城堡")
    batch = imports.import_batch_create(actor=staff, unit_id=tree["xiangyun"].pk, name="r.xlsx", content=xlsx(bad))
    imports.error_report(actor=staff, batch_id=batch.pk, fmt="csv")
    assert _exports("intake.import_report") == 1


def test_an_upload_is_logged(tree: Any, users: Any) -> None:
    """Adding a proof is a change to a case like any other: an entry with the file's kind, size and hash."""
    app = submitted(tree["xiangyun_g"], phone="13812349998")
    row = steps.attachment_add(actor=app.applicant, application_id=app.pk, name="p.png", content=_png())
    entry = AuditEntry.objects.filter(target_type="intake.application", target_id=str(app.pk)).order_by("-seq").first()
    assert entry is not None and entry.after is not None and entry.after["action"] == "attachment"
    assert entry.after["attachment"] == row.pk and entry.after["sha256"] == row.sha256
    assert entry.unit_path == app.unit.path


def test_the_printed_notice_list_is_logged_as_an_export(tree: Any, users: Any) -> None:
    c = Client()
    c.force_login(users["xiangyun_cadre"])
    assert c.get("/applications/notice/").status_code == 200
    api = c.get("/api/v1/applications/public-notice")
    assert api.status_code == 200, api.content
    assert _exports("intake.public_notice") == 2
