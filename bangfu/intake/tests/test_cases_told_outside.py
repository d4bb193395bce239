"""A person's application under way, told to someone outside the case's jurisdiction: no
reference, the union that keeps it named to staff as the open-file check names a file's union
(one day's number for files and cases together; past it, only that there is one), a worker's
phone told only that there is one and counted in the phone's day's number; each telling a reveal
in the keeping union's log. The refusal itself stays (a person is in one case of a kind). Paths:
a file by hand (API), the counter, the phone, the legacy import."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.signals import request_finished
from django.db.models import QuerySet

from bangfu.api.tests.conftest import Api, as_json
from bangfu.common.errors import DomainError
from bangfu.common.ids import ResidentId
from bangfu.common.models import AuditEntry
from bangfu.intake import imports, services
from bangfu.intake.models import Applicant, Application
from bangfu.intake.tests.helpers import form_data, submitted
from bangfu.intake.tests.test_legacy_import import HEADERS, household_rows, xlsx
from bangfu.org import audit_log
from bangfu.org.models import Role
from bangfu.org.services import token_create
from bangfu.registry import services as registry
from bangfu.testing.factories import household_input, new_id, user_with_role

ELSEWHERE = "outside your jurisdiction"


@pytest.fixture(autouse=True)
def _counts(audit_log_emptied: None) -> Any:
    """Real transactions (what a refusal told is logged once its transaction has rolled back),
    and the day's numbers from nought."""
    cache.clear()
    yield
    cache.clear()


def _head(app: Application) -> str:
    return str(app.data["members"][0]["id_number"])


def _told(app: Application) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(action="reveal", target_type="intake.application", target_id=str(app.pk))


def _api(user: Any) -> Api:
    return Api(token_create(actor=user, user=user, name="tests"))


def _file_by_hand(api: Api, unit: Any, id_number: str) -> Any:
    data = household_input(unit, members=1)
    data.members[0].id_number = id_number
    return api.post("/households", as_json(data))


def _counter(cadre: Any, unit: Any, id_number: str) -> str:
    """A counter application at ``unit`` with ``id_number`` as its head's: the refusal's message."""
    form = form_data(unit, members=1)
    form["members"][0]["id_number"] = id_number
    app = services.application_create(actor=cadre, unit_id=unit.pk, form=form)
    with pytest.raises(ValidationError) as err:
        services.application_submit(actor=cadre, application_id=app.pk)
    request_finished.send(sender=None)  # the request ends: what it told is logged and counted
    return err.value.message_dict["members.0.id_number"][0]


def test_a_file_by_hand_names_the_case_inside_the_jurisdiction_and_only_its_union_outside(
    tree: Any, users: Any
) -> None:
    app = submitted(tree["xiangyun_g"])
    head = _head(app)
    # Outside: the refusal stays, without the case's reference; the union to ask; logged there.
    response = _file_by_hand(_api(users["dalishi_staff"]), tree["dalishi_g"], head)
    assert response.status_code == 422, response.content
    (text,) = response.json()["error"]["fields"]["members.0.id_number"]
    assert app.reference not in text and tree["xiangyun_g"].name in text and ELSEWHERE in text
    assert _api(users["dalishi_staff"]).get(f"/applications/{app.pk}").status_code == 404
    (entry,) = _told(app)
    assert entry.actor == users["dalishi_staff"] and entry.unit_path == tree["xiangyun_g"].path
    assert entry.after == {"id_number": masked(head), **_named(True), "asked_in": tree["dalishi_g"].code}
    # Inside: the case by its reference, as part of the work; nothing logged.
    response = _file_by_hand(_api(users["xiangyun_staff"]), tree["xiangyun_g"], head)
    assert response.status_code == 422 and app.reference in response.json()["error"]["fields"]["members.0.id_number"][0]
    assert _told(app).count() == 1


def masked(id_number: str) -> str:
    return ResidentId.parse(id_number).masked


def _named(named: bool) -> dict[str, Any]:
    return {"told": "application_elsewhere", "union_named": named}


