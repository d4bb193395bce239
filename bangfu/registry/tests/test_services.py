from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404

from bangfu.common.audit import audit_verify
from bangfu.common.models import AuditEntry
from bangfu.registry import services
from bangfu.registry.models import Household, Member, TimelineEvent
from bangfu.testing.factories import household_input, new_id


def test_create_computes_economy_and_masks_ids(tree: dict, users: dict[str, Any]) -> None:
    h = services.household_create(actor=users["xiangyun_cadre"], data=household_input(tree["xiangyun_g"]))
    h.refresh_from_db()
    # (12×(800+1200+0) + 2400 − 18000) / 12 / 3 = (26400 − 18000)/36 = 233.33
    assert h.income_yearly == Decimal("26400.00")
    assert h.net_income_per_head_monthly == Decimal("233.33")
    assert h.members_living_together == 3
    assert h.file_number.startswith("532923")
    head = h.members.get(relationship="head")
    assert head.id_masked[:4] == "5329" and "*" * 10 in head.id_masked
    assert head.name_pinyin == "zhangjianguo" and head.name_initials == "zjg"
    assert TimelineEvent.objects.filter(household=h, kind="file_created").exists()
    assert AuditEntry.objects.filter(target_type="household", target_id=str(h.pk), action="create").exists()
    assert audit_verify() is None


def test_person_on_two_open_files_is_refused_naming_the_other(tree: dict, users: dict[str, Any]) -> None:
    first = services.household_create(actor=users["xiangyun_cadre"], data=household_input(tree["xiangyun_g"]))
    data = household_input(tree["dalishi_g"])
    data.members[1].id_number = _plain_id(first.members.get(relationship="spouse"))
    before = Household.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.household_create(actor=users["dalishi_staff"], data=data)
    msg = exc.value.message_dict["members.1.id_number"][0]
    assert "祥云县纺织厂工会" in msg or "open file" in msg
    assert first.file_number not in msg  # another county's file number is masked
    assert Household.objects.count() == before
    # With other mistakes in the form, the person on another file is named with them, not after.
    data.address = " "
    with pytest.raises(ValidationError) as exc:
        services.household_create(actor=users["dalishi_staff"], data=data)
    assert {"address", "members.1.id_number"} <= set(exc.value.message_dict)
    assert Household.objects.count() == before


def _plain_id(member: Member) -> str:
    from bangfu.common import crypto

    return crypto.decrypt(member.id_cipher)


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: setattr(d, "secondary_causes", [1, 2, 3, 4]), "secondary_causes"),
        (lambda d: setattr(d.members[0], "monthly_income", Decimal("-5")), "members.0.monthly_income"),
        (lambda d: setattr(d.members[1], "id_number", "53292319740802002X"), "members.1.id_number"),
        (lambda d: setattr(d, "address", " "), "address"),
        (lambda d: setattr(d, "main_cause", None), "main_cause"),
        (lambda d: setattr(d.members[2], "id_number", new_id("532923", date(1902, 1, 1))), "members.2.birth_date"),
        (lambda d: setattr(d, "members", d.members * 8), "members"),
        (lambda d: setattr(d, "filed_on", date(11, 12, 8)), "filed_on"),  # the year typed short
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(tree: dict, users: dict[str, Any], mutate: Any, path: str) -> None:
    data = household_input(tree["xiangyun_g"])
    mutate(data)
    with pytest.raises(ValidationError) as exc:
        services.household_create(actor=users["xiangyun_cadre"], data=data)
    assert path in exc.value.message_dict, exc.value.message_dict
    assert Household.objects.count() == 0 and Member.objects.count() == 0


def test_out_of_jurisdiction_update_is_not_found(tree: dict, users: dict[str, Any]) -> None:
    h = services.household_create(actor=users["xiangyun_cadre"], data=household_input(tree["xiangyun_g"]))
    with pytest.raises(Http404):
        services.household_update(
            actor=users["dalishi_staff"], household_id=h.pk, data=household_input(tree["dalishi_g"])
        )


