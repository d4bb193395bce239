"""Review and removal beyond the straight path: a file closed or reopened after its removal was
proposed, the same department record found again in a newer file, a death record of a member
already recorded dead or of the head, and a review someone else has done first (409 in the API)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from bangfu.common.errors import DomainError
from bangfu.eligibility.models import EligibilityDecision
from bangfu.matching import selectors, services
from bangfu.matching.models import Finding, FindingStatus, RemovalProposal
from bangfu.org.services import token_create
from bangfu.registry import services as registry_services
from bangfu.registry.models import Household, Member, TimelineEvent

VEHICLES = ["身份证号", "姓名", "号牌号码", "车辆类型"]


@pytest.fixture
def run_on(users: dict[str, Any], django_capture_on_commit_callbacks: Any) -> Any:
    """Import a department file and recheck against it; returns the dataset."""

    def run(write_csv: Any, name: str, kind: str, rows: list[list[str]]) -> Any:
        ds = services.dataset_import(actor=users["admin"], kind=kind, path=write_csv(name, rows))
        with django_capture_on_commit_callbacks(execute=True):
            services.match_run(actor=users["admin"], dataset_ids=[ds.pk])
        return ds

    return run


def _api(user: Any) -> Client:
    token = token_create(actor=user, user=user, name="tests")
    return Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})


def _post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/v1{path}", json.dumps(body), content_type="application/json")


def _proposed(
    make_household: Any, users: dict[str, Any], write_csv: Any, run_on: Any
) -> tuple[Household, RemovalProposal, RemovalProposal]:
    """A file with two confirmed disqualifying findings (the head's car, the spouse's car), the
    worker told of both."""
    household, ids = make_household()
    run_on(
        write_csv,
        "v.csv",
        "vehicles",
        [VEHICLES, [ids[0], "张建国", "云L1", "轿车"], [ids[1], "李秀英", "云L2", "轿车"]],
    )
    staff = users["xiangyun_staff"]
    for finding in Finding.objects.order_by("id"):
        services.finding_confirm(actor=staff, finding_id=finding.pk, reason="车管所记录属实")
    first, second = RemovalProposal.objects.order_by("id")
    for proposal in (first, second):
        services.removal_proposal_notify(actor=staff, proposal_id=proposal.pk, note="电话告知本人")
    return household, first, second


def test_a_file_reopened_after_its_removal_is_not_removed_again_by_the_old_proposal(
    make_household: Any, users: dict[str, Any], write_csv: Any, run_on: Any, standard: None
) -> None:
    """The worker re-applied after the removal and was found eligible: the old proposals and the
    old notice no longer apply. They were listed as to do again, and "Remove the file" removed the
    reopened file at once, without anyone telling the worker."""
    household, first, second = _proposed(make_household, users, write_csv, run_on)
    staff = users["xiangyun_staff"]
    services.removal_proposal_execute(actor=staff, proposal_id=first.pk)
    registry_services.household_state_change(
        actor=staff, household_id=household.pk, to_state="active", reason="重新申请，审核通过"
    )

    client = _api(staff)
    for proposal in (first, second):
        response = _post(client, f"/matching/removal-proposals/{proposal.pk}/execute", {})
        assert response.status_code == 409, response.content
        error = response.json()["error"]
        assert error["code"] == "removal_proposal_lapsed"
        assert "no longer applies" in error["message"]
    household.refresh_from_db()
    assert household.state == "active"
    assert TimelineEvent.objects.filter(household=household, kind="state_changed").count() == 2

    assert not selectors.removal_proposals_to_do(actor=staff).exists()
    assert client.get("/api/v1/matching/removal-proposals").json() == []
    page = Client(headers={"Accept-Language": "en"})
    page.force_login(staff)
    todo = page.get("/matching/proposals/").content.decode()
    assert f'id="proposal-{first.pk}"' not in todo and "No removal is waiting." in todo
    every = page.get("/matching/proposals/?show=all").content.decode()
    assert every.count("No longer applies") == 2 and "remove-form" not in every
    # A page opened before the file was reopened: the reason is said above the list.
    removed = page.post(f"/matching/proposals/{second.pk}/remove/", follow=True)
    assert "was closed after this removal was proposed" in removed.content.decode()
    told = page.post(f"/matching/proposals/{second.pk}/notify/", {f"p{second.pk}-note": "再次告知"}, follow=True)
    assert "was closed after this removal was proposed" in told.content.decode()
    household.refresh_from_db()
    assert household.state == "active"
    finding = page.get(f"/matching/findings/{first.finding_id}/").content.decode()
    assert "the proposal no longer applies" in finding


def test_removing_a_file_already_removed_says_so(
    make_household: Any, users: dict[str, Any], write_csv: Any, run_on: Any, standard: None
) -> None:
    """The second proposal of a file removed by the first: refused naming the file and its state
    (it said "A file cannot go from Removed to Removed", as a 400)."""
    household, first, second = _proposed(make_household, users, write_csv, run_on)
    staff = users["xiangyun_staff"]
    services.removal_proposal_execute(actor=staff, proposal_id=first.pk)
    response = _post(_api(staff), f"/matching/removal-proposals/{second.pk}/execute", {})
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["code"] == "removal_proposal_lapsed"
    assert error["message"] == (
        f"File {household.file_number} is no longer open (Removed): there is no removal to act on."
    )
    assert TimelineEvent.objects.filter(household=household, kind="state_changed").count() == 1


def test_a_worker_is_not_told_of_a_removal_of_a_closed_file(
    make_household: Any, users: dict[str, Any], write_csv: Any, run_on: Any, standard: None
) -> None:
    household, ids = make_household()
    run_on(write_csv, "v.csv", "vehicles", [VEHICLES, [ids[0], "张建国", "云L1", "轿车"]])
    staff = users["xiangyun_staff"]
    finding = services.finding_confirm(actor=staff, finding_id=Finding.objects.get().pk, reason="属实")
    registry_services.household_state_change(actor=staff, household_id=household.pk, to_state="exited", reason="脱困")
    with pytest.raises(DomainError) as caught:
        services.removal_proposal_notify(actor=staff, proposal_id=finding.removal_proposal.pk, note="电话告知")
    assert caught.value.code == "removal_proposal_lapsed"
    assert not TimelineEvent.objects.filter(household=household, kind="worker_notified").exists()


def test_a_finding_of_a_closed_file_is_not_confirmed_but_may_be_dismissed(
    make_household: Any, users: dict[str, Any], write_csv: Any, run_on: Any, standard: None
) -> None:
    """The file was closed before the finding was reviewed: confirming it would write into a
    closed file (it wrote the car into a removed file); it is refused, saying to dismiss it."""
    household, ids = make_household()
    run_on(write_csv, "v.csv", "vehicles", [VEHICLES, [ids[0], "张建国", "云L1", "轿车"]])
    staff = users["xiangyun_staff"]
    registry_services.household_state_change(actor=staff, household_id=household.pk, to_state="exited", reason="脱困")
    pk = Finding.objects.get().pk
    with pytest.raises(DomainError) as caught:
        services.finding_confirm(actor=staff, finding_id=pk, reason="属实")
    assert caught.value.code == "file_not_open"
    assert caught.value.message == (
        f"File {household.file_number} is no longer open (Exited hardship): nothing can be written into it, so its "
        "finding cannot be confirmed. Dismiss the finding, saying why."
    )
    assert Finding.objects.get().status == FindingStatus.OPEN
    assert not household.vehicles.exists() and not RemovalProposal.objects.exists()
    response = _post(_api(staff), f"/matching/findings/{pk}/confirm", {"reason": "属实"})
    assert response.status_code == 409 and response.json()["error"]["code"] == "file_not_open"
    page = Client(headers={"Accept-Language": "en"})
    page.force_login(staff)
    html = page.get(f"/matching/findings/{pk}/").content.decode()
    assert 'id="confirm-closed"' in html and 'id="confirm-form"' not in html and 'id="dismiss-form"' in html
    refused = page.post(f"/matching/findings/{pk}/confirm/", {"confirm-reason": "属实"}, follow=True)
    assert "cannot be confirmed" in refused.content.decode()
    assert services.finding_dismiss(actor=staff, finding_id=pk, reason="档案已退出").status == FindingStatus.DISMISSED


def test_the_other_proposals_of_a_removed_file_are_withdrawn(
    make_household: Any, users: dict[str, Any], write_csv: Any, run_on: Any, standard: None
) -> None:
    """Two cars, two proposals: the file removed by the first, the second does not wait for a
    notice forever (nor does the API list it as still to act on)."""
    _household, first, second = _proposed(make_household, users, write_csv, run_on)
    staff = users["xiangyun_staff"]
    services.removal_proposal_execute(actor=staff, proposal_id=first.pk)
    second.refresh_from_db()
    assert second.status == "withdrawn"
    listed = {p["id"]: p for p in _api(staff).get("/api/v1/matching/removal-proposals?pending=false").json()}
    assert listed[second.pk]["applies"] is False and listed[first.pk]["applies"] is False


def test_the_same_record_found_again_in_a_newer_file_is_not_written_or_proposed_twice(
    make_household: Any, users: dict[str, Any], write_csv: Any, run_on: Any, standard: None
) -> None:
    """The vehicle office sends its file again next quarter; the same car found again (a new
    finding: another dataset, as a recheck raised it before it left confirmed records alone).
    Confirming it too wrote a second car into the file and proposed the removal a second time."""
    household, ids = make_household()
    rows = [VEHICLES, [ids[0], "张建国", "云L1", "轿车"]]
    run_on(write_csv, "v1.csv", "vehicles", rows)
    staff = users["xiangyun_staff"]
    first = Finding.objects.get()
    services.finding_confirm(actor=staff, finding_id=first.pk, reason="属实")
    second = run_on(write_csv, "v2.csv", "vehicles", rows)
    assert Finding.objects.count() == 1  # not raised again now
    again = Finding.objects.get(pk=first.pk)
    again.pk, again.dataset, again.status, again.reviewer, again.reviewed_at = None, second, "open", None, None
    again.save()

    services.finding_confirm(actor=staff, finding_id=again.pk, reason="新一期车管数据，同一辆车")
    assert household.vehicles.count() == 1
    assert RemovalProposal.objects.count() == 1
    assert TimelineEvent.objects.filter(household=household, kind="removal_proposed").count() == 1
    assert Finding.objects.get(pk=again.pk).status == FindingStatus.CONFIRMED


def test_records_without_a_key_of_their_own_are_not_taken_for_the_same_record(
    make_household: Any, users: dict[str, Any], write_csv: Any, run_on: Any, standard: None
) -> None:
    """A record without a key is named by its row: row 2 of next quarter's file is another record."""
    household, ids = make_household()
    header = ["身份证号", "姓名", "企业名称", "职务", "经营状态"]
    run_on(write_csv, "b1.csv", "business_roles", [header, [ids[0], "张建国", "祥云某商贸公司", "法定代表人", "存续"]])
    staff = users["xiangyun_staff"]
    first = services.finding_confirm(actor=staff, finding_id=Finding.objects.get().pk, reason="属实")
    run_on(write_csv, "b2.csv", "business_roles", [header, [ids[0], "张建国", "大理某运输公司", "股东", "在业"]])
    again = Finding.objects.exclude(pk=first.pk).get()
    assert again.record_key == first.record_key == "row 2"
    services.finding_confirm(actor=staff, finding_id=again.pk, reason="属实")
    assert sorted(household.business_roles.values_list("company", flat=True)) == ["大理某运输公司", "祥云某商贸公司"]


