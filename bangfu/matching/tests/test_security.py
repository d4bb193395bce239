"""Security review: the findings export reveals full ID numbers only where the reveal permission
reaches, not wherever the actor may merely see the findings."""

from __future__ import annotations

from typing import Any

from bangfu.common.models import AuditEntry
from bangfu.matching import selectors, services
from bangfu.org.models import Role, RoleAssignment
from bangfu.testing.factories import user_with_role

from .test_import_and_match import run


def test_a_reveal_export_masks_the_findings_outside_the_reveal_permission(
    tree: dict[str, Any],
    users: dict[str, Any],
    make_household: Any,
    write_csv: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _xiangyun, xiangyun_ids = make_household()
    _dalishi, dalishi_ids = make_household("dalishi_g")
    rows = [["身份证号", "姓名", "救助状态"], [xiangyun_ids[0], "张建国", "在保"], [dalishi_ids[0], "张建国", "在保"]]
    ds = services.dataset_import(actor=users["admin"], kind="dibao_roll", path=write_csv("d.csv", rows))
    run(users["admin"], [ds], django_capture_on_commit_callbacks)
    # A province manager (sees the province, may not reveal) who is also centre staff of 大理市
    # (may reveal there, not in 祥云县).
    both = user_with_role(tree["province"], Role.MANAGER, "manager_and_dalishi_staff")
    RoleAssignment.objects.create(user=both, unit=tree["dalishi"], role=Role.CENTRE_STAFF)

    shown = {r["file_number"]: r["id_number"] for r in selectors.findings_rows(actor=both, reveal=True)}

    assert len(shown) == 2
    assert dalishi_ids[0] in shown.values()
    assert xiangyun_ids[0] not in shown.values()
    assert xiangyun_ids[0][:4] + "*" * 10 + xiangyun_ids[0][-4:] in shown.values()
    entry = AuditEntry.objects.get(action="reveal", target_type="matching.findings_export")
    from django.utils import translation

    from bangfu.org.audit_log import shown_note

    with translation.override("en"):  # written in the language of the moment, read in the reader's
        assert shown_note(entry.note) == "Findings exported with full ID numbers: 1"
    with translation.override("zh-hans"):
        assert shown_note(entry.note) == "导出含完整身份证号的疑点：1条"