def test_update_keeps_member_rows_and_logs_changes(tree: dict, users: dict[str, Any]) -> None:
    actor = users["xiangyun_staff"]
    data = household_input(tree["xiangyun_g"])
    h = services.household_create(actor=actor, data=data)
    spouse_id = h.members.get(relationship="spouse").pk
    data.members[0].monthly_income = Decimal("1500.00")
    data.members = data.members[:2]
    services.household_update(actor=actor, household_id=h.pk, data=data, expected_version=1)
    h.refresh_from_db()
    assert h.version == 2 and h.members.count() == 2
    assert h.members.get(relationship="spouse").pk == spouse_id
    entry = AuditEntry.objects.filter(action="update").latest("seq")
    assert entry.after is not None and "members" in entry.after and "income_yearly" in entry.after
    # The timeline names what changed, in the reader's words; a save that changed nothing adds nothing.
    from django.test import Client

    changed = TimelineEvent.objects.filter(household=h, kind="file_updated")
    assert changed.count() == 1 and "members" in changed.get().data["fields"]
    services.household_update(actor=actor, household_id=h.pk, data=data, expected_version=2)
    assert changed.count() == 1
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(actor)
    page = client.get(f"/households/{h.pk}/").content.decode()
    shown = page.split("File changed: ")[1].split("<")[0]
    assert "members" in shown.split(", ") and "income" in shown


def test_no_plaintext_id_anywhere_in_the_database(tree: dict, users: dict[str, Any]) -> None:
    data = household_input(tree["xiangyun_g"])
    services.household_create(actor=users["xiangyun_staff"], data=data)
    h = Household.objects.get()
    services.member_id_reveal(actor=users["xiangyun_staff"], member_id=h.members.first().pk)  # type: ignore[union-attr]
    secrets = [m.id_number for m in data.members] + ["6222021234567890123"]
    # An application's form holds ID numbers and a bank card too, while it goes back and forth.
    from bangfu.intake import services as intake
    from bangfu.intake.demo import form_data
    from bangfu.intake.models import Applicant

    form = form_data(tree["xiangyun_g"], members=2)
    form["bank_account"]["card_number"] = "6222027654321098765"
    worker = Applicant.objects.create(phone="13800009999")
    app = intake.application_create(actor=worker, unit_id=tree["xiangyun_g"].pk, form=form)
    assert app.data["members"][0]["id_number"] == form["members"][0]["id_number"]  # read back decrypted
    secrets += [m["id_number"] for m in form["members"]] + ["6222027654321098765"]
    with connection.cursor() as cur:
        tables = connection.introspection.table_names(cur)
        for table in tables:
            cur.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from introspection
            dump = repr(cur.fetchall())
            for s in secrets:
                assert s not in dump, f"plaintext {s[:4]}… found in {table}"


def test_update_keeps_stored_ids_for_named_members(tree: dict, users: dict[str, Any]) -> None:
    actor = users["xiangyun_staff"]
    h = services.household_create(actor=actor, data=household_input(tree["xiangyun_g"]))
    data = household_input(tree["xiangyun_g"])
    stored = list(h.members.order_by("position"))
    for m, row in zip(data.members, stored, strict=True):
        m.id_number, m.member_id = row.id_masked, row.pk  # what a client holds without revealing
    data.members[2].monthly_income = Decimal("300.00")
    services.household_update(actor=actor, household_id=h.pk, data=data)
    assert [m.id_hash for m in h.members.order_by("position")] == [m.id_hash for m in stored]

    other = services.household_create(actor=actor, data=household_input(tree["xiangyun_g"], members=1))
    data.members[1].member_id = other.members.get().pk  # a member of another file
    with pytest.raises(ValidationError) as exc:
        services.household_update(actor=actor, household_id=h.pk, data=data)
    assert "members.1.member_id" in exc.value.message_dict