def test_the_same_record_after_the_file_was_removed_and_reopened_is_proposed_again(
    make_household: Any, users: dict[str, Any], write_csv: Any, run_on: Any, standard: None
) -> None:
    household, ids = make_household()
    rows = [VEHICLES, [ids[0], "张建国", "云L1", "轿车"]]
    run_on(write_csv, "v1.csv", "vehicles", rows)
    staff = users["xiangyun_staff"]
    first = services.finding_confirm(actor=staff, finding_id=Finding.objects.get().pk, reason="属实")
    services.removal_proposal_notify(actor=staff, proposal_id=first.removal_proposal.pk, note="上门告知")
    services.removal_proposal_execute(actor=staff, proposal_id=first.removal_proposal.pk)
    registry_services.household_state_change(actor=staff, household_id=household.pk, to_state="active", reason="复核")
    run_on(write_csv, "v2.csv", "vehicles", rows)
    again = services.finding_confirm(actor=staff, finding_id=Finding.objects.exclude(pk=first.pk).get().pk)
    assert list(selectors.removal_proposals_to_do(actor=staff)) == [again.removal_proposal]


def test_a_death_record_of_a_member_already_recorded_dead_changes_nothing_twice(
    make_household: Any, users: dict[str, Any], write_csv: Any, run_on: Any, standard: None
) -> None:
    household, ids = make_household()
    run_on(write_csv, "d.csv", "hukou_death", [["身份证号", "姓名", "死亡日期"], [ids[2], "张小明", "2025-12-01"]])
    staff = users["xiangyun_staff"]
    son = Member.objects.get(household=household, name="张小明")
    registry_services.member_mark_deceased(actor=staff, member_id=son.pk, source="家属告知")
    household.refresh_from_db()
    assert household.members_living_together == 2
    version = household.version

    services.finding_confirm(actor=staff, finding_id=Finding.objects.get().pk, reason="户籍注销记录")
    household.refresh_from_db()
    assert (household.members_living_together, household.version) == (2, version)
    assert TimelineEvent.objects.filter(household=household, kind="member_deceased").count() == 1
    decision = EligibilityDecision.objects.filter(household=household).order_by("-id").first()
    assert decision is not None and decision.facts_version == version


