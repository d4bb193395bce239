"""Who sees what through the API: every endpoint that takes an id is in MATRIX, and a test below
fails if an endpoint with an id in its path is added without an entry here."""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bangfu.api.api import api as ninja_api
from bangfu.matching.models import Dataset, Finding, MatchRun, RemovalProposal
from bangfu.org.models import OrgUnit, RoleAssignment
from bangfu.registry import services
from bangfu.registry.models import Household, Member
from bangfu.testing.factories import UserFactory, household_input, user_with_role

from .conftest import Api, as_json

MISSING = 987654


@dataclass(frozen=True)
class Ids:
    """The ids an endpoint may take: a household file, one of its members, and the matching objects
    about that file (a finding, a removal proposal) or its union (a recheck run, a dataset)."""

    household: int
    member: int
    finding: int = MISSING
    proposal: int = MISSING
    run: int = MISSING
    dataset: int = MISSING
    # Applications: an application made to one of the union's grassroots unions (by a worker on the
    # phone), a legacy-import batch of the union, a yearly review of the file.
    application: int = MISSING
    batch: int = MISSING
    review: int = MISSING
    # Identification: the file's current decision, and a recompute run of the union's subtree.
    decision: int = MISSING
    recompute: int = MISSING
    # An attachment of the application, and an objection raised against it.
    attachment: int = MISSING
    objection: int = MISSING


MISSING_IDS = Ids(MISSING, MISSING)


VISIT = {"visited_on": "2026-01-05", "visitors": "王", "seen": "a", "asked": "b", "explained": "c", "findings": "d"}


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "blue").save(buf, "PNG")
    return buf.getvalue()


def _upload(api: Api, path: str) -> Any:
    return api.client.post("/api/v1" + path, {"file": ("p.png", io.BytesIO(_png()), "image/png")}, headers=api.headers)


def _other_applicant() -> Api:
    """A worker signed in on the phone who did not make the application."""
    from bangfu.intake import otp
    from bangfu.intake.models import Applicant

    stranger, _created = Applicant.objects.get_or_create(phone="13700000000")
    return Api(otp.token_for(stranger))


