"""What the timeline says of an override an approval closes is true and read in the reader's
language: the formal approval of a temporary case in the category its waiting override asked for
does not settle the file's category (the file carries the one in force while the approval's own
override waits): the old request gives way to that one. An approval in the category in force files
the household in it. The text, stored in the approver's language, reads in the reader's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation

from bangfu.common import retranslate
from bangfu.eligibility.models import OverrideStatus
from bangfu.intake import services
from bangfu.intake.models import Application, ApplicationState
from bangfu.intake.tests.helpers import current_decision, staff_api, staff_page, submitted, to_state
from bangfu.registry.models import Household, TimelineEvent
from bangfu.testing.catalog import translated

pytestmark = pytest.mark.django_db
S = ApplicationState

GIVES_WAY = (
    "Override to %(category)s asked by %(who)s closed without a decision: it gives way to the "
    "override to %(new)s that the approval of %(ref)s asks for"
)
GIVES_WAY_ZH = "%(who)s申请的改为%(category)s的人工调整未经决定即关闭：由%(ref)s的审批申请的改为%(new)s的人工调整取代"
IN_FORCE = (
    "Override to %(category)s asked by %(who)s closed without a decision: the approval of %(ref)s "
    "filed the household in the category in force, %(new)s"
)


@pytest.fixture
def in_chinese_too() -> Iterator[None]:
    """The new message as the translators will give it; the cached look-ups of the catalogue again."""
    retranslate._index.cache_clear()
    retranslate._in_language.cache_clear()
    with translated("zh-hans", GIVES_WAY, GIVES_WAY_ZH):
        yield
    retranslate._index.cache_clear()
    retranslate._in_language.cache_clear()


def _formal_at_approval(tree: dict, users: dict[str, Any], phone: str) -> Application:
    """A temporary case approved as hardship by accident (the identification finds deep hardship:
    an override waits), made formal and brought to its approval."""
    cadre, staff, approver = users["xiangyun_cadre"], users["xiangyun_staff"], users["dali_staff"]
    temp = submitted(tree["xiangyun_g"], phone=phone, kind="temporary")
    services.application_transition(actor=cadre, application_id=temp.pk, action="emergency_accept")
    services.application_transition(
        actor=staff, application_id=temp.pk, action="approve", category="accident", reason="突发车祸"
    )
    formal = services.application_convert(actor=cadre, application_id=temp.pk, reason="长期困难")
    return to_state(formal, S.APPROVAL, users, approver=approver)


def _closed_note(household_id: int) -> TimelineEvent:
    return TimelineEvent.objects.filter(
        household_id=household_id, kind="eligibility_override", data__status=OverrideStatus.SUPERSEDED.value
    ).get()


def test_the_old_request_gives_way_to_the_approvals_own_and_reads_in_english(
    tree: dict, users: dict[str, Any], standard: Any, in_chinese_too: None
) -> None:
    approver = users["dali_staff"]
    formal = _formal_at_approval(tree, users, "13800138300")
    household_id = formal.household_id or 0
    with translation.override("zh-hans"):  # the approver reads Chinese
        formal = services.application_transition(
            actor=approver, application_id=formal.pk, action="approve", category="accident", reason="突发车祸"
        )
    # The file carries the category in force; the approval's own override to the accident waits.
    assert Household.objects.get(pk=household_id).category == "deep"
    decision = current_decision(household_id)
    assert (decision.override_status, decision.overridden_category) == (OverrideStatus.PENDING, "accident")
    note = _closed_note(household_id)
    assert note.summary == (
        f"xiangyun_staff申请的改为意外致困的人工调整未经决定即关闭：由{formal.reference}的审批申请的改为意外致困的人工调整取代"
    )
    english = (
        "Override to Hardship by accident asked by xiangyun_staff closed without a decision: it gives way to the "
        f"override to Hardship by accident that the approval of {formal.reference} asks for"
    )
    page = staff_page(approver).get(f"/households/{household_id}/").content.decode()
    assert english in page and "settled the file's category" not in page
    shown = staff_api(approver).get(f"/api/v1/households/{household_id}").json()["timeline"]
    assert english in [e["summary"] for e in shown]


def test_an_approval_in_the_category_in_force_files_the_household_in_it(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    approver = users["dali_staff"]
    formal = _formal_at_approval(tree, users, "13800138301")
    household_id = formal.household_id or 0
    services.application_transition(actor=approver, application_id=formal.pk, action="approve")
    assert Household.objects.get(pk=household_id).category == "deep"
    assert current_decision(household_id).override_status == OverrideStatus.SUPERSEDED
    assert _closed_note(household_id).summary == IN_FORCE % {
        "category": "Hardship by accident",
        "who": "xiangyun_staff",
        "ref": formal.reference,
        "new": "Deep hardship",
    }
