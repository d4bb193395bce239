"""The demo's applications: one waiting at each step, made once."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from bangfu.intake.demo import DEMO_APPLICATIONS, advance, seed_demo_applications
from bangfu.intake.models import Application, ApplicationState
from bangfu.intake.tests.helpers import submitted

pytestmark = pytest.mark.django_db


def test_the_demo_applications_wait_at_their_steps_once(tree: dict, users: dict[str, Any]) -> None:
    unit = tree["xiangyun_g"]
    made = seed_demo_applications(unit=unit, cadre=users["xiangyun_cadre"], staff=users["xiangyun_staff"])
    assert made == len(DEMO_APPLICATIONS)
    got = sorted(Application.objects.values_list("applicant__phone", "kind", "state"))
    assert got == sorted((phone, kind, state) for phone, _names, kind, state in DEMO_APPLICATIONS)
    on_notice = Application.objects.get(state=ApplicationState.UNIT_REVIEW)
    assert on_notice.notice_to is not None and on_notice.notice_from is not None
    assert on_notice.notice_to > timezone.localdate() >= on_notice.notice_from
    assert seed_demo_applications(unit=unit, cadre=users["xiangyun_cadre"], staff=users["xiangyun_staff"]) == 0
    assert Application.objects.count() == len(DEMO_APPLICATIONS)


def test_advance_refuses_to_go_back(tree: dict, users: dict[str, Any]) -> None:
    app = advance(
        submitted(tree["xiangyun_g"]),
        ApplicationState.HOME_VISIT,
        cadre=users["xiangyun_cadre"],
        staff=users["xiangyun_staff"],
    )
    with pytest.raises(ValueError, match="cannot take an application from home_visit to first_review"):
        advance(app, ApplicationState.FIRST_REVIEW, cadre=users["xiangyun_cadre"], staff=users["xiangyun_staff"])