# (method, path as in the OpenAPI schema) → how to call it with the ids of one county's objects.
MATRIX: dict[tuple[str, str], Callable[[Api, Ids, dict], Any]] = {
    ("get", "/api/v1/households/{household_id}"): lambda api, ids, tree: api.get(f"/households/{ids.household}"),
    ("put", "/api/v1/households/{household_id}"): lambda api, ids, tree: api.put(
        f"/households/{ids.household}", as_json(household_input(tree["xiangyun_g"]), version=1)
    ),
    ("post", "/api/v1/households/{household_id}/members/{member_id}/reveal-id"): lambda api, ids, tree: api.post(
        f"/households/{ids.household}/members/{ids.member}/reveal-id"
    ),
    ("post", "/api/v1/households/{household_id}/reveal-bank-card"): lambda api, ids, tree: api.post(
        f"/households/{ids.household}/reveal-bank-card"
    ),
    # Monthly income follow-up: the records belong to their household file.
    ("get", "/api/v1/households/{household_id}/income-records"): lambda api, ids, tree: api.get(
        f"/households/{ids.household}/income-records"
    ),
    ("post", "/api/v1/households/{household_id}/income-records"): lambda api, ids, tree: api.post(
        f"/households/{ids.household}/income-records",
        {"month": f"{timezone.localdate():%Y-%m}", "net_income": "3000", "source": "home_visit"},
    ),
    # Cross-department checks. A finding and a removal proposal belong to the household file they
    # are about; a recheck run to the union whose subtree it covered; a dataset to the union that
    # imported it (its rejected rows are that union's to correct).
    ("post", "/api/v1/matching/findings/{finding_id}/confirm"): lambda api, ids, tree: api.post(
        f"/matching/findings/{ids.finding}/confirm", {"reason": "checked"}
    ),
    ("post", "/api/v1/matching/findings/{finding_id}/dismiss"): lambda api, ids, tree: api.post(
        f"/matching/findings/{ids.finding}/dismiss", {"reason": "another person"}
    ),
    ("post", "/api/v1/matching/removal-proposals/{proposal_id}/notify"): lambda api, ids, tree: api.post(
        f"/matching/removal-proposals/{ids.proposal}/notify", {"note": "told in person"}
    ),
    ("post", "/api/v1/matching/removal-proposals/{proposal_id}/execute"): lambda api, ids, tree: api.post(
        f"/matching/removal-proposals/{ids.proposal}/execute"
    ),
    ("delete", "/api/v1/matching/datasets/{dataset_id}"): lambda api, ids, tree: api.call(
        "DELETE", f"/matching/datasets/{ids.dataset}"
    ),
    ("get", "/api/v1/matching/runs/{run_id}"): lambda api, ids, tree: api.get(f"/matching/runs/{ids.run}"),
    ("get", "/api/v1/matching/datasets/{dataset_id}/rejected.csv"): lambda api, ids, tree: api.get(
        f"/matching/datasets/{ids.dataset}/rejected.csv"
    ),
    # Applications. Staff of another county get 404; one worker cannot reach another's application
    # or review (404), whatever the id.
    ("get", "/api/v1/applications/{application_id}"): lambda api, ids, tree: api.get(
        f"/applications/{ids.application}"
    ),
    ("post", "/api/v1/applications/{application_id}/transition"): lambda api, ids, tree: api.post(
        f"/applications/{ids.application}/transition", {"action": "accept"}
    ),
    ("get", "/api/v1/imports/{batch_id}"): lambda api, ids, tree: api.get(f"/imports/{ids.batch}"),
    ("post", "/api/v1/imports/{batch_id}/commit"): lambda api, ids, tree: api.post(f"/imports/{ids.batch}/commit"),
    ("post", "/api/v1/imports/{batch_id}/cancel"): lambda api, ids, tree: api.post(f"/imports/{ids.batch}/cancel"),
    ("get", "/api/v1/imports/{batch_id}/report"): lambda api, ids, tree: api.get(
        f"/imports/{ids.batch}/report", format="csv"
    ),
    ("post", "/api/v1/reviews/{task_id}/confirm"): lambda api, ids, tree: api.post(
        f"/reviews/{ids.review}/confirm", {"note": ""}
    ),
    ("post", "/api/v1/reviews/{task_id}/decline"): lambda api, ids, tree: api.post(
        f"/reviews/{ids.review}/decline", {"reason": "不符"}
    ),
    ("get", "/api/v1/applicant/applications/{application_id}"): lambda api, ids, tree: _other_applicant().get(
        f"/applicant/applications/{ids.application}"
    ),
    ("put", "/api/v1/applicant/applications/{application_id}"): lambda api, ids, tree: _other_applicant().put(
        f"/applicant/applications/{ids.application}", {"form": {}, "expected_version": 1}
    ),
    ("post", "/api/v1/applicant/applications/{application_id}/submit"): lambda api, ids, tree: _other_applicant().post(
        f"/applicant/applications/{ids.application}/submit", {}
    ),
    ("post", "/api/v1/applicant/applications/{application_id}/authorise"): lambda api, ids, tree: (
        _other_applicant().post(f"/applicant/applications/{ids.application}/authorise", {"agreed": True})
    ),
    ("get", "/api/v1/applicant/reviews/{task_id}"): lambda api, ids, tree: _other_applicant().get(
        f"/applicant/reviews/{ids.review}"
    ),
    ("post", "/api/v1/applicant/reviews/{task_id}/proof"): lambda api, ids, tree: _other_applicant().post(
        f"/applicant/reviews/{ids.review}/proof", {"id_number": "11010519491231002X"}
    ),
    ("post", "/api/v1/applicant/reviews/{task_id}/confirm"): lambda api, ids, tree: _other_applicant().post(
        f"/applicant/reviews/{ids.review}/confirm", {"note": ""}
    ),
    ("post", "/api/v1/applicant/reviews/{task_id}/report"): lambda api, ids, tree: _other_applicant().post(
        f"/applicant/reviews/{ids.review}/report", {"note": "changed"}
    ),
    # The steps of an application, its attachments and objections: another county's staff, or
    # another worker, get 404 (an attachment or objection under another application too).
    ("put", "/api/v1/applications/{application_id}"): lambda api, ids, tree: api.put(
        f"/applications/{ids.application}", {"form": {}, "expected_version": 1}
    ),
    ("post", "/api/v1/applications/{application_id}/submit"): lambda api, ids, tree: api.post(
        f"/applications/{ids.application}/submit", {}
    ),
    ("post", "/api/v1/applications/{application_id}/attachments"): lambda api, ids, tree: _upload(
        api, f"/applications/{ids.application}/attachments"
    ),
    ("get", "/api/v1/applications/{application_id}/attachments/{attachment_id}"): lambda api, ids, tree: api.get(
        f"/applications/{ids.application}/attachments/{ids.attachment}"
    ),
    ("post", "/api/v1/applications/{application_id}/attachments/{attachment_id}/remove"): lambda api, ids, tree: (
        api.post(f"/applications/{ids.application}/attachments/{ids.attachment}/remove", {"reason": "拍错了"})
    ),
    ("post", "/api/v1/applications/{application_id}/home-visit"): lambda api, ids, tree: api.post(
        f"/applications/{ids.application}/home-visit", VISIT
    ),
    ("post", "/api/v1/applications/{application_id}/unit-review"): lambda api, ids, tree: api.post(
        f"/applications/{ids.application}/unit-review", {"held_on": "2026-01-05", "minutes": "同意"}
    ),
    ("post", "/api/v1/applications/{application_id}/objections"): lambda api, ids, tree: api.post(
        f"/applications/{ids.application}/objections", {"received_on": "2026-01-05", "text": "有车"}
    ),
    ("post", "/api/v1/applications/{application_id}/objections/{objection_id}/answer"): lambda api, ids, tree: api.post(
        f"/applications/{ids.application}/objections/{ids.objection}/answer", {"answer": "核实"}
    ),
    ("post", "/api/v1/applications/{application_id}/check/paper-authorisation"): lambda api, ids, tree: api.post(
        f"/applications/{ids.application}/check/paper-authorisation"
    ),
    ("post", "/api/v1/applications/{application_id}/check/request"): lambda api, ids, tree: api.post(
        f"/applications/{ids.application}/check/request"
    ),
    ("post", "/api/v1/applications/{application_id}/check/answer"): lambda api, ids, tree: api.post(
        f"/applications/{ids.application}/check/answer", {"passed": True}
    ),
    ("post", "/api/v1/applications/{application_id}/convert"): lambda api, ids, tree: api.post(
        f"/applications/{ids.application}/convert", {}
    ),
    ("post", "/api/v1/applicant/applications/{application_id}/withdraw"): lambda api, ids, tree: (
        _other_applicant().post(f"/applicant/applications/{ids.application}/withdraw", {})
    ),
    ("post", "/api/v1/applicant/applications/{application_id}/attachments"): lambda api, ids, tree: _upload(
        _other_applicant(), f"/applicant/applications/{ids.application}/attachments"
    ),
    ("get", "/api/v1/applicant/applications/{application_id}/attachments/{attachment_id}"): lambda api, ids, tree: (
        _other_applicant().get(f"/applicant/applications/{ids.application}/attachments/{ids.attachment}")
    ),
    ("delete", "/api/v1/applicant/applications/{application_id}/attachments/{attachment_id}"): lambda api, ids, tree: (
        _other_applicant().call("delete", f"/applicant/applications/{ids.application}/attachments/{ids.attachment}")
    ),
    # Identification. A decision belongs to the household file it decides; a recompute run (its
    # progress and its report) to the union whose subtree it recomputed: another county's staff get
    # 404 for both. Standards and rule sets are not in this list: they are per division code, not
    # per file, readable by all staff and written only by holders of standard.manage whose unit
    # covers the division (403 otherwise, see test_eligibility_configuration_of_another_division).
    ("get", "/api/v1/eligibility/households/{household_id}/decision"): lambda api, ids, tree: api.get(
        f"/eligibility/households/{ids.household}/decision"
    ),
    ("post", "/api/v1/eligibility/households/{household_id}/decision"): lambda api, ids, tree: api.post(
        f"/eligibility/households/{ids.household}/decision", {}
    ),
    ("post", "/api/v1/eligibility/decisions/{decision_id}/override"): lambda api, ids, tree: api.post(
        f"/eligibility/decisions/{ids.decision}/override", {"category": "relative", "reason": "checked at home"}
    ),
    ("post", "/api/v1/eligibility/decisions/{decision_id}/override/approve"): lambda api, ids, tree: api.post(
        f"/eligibility/decisions/{ids.decision}/override/approve", {"approve": True}
    ),
    ("get", "/api/v1/eligibility/recompute/{run_id}"): lambda api, ids, tree: api.get(
        f"/eligibility/recompute/{ids.recompute}"
    ),
    ("get", "/api/v1/eligibility/recompute/{run_id}/report.xlsx"): lambda api, ids, tree: api.get(
        f"/eligibility/recompute/{ids.recompute}/report.xlsx"
    ),
}
MATCHING = [e for e in MATRIX if e[1].startswith("/api/v1/matching/")]
ELIGIBILITY = [e for e in MATRIX if e[1].startswith("/api/v1/eligibility/")]
INTAKE = [e for e in MATRIX if e not in MATCHING and e not in ELIGIBILITY and "/households/" not in e[1]]


