"""The application services append their audit entries as the transaction's last statement: one
entry per step, none for a step refused or rolled back, the chain whole after a file is opened
(whose own entries, from the registry and the identification, join the same append)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from bangfu.common.audit import audit_verify
from bangfu.common.models import AuditEntry
from bangfu.intake import services
from bangfu.intake.models import Applicant, ApplicationState
from bangfu.intake.tests.helpers import form_data, submitted, to_state

S = ApplicationState
pytestmark = pytest.mark.django_db


def _entries(app_id: int) -> list[tuple[str, Any]]:
    rows = AuditEntry.objects.filter(target_type="intake.application", target_id=str(app_id)).order_by("seq")
    return [(r.action, (r.after or {}).get("action")) for r in rows]


def test_create_and_submit_each_append_one_entry(tree: dict) -> None:
    app = submitted(tree["xiangyun_g"])
    assert _entries(app.pk) == [("create", "create"), ("update", "submit")]
    last = AuditEntry.objects.order_by("-seq").first()
    assert last is not None and last.after == {"action": "submit", "state": S.SUBMITTED}
    assert last.unit_path == tree["xiangyun_g"].path
    assert audit_verify() is None


def test_a_refused_submit_appends_nothing(tree: dict) -> None:
    applicant = Applicant.objects.create(phone="13900139000")
    form = form_data(tree["xiangyun_g"])
    form["members"][0]["name"] = ""
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk, form=form)
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationError):
        services.application_submit(actor=applicant, application_id=app.pk)
    assert AuditEntry.objects.count() == before
    app.refresh_from_db()
    assert app.state == S.DRAFT and [e.action for e in app.events.all()] == ["create"]


def test_a_submit_rolled_back_by_the_caller_appends_nothing(tree: dict) -> None:
    applicant = Applicant.objects.create(phone="13900139001")
    app = services.application_create(
        actor=applicant, unit_id=tree["xiangyun_g"].pk, form=form_data(tree["xiangyun_g"])
    )
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.application_submit(actor=applicant, application_id=app.pk)
        raise RuntimeError
    assert AuditEntry.objects.count() == before
    services.application_submit(actor=applicant, application_id=app.pk)
    assert AuditEntry.objects.count() == before + 1
    assert audit_verify() is None


def test_a_submit_keeps_the_form_data_and_moves_the_rest(tree: dict) -> None:
    applicant = Applicant.objects.create(phone="13900139002")
    app = services.application_create(
        actor=applicant, unit_id=tree["xiangyun_g"].pk, form=form_data(tree["xiangyun_g"])
    )
    services.application_submit(actor=applicant, application_id=app.pk)
    after = type(app).objects.get(pk=app.pk)
    assert after.data == app.data and after.head_id_hash == app.head_id_hash
    assert (after.state, after.version) == (S.SUBMITTED, app.version + 1)
    assert after.submitted_at is not None and after.state_since == after.submitted_at
    assert after.updated_at > app.updated_at


def test_opening_a_file_keeps_the_chain_whole(tree: dict, users: dict[str, Any], standard: Any) -> None:
    app = to_state(submitted(tree["xiangyun_g"]), S.FILE_OPENED, users)
    assert app.household_id is not None
    last = AuditEntry.objects.order_by("-seq").first()
    assert last is not None and (last.target_id, (last.after or {}).get("action")) == (str(app.pk), "approve")
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    # The registry's entry for the new file was appended in the same transaction, before the approval's.
    assert AuditEntry.objects.filter(seq__lt=last.seq, target_type="household").exists()
    assert audit_verify() is None