def test_state_changes_follow_the_table_and_reopening_checks_other_files(tree: dict, users: dict[str, Any]) -> None:
    actor = users["xiangyun_staff"]
    data = household_input(tree["xiangyun_g"])
    h = services.household_create(actor=actor, data=data)
    with pytest.raises(ValidationError):
        services.household_state_change(actor=actor, household_id=h.pk, to_state="exited", reason=" ")
    services.household_state_change(actor=actor, household_id=h.pk, to_state="exited", reason="收入连续6个月高于低保")
    assert not Member.objects.filter(household=h, on_open_file=True).exists()
    # The exited head can now be on a new file; reopening the old one must then be refused.
    again = household_input(tree["xiangyun_g"], members=1)
    again.members[0].id_number = data.members[0].id_number
    services.household_create(actor=actor, data=again)
    with pytest.raises(ValidationError) as exc:
        services.household_state_change(actor=actor, household_id=h.pk, to_state="active", reason="返困")
    assert "open file" in str(exc.value) or "在档" in str(exc.value)
    h.refresh_from_db()
    assert h.state == "exited"


def test_cancelled_is_final_and_the_error_says_so(tree: dict, users: dict[str, Any]) -> None:
    from bangfu.common.errors import DomainError

    actor = users["xiangyun_staff"]
    h = services.household_create(actor=actor, data=household_input(tree["xiangyun_g"]))
    services.household_state_change(actor=actor, household_id=h.pk, to_state="cancelled", reason="户主退休")
    with pytest.raises(DomainError) as exc:
        services.household_state_change(actor=actor, household_id=h.pk, to_state="active", reason="误操作")
    assert exc.value.code == "invalid_transition"
    h.refresh_from_db()
    assert h.state == "cancelled" and h.timeline.filter(kind="state_changed").count() == 1


def test_the_edit_moves_the_state_along_the_same_table_and_says_so_on_the_timeline(
    tree: dict, users: dict[str, Any]
) -> None:
    """Changing the state in the file's edit follows the transition table, like a state change with
    a reason, and is a state_changed event on the timeline (a removal proposal reads them)."""
    actor = users["xiangyun_staff"]
    data = household_input(tree["xiangyun_g"])
    h = services.household_create(actor=actor, data=data)
    services.household_state_change(actor=actor, household_id=h.pk, to_state="cancelled", reason="户主退休")
    data.state = "active"
    with pytest.raises(ValidationError) as refused:
        services.household_update(actor=actor, household_id=h.pk, data=data)
    assert "state" in refused.value.message_dict
    h.refresh_from_db()
    assert h.state == "cancelled"
    data2 = household_input(tree["xiangyun_g"])
    third = services.household_create(actor=actor, data=data2)
    data2.state = "cancelled"
    services.household_update(actor=actor, household_id=third.pk, data=data2)
    third.refresh_from_db()
    assert third.state == "cancelled"
    event = third.timeline.get(kind="state_changed")
    assert event.data == {"from": "active", "to": "cancelled"}
    assert not Member.objects.filter(household=third, on_open_file=True).exists()


def test_member_death_leaves_the_per_head_figures(tree: dict, users: dict[str, Any]) -> None:
    actor = users["xiangyun_staff"]
    h = services.household_create(actor=actor, data=household_input(tree["xiangyun_g"]))
    spouse = h.members.get(relationship="spouse")
    services.member_mark_deceased(actor=actor, member_id=spouse.pk, source="公安死亡记录 2026-10-01")
    h.refresh_from_db()
    spouse.refresh_from_db()
    assert spouse.deceased and not spouse.on_open_file
    # (12×800 + 2400 − 18000)/12/2 = −250.00: the spouse's wage left with her.
    assert h.members_living_together == 2 and h.net_income_per_head_monthly == Decimal("-250.00")
    assert h.timeline.filter(kind="member_deceased").exists()


def test_a_member_given_the_heads_id_number_is_told_so(tree: dict, users: dict[str, Any]) -> None:
    """The page shows the head apart from the members: "member 1" was read as the row itself."""
    from django.utils import translation

    data = household_input(tree["xiangyun_g"])
    head_id = data.members[0].id_number
    data.members[2].id_number = head_id[:6] + head_id[8:17]  # the head's number in its 15-digit form
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        services.household_create(actor=users["xiangyun_cadre"], data=data)
    assert exc.value.message_dict["members.2.id_number"] == [
        "The same ID number is already given for the head of household."
    ]