def test_the_counter_outside_the_jurisdiction_is_told_the_union_so_many_times_a_day_and_every_time_logged(
    tree: Any, users: Any, monkeypatch: Any
) -> None:
    """A cadre of another county trying an ID number again and again: told the union to ask up to
    the day's number, then only that there is a case; each answer in the keeping union's log."""
    monkeypatch.setattr(registry, "TOLD_ELSEWHERE_PER_DAY", 2)
    app = submitted(tree["xiangyun_g"])
    cadre = user_with_role(tree["dalishi_g"], Role.GRASSROOTS_CADRE, "dalishi_cadre")
    messages = [_counter(cadre, tree["dalishi_g"], _head(app)) for _ in range(4)]
    assert all(app.reference not in m and "already under way" in m and ELSEWHERE in m for m in messages)
    assert all(tree["xiangyun_g"].name in m for m in messages[:2])
    assert all(tree["xiangyun_g"].name not in m and "the most a day" in m for m in messages[2:])
    entries = list(_told(app).order_by("seq"))
    assert [e.after for e in entries] == [
        {"id_number": masked(_head(app)), **_named(named), "asked_in": tree["dalishi_g"].code}
        for named in (True, True, False, False)
    ]
    assert {(e.actor_id, e.unit_path) for e in entries} == {(cadre.pk, tree["xiangyun_g"].path)}
    # Inside the jurisdiction: the reference, nothing logged.
    assert app.reference in _counter(users["xiangyun_cadre"], tree["xiangyun_g"], _head(app))
    assert _told(app).count() == 4


def test_files_and_cases_share_the_days_number(tree: Any, users: Any, monkeypatch: Any) -> None:
    """Either answer tells that a person is in the hardship system: one number for both."""
    monkeypatch.setattr(registry, "TOLD_ELSEWHERE_PER_DAY", 2)
    app = submitted(tree["xiangyun_g"])
    on_file = household_input(tree["xiangyun_g"], members=1)
    registry.household_create(actor=users["xiangyun_staff"], data=on_file)
    cadre = user_with_role(tree["dalishi_g"], Role.GRASSROOTS_CADRE, "dalishi_cadre")
    assert tree["xiangyun_g"].name in _counter(cadre, tree["dalishi_g"], _head(app))
    assert tree["xiangyun_g"].name in _counter(cadre, tree["dalishi_g"], on_file.members[0].id_number)
    # The day's number is reached: neither a file's union nor a case's is named any more.
    message = _counter(cadre, tree["dalishi_g"], on_file.members[0].id_number)
    assert tree["xiangyun_g"].name not in message and "the most a day" in message
    message = _counter(cadre, tree["dalishi_g"], _head(app))
    assert tree["xiangyun_g"].name not in message and "the most a day" in message


def test_one_write_tells_no_more_than_the_number_left(tree: Any, users: Any, monkeypatch: Any) -> None:
    """A change of a file asks the cases and the open files in one transaction: the number left is
    shared between the two checks (each read the day's count alone and told one more each)."""
    monkeypatch.setattr(registry, "TOLD_ELSEWHERE_PER_DAY", 1)
    app = submitted(tree["xiangyun_g"])
    on_file = household_input(tree["xiangyun_g"], members=1)
    registry.household_create(actor=users["xiangyun_staff"], data=on_file)
    data = household_input(tree["dalishi_g"], members=3)
    h = registry.household_create(actor=users["dalishi_staff"], data=data)
    data.members[1].id_number, data.members[2].id_number = _head(app), on_file.members[0].id_number
    with pytest.raises(ValidationError) as err:
        registry.household_update(actor=users["dalishi_staff"], household_id=h.pk, data=data)
    messages = [m for ms in err.value.message_dict.values() for m in ms]
    assert len(messages) == 2 and sum(tree["xiangyun_g"].name in m for m in messages) == 1


def test_a_phone_learns_no_reference_is_logged_and_counted_with_the_persons_on_a_file(
    tree: Any, users: Any, monkeypatch: Any
) -> None:
    """A worker's phone trying the ID numbers of others' cases: told only that there is one, each
    time logged in the keeping union's log; the persons count in the phone's day's number with
    those found on a file, after which it is told nothing more."""
    monkeypatch.setattr(services, "ON_FILE_ANSWERS_PER_DAY", 2)
    cases = [submitted(tree["xiangyun_g"], phone=f"1380013800{n}") for n in range(2)]
    prober = Applicant.objects.create(phone="13912340000")
    app = services.application_create(actor=prober, unit_id=tree["dalishi_g"].pk)
    form = form_data(tree["dalishi_g"], members=1)
    for case in cases:
        form["members"][0]["id_number"] = _head(case)
        services.application_save_draft(actor=prober, application_id=app.pk, form=form)
        with pytest.raises(ValidationError) as err:
            services.application_submit(actor=prober, application_id=app.pk)
        request_finished.send(sender=None)
        message = err.value.message_dict["members.0.id_number"][0]
        assert message == "An application for this person is already under way; ask your union."
        (entry,) = _told(case)
        assert entry.actor is None and entry.actor_label == str(prober)
        assert entry.unit_path == tree["xiangyun_g"].path and entry.after == {
            "id_number": masked(_head(case)),
            **_named(False),
        }
    # The day's number is reached: a third person, in a case or not, is not looked up.
    form["members"][0]["id_number"] = new_id()
    services.application_save_draft(actor=prober, application_id=app.pk, form=form)
    with pytest.raises(DomainError) as refused:
        services.application_submit(actor=prober, application_id=app.pk)
    assert refused.value.code == "too_many_on_file"
    # The worker's own case is theirs to see: its reference, nothing logged.
    own = cases[0]
    again = services.application_create(actor=own.applicant, unit_id=tree["xiangyun_g"].pk, form=own.data)
    with pytest.raises(ValidationError) as err:
        services.application_submit(actor=own.applicant, application_id=again.pk)
    assert own.reference in err.value.message_dict["members.0.id_number"][0]
    assert _told(own).count() == 1


