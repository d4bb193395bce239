"""The page that starts a recompute: which unions it offers, and what a bad choice answers."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from bangfu.eligibility.models import RecomputeRun
from bangfu.org.models import OrgKind, OrgLevel, OrgUnit


def client_for(user: Any) -> Client:
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(user)
    return c


@pytest.mark.parametrize("value", ["abc", "", "12abc", "99999999"])
def test_a_bad_union_is_answered_under_the_field_and_nothing_starts(
    tree: dict[str, Any], users: dict[str, Any], value: str
) -> None:
    r = client_for(users["xiangyun_staff"]).post("/eligibility/recompute/", {"unit_id": value})
    assert r.status_code == 400
    assert "Choose one of the unions in the list." in r.content.decode()
    assert not RecomputeRun.objects.exists()


def test_a_union_outside_the_jurisdiction_is_not_started(tree: dict[str, Any], users: dict[str, Any]) -> None:
    r = client_for(users["xiangyun_staff"]).post("/eligibility/recompute/", {"unit_id": tree["dalishi"].pk})
    assert r.status_code == 400
    assert not RecomputeRun.objects.exists()


def test_a_user_who_may_not_recompute_is_refused(users: dict[str, Any]) -> None:
    assert client_for(users["province_manager"]).get("/eligibility/recompute/").status_code == 403
    assert client_for(users["evaluator"]).post("/eligibility/recompute/", {"unit_id": "1"}).status_code == 403
    assert not RecomputeRun.objects.exists()


def test_a_large_jurisdiction_offers_every_county(tree: dict[str, Any], users: dict[str, Any]) -> None:
    """Hundreds of grassroots unions come before 五华区 in tree order; the county is still offered."""
    parent = tree["xiangyun"]
    OrgUnit.objects.bulk_create(
        OrgUnit(
            pk=10_000 + i,
            name=f"祥云县第{i}工会",
            level=OrgLevel.GRASSROOTS,
            kind=OrgKind.ENTERPRISE,
            division_code="532923",
            parent=parent,
            path=f"{parent.path}{10_000 + i}/",
            code=f"532923-T{i:04d}",
        )
        for i in range(520)
    )
    page = client_for(users["admin"]).get("/eligibility/recompute/").content.decode()
    assert f'value="{tree["wuhua"].pk}"' in page
    assert "祥云县第1工会" not in page  # grassroots unions are recomputed with their county
    assert client_for(users["xiangyun_cadre"]).get("/eligibility/recompute/").status_code == 200


def test_the_chosen_union_starts(
    tree: dict[str, Any], users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        r = client_for(users["xiangyun_staff"]).post("/eligibility/recompute/", {"unit_id": tree["xiangyun_g"].pk})
    assert r.status_code == 302
    assert RecomputeRun.objects.get().unit_id == tree["xiangyun_g"].pk
