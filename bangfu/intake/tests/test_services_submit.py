"""Submitting: the one-case-at-a-time check names the case already under way — to staff and to the
worker whose case it is; another worker learns only that there is one (its reference would tell
anyone who knows an ID number that this person asked for hardship help)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from bangfu.intake import services
from bangfu.intake.models import Applicant, ApplicationState
from bangfu.intake.tests.helpers import form_data

pytestmark = pytest.mark.django_db


def test_a_second_case_for_the_same_head_is_refused_while_the_first_is_under_way(tree: dict) -> None:
    unit = tree["xiangyun_g"]
    form = form_data(unit)
    first_by, second_by = Applicant.objects.create(phone="13900139010"), Applicant.objects.create(phone="13900139011")
    first = services.application_create(actor=first_by, unit_id=unit.pk, form=form)
    services.application_submit(actor=first_by, application_id=first.pk)
    second = services.application_create(actor=second_by, unit_id=unit.pk, form=form)
    with pytest.raises(ValidationError) as exc:
        services.application_submit(actor=second_by, application_id=second.pk)
    message = str(exc.value.message_dict["members.0.id_number"])
    assert "already under way" in message and first.reference not in message and "SQ" not in message
    # The same worker's own case is named, and a cadre at the counter is told which case it is.
    own = services.application_create(actor=first_by, unit_id=unit.pk, form=form)
    with pytest.raises(ValidationError) as exc:
        services.application_submit(actor=first_by, application_id=own.pk)
    assert first.reference in str(exc.value.message_dict["members.0.id_number"])
    second.refresh_from_db()
    assert second.state == ApplicationState.DRAFT
    # Once the first is withdrawn, the second may go ahead.
    services.application_transition(actor=first_by, application_id=first.pk, action="withdraw", reason="重复")
    assert services.application_submit(actor=second_by, application_id=second.pk).state == ApplicationState.SUBMITTED
