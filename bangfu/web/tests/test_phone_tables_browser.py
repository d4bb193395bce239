"""The staff lists read on a 360 px phone without scrolling sideways, with the demo's data: the
columns a reader needs (the key one and the action) on the screen, the others folded under them;
on a wide screen every column in its own place."""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation

from bangfu.testing.phone import unreadable_cells

SHOTS = Path(os.environ.get("BANGFU_SCREENSHOTS", tempfile.gettempdir()))

pytestmark = [pytest.mark.browser]

MONTHLY_YUAN = "Monthly income (yuan)"

# Who reads it, where, which table, and the headers of the columns to read on a phone (a tuple
# is a header with its context).
PAGES: list[tuple[str, str, str, list[Any]]] = [
    ("county_staff", "/applications/", "#reviews", ["File number", "Review state", "Reported changes"]),
    ("county_staff", "/applications/reviews/", "#reviews", ["File number", "Review state", "Reported changes"]),
    ("county_staff", "/applications/import/", "#batches", ["#", "File name", "State", "Errors"]),
    ("province_manager", "/applications/notice/", "#notice", ["Applicant", "Main cause", "Notice period"]),
    ("province_manager", "/matching/", "#findings", ["Finding", "Person"]),
    ("province_manager", "/matching/datasets/", "#datasets", [("an uploaded file", "File"), "Kind", "Rows taken"]),
    ("province_manager", "/matching/runs/", "#runs", ["#", "Union", "Status", "New findings"]),
    ("province_manager", "/matching/coverage/", "#coverage", ["Union", "Share", "Last checked"]),
    ("province_manager", "/audit/", "#audit-table", ["Time", "Action", "Note"]),
    ("province_manager", "/eligibility/rulesets/", "#rulesets", ["Region", "Decides by", "Published"]),
    ("province_manager", "/eligibility/households/{household}/", "#decision-history", ["Decided at", "Category"]),
    ("province_manager", "/eligibility/standards/", "#standards", ["Union", "Urban dibao / month"]),
    ("province_manager", "/matching/runs/{run}/", "#summary-units", ["Union", "Files", "Findings"]),
    ("province_manager", "/matching/runs/{run}/", "#summary-kinds", ["Department data", "Findings"]),
    ("province_manager", "/households/{household}/", "#members", ["Name", "ID number", "Monthly income"]),
    ("province_manager", "/applications/{application}/", "#app-members", ["Name", MONTHLY_YUAN]),
]

_HEADERS = """(selector) => [...document.querySelector(selector).tHead.rows[0].cells]
  .filter(c => c.checkVisibility()).map(c => c.innerText.trim()).filter(t => t)"""


def _header(name: Any) -> str:
    return translation.pgettext(*name) if isinstance(name, tuple) else translation.gettext(name)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_staff_lists_read_on_a_360_px_phone_without_scrolling_sideways(
    audit_log_emptied: None, live_server: Any, browser: Any, settings: Any, tmp_path: Path, language: str
) -> None:
    """At 360 px the public notice list, the yearly reviews (on the queue and on their own page),
    the imported files, the findings, the department data, the rechecks, the share cross-checked,
    the audit log, the rule sets and a household's identification history were wider than the
    screen (up to 989 px in their scrolling box; the history widened the page itself); so were
    the standards, a recheck's counts (in English), and the members of a household's file and of
    an application on the staff's pages."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from bangfu.intake.models import Application, ImportBatch, ReviewTask
    from bangfu.matching.models import MatchRun
    from bangfu.org.models import RoleAssignment
    from bangfu.registry.models import Household

    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("demo", households=150, no_serve=True, stdout=io.StringIO())
    logins = {r["username"]: r["password"] for r in json.loads((tmp_path / "demo-logins.json").read_text())}
    household = Household.objects.filter(decisions__isnull=False).order_by("pk").first()
    assert household is not None
    run = MatchRun.objects.filter(status="done").order_by("-pk").first()
    assert run is not None
    # A case past its draft, read as the manager reads it (the form is shown to who may change it).
    application = Application.objects.exclude(state="draft").order_by("pk").first()
    assert application is not None
    # Yearly reviews due at the county staff's unions (the demo's are wherever its dates fall).
    county = RoleAssignment.objects.get(user__username="county_staff").unit
    today = timezone.localdate()
    for pk in Household.objects.filter(unit__path__startswith=county.path).values_list("pk", flat=True)[:3]:
        ReviewTask.objects.get_or_create(household_id=pk, year=today.year, defaults={"due_on": today})
    # A legacy file imported there, its name as long as such names are.
    ImportBatch.objects.create(
        unit=county,
        name="祥云县困难职工档案2019年度汇总表（第二批，含补录）.xlsx",
        sha256="0" * 64,
        created_by=get_user_model().objects.get(username="county_staff"),
        households_total=120,
        issues_count=7,
    )
    base = live_server.url
    locale = "zh-CN" if language == "zh-hans" else "en-US"
    pages: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for username, address, table, wanted in PAGES:
        if username not in pages:
            page = browser.new_context(viewport={"width": 360, "height": 740}, locale=locale).new_page()
            page.goto(f"{base}/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", logins[username])
            page.click("button[type=submit].btn-primary")
            page.wait_for_url(f"{base}/households/")
            pages[username] = page
        page = pages[username]
        page.set_viewport_size({"width": 360, "height": 740})
        url = address.format(household=household.pk, run=run.pk, application=application.pk)
        page.goto(f"{base}{url}")
        if page.locator(table).count() == 0:
            problems[f"{url} {table}"] = [f"no table {table}"]
            continue
        # Rows of the table's own (not only a row across it saying there is none).
        rows = page.locator(f"{table} tbody tr:not(:has(td[colspan]))")
        assert rows.count() >= 1, (url, page.locator(table).inner_text())
        page.screenshot(path=str(SHOTS / f"bangfu-phone{url.replace('/', '-')}{language}.png"), full_page=True)
        with translation.override(language):
            headers = [_header(h) for h in wanted]
        if found := unreadable_cells(page, table, headers):
            problems[f"{url} {table}"] = found
        # A wide screen keeps every column.
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=str(SHOTS / f"bangfu-wide{url.replace('/', '-')}{language}.png"), full_page=True)
        if found := unreadable_cells(page, table, page.evaluate(_HEADERS, table)):
            problems[f"{url} {table} at 1280 px"] = found
    assert problems == {}, json.dumps(problems, ensure_ascii=False, indent=1)
    # The notice list printed (on a sheet, A4 wide): every column in its own place, nothing folded
    # twice, no menu.
    page = pages["province_manager"]
    page.set_viewport_size({"width": 794, "height": 1123})
    page.goto(f"{base}/applications/notice/")
    page.emulate_media(media="print")
    with translation.override(language):
        columns = [translation.gettext(h) for h in ("Union", "Applicant", "ID number", "Main cause", "Notice period")]
    assert page.evaluate(_HEADERS, "#notice") == columns
    assert unreadable_cells(page, "#notice", columns) == []
    assert page.locator("#notice tbody td div").evaluate_all("ds => ds.filter(d => d.checkVisibility()).length") == 0
    assert not page.locator("nav.navbar").is_visible()
    page.emulate_media(media="screen")
    # The yearly reviews' button is on the phone's screen, under the changes.
    page = pages["county_staff"]
    page.set_viewport_size({"width": 360, "height": 740})
    for address in ("/applications/", "/applications/reviews/"):
        page.goto(f"{base}{address}")
        button = page.locator("#reviews tbody tr").first.locator("button:visible")
        assert button.count() == 1, address
        box = button.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, (address, box)