def _dataset(unit: OrgUnit) -> Dataset:
    return Dataset.objects.create(
        kind="vehicles",
        file_name="vehicles.csv",
        unit=unit,
        as_of=date(2026, 1, 1),
        retention_days=180,
        expires_on=date(2026, 6, 30),
    )


def _finding(household: Household, member: Member, dataset: Dataset, record: str) -> Finding:
    return Finding.objects.create(
        household=household,
        member=member,
        dataset=dataset,
        kind="vehicles",
        record_key=record,
        rule="vehicle_owned",
        severity="disqualifying",
        confidence="high",
    )


def _matching_objects(tree: dict, household: Household, unit: OrgUnit) -> Ids:
    """A dataset imported by ``unit``, a run of ``unit``, an open finding about ``household`` and a
    removal proposal waiting for its worker to be told."""
    member = household.members.get(relationship="spouse")
    dataset = _dataset(unit)
    run = MatchRun.objects.create(unit=unit, status="done", progress=100)
    run.datasets.set([dataset])
    finding = _finding(household, member, dataset, "L1")
    confirmed = _finding(household, member, dataset, "L2")
    Finding.objects.filter(pk=confirmed.pk).update(status="confirmed")
    proposal = RemovalProposal.objects.create(household=household, finding=confirmed)
    return Ids(household.pk, member.pk, finding.pk, proposal.pk, run.pk, dataset.pk)