def test_a_phone_told_of_an_open_file_is_logged_too(tree: Any, users: Any) -> None:
    """The phone's answer "already on an open file" names no union, but tells that the person is
    in hardship: a reveal in the keeping union's log, as a staff user's."""
    on_file = household_input(tree["xiangyun_g"], members=1)
    h = registry.household_create(actor=users["xiangyun_staff"], data=on_file)
    prober = Applicant.objects.create(phone="13912340001")
    form = form_data(tree["dalishi_g"], members=1)
    form["members"][0]["id_number"] = on_file.members[0].id_number
    app = services.application_create(actor=prober, unit_id=tree["dalishi_g"].pk, form=form)
    with pytest.raises(ValidationError):
        services.application_submit(actor=prober, application_id=app.pk)
    request_finished.send(sender=None)
    (entry,) = AuditEntry.objects.filter(action="reveal", target_type="household", target_id=str(h.pk))
    assert entry.actor_label == str(prober) and entry.unit_path == tree["xiangyun_g"].path
    assert entry.after == {
        "id_number": h.members.get().id_masked,
        "told": "open_file_elsewhere",
        "union_named": False,
    }


def test_the_legacy_import_names_another_unions_case_by_its_union_only(tree: Any, users: Any) -> None:
    """The import's problem rows tell no more than the counter: another county's case by the
    union that keeps it (logged there), the importer's own by its reference; checked and
    committed alike."""
    app = submitted(tree["xiangyun_g"])
    head = _head(app)
    staff = users["dalishi_staff"]
    rows = household_rows("L-0051", members=1, 身份证号=head, 姓名=app.data["members"][0]["name"])
    rows += household_rows("L-0052", members=1)
    batch = imports.import_batch_create(actor=staff, unit_id=tree["dalishi"].pk, name="a.xlsx", content=xlsx(rows))
    request_finished.send(sender=None)
    (issue,) = batch.issues.all()
    assert app.reference not in issue.reason and tree["xiangyun_g"].name in issue.reason
    assert ELSEWHERE in issue.reason and issue.column == "身份证号" and issue.file_number == "L-0051"
    (entry,) = _told(app)
    assert entry.actor == staff and entry.unit_path == tree["xiangyun_g"].path
    # Committed in one pass (the check runs again, in the writer's pipeline): the other household
    # is written, the problem still names no case, and the telling is logged again.
    rows[0][HEADERS.index("住址")] = "大理市下关镇人民路3号"  # another file
    batch = imports.import_file(actor=staff, unit_id=tree["dalishi"].pk, name="b.xlsx", content=xlsx(rows), commit=True)
    request_finished.send(sender=None)
    assert batch.state == "committed" and batch.households_created == 1
    (issue,) = batch.issues.all()
    assert app.reference not in issue.reason and tree["xiangyun_g"].name in issue.reason
    assert _told(app).count() == 2
    # The union's own staff: the case's reference, nothing logged.
    batch = imports.import_batch_create(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="c.xlsx", content=xlsx(rows[:1])
    )
    (issue,) = batch.issues.all()
    assert app.reference in issue.reason and _told(app).count() == 2


# --- the asking union's log -------------------------------------------------------------------------


def _managers(tree: Any) -> tuple[Any, Any]:
    """The audit readers of the asking county (大理市) and of the keeping one (祥云县)."""
    return (
        user_with_role(tree["dalishi"], Role.MANAGER, "dalishi_manager"),
        user_with_role(tree["xiangyun"], Role.MANAGER, "xiangyun_manager"),
    )


def _after(entry: AuditEntry) -> dict[str, Any]:
    return entry.after or {}


def _reveals(reader: Any) -> list[AuditEntry]:
    return list(audit_log.audit_list(actor=reader, filters=audit_log.AuditFilters(action="reveal")).order_by("seq"))


