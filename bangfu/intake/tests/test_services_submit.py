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


def test_a_member_of_a_case_under_way_is_refused_as_the_head_of_another(tree: dict, users: dict) -> None:
    """The spouse in one case under way cannot apply as the head of a second (nor be a member of
    it); the check names each such person under their ID number, all at once."""
    unit = tree["xiangyun_g"]
    first_form = form_data(unit)
    first_by, second_by = Applicant.objects.create(phone="13900139020"), Applicant.objects.create(phone="13900139021")
    first = services.application_create(actor=first_by, unit_id=unit.pk, form=first_form)
    services.application_submit(actor=first_by, application_id=first.pk)
    spouse, child = first_form["members"][1], first_form["members"][2]
    second_form = form_data(unit)
    # The first case's spouse (her number in the old 15-digit form) heads the second; its child is in it too.
    old = spouse["id_number"][:6] + spouse["id_number"][8:17]
    second_form["members"][0] = {**second_form["members"][0], "name": spouse["name"], "id_number": old}
    second_form["members"][2] = {**second_form["members"][2], "id_number": child["id_number"], "name": child["name"]}
    second = services.application_create(actor=second_by, unit_id=unit.pk, form=second_form)
    with pytest.raises(ValidationError) as exc:
        services.application_submit(actor=second_by, application_id=second.pk)
    errors = exc.value.message_dict
    assert set(errors) >= {"members.0.id_number", "members.2.id_number"}
    assert "already under way" in errors["members.0.id_number"][0] and "SQ" not in errors["members.0.id_number"][0]
    # A cadre at the counter is told which case it is.
    counter = services.application_create(actor=users["xiangyun_cadre"], unit_id=unit.pk, form=second_form)
    with pytest.raises(ValidationError) as exc:
        services.application_submit(actor=users["xiangyun_cadre"], application_id=counter.pk)
    assert first.reference in exc.value.message_dict["members.2.id_number"][0]
    # Once the first case is withdrawn, the second goes ahead.
    services.application_transition(actor=first_by, application_id=first.pk, action="withdraw", reason="重复")
    assert services.application_submit(actor=second_by, application_id=second.pk).state == ApplicationState.SUBMITTED


def test_a_file_is_not_opened_by_hand_for_a_person_in_a_case_under_way(tree: dict, users: dict) -> None:
    """A file opened by hand beside a case under way left the case unable to be approved (the
    one-open-file check refused the approval, long after the file was made): the file is refused
    when it is made, naming the case; once the case is refused, it is made."""
    from dataclasses import replace

    from bangfu.registry import services as registry
    from bangfu.testing.factories import household_input

    unit = tree["xiangyun_g"]
    form = form_data(unit)
    by = Applicant.objects.create(phone="13900139030")
    case = services.application_create(actor=by, unit_id=unit.pk, form=form)
    services.application_submit(actor=by, application_id=case.pk)
    data = household_input(unit)
    spouse = form["members"][1]
    # The case's spouse, her number as a department file would write it, as the file's second member.
    dirty = " ".join(spouse["id_number"][i : i + 6] for i in (0, 6, 12))
    data.members = [data.members[0], replace(data.members[1], name=spouse["name"], id_number=dirty)]
    with pytest.raises(ValidationError) as exc:
        registry.household_create(actor=users["xiangyun_staff"], data=data)
    assert list(exc.value.message_dict) == ["members.1.id_number"]
    assert case.reference in exc.value.message_dict["members.1.id_number"][0]
    # Nor is she added to another file by an edit.
    alone = household_input(unit, members=1)
    other = registry.household_create(actor=users["xiangyun_staff"], data=alone)
    grown = replace(alone, members=[replace(alone.members[0], member_id=other.members.get().pk), data.members[1]])
    with pytest.raises(ValidationError) as exc:
        registry.household_update(actor=users["xiangyun_staff"], household_id=other.pk, data=grown)
    assert case.reference in exc.value.message_dict["members.1.id_number"][0]
    # The same edit without her is saved.
    grown.members = grown.members[:1]
    registry.household_update(actor=users["xiangyun_staff"], household_id=other.pk, data=grown)
    services.application_transition(
        actor=users["xiangyun_cadre"], application_id=case.pk, action="refuse", reason="不符合"
    )
    assert registry.household_create(actor=users["xiangyun_staff"], data=data).members.count() == 2


def test_a_phones_drafts_are_bounded(tree: dict) -> None:
    """A draft took thousands of members and megabytes of text, and a worker any number of drafts:
    one phone could fill the database."""
    from bangfu.common.errors import DomainError

    unit = tree["xiangyun_g"]
    by = Applicant.objects.create(phone="13900139040")
    form = form_data(unit)
    with pytest.raises(ValidationError) as exc:
        services.application_create(actor=by, unit_id=unit.pk, form={**form, "members": form["members"] * 11})
    assert list(exc.value.message_dict) == ["members"]
    with pytest.raises(ValidationError) as exc:
        services.application_create(actor=by, unit_id=unit.pk, form={**form, "address": "路" * 2001})
    assert list(exc.value.message_dict) == ["address"]
    with pytest.raises(ValidationError) as exc:
        services.application_create(actor=by, unit_id=unit.pk, form={**form, "secondary_causes": [2] * 300})
    assert list(exc.value.message_dict) == ["secondary_causes"]
    # One draft a kind and union (a second start gives back the first): drafts at several unions.
    from bangfu.org.models import OrgKind, OrgLevel
    from bangfu.org.services import org_unit_create

    unions = [
        org_unit_create(
            name=f"祥云县第{i}厂工会",
            level=OrgLevel.GRASSROOTS,
            division_code="532923",
            parent=tree["xiangyun"],
            kind=OrgKind.ENTERPRISE,
        )
        for i in range(services.DRAFTS_PER_WORKER + 1)
    ]
    for union in unions[:-1]:
        services.application_create(actor=by, unit_id=union.pk)
    with pytest.raises(DomainError) as caught:
        services.application_create(actor=by, unit_id=unions[-1].pk)
    assert caught.value.code == "too_many_drafts"