def _intake_objects(tree: dict, household: Household, ids: Ids) -> Ids:
    """A submitted application to the county's grassroots union (by its own worker), a checked
    import batch of the county, and an open yearly review of ``household``."""
    from bangfu.intake import imports, steps
    from bangfu.intake import services as intake
    from bangfu.intake.models import Applicant, Objection, ReviewTask
    from bangfu.intake.tests.helpers import form_data
    from bangfu.intake.tests.test_legacy_import import household_rows, xlsx

    unit = household.unit
    grassroots = unit if unit.level == 5 else OrgUnit.objects.get(parent=unit, level=5)
    county = OrgUnit.objects.get(children=grassroots)
    worker = Applicant.objects.create(phone="13600000000")
    app = intake.application_create(actor=worker, unit_id=grassroots.pk, form=form_data(grassroots, 1))
    app = intake.application_submit(actor=worker, application_id=app.pk)  # the union sees it once sent
    staff = user_with_role(county, "centre_staff", f"importer-{county.pk}")
    batch = imports.import_batch_create(
        actor=staff, unit_id=county.pk, name="old.xlsx", content=xlsx(household_rows("J-0001"))
    )
    review = ReviewTask.objects.create(household=household, year=2026, due_on=date(2026, 1, 1))
    attachment = steps.attachment_add(actor=worker, application_id=app.pk, name="p.png", content=_png())
    objection = Objection.objects.create(application=app, received_on=date(2026, 1, 5), text="有车", recorded_by=staff)
    return dataclasses.replace(
        ids, application=app.pk, batch=batch.pk, review=review.pk, attachment=attachment.pk, objection=objection.pk
    )


