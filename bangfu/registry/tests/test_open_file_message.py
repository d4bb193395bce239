"""The one-open-file refusal names the other file to staff (its number masked outside their
jurisdiction) and tells anyone else only that there is one."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from bangfu.registry import services as registry
from bangfu.registry.validation import check_household
from bangfu.testing.factories import household_input

pytestmark = pytest.mark.django_db


def _clash(tree: Any, users: Any, actor: Any) -> str:
    existing = household_input(tree["xiangyun_g"], members=1)
    h = registry.household_create(actor=users["xiangyun_staff"], data=existing)
    again = household_input(tree["xiangyun_g"], members=1)
    again.members[0].id_number = existing.members[0].id_number
    _errors, checked = check_household(again)
    with pytest.raises(ValidationError) as err:
        registry.open_file_check(actor, checked, None, opening=True)
    message = err.value.message_dict["members.0.id_number"][0]
    assert h.file_number
    return message


def test_staff_are_told_which_file(tree: Any, users: Any) -> None:
    message = _clash(tree, users, users["xiangyun_staff"])
    assert "already on the open file" in message and tree["xiangyun_g"].name in message


def test_anyone_else_is_told_only_that_there_is_one(tree: Any, users: Any) -> None:
    from bangfu.intake.models import Applicant

    message = _clash(tree, users, Applicant.objects.create(phone="13700000099"))
    assert message == "This person is already on an open file; ask your union."


def test_staff_of_another_county_learn_the_union_to_ask_not_the_name(tree: Any, users: Any) -> None:
    """Anyone with a staff account could otherwise look people up by ID number: outside the
    jurisdiction the refusal names the union to ask and the file's number masked, no name."""
    from bangfu.registry.models import Household

    message = _clash(tree, users, users["dalishi_staff"])
    h = Household.objects.get()
    assert tree["xiangyun_g"].name in message and "outside your jurisdiction" in message
    assert h.file_number not in message and "as " not in message
    assert h.members.get().name[0] not in message


def test_what_a_refusal_tells_outside_the_jurisdiction_is_logged_though_the_write_rolls_back(
    audit_log_emptied: None, tree: Any, users: Any
) -> None:
    """Telling a county's staff which union keeps a person's file is a reveal: it is logged in the
    keeping union's log, with who asked, although the refused file is rolled back with its
    transaction (written when the request ends), and only once when a caller's transaction commits."""
    from django.core.signals import request_finished
    from django.db import transaction

    from bangfu.common.audit import flush_told
    from bangfu.common.models import AuditEntry

    existing = household_input(tree["xiangyun_g"], members=1)
    h = registry.household_create(actor=users["xiangyun_staff"], data=existing)
    again = household_input(tree["dalishi_g"], members=1)
    again.members[0].id_number = existing.members[0].id_number
    told = AuditEntry.objects.filter(action="reveal", target_type="household", target_id=str(h.pk))
    with pytest.raises(ValidationError):
        registry.household_create(actor=users["dalishi_staff"], data=again)
    # Found in the write's transaction, which rolled back: written when the request ends.
    assert not told.exists()
    request_finished.send(sender=None)
    (entry,) = told.all()
    assert entry.actor == users["dalishi_staff"] and entry.unit_path == tree["xiangyun_g"].path
    assert tree["xiangyun_g"].name in entry.note and (entry.after or {}).get("id_number") == h.members.get().id_masked
    # Outside a transaction: at once.
    _errors, checked = check_household(again)
    with pytest.raises(ValidationError):
        registry.open_file_check(users["dalishi_staff"], checked, None, opening=True)
    assert told.count() == 2
    # Inside one that commits (a caller that goes on after the refusal): written once.
    with transaction.atomic(), pytest.raises(ValidationError):
        registry.open_file_check(users["dalishi_staff"], checked, None, opening=True)
    flush_told()
    assert told.count() == 3
    # Staff who may see the file are told its number as part of their work: nothing logged.
    with pytest.raises(ValidationError):
        registry.open_file_check(users["xiangyun_staff"], checked, None, opening=True)
    assert told.count() == 3


