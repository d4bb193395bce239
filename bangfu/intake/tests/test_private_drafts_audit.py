"""A worker's own draft from the phone in the audit log: its entries (its start, its proofs added
and taken off, its authorisation, its withdrawal) are written as any other, but no reader of the
log finds them — page, its filters, its CSV download, the API — until the worker submits the
case, as no staff read finds the case itself. Then they are all there. A counter draft's are read
at once. Nothing is deleted from the chain."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.db import connection

from bangfu.common.audit import audit_verify
from bangfu.common.models import AuditEntry
from bangfu.intake import services, steps
from bangfu.intake.models import Applicant, Application
from bangfu.intake.tests.helpers import form_data, staff_api, staff_page
from bangfu.org import audit_log
from bangfu.org.models import Role
from bangfu.testing.factories import pdf_file, user_with_role

pytestmark = pytest.mark.django_db

READERS = ("province_manager", "admin", "xiangyun_manager")


@pytest.fixture
def readers(users: dict[str, Any], tree: dict) -> dict[str, Any]:
    return {**users, "xiangyun_manager": user_with_role(tree["xiangyun"], Role.MANAGER, "xiangyun_manager")}


@pytest.fixture
def draft(tree: dict, media: Any) -> Application:
    """A worker's draft with its whole life before the submit: started, saved, a proof added, a
    wrong one taken off, the check authorised."""
    worker = Applicant.objects.create(phone="13900006666")
    unit = tree["xiangyun_g"]
    app = services.application_create(actor=worker, unit_id=unit.pk, form=form_data(unit))
    services.application_save_draft(actor=worker, application_id=app.pk, form=form_data(unit, members=2))
    services.application_save_draft(actor=worker, application_id=app.pk, form=form_data(unit))
    steps.attachment_add(actor=worker, application_id=app.pk, name="p.pdf", content=pdf_file())
    wrong = steps.attachment_add(actor=worker, application_id=app.pk, name="q.pdf", content=pdf_file(filler=2))
    steps.attachment_remove(actor=worker, application_id=app.pk, attachment_id=wrong.pk)
    steps.authorisation_sign(actor=worker, application_id=app.pk, agreed=True, ip="10.0.0.1")
    return app


def _about(app: Application) -> dict[str, str]:
    return {"target_type": "intake.application", "target_id": str(app.pk)}


def _read(reader: Any, app: Application) -> dict[str, set[int]]:
    """The entries about ``app`` that ``reader`` finds, by each way of reading the log."""
    found: dict[str, set[int]] = {}
    filters = audit_log.AuditFilters(target_type="intake.application", target_id=str(app.pk))
    found["list"] = set(audit_log.audit_list(actor=reader, filters=filters).values_list("seq", flat=True))
    # Unfiltered too: not found by scrolling the log either.
    found["all"] = {
        e.seq
        for e in audit_log.audit_list(actor=reader)
        if (e.target_type, e.target_id) == ("intake.application", str(app.pk))
    }
    page = staff_page(reader)
    html = page.get("/audit/", _about(app)).content.decode()
    found["page"] = {s for s in AuditEntry.objects.values_list("seq", flat=True) if f'data-seq="{s}"' in html}
    text = b"".join(page.get("/audit/export.csv", _about(app)).streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    found["csv"] = {int(row[0]) for row in list(csv.reader(io.StringIO(text)))[1:]}
    body = staff_api(reader).get("/api/v1/audit", _about(app)).json()
    found["api"] = {r["seq"] for r in body["results"]}
    return found


@pytest.mark.parametrize("who", READERS)
def test_no_reader_of_the_audit_log_finds_the_workers_draft_until_it_is_submitted(
    readers: dict[str, Any], draft: Application, who: str
) -> None:
    written = set(AuditEntry.objects.filter(**_about(draft)).values_list("seq", flat=True))
    assert len(written) == 5  # created, two proofs, one taken off, authorised: all in the chain
    reader = readers[who]
    assert _read(reader, draft) == {way: set() for way in ("list", "all", "page", "csv", "api")}

    services.application_submit(actor=draft.applicant, application_id=draft.pk)
    entries = AuditEntry.objects.filter(**_about(draft))
    actions = [(e.after or {})["action"] for e in entries.order_by("seq")]
    assert actions == ["create", "attachment", "attachment", "attachment_removed", "authorised", "submit"]
    everything = set(entries.values_list("seq", flat=True))
    assert everything > written
    assert _read(reader, draft) == dict.fromkeys(("list", "all", "page", "csv", "api"), everything)
    assert audit_verify() is None


def test_a_draft_withdrawn_before_it_was_sent_stays_unread(readers: dict[str, Any], draft: Application) -> None:
    services.application_transition(actor=draft.applicant, application_id=draft.pk, action="withdraw")
    assert AuditEntry.objects.filter(**_about(draft)).count() == 6
    assert _read(readers["province_manager"], draft)["list"] == set()


def test_a_counter_draft_and_a_case_returned_for_correction_are_read_at_once(
    readers: dict[str, Any], tree: dict, draft: Application
) -> None:
    unit = tree["xiangyun_g"]
    counter = services.application_create(actor=readers["xiangyun_cadre"], unit_id=unit.pk, form=form_data(unit))
    (entry,) = AuditEntry.objects.filter(**_about(counter))
    assert _read(readers["xiangyun_manager"], counter)["list"] == {entry.seq}
    # Sent, then returned to the worker: a draft again, but the union's to see.
    services.application_submit(actor=draft.applicant, application_id=draft.pk)
    services.application_transition(
        actor=readers["xiangyun_cadre"], application_id=draft.pk, action="return", reason="Add the payslip."
    )
    draft.refresh_from_db()
    assert draft.state == "draft"
    seen = _read(readers["xiangyun_manager"], draft)["list"]
    assert seen == set(AuditEntry.objects.filter(**_about(draft)).values_list("seq", flat=True))


def test_a_reading_of_the_log_finds_the_drafts_by_their_index(readers: dict[str, Any], draft: Application) -> None:
    """Leaving the drafts' entries out reads the index of the cases never sent (one look-up for
    each entry about an application, or one pass over those cases), never every application: the
    condition the reading asks is the index's, word for word. The planner is told to avoid a
    table scan where it can, so that it says whether the index can serve (on tables this small it
    would scan either way)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
        filters = audit_log.AuditFilters(target_type="intake.application", target_id=str(draft.pk))
        for qs in (
            audit_log.audit_list(actor=readers["province_manager"], filters=filters),
            audit_log.audit_list(actor=readers["admin"]),
        ):
            plan = qs.explain()
            assert "intake_app_unsent_audit_key" in plan, plan