def _eligibility_objects(tree: dict, household: Household, ids: Ids) -> Ids:
    """The file's current decision with an override waiting for approval (asked by its own county's
    staff), and a finished recompute run of the file's county."""
    from bangfu.eligibility import services as eligibility
    from bangfu.eligibility.models import RecomputeRun

    county = OrgUnit.objects.get(children=household.unit) if household.unit.level == 5 else household.unit
    eligibility.standard_set(
        actor=eligibility.SYSTEM, division_code="530000", year=2026, dibao_monthly="1001", minimum_wage_monthly="1900"
    )
    staff = user_with_role(county, "centre_staff", f"decider-{county.pk}")
    decision = eligibility.decision_compute(actor=staff, household_id=household.pk, on=date(2026, 6, 1))
    eligibility.decision_override_request(
        actor=staff, decision_id=decision.pk, category="not_eligible", reason="owns a shop"
    )
    run = RecomputeRun.objects.create(unit=county, status="done", total=1, done=1)
    return dataclasses.replace(ids, decision=decision.pk, recompute=run.pk)


@pytest.fixture
def dalishi_ids(tree: dict, dalishi_file: Household) -> Ids:
    ids = _intake_objects(tree, dalishi_file, _matching_objects(tree, dalishi_file, tree["dalishi"]))
    return _eligibility_objects(tree, dalishi_file, ids)


def _state(ids: Ids) -> tuple[Any, ...]:
    """What a call may change: the file's version, the finding's and the proposal's status, the
    application's, the import batch's and the review's state, the file's decisions."""
    from bangfu.eligibility.models import EligibilityDecision
    from bangfu.intake.models import Application, Attachment, HomeVisit, ImportBatch, Objection, ReviewTask

    return (
        Household.objects.get(pk=ids.household).version,
        Household.objects.get(pk=ids.household).state,
        Dataset.objects.filter(pk=ids.dataset).exists(),
        Finding.objects.get(pk=ids.finding).status,
        RemovalProposal.objects.get(pk=ids.proposal).status,
        Application.objects.filter(pk=ids.application).values_list("state", "version", "data").first(),
        ImportBatch.objects.filter(pk=ids.batch).values_list("state", flat=True).first(),
        ReviewTask.objects.filter(pk=ids.review).values_list("state", flat=True).first(),
        Attachment.objects.filter(application_id=ids.application).count(),
        Objection.objects.filter(application_id=ids.application).values_list("id", "answer").first(),
        HomeVisit.objects.filter(application_id=ids.application).count(),
        [
            (d.id, d.is_current, d.override_status, d.override_approved_by_id)
            for d in EligibilityDecision.objects.filter(household_id=ids.household).order_by("id")
        ],
    )


def test_every_endpoint_with_an_id_is_in_the_matrix() -> None:
    paths = ninja_api.get_openapi_schema()["paths"]
    with_ids = {
        (method, path)
        for path, operations in paths.items()
        if re.search(r"\{\w*id\w*\}", path)
        for method in operations
    }
    assert with_ids, "the households endpoints take ids"
    assert with_ids == set(MATRIX), f"add these endpoints to MATRIX: {with_ids - set(MATRIX)}"


@pytest.mark.parametrize("endpoint", list(MATRIX), ids=[f"{m} {p}" for m, p in MATRIX])
def test_a_file_of_another_county_answers_exactly_like_a_missing_one(
    api_as: Any, tree: dict, dalishi_ids: Ids, xiangyun_file: Household, endpoint: tuple[str, str]
) -> None:
    call = MATRIX[endpoint]
    api = api_as("xiangyun_staff")  # may view, edit and reveal — in 祥云县 only
    before = _state(dalishi_ids)

    other_county = call(api, dalishi_ids, tree)
    missing = call(api, MISSING_IDS, tree)

    assert other_county.status_code == 404, other_county.content
    assert other_county.content == missing.content
    assert other_county.json()["error"]["code"] == "not_found"
    assert _state(dalishi_ids) == before
    if "member_id" in endpoint[1]:
        # Their own file with another county's member in the path: not found either.
        mixed = call(api, dataclasses.replace(dalishi_ids, household=xiangyun_file.pk), tree)
        assert mixed.status_code == 404 and mixed.content == missing.content