def test_staff_are_told_where_another_union_keeps_a_file_so_many_times_a_day(
    audit_log_emptied: None, tree: Any, users: Any, monkeypatch: Any
) -> None:
    """Any staff account could try ID numbers against every union's files without end: past the
    day's number the refusal says there is a file, not where (and the trail stays in the log)."""
    from django.core.cache import cache
    from django.core.signals import request_finished

    from bangfu.common.models import AuditEntry

    monkeypatch.setattr(registry, "TOLD_ELSEWHERE_PER_DAY", 2)
    cache.clear()
    messages = []
    for _ in range(3):
        existing = household_input(tree["xiangyun_g"], members=1)
        registry.household_create(actor=users["xiangyun_staff"], data=existing)
        again = household_input(tree["dalishi_g"], members=1)
        again.members[0].id_number = existing.members[0].id_number
        with pytest.raises(ValidationError) as err:
            registry.household_create(actor=users["dalishi_staff"], data=again)
        request_finished.send(sender=None)  # the request ends: the reveal is logged and counted
        messages.append(err.value.message_dict["members.0.id_number"][0])
    assert all(tree["xiangyun_g"].name in m for m in messages[:2])
    assert tree["xiangyun_g"].name not in messages[2] and "the most a day" in messages[2]
    # Every answer is logged, the one past the day's number too (it still tells there is a file):
    # probing leaves its trail exactly when it becomes suspicious.
    told = AuditEntry.objects.filter(action="reveal", target_type="household", actor=users["dalishi_staff"])
    assert [(e.after or {}).get("union_named") for e in told.order_by("seq")] == [True, True, False]
    assert all(e.unit_path == tree["xiangyun_g"].path for e in told)
    cache.clear()


def test_one_check_tells_no_more_than_the_days_number(tree: Any, users: Any, monkeypatch: Any) -> None:
    """The day's number was read once per check: a file of 19 members named the union 19 times
    more, whatever the number left."""
    from django.core.cache import cache

    monkeypatch.setattr(registry, "TOLD_ELSEWHERE_PER_DAY", 2)
    cache.clear()
    existing = household_input(tree["xiangyun_g"], members=3)
    registry.household_create(actor=users["xiangyun_staff"], data=existing)
    again = household_input(tree["dalishi_g"], members=3)
    for mine, theirs in zip(again.members, existing.members, strict=True):
        mine.id_number = theirs.id_number
    _errors, checked = check_household(again)
    with pytest.raises(ValidationError) as err:
        registry.open_file_check(users["dalishi_staff"], checked, None, opening=True)
    messages = [err.value.message_dict[f"members.{i}.id_number"][0] for i in range(3)]
    assert sorted(tree["xiangyun_g"].name in m for m in messages) == [False, True, True]
    cache.clear()


def test_the_refusal_is_under_the_member_it_is_about_when_one_before_it_is_wrong(tree: Any, users: Any) -> None:
    """A member whose own check failed is left out of the checked members: the open file of the
    member after it was said under the member before, next to that one's check-digit error."""
    from bangfu.registry.models import Household

    existing = household_input(tree["xiangyun_g"], members=1)
    registry.household_create(actor=users["xiangyun_staff"], data=existing)
    again = household_input(tree["xiangyun_g"], members=2)
    bad = again.members[1].id_number
    again.members[1].id_number = bad[:-1] + ("0" if bad[-1] != "0" else "1")  # a wrong check digit
    again.members.append(dataclasses.replace(again.members[1], id_number=existing.members[0].id_number))
    with pytest.raises(ValidationError) as err:
        registry.household_create(actor=users["xiangyun_staff"], data=again)
    errors = err.value.message_dict
    assert any("already on the open file" in m for m in errors["members.2.id_number"]), errors
    assert not any("open file" in m for m in errors.get("members.1.id_number", [])), errors
    assert Household.objects.count() == 1