def test_each_answer_is_in_the_asking_unions_log_too_saying_no_more_than_was_told(
    tree: Any, users: Any, monkeypatch: Any
) -> None:
    """A cadre of 大理市 told of a 祥云县 case: one entry in each union's log, each read by its own
    auditors only, the answer counted once. Past the day's number, the asking union's entry does
    not name the union its user was not told of."""
    monkeypatch.setattr(registry, "TOLD_ELSEWHERE_PER_DAY", 1)
    app = submitted(tree["xiangyun_g"])
    cadre = user_with_role(tree["dalishi_g"], Role.GRASSROOTS_CADRE, "dalishi_cadre")
    asking, keeping = _managers(tree)
    keeper = tree["xiangyun_g"]
    for _n in range(2):
        _counter(cadre, tree["dalishi_g"], _head(app))
    assert registry._told_today(cadre) == 2  # each answer once, not once per entry
    kept, asked = _reveals(keeping), _reveals(asking)
    assert [(e.target_type, e.target_id, e.unit_path) for e in kept] == [
        ("intake.application", str(app.pk), keeper.path)
    ] * 2
    assert [(e.target_type, e.unit_path, e.actor_id) for e in asked] == [
        (registry.TOLD_HERE, tree["dalishi_g"].path, cadre.pk)
    ] * 2
    assert {e.seq for e in kept}.isdisjoint(e.seq for e in asked)
    named, unnamed = asked
    assert named.after == {"id_number": masked(_head(app)), **_named(True), "kept_by": keeper.code}
    assert keeper.name in named.note and app.reference not in named.note
    assert unnamed.after == {"id_number": masked(_head(app)), **_named(False)}
    assert keeper.name not in unnamed.note and "not named" in unnamed.note
    assert [_after(e)["asked_in"] for e in kept] == [tree["dalishi_g"].code] * 2
    # The province reads both sides of each answer.
    assert len(_reveals(users["province_manager"])) == 4


def test_a_file_by_hand_is_in_the_asking_unions_log(tree: Any, users: Any) -> None:
    on_file = household_input(tree["xiangyun_g"], members=1)
    h = registry.household_create(actor=users["xiangyun_staff"], data=on_file)
    response = _file_by_hand(_api(users["dalishi_staff"]), tree["dalishi_g"], on_file.members[0].id_number)
    assert response.status_code == 422
    asking, keeping = _managers(tree)
    (kept,) = _reveals(keeping)
    assert (kept.target_type, kept.target_id, _after(kept)["told"]) == ("household", str(h.pk), "open_file_elsewhere")
    (asked,) = _reveals(asking)
    assert (asked.target_type, asked.unit_path) == (registry.TOLD_HERE, tree["dalishi_g"].path)
    assert _after(asked)["kept_by"] == tree["xiangyun_g"].code and _after(asked)["told"] == "open_file_elsewhere"
    assert registry._told_today(users["dalishi_staff"]) == 1


def test_the_legacy_import_tells_once_per_person_asked_over_its_check_and_its_commit(tree: Any, users: Any) -> None:
    """A file checked, then committed: the commit checks it again and shows the same problems, but
    each person asked about is one answer, logged once each side and counted once."""
    app = submitted(tree["xiangyun_g"])
    on_file = household_input(tree["xiangyun_g"], members=1)
    h = registry.household_create(actor=users["xiangyun_staff"], data=on_file)
    staff = users["dalishi_staff"]
    rows = household_rows("L-0061", members=1, 身份证号=_head(app), 姓名=app.data["members"][0]["name"])
    rows += household_rows("L-0062", members=1, 身份证号=on_file.members[0].id_number, 姓名=on_file.members[0].name)
    rows += household_rows("L-0063", members=1)
    batch = imports.import_batch_create(actor=staff, unit_id=tree["dalishi"].pk, name="a.xlsx", content=xlsx(rows))
    request_finished.send(sender=None)
    assert batch.issues.count() == 2
    batch = imports.import_batch_commit(actor=staff, batch_id=batch.pk, run_async=False)
    request_finished.send(sender=None)
    assert batch.state == "committed" and batch.households_created == 1 and batch.issues.count() == 2
    assert registry._told_today(staff) == 2
    assert _told(app).count() == 1
    assert AuditEntry.objects.filter(action="reveal", target_type="household", target_id=str(h.pk)).count() == 1
    asking, keeping = _managers(tree)
    asked = _reveals(asking)
    assert sorted(_after(e)["told"] for e in asked) == ["application_elsewhere", "open_file_elsewhere"]
    assert {_after(e)["import_batch"] for e in asked} == {batch.pk} and len({_after(e)["row"] for e in asked}) == 2
    assert len(_reveals(keeping)) == 2
    # The same file again, as a batch of its own: asked again, told again.
    again = imports.import_batch_create(actor=staff, unit_id=tree["dalishi"].pk, name="b.xlsx", content=xlsx(rows[:2]))
    request_finished.send(sender=None)
    assert again.pk != batch.pk and again.issues.count() == 2
    assert registry._told_today(staff) == 4 and _told(app).count() == 2