@pytest.mark.parametrize("endpoint", MATCHING, ids=[f"{m} {p}" for m, p in MATCHING])
def test_the_owning_county_reaches_the_same_objects(
    api_as: Any, tree: dict, dalishi_ids: Ids, endpoint: tuple[str, str]
) -> None:
    """The objects above are real: the 大理市 centre's own staff get them (the proposal's removal
    is refused as such (400: the worker has not been told) and the dataset is deleted)."""
    response = MATRIX[endpoint](api_as("dalishi_staff"), dalishi_ids, tree)
    expected = OWNER_ANSWERS.get(endpoint, 200)
    assert response.status_code == expected, response.content


OWNER_ANSWERS = {
    ("post", "/api/v1/matching/removal-proposals/{proposal_id}/execute"): 400,
    ("delete", "/api/v1/matching/datasets/{dataset_id}"): 204,
}


STAFF_INTAKE = [e for e in INTAKE if "/applicant/" not in e[1]]


@pytest.mark.parametrize("endpoint", STAFF_INTAKE, ids=[f"{m} {p}" for m, p in STAFF_INTAKE])
def test_the_owning_county_reaches_the_same_intake_objects(
    api_as: Any, tree: dict, dalishi_ids: Ids, endpoint: tuple[str, str]
) -> None:
    """The applications' objects above are real: 大理市's own centre staff reach them (a step they
    may not take is refused as such, not as missing)."""
    response = MATRIX[endpoint](api_as("dalishi_staff"), dalishi_ids, tree)
    assert response.status_code != 404, response.content


def test_a_worker_reaches_their_own_application(tree: dict, dalishi_ids: Ids) -> None:
    from bangfu.intake import otp
    from bangfu.intake.models import Applicant

    own = Api(otp.token_for(Applicant.objects.get(phone="13600000000")))
    assert own.get(f"/applicant/applications/{dalishi_ids.application}").status_code == 200


def test_a_province_dataset_and_run_are_the_provinces(
    api_as: Any, tree: dict, dalishi_file: Household, users: dict[str, Any]
) -> None:
    """A dataset imported by the province and a province-wide run cover every county: a county
    user may not read the dataset's rejected rows (the province's to correct) nor the run's summary
    (every county's counts) — not found, as if they did not exist; the province's manager may."""
    ids = _matching_objects(tree, dalishi_file, tree["province"])
    county, province = api_as("xiangyun_staff"), api_as("province_manager")
    for endpoint in (
        ("get", "/api/v1/matching/runs/{run_id}"),
        ("get", "/api/v1/matching/datasets/{dataset_id}/rejected.csv"),
    ):
        answer, missing = MATRIX[endpoint](county, ids, tree), MATRIX[endpoint](county, MISSING_IDS, tree)
        assert answer.status_code == 404 and answer.content == missing.content
        assert MATRIX[endpoint](province, ids, tree).status_code == 200
    # The finding about a 大理市 file stays 大理市's even though the run and dataset were the province's.
    confirm = MATRIX[("post", "/api/v1/matching/findings/{finding_id}/confirm")]
    assert confirm(county, ids, tree).status_code == 404
    assert Finding.objects.get(pk=ids.finding).status == "open"


def _ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_list_shows_only_the_callers_jurisdiction(
    api_as: Any, xiangyun_file: Household, dalishi_file: Household, wuhua_file: Household
) -> None:
    assert _ids(api_as("xiangyun_staff").get("/households")) == {xiangyun_file.pk}
    assert _ids(api_as("dalishi_staff").get("/households")) == {dalishi_file.pk}
    assert api_as("xiangyun_staff").get("/households").json()["count"] == 1
    # Searching for another county's file number finds nothing.
    assert _ids(api_as("xiangyun_staff").get("/households", q=dalishi_file.file_number)) == set()
    # Filtering by another county's union is refused (404), not answered with an empty list.
    assert api_as("xiangyun_staff").get("/households", unit_id=dalishi_file.unit_id).status_code == 404


