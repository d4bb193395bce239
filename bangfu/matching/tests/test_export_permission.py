"""Downloads of personal data from the cross-department checks — the findings (names, masked ID
numbers, plates) and a dataset's rejected rows — need the export permission (``REGISTRY_EXPORT``)
in the jurisdiction of what is exported, as ``bangfu registry export`` does: the read-only
evaluator and grassroots cadres are refused, on the pages, in the API and on the command line, and
are not offered the links. The findings export's audit entries name the union and filters."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from bangfu.api.tests.conftest import Api
from bangfu.common.models import AuditEntry
from bangfu.matching import services
from bangfu.matching.tests.test_dirty_files import IDS, VEHICLES, _csv
from bangfu.matching.tests.test_pages import (  # noqa: F401 - fixtures
    County,
    _html,
    _streamed,
    client_for,
    county_objects,
    dalishi,
    xiangyun,
)
from bangfu.org.models import OrgUnit, Role, RoleAssignment
from bangfu.org.services import token_create
from bangfu.testing.factories import user_with_role

pytestmark = pytest.mark.django_db

REFUSED = "Your role may not bring personal data in or send it out (imports and exports) here."


def _exports() -> int:
    return AuditEntry.objects.filter(action="export", target_type="matching.findings_export").count()


@pytest.mark.parametrize("who", ["evaluator", "xiangyun_cadre"])
def test_findings_export_is_refused_to_roles_without_the_export_permission(
    xiangyun: County,  # noqa: F811 - the fixture
    users: dict[str, Any],
    who: str,
) -> None:
    c = client_for(users[who])
    listing = _html(c.get(reverse("matching:finding_list"), {"status": ""}))
    assert "2 findings" in listing  # they still read the queue…
    assert 'id="export-link"' not in listing and reverse("matching:finding_export") not in listing  # …no link
    response = c.get(reverse("matching:finding_export"), {"status": ""})
    assert response.status_code == 403
    assert REFUSED in _html(response)
    assert xiangyun.ids[0] not in _html(response) and xiangyun.household.file_number not in _html(response)
    assert _exports() == 0


def test_the_link_is_offered_to_who_may_export(xiangyun: County, users: dict[str, Any]) -> None:  # noqa: F811 - the fixture
    page = _html(client_for(users["xiangyun_staff"]).get(reverse("matching:finding_list"), {"status": ""}))
    assert 'id="export-link"' in page


def test_findings_export_covers_only_the_export_jurisdiction(
    xiangyun: County,  # noqa: F811 - the fixture
    dalishi: County,  # noqa: F811 - the fixture
    tree: dict[str, OrgUnit],
    users: dict[str, Any],
) -> None:
    """An evaluator of the province who is also centre staff of 祥云县 reads both counties'
    findings but exports only 祥云县's; filtering on 大理市 is refused."""
    both = user_with_role(tree["province"], Role.EVALUATOR, "both")
    RoleAssignment.objects.create(user=both, unit=tree["xiangyun"], role=Role.CENTRE_STAFF)
    c = client_for(both)
    assert "4 findings" in _html(c.get(reverse("matching:finding_list"), {"status": ""}))
    rows = list(csv.DictReader(io.StringIO(_streamed(c.get(reverse("matching:finding_export"), {"status": ""})))))
    assert {r["File number"] for r in rows} == {xiangyun.household.file_number} and len(rows) == 2
    entry = AuditEntry.objects.get(action="export", target_type="matching.findings_export")
    assert entry.unit_path == tree["xiangyun"].path  # the top union of the export jurisdiction

    other = {"status": "", "unit": str(tree["dalishi"].pk)}
    listing = _html(c.get(reverse("matching:finding_list"), other))
    assert "2 findings" in listing and 'id="export-link"' not in listing
    response = c.get(reverse("matching:finding_export"), other)
    assert response.status_code == 403 and REFUSED in _html(response)
    assert _exports() == 1


