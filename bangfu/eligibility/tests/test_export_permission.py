"""The Excel downloads of identification — a recompute's report and the what-if's changes (file
numbers with their categories) — need the export permission (``REGISTRY_EXPORT``) at the union
they cover: a grassroots cadre who may start a recompute, or the read-only evaluator, is refused
with a sentence saying so (page and API) and is not offered the download."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from bangfu.api.tests.conftest import Api
from bangfu.common.models import AuditEntry
from bangfu.eligibility import recompute
from bangfu.eligibility.tests.test_config_pages import households, whatif_post  # noqa: F401 - fixture
from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.org.models import Role, RoleAssignment
from bangfu.org.services import token_create
from bangfu.registry.services import household_create
from bangfu.testing.factories import household_input, user_with_role

pytestmark = pytest.mark.django_db

REFUSED = "Your role may not bring personal data in or send it out (imports and exports) here."
REPORT = "/eligibility/recompute/{}/report.xlsx"


def client_for(user: Any) -> Client:
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(user)
    return c


def _reports() -> int:
    return AuditEntry.objects.filter(target_type="eligibility_recompute_report").count()


@pytest.fixture
def cadre_run(tree: dict[str, Any], users: dict[str, Any], province_standard: Any) -> Any:
    """A recompute the grassroots cadre started (they may: it changes files they keep)."""
    household_create(actor=users["xiangyun_cadre"], data=household_input(tree["xiangyun_g"]))
    return recompute.recompute_start(actor=users["xiangyun_cadre"], unit_id=tree["xiangyun_g"].pk)


def test_a_cadre_may_recompute_but_not_download_the_report(cadre_run: Any, users: dict[str, Any]) -> None:
    c = client_for(users["xiangyun_cadre"])
    status = c.get(f"/eligibility/recompute/{cadre_run.pk}/").content.decode()
    assert "households" in status and REPORT.format(cadre_run.pk) not in status
    response = c.get(REPORT.format(cadre_run.pk))
    assert response.status_code == 403 and REFUSED in response.content.decode()
    assert _reports() == 0


def test_the_report_downloads_for_who_may_export(cadre_run: Any, users: dict[str, Any]) -> None:
    c = client_for(users["xiangyun_staff"])
    assert REPORT.format(cadre_run.pk) in c.get(f"/eligibility/recompute/{cadre_run.pk}/").content.decode()
    response = c.get(REPORT.format(cadre_run.pk))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert _reports() == 1


@pytest.mark.parametrize("who", ["evaluator", "xiangyun_cadre"])
def test_the_report_in_the_api_needs_the_export_permission(cadre_run: Any, users: dict[str, Any], who: str) -> None:
    api = Api(token_create(actor=users[who], user=users[who]))
    assert api.get(f"/eligibility/recompute/{cadre_run.pk}").status_code == 200  # the run may be followed
    response = api.get(f"/eligibility/recompute/{cadre_run.pk}/report.xlsx")
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "forbidden",
        "message": REFUSED,
        "fields": {},
        "details": {"permission": "registry.export"},
    }
    assert client_for(users[who]).get(REPORT.format(cadre_run.pk)).status_code == 403
    assert _reports() == 0


def test_the_report_needs_the_export_permission_at_the_runs_union(
    cadre_run: Any, tree: dict[str, Any], users: dict[str, Any]
) -> None:
    """Export at another county does not reach a run of 祥云县."""
    user = user_with_role(tree["province"], Role.EVALUATOR, "mixed")
    RoleAssignment.objects.create(user=user, unit=tree["dalishi"], role=Role.CENTRE_STAFF)
    api = Api(token_create(actor=user, user=user))
    response = api.get(f"/eligibility/recompute/{cadre_run.pk}/report.xlsx")
    assert response.status_code == 403 and response.json()["error"]["details"]["permission"] == "registry.export"
    api = Api(token_create(actor=users["xiangyun_staff"], user=users["xiangyun_staff"]))
    assert api.get(f"/eligibility/recompute/{cadre_run.pk}/report.xlsx").status_code == 200
    assert _reports() == 1


def test_the_whatif_download_needs_the_export_permission(
    tree: dict[str, Any],
    users: dict[str, Any],
    households: Any,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A role that sets standards but may not export (a province's standards officer) previews
    the changes and sees the first households on the page, but downloads none."""
    officer = frozenset(access.ROLE_PERMISSIONS[Role.MANAGER] - {Perm.REGISTRY_EXPORT})
    monkeypatch.setitem(access.ROLE_PERMISSIONS, Role.MANAGER, officer)
    c = client_for(users["province_manager"])
    preview = c.post("/eligibility/whatif/", whatif_post(tree, "preview", dibao_monthly="250"))
    assert preview.status_code == 200
    text = preview.content.decode()
    assert households["households"][0].file_number in text and 'id="download-button"' not in text
    before = AuditEntry.objects.filter(action="export").count()
    response = c.post("/eligibility/whatif/", whatif_post(tree, "download", dibao_monthly="250"))
    assert response.status_code == 403 and REFUSED in response.content.decode()
    assert AuditEntry.objects.filter(action="export").count() == before

    monkeypatch.undo()  # the manager as the roles have it: offered, and downloads
    text = c.post("/eligibility/whatif/", whatif_post(tree, "preview", dibao_monthly="250")).content.decode()
    assert 'id="download-button"' in text
    response = c.post("/eligibility/whatif/", whatif_post(tree, "download", dibao_monthly="250"))
    assert response.status_code == 200 and AuditEntry.objects.filter(action="export").count() == before + 1