def test_province_manager_sees_every_county(
    api_as: Any, xiangyun_file: Household, dalishi_file: Household, wuhua_file: Household
) -> None:
    manager = api_as("province_manager")
    assert _ids(manager.get("/households")) == {xiangyun_file.pk, dalishi_file.pk, wuhua_file.pk}
    for h in (xiangyun_file, dalishi_file, wuhua_file):
        assert manager.get(f"/households/{h.pk}").status_code == 200


def test_list_rows_carry_the_summary(api_as: Any, xiangyun_file: Household) -> None:
    [row] = api_as("xiangyun_staff").get("/households").json()["results"]
    head = xiangyun_file.members.get(relationship="head")
    assert row == {
        "id": xiangyun_file.pk,
        "file_number": xiangyun_file.file_number,
        "unit": {"id": xiangyun_file.unit_id, "code": xiangyun_file.unit.code, "name": "祥云县纺织厂工会"},
        "state": "active",
        "category": "deep",
        "main_cause": 6,
        "head": {"name": "张建国", "id_masked": head.id_masked, "sex": "M", "birth_date": head.birth_date.isoformat()},
        "net_income_per_head_monthly": "233.33",
        "members_living_together": 3,
    }


def test_units_are_those_of_the_jurisdiction(api_as: Any, tree: dict) -> None:
    units = api_as("xiangyun_staff").get("/units").json()
    assert [u["id"] for u in units] == [tree["xiangyun"].pk, tree["xiangyun_g"].pk]
    assert units[1] == {
        "id": tree["xiangyun_g"].pk,
        "code": tree["xiangyun_g"].code,
        "name": "祥云县纺织厂工会",
        "level": 5,
        "parent_id": tree["xiangyun"].pk,
        "division_code": "532923",
    }
    assert len(api_as("province_manager").get("/units").json()) == len(tree)


def test_evaluator_reads_but_may_not_write(api_as: Any, tree: dict, xiangyun_file: Household) -> None:
    evaluator = api_as("evaluator")
    assert evaluator.get(f"/households/{xiangyun_file.pk}").status_code == 200
    created = evaluator.post("/households", as_json(household_input(tree["xiangyun_g"])))
    updated = evaluator.put(f"/households/{xiangyun_file.pk}", as_json(household_input(tree["xiangyun_g"]), version=1))
    for response in (created, updated):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    assert Household.objects.count() == 1
    assert Household.objects.get(pk=xiangyun_file.pk).version == 1


def test_a_user_with_an_unknown_role_sees_nothing(tree: dict, api_as: Any, xiangyun_file: Household) -> None:
    stranger: Any = UserFactory(username="stranger")
    RoleAssignment.objects.create(user=stranger, unit=tree["province"], role="chief_inspector")
    api = api_as(stranger)
    me = api.get("/me").json()
    assert me["roles"][0]["known"] is False and me["permissions"] == []
    for response in (api.get("/households"), api.get(f"/households/{xiangyun_file.pk}"), api.get("/units")):
        assert response.status_code == 403
        assert set(response.json()) == {"error"}


def _queries(api: Api, page_size: int) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get("/households", page_size=page_size)
    return len(ctx.captured_queries), len(response.json()["results"])