def test_findings_export_audit_names_the_union_and_the_filters(
    xiangyun: County,  # noqa: F811 - the fixture
    tree: dict[str, OrgUnit],
    users: dict[str, Any],
) -> None:
    c = client_for(users["xiangyun_staff"])
    _streamed(c.get(reverse("matching:finding_export"), {"status": "open", "kind": "vehicles"}))
    entry = AuditEntry.objects.filter(action="export", target_type="matching.findings_export").latest("seq")
    assert entry.unit_path == tree["xiangyun"].path and entry.target_id == tree["xiangyun"].code
    assert entry.after is not None
    assert entry.after == {
        "unit": tree["xiangyun"].code,
        "filters": {"status": "open", "kind": "vehicles"},
        "rows": 1,
        "reveal": False,
    }
    _streamed(c.post(reverse("matching:finding_export") + f"?status=&unit={tree['xiangyun_g'].pk}", {"reveal": "1"}))
    for action in ("reveal", "export"):
        entry = AuditEntry.objects.filter(action=action, target_type="matching.findings_export").latest("seq")
        assert entry.unit_path == tree["xiangyun_g"].path and entry.after is not None
        assert entry.after["filters"] == {"unit": tree["xiangyun_g"].code}
        assert entry.after["rows"] == 2


def test_findings_on_the_command_line_need_the_export_permission(xiangyun: County, users: dict[str, Any]) -> None:  # noqa: F811 - the fixture
    out = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("match", "--user", "evaluator", "findings", stdout=out)
    assert str(exc.value) == (
        "evaluator may not do this: it needs the permission to bring personal data in or send it out "
        "(imports and exports)."
    )
    assert out.getvalue() == ""  # not even the header
    assert _exports() == 0
    call_command("match", "--user", "xiangyun_staff", "findings", "--unit", "532923", stdout=out)
    assert out.getvalue().startswith("file_number,") and _exports() == 1
    entry = AuditEntry.objects.get(action="export", target_type="matching.findings_export")
    assert entry.after is not None and entry.after["filters"] == {"unit": "532923"}


@pytest.fixture
def rejected(users: dict[str, Any], tree: dict[str, OrgUnit], tmp_path: Path) -> Any:
    """A dataset of the grassroots union (so that its cadre may open it) with a rejected row."""
    rows: list[list[Any]] = [VEHICLES, [IDS[0], "张三", "云A1", "小型轿车"], ["bad", "李四", "云B1", "小型轿车"]]
    path = _csv(tmp_path / "v.csv", rows)
    ds = services.dataset_import(actor=users["xiangyun_staff"], kind="vehicles", path=path, unit=tree["xiangyun_g"])
    assert ds.rows_rejected == 1
    return ds


def _rejected_exports() -> int:
    return AuditEntry.objects.filter(target_type="matching.dataset_rejected").count()


@pytest.mark.parametrize("who", ["evaluator", "xiangyun_cadre"])
def test_rejected_rows_are_refused_to_roles_without_the_export_permission(
    rejected: Any, users: dict[str, Any], who: str
) -> None:
    c = client_for(users[who])
    page = _html(c.get(reverse("matching:dataset_detail", args=[rejected.pk])))
    assert "Rows rejected" in page and 'id="rejected-link"' not in page
    response = c.get(reverse("matching:dataset_rejected", args=[rejected.pk]))
    assert response.status_code == 403 and REFUSED in _html(response)

    api = Api(token_create(actor=users[who], user=users[who]))
    response = api.get(f"/matching/datasets/{rejected.pk}/rejected.csv")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "forbidden" and error["message"] == REFUSED
    assert error["details"] == {"permission": "registry.export"}
    assert _rejected_exports() == 0


def test_rejected_rows_download_for_who_may_export(rejected: Any, users: dict[str, Any]) -> None:
    c = client_for(users["xiangyun_staff"])
    assert 'id="rejected-link"' in _html(c.get(reverse("matching:dataset_detail", args=[rejected.pk])))
    assert '3,***,"Character 1 of the ID number, “b”' in _streamed(
        c.get(reverse("matching:dataset_rejected", args=[rejected.pk]))
    )
    api = Api(token_create(actor=users["xiangyun_staff"], user=users["xiangyun_staff"]))
    assert api.get(f"/matching/datasets/{rejected.pk}/rejected.csv").status_code == 200
    assert _rejected_exports() == 2


def test_rejected_rows_need_the_export_permission_at_the_datasets_union(
    rejected: Any, tree: dict[str, OrgUnit]
) -> None:
    """Export at another county does not do: the dataset's own union counts."""
    user = user_with_role(tree["province"], Role.EVALUATOR, "mixed")
    RoleAssignment.objects.create(user=user, unit=tree["dalishi"], role=Role.CENTRE_STAFF)
    response = Api(token_create(actor=user, user=user)).get(f"/matching/datasets/{rejected.pk}/rejected.csv")
    assert response.status_code == 403 and response.json()["error"]["details"]["permission"] == "registry.export"
    assert _rejected_exports() == 0