def test_a_death_record_of_the_head_is_refused_and_changes_nothing(
    make_household: Any, users: dict[str, Any], write_csv: Any, run_on: Any, standard: None
) -> None:
    household, ids = make_household()
    run_on(write_csv, "d.csv", "hukou_death", [["身份证号", "姓名", "死亡日期"], [ids[0], "张建国", "2025-12-01"]])
    staff = users["xiangyun_staff"]
    finding = Finding.objects.get()
    response = _post(_api(staff), f"/matching/findings/{finding.pk}/confirm", {"reason": "户籍注销"})
    assert response.status_code == 409, response.content
    assert "choose a new head" in response.json()["error"]["message"]
    assert Finding.objects.get(pk=finding.pk).status == FindingStatus.OPEN
    assert not Member.objects.filter(household=household, deceased=True).exists()
    assert not TimelineEvent.objects.filter(household=household, kind="finding_confirmed").exists()
    assert not EligibilityDecision.objects.filter(household=household).exists()


def test_a_finding_reviewed_by_someone_else_first_answers_409(
    make_household: Any, users: dict[str, Any], write_csv: Any, run_on: Any, standard: None
) -> None:
    """The API answered 400 (a bad request) to a review that came second; it is a conflict."""
    _household, ids = make_household()
    run_on(write_csv, "v.csv", "vehicles", [VEHICLES, [ids[0], "张建国", "云L1", "轿车"]])
    finding = Finding.objects.get()
    services.finding_dismiss(actor=users["xiangyun_staff"], finding_id=finding.pk, reason="残疾人专用车")
    client = _api(users["xiangyun_staff"])
    for action in ("confirm", "dismiss"):
        response = _post(client, f"/matching/findings/{finding.pk}/{action}", {"reason": "属实"})
        assert response.status_code == 409, response.content
        assert response.json()["error"] == {
            "code": "finding_not_open",
            "message": "This finding has already been reviewed.",
            "fields": {},
            "details": {"status": "dismissed"},
        }
    proposal_told = _post(client, "/matching/removal-proposals/987654/notify", {"note": "电话告知"})
    assert proposal_told.status_code == 404