def test_list_queries_do_not_grow_with_the_page(
    api_as: Any, tree: dict, users: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    for _ in range(30):
        services.household_create(actor=users["xiangyun_cadre"], data=household_input(tree["xiangyun_g"], members=1))
    api = api_as("xiangyun_staff")
    api.get("/households")  # the token's last-used time is written once a minute; not part of the count
    small, rows = _queries(api, 10)
    assert rows == 10
    with django_assert_max_num_queries(small):
        response = api.get("/households", page_size=100)
    assert len(response.json()["results"]) == 30


@pytest.mark.parametrize("endpoint", ELIGIBILITY, ids=[f"{m} {p}" for m, p in ELIGIBILITY])
def test_the_owning_county_reaches_the_same_identification_objects(
    api_as: Any, tree: dict, dalishi_ids: Ids, endpoint: tuple[str, str]
) -> None:
    """The decision and the run above are real: 大理市's own centre staff reach them (the override
    asked by one of them is approved by another)."""
    response = MATRIX[endpoint](api_as("dalishi_staff"), dalishi_ids, tree)
    if endpoint == ("post", "/api/v1/eligibility/decisions/{decision_id}/override"):
        # Reached: the override another person asked for is waiting, and a second request may not
        # replace it (it would undo a maker-checker step); the answer says so, by its code.
        assert response.status_code == 409 and response.json()["error"]["code"] == "override_pending"
        return
    assert response.status_code in {200, 201}, response.content


def test_identification_of_another_county_by_unit_id_is_not_found(api_as: Any, tree: dict, dalishi_ids: Ids) -> None:
    """Recomputes and what-ifs name their union in the body: another county's union answers 404
    like a missing one, and nothing is started."""
    from bangfu.eligibility.models import RecomputeRun
    from bangfu.org.models import Role
    from bangfu.testing.factories import user_with_role

    # The what-if is for who may set standards (a county's manager); the recompute for staff.
    manager = api_as(user_with_role(tree["xiangyun"], Role.MANAGER, "xiangyun_manager"))
    runs = RecomputeRun.objects.count()
    for api, path in ((api_as("xiangyun_staff"), "/eligibility/recompute"), (manager, "/eligibility/whatif")):
        other = api.post(path, {"unit_id": tree["dalishi"].pk})
        missing = api.post(path, {"unit_id": MISSING})
        assert other.status_code == 404, other.content
        assert other.content == missing.content
    assert RecomputeRun.objects.count() == runs


def test_eligibility_configuration_of_another_division(api_as: Any, tree: dict, dalishi_ids: Ids) -> None:
    """Standards are per division code, not per file: every staff member may read them (they are
    published policy), and only a holder of standard.manage whose unit covers the division may
    write them — anyone else is refused (403), since nothing is hidden."""
    staff = api_as("xiangyun_staff")
    listed = staff.get("/eligibility/standards", division_code="530000")
    assert listed.status_code == 200 and listed.json()[0]["dibao_monthly"] == "1001.00"
    body = {"division_code": "532901", "year": 2026, "dibao_monthly": "900", "minimum_wage_monthly": "1800"}
    assert staff.post("/eligibility/standards", body).status_code == 403
    assert api_as("province_manager").post("/eligibility/standards", body).status_code == 201


# The list endpoints that take a union to filter by: a union outside the caller's jurisdiction (one
# above them, another county's) or none at all is 404 naming it, never an empty list that would
# read as "nothing due".
UNIT_FILTERED = [
    ("get", "/households"),
    ("post", "/households/search"),
    ("get", "/reviews"),
    ("post", "/reviews/search"),
    ("get", "/audit"),
    ("get", "/matching/findings"),
    ("get", "/matching/coverage"),
    ("get", "/applications/public-notice"),
]


@pytest.mark.parametrize(("method", "path"), UNIT_FILTERED, ids=[f"{m} {p}" for m, p in UNIT_FILTERED])
def test_a_union_filter_outside_the_jurisdiction_is_not_found(
    api_as: Any, tree: dict, users: dict[str, Any], method: str, path: str
) -> None:
    who = "xiangyun_staff" if path != "/audit" else "province_manager"
    api = api_as(who)

    def ask(unit_id: int) -> Any:
        return api.get(path, unit_id=unit_id) if method == "get" else api.post(path, {"unit_id": unit_id})

    own = ask(tree["xiangyun"].pk)
    assert own.status_code == 200, own.content
    outside = [MISSING] if who == "province_manager" else [tree["province"].pk, tree["dalishi"].pk, MISSING]
    for unit_id in outside:
        r = ask(unit_id)
        assert r.status_code == 404, (unit_id, r.content)
        error = r.json()["error"]
        assert error["code"] == "unit_not_found" and error["details"] == {"unit_id": unit_id}
        assert error["message"] == f"There is no union with the id {unit_id} in your jurisdiction."
        assert error["fields"] == {"unit_id": [error["message"]]}