def test_an_id_number_written_into_a_note_is_kept_masked(
    make_household: Any, users: dict[str, Any], write_csv: Any, run_on: Any
) -> None:
    """The note saying how the worker was told quoted a full ID number, which every reader of the
    case then saw (an evaluator included), on the proposals, the finding and the timeline."""
    _household, ids = make_household()
    run_on(write_csv, "v.csv", "vehicles", [VEHICLES, [ids[0], "张建国", "云L1", "轿车"]])
    staff = users["xiangyun_staff"]
    finding = Finding.objects.get()
    services.finding_confirm(actor=staff, finding_id=finding.pk, reason=f"车管所记录属实（{ids[0]}）")
    proposal = RemovalProposal.objects.get()
    proposal = services.removal_proposal_notify(
        actor=staff, proposal_id=proposal.pk, note=f"书面告知本人，身份证{ids[0]}"
    )
    assert ids[0] not in proposal.notice_note and f"{ids[0][:4]}**********{ids[0][-4:]}" in proposal.notice_note
    finding.refresh_from_db()
    assert ids[0] not in json.dumps(list(TimelineEvent.objects.values_list("summary", flat=True)), ensure_ascii=False)


def test_a_confirmed_record_on_the_file_is_not_raised_again_by_the_next_rechecks(
    make_household: Any, users: dict[str, Any], write_csv: Any, run_on: Any, standard: None
) -> None:
    """The tester's car: confirmed and written into the file, it came back as a new open finding
    from each later copy of the police's file (a third after the same file was imported again),
    though the file holds one vehicle. A new car of the same person is still raised."""
    household, ids = make_household()
    rows = [VEHICLES, [ids[0], "张建国", "云L22222", "小型普通客车"]]
    run_on(write_csv, "v1.csv", "vehicles", rows)
    staff = users["xiangyun_staff"]
    services.finding_confirm(actor=staff, finding_id=Finding.objects.get().pk, reason="属实")
    run_on(write_csv, "v2.csv", "vehicles", rows)
    run_on(write_csv, "v2.csv", "vehicles", rows)
    assert list(Finding.objects.values_list("record_key", "status")) == [("云L22222", "confirmed")]
    assert household.vehicles.count() == 1
    run_on(write_csv, "v3.csv", "vehicles", [*rows, [ids[0], "张建国", "云L33333", "小型轿车"]])
    assert sorted(Finding.objects.values_list("record_key", "status")) == [
        ("云L22222", "confirmed"),
        ("云L33333", "open"),
    ]
