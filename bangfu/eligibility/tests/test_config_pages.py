"""The identification settings pages through HTTP: standards, rule sets and the what-if."""

from __future__ import annotations

import html
import io
import re
from datetime import date
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.test import Client

from bangfu.common.models import AuditEntry
from bangfu.eligibility import recompute, services
from bangfu.eligibility.config_forms import params_initial
from bangfu.eligibility.models import RuleSetVersion, Standard
from bangfu.org.models import Role
from bangfu.registry.services import household_create
from bangfu.testing.factories import household_input, user_with_role

ON = date(2026, 6, 1)


def client_for(user: Any) -> Client:
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(user)
    return c


def ruleset_post(**changes: Any) -> dict[str, Any]:
    """The rule-set form as a browser sends it: every parameter, ticked boxes only."""
    data: dict[str, Any] = {}
    for name, value in {**params_initial({}), **changes}.items():
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = str(value)
    return data


def test_pages_render_for_a_manager_and_changes_are_refused_to_others(
    tree: dict[str, Any], users: dict[str, Any]
) -> None:
    manager = client_for(users["province_manager"])
    for url, marker in [
        ("/eligibility/standards/", 'id="standards"'),
        ("/eligibility/standards/530000/2026/", 'id="standard-form"'),
        ("/eligibility/rulesets/", 'id="rulesets"'),
        ("/eligibility/rulesets/530000/", 'id="ruleset-form"'),
        ("/eligibility/whatif/", 'id="whatif-form"'),
    ]:
        page = manager.get(url)
        assert page.status_code == 200, url
        text = page.content.decode()
        assert marker in text, url
        assert 'id="nav-whatif"' in text  # the navigation offers the settings to a manager
    # The national rule set is published from the national level only.
    assert 'id="ruleset-form"' not in manager.get("/eligibility/rulesets/national/").content.decode()

    for who in ("xiangyun_cadre", "evaluator"):
        c = client_for(users[who])
        # Standards and rule sets are public configuration for staff: readable, without a form.
        read = c.get("/eligibility/standards/530000/2026/").content.decode()
        assert 'id="in-force"' in read and 'id="standard-form"' not in read
        assert 'id="nav-whatif"' not in read
        # …and the menu leads to them (it offered them only to who may change them).
        assert 'id="nav-standards"' in read and 'id="nav-rulesets"' in read
        assert 'id="ruleset-form"' not in c.get("/eligibility/rulesets/530000/").content.decode()
        # Every change is refused as the services decide (403), and nothing is stored.
        r = c.post("/eligibility/standards/530000/2026/", {"dibao_monthly": "1001", "minimum_wage_monthly": "1900"})
        assert r.status_code == 403
        assert c.post("/eligibility/rulesets/530000/", ruleset_post()).status_code == 403
        assert c.get("/eligibility/whatif/").status_code == 403
        assert (
            c.post(
                "/eligibility/whatif/", {"unit_id": tree["province"].pk, "on": "2026-06-01", "dibao_monthly": "900"}
            ).status_code
            == 403
        )
    assert not Standard.objects.exists() and not RuleSetVersion.objects.exists()

    # A county manager sets the county's standard, not the province's; another county's is not found.
    county = client_for(user_with_role(tree["xiangyun"], Role.MANAGER, "xiangyun_manager"))
    assert 'id="standard-form"' in county.get("/eligibility/standards/532923/2026/").content.decode()
    assert 'id="standard-form"' not in county.get("/eligibility/standards/530000/2026/").content.decode()
    r = county.post("/eligibility/standards/530000/2026/", {"dibao_monthly": "1001", "minimum_wage_monthly": "1900"})
    assert r.status_code == 403
    assert county.get("/eligibility/standards/530102/2026/").status_code == 404
    assert county.get("/eligibility/rulesets/530102/").status_code == 404
    assert county.get(f"/eligibility/whatif/current/?unit_id={tree['wuhua'].pk}").status_code == 404
    r = county.post("/eligibility/whatif/", {"unit_id": tree["dalishi"].pk, "on": "2026-06-01", "dibao_monthly": "9"})
    assert r.status_code == 404
    assert not Standard.objects.exists()


def test_set_a_standard_through_the_page(tree: dict[str, Any], users: dict[str, Any]) -> None:
    manager = client_for(users["province_manager"])
    url = "/eligibility/standards/530000/2026/"
    r = manager.post(url, {"dibao_monthly": "0", "minimum_wage_monthly": "lots", "effective_from": "2026-01-01"})
    assert r.status_code == 200
    text = r.content.decode()
    dibao = re.search(r'id="id_dibao_monthly".*?</div>\s*</div>', text, re.S)
    assert dibao and "The dibao must be above 0 and at most 100,000 yuan a month." in dibao.group(0)
    wage = re.search(r'id="id_minimum_wage_monthly".*?</div>\s*</div>', text, re.S)
    assert wage and "Enter a number." in wage.group(0)
    assert 'name="dibao_monthly" value="0"' in text and "is-invalid" in text  # what was typed stays
    assert not Standard.objects.exists()

    r = manager.post(
        url,
        {
            "dibao_monthly": "1,001元",  # the currency people write beside an amount is read
            "minimum_wage_monthly": "￥１９００",
            "effective_from": "2026-01-01",
            "note": "Yunnan",
        },
    )
    assert r.status_code == 302
    r = manager.post(url, {"dibao_monthly": "1100", "minimum_wage_monthly": "1900", "effective_from": "2026-01-01"})
    assert r.status_code == 302
    current = Standard.objects.get(division_code="530000", year=2026, is_current=True)
    assert (current.version, current.dibao_monthly, current.created_by) == (2, Decimal(1100), users["province_manager"])
    assert Standard.objects.get(version=1).minimum_wage_monthly == Decimal(1900)
    page = manager.get(url).content.decode()
    history = page[page.index('id="history"') :]
    assert "530000/2026/v2" in history and "530000/2026/v1" in history
    assert "province_manager" in history
    assert re.search(r"Urban dibao per month: <del[^>]*>1,001\.00</del> → <ins>1,100\.00</ins>", history)
    assert AuditEntry.objects.filter(target_type="eligibility_standard", target_id="530000/2026/v2").exists()

    # A county without its own standard shows the province's, inherited.
    listing = manager.get("/eligibility/standards/?year=2026").content.decode()
    row = re.search(r'<tr data-division="532923">.*?</tr>', listing, re.S)
    assert row and "inherited from 云南省总工会" in row.group(0) and "1,100.00" in row.group(0)
    detail = manager.get("/eligibility/standards/532923/2026/").content.decode()
    assert "inherited from 云南省总工会" in detail


def test_publish_a_rule_set_and_an_inconsistent_one_is_refused(users: dict[str, Any]) -> None:
    manager = client_for(users["province_manager"])
    url = "/eligibility/rulesets/530000/"
    r = manager.post(url, ruleset_post(deep_multiple="1", relative_multiple="0.5"))
    assert r.status_code == 200
    text = r.content.decode()
    field = re.search(r'id="id_relative_multiple".*?</div>\s*</div>', text, re.S)
    assert field and "may not be below the deep-hardship multiple" in field.group(0)
    assert "The rule set was not published" in text
    assert not RuleSetVersion.objects.exists()

    r = manager.post(url, ruleset_post(comparison="<=", exit_months=12, count_union_aid=False, note="2027 rules"))
    assert r.status_code == 302
    row = RuleSetVersion.objects.get(region_code="530000", is_current=True)
    assert (row.version, row.params["comparison"], row.params["exit_months"], row.params["count_union_aid"]) == (
        1,
        "<=",
        12,
        False,
    )
    page = manager.get(url).content.decode()
    assert "530000/v1" in page
    assert "Relative hardship: net income per head per month ≤ 2 × dibao" in page
    assert "after 12 months in a row" in page
    assert "Union aid already paid does not count as income" in page
    # The county decides by the province's rule set until it has its own.
    county_page = manager.get("/eligibility/rulesets/532923/").content.decode()
    assert "inherited from 云南省总工会" in county_page and "530000/v1" in county_page


@pytest.fixture
def households(tree: dict[str, Any], users: dict[str, Any]) -> dict[str, Any]:
    """Four files near a low dibao (200): the three-member ones are relative hardship and become
    deep when it rises to 250; the two-member one stays relative."""
    services.standard_set(
        actor=users["province_manager"],
        division_code="530000",
        year=2026,
        dibao_monthly="200",
        minimum_wage_monthly="1900",
    )
    made = [
        household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"])),
        household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"])),
        household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"], members=2)),
        household_create(actor=users["dalishi_staff"], data=household_input(tree["dalishi_g"])),
    ]
    recompute.recompute_start(actor=users["admin"], unit_id=tree["province"].pk, on=ON)
    return {"households": made}


def whatif_post(tree: dict[str, Any], action: str, **extra: Any) -> dict[str, Any]:
    return {"unit_id": tree["province"].pk, "on": ON.isoformat(), "action": action, **extra}


def previewed(page: str) -> str:
    """What the preview hands back with "save": the parameters it previewed."""
    found = re.search(r'name="previewed" value="([^"]*)"', page)
    assert found, "no preview on the page"
    return html.unescape(found.group(1))


def test_whatif_preview_download_and_save(tree: dict[str, Any], users: dict[str, Any], households: Any) -> None:
    manager = client_for(users["province_manager"])
    r = manager.post("/eligibility/whatif/", whatif_post(tree, "preview"))
    assert "Change at least one value" in r.content.decode()

    r = manager.post("/eligibility/whatif/", whatif_post(tree, "preview", dibao_monthly="250"))
    assert r.status_code == 200
    text = r.content.decode()
    expected = recompute.whatif_preview(
        actor=users["province_manager"], unit_id=tree["province"].pk, on=ON, standard={"dibao_monthly": "250"}
    )
    shown = {
        int(unit): int(n)
        for unit, n in re.findall(
            r'<tr data-unit="(\d+)">\s*<td>[^<]*</td><td class="text-end" data-changed>(\d+)', text
        )
    }
    assert (
        shown
        == {u.unit_id: u.changed for u in expected.by_unit}
        == {
            tree["xiangyun_g"].pk: 2,
            tree["dalishi_g"].pk: 1,
        }
    )
    assert "3 of 4 households would change category" in text
    assert "Relative hardship → Deep hardship: <strong>3</strong>" in text
    assert "张*国" in text and "张建国" not in text  # heads' names masked, as in other lists
    assert Standard.objects.get(is_current=True).dibao_monthly == Decimal(200)  # nothing stored

    before = AuditEntry.objects.filter(action="export").count()
    r = manager.post("/eligibility/whatif/", whatif_post(tree, "download", dibao_monthly="250"))
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[1]
    assert sheet.max_row == 1 + 3
    assert {c.value for c in sheet["B"][1:]} == {h.file_number for h in households["households"][:2]} | {
        households["households"][3].file_number
    }
    entry = AuditEntry.objects.filter(action="export").order_by("-seq").first()
    assert AuditEntry.objects.filter(action="export").count() == before + 1
    assert entry is not None and entry.target_type == "eligibility_whatif" and entry.actor == users["province_manager"]
    assert entry.after is not None and entry.after["rows"] == 3 and entry.after["standard"] == {"dibao_monthly": "250"}

    # Save saves what was previewed: values changed after the preview are previewed again first.
    r = manager.post("/eligibility/whatif/", whatif_post(tree, "save", dibao_monthly="260", previewed=previewed(text)))
    assert r.status_code == 200 and "The values changed after the preview" in r.content.decode()
    assert Standard.objects.count() == 1
    r = manager.post(
        "/eligibility/whatif/",
        whatif_post(tree, "save", dibao_monthly="250", note="Raised in June", previewed=previewed(text)),
    )
    assert r.status_code == 302 and r["Location"] == "/eligibility/standards/530000/2026/"
    saved = Standard.objects.get(is_current=True)
    assert (saved.label, saved.dibao_monthly, saved.effective_from, saved.note) == (
        "530000/2026/v2",
        Decimal(250),
        ON,
        "Raised in June",
    )
    assert "Saved as 530000/2026/v2." in manager.get(r["Location"]).content.decode()


def test_whatif_with_inconsistent_rules_shows_the_reason_and_saves_nothing(
    tree: dict[str, Any], users: dict[str, Any], households: Any
) -> None:
    manager = client_for(users["province_manager"])
    for action in ("preview", "save"):
        r = manager.post("/eligibility/whatif/", whatif_post(tree, action, rule_relative_multiple="0.5"))
        assert r.status_code == 200
        text = r.content.decode()
        field = re.search(r'id="id_rule_relative_multiple".*?</div>\s*</div>', text, re.S)
        assert field and "may not be below the deep-hardship multiple" in field.group(0)
        assert 'id="rule-params" open' in text
    assert not RuleSetVersion.objects.exists()
    change = {"rule_comparison": "<=", "rule_count_union_aid": "no"}
    page = manager.post("/eligibility/whatif/", whatif_post(tree, "preview", **change)).content.decode()
    r = manager.post("/eligibility/whatif/", whatif_post(tree, "save", **change, previewed=previewed(page)))
    assert r.status_code == 302 and r["Location"] == "/eligibility/rulesets/530000/"
    row = RuleSetVersion.objects.get()
    assert (row.params["comparison"], row.params["count_union_aid"], row.params["relative_multiple"]) == (
        "<=",
        False,
        "2",
    )


def _field_errors(page: str, field: str) -> str:
    """The errors shown under a field ("" for none), one after the other."""
    found = re.search(rf'id="id_{field}_error">(.*?)</div></div>', page, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html.unescape(found.group(1))).split()) if found else ""


def test_whatif_tells_every_bad_value_at_once_under_its_field(
    tree: dict[str, Any], users: dict[str, Any], households: Any
) -> None:
    """ "x" as the deep multiple was "Wrong type of value." and the only error told: the working
    age 99 to 10, the accident share 2 and the exit months −3 came one correction later."""
    manager = client_for(users["province_manager"])
    bad = {
        "rule_deep_multiple": "x",
        "rule_working_age_from": "99",
        "rule_working_age_to": "10",
        "rule_accident_share": "2",
        "rule_exit_months": "-3",
        "dibao_monthly": "-5",  # the standard's errors with the rules'
    }
    page = manager.post("/eligibility/whatif/", whatif_post(tree, "preview", **bad)).content.decode()
    assert _field_errors(page, "rule_deep_multiple") == "Enter a number."
    assert _field_errors(page, "rule_working_age_to") == "The working age must be a range within 0 to 100."
    assert _field_errors(page, "rule_accident_share") == "The accident share must be above 0 and at most 1."
    assert _field_errors(page, "rule_exit_months") == "The exit test needs 1 to 36 months."
    assert _field_errors(page, "dibao_monthly") == "The dibao must be above 0 and at most 100,000 yuan a month."
    assert "Wrong type of value" not in page and 'name="previewed"' not in page
    # A multiple compared with one that cannot be read is not judged against the one in force.
    page = manager.post(
        "/eligibility/whatif/", whatif_post(tree, "preview", rule_deep_multiple="x", rule_relative_multiple="0.5")
    ).content.decode()
    assert _field_errors(page, "rule_deep_multiple") == "Enter a number."
    assert _field_errors(page, "rule_relative_multiple") == ""

    # The rule set's own form takes the same check.
    r = manager.post(
        "/eligibility/rulesets/530000/", ruleset_post(deep_multiple="x", accident_share="2", exit_months=-3)
    )
    assert r.status_code == 200
    page = r.content.decode()
    assert _field_errors(page, "deep_multiple") == "Enter a number."
    assert _field_errors(page, "accident_share") == "The accident share must be above 0 and at most 1."
    assert _field_errors(page, "exit_months") == "The exit test needs 1 to 36 months."
    assert not RuleSetVersion.objects.exists()

    # The API names every bad parameter too, with what it takes.
    body = {
        "unit_id": tree["province"].pk,
        "on": ON.isoformat(),
        "rule_params": {
            "deep_multiple": "x",
            "exit_months": 1.5,
            "count_union_aid": "yes",
            "accident_share": "2",
            "colour": "red",
        },
    }
    r = manager.post("/api/v1/eligibility/whatif", body, content_type="application/json")
    assert r.status_code == 422
    assert r.json()["error"]["fields"] == {  # named as sent, inside ``rule_params``
        "rule_params.deep_multiple": ["Enter a number."],
        "rule_params.exit_months": ["Enter a whole number."],
        "rule_params.count_union_aid": ["Enter true or false."],
        "rule_params.accident_share": ["The accident share must be above 0 and at most 1."],
        "rule_params.colour": ["Unknown parameter."],
    }


def test_whatif_with_the_values_in_force_offers_nothing_to_save(
    tree: dict[str, Any], users: dict[str, Any], households: Any
) -> None:
    """A what-if of the standard and rules in force already changes no one: there is no save
    button, and a save posted anyway makes no version equal to the one before."""
    manager = client_for(users["province_manager"])
    same = {"dibao_monthly": "200", "rule_comparison": "<"}
    page = manager.post("/eligibility/whatif/", whatif_post(tree, "preview", **same)).content.decode()
    assert "0 of 4 households would change category" in page
    assert 'id="save-button"' not in page and 'id="nothing-to-save"' in page
    r = manager.post("/eligibility/whatif/", whatif_post(tree, "save", **same, previewed=previewed(page)))
    assert r.status_code == 200 and "Nothing to save" in r.content.decode()
    assert Standard.objects.count() == 1 and not RuleSetVersion.objects.exists()
    api = client_for(users["province_manager"])
    body = {"unit_id": tree["province"].pk, "on": ON.isoformat(), "standard": {"dibao_monthly": "200"}, "save": True}
    r = api.post("/api/v1/eligibility/whatif", body, content_type="application/json")
    assert r.status_code in (400, 422) and "Nothing to save" in r.content.decode()
    assert Standard.objects.count() == 1
    # A changed value alongside one in force saves the change only.
    changed = manager.post("/eligibility/whatif/", whatif_post(tree, "preview", **{**same, "dibao_monthly": "250"}))
    assert 'id="save-button"' in changed.content.decode()


def test_the_standards_list_costs_the_same_whatever_the_number_of_unions(
    tree: dict[str, Any], users: dict[str, Any]
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bangfu.common import divisions
    from bangfu.org.models import OrgLevel
    from bangfu.org.services import org_unit_create

    manager = client_for(users["province_manager"])
    services.standard_set(
        actor=users["province_manager"],
        division_code="532900",
        year=2026,
        dibao_monthly="950",
        minimum_wage_monthly="1",
    )

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert manager.get("/eligibility/standards/?year=2026").status_code == 200
        return len(ctx.captured_queries)

    before = queries()
    counties = [(c, tree["dali"]) for c in divisions.children("532900") if c != "532923"]
    counties += [(c, tree["kunming"]) for c in divisions.children("530100") if c != "530102"]
    assert len(counties) > 20
    for code, parent in counties:
        org_unit_create(name=f"{code}总工会", level=OrgLevel.COUNTY, division_code=code, parent=parent)
        if code.endswith("2"):
            services.standard_set(
                actor=users["province_manager"],
                division_code=code,
                year=2026,
                dibao_monthly="900",
                minimum_wage_monthly="1",
            )
    assert queries() == before


def test_next_year_shows_this_years_standard_carried_over_and_a_whatif_of_it_saves_nothing(
    tree: dict[str, Any], users: dict[str, Any], households: Any
) -> None:
    """With no standard for 2027 yet, identification decides by 2026's (carried over): the list of
    standards and the what-if's "in force" say so rather than "no standard", and a what-if of the
    2026 values from 2027-01-01 changes nothing and offers nothing to save."""
    manager = client_for(users["province_manager"])
    listing = manager.get("/eligibility/standards/", {"year": 2027}).content.decode()
    assert "No standard: households here cannot be decided" not in listing and "530000/2026" in listing
    in_force = manager.get("/eligibility/whatif/current/", {"unit_id": tree["province"].pk, "on": "2027-01-01"})
    assert "No standard" not in in_force.content.decode()
    page = manager.post(
        "/eligibility/whatif/", whatif_post(tree, "preview", on="2027-01-01", dibao_monthly="200")
    ).content.decode()
    assert 'id="save-button"' not in page and 'id="nothing-to-save"' in page


def test_a_private_school_ratio_not_above_zero_is_said_under_its_own_box() -> None:
    """It was said under the floor-area multiple, which was not the value at fault."""
    from django.core.exceptions import ValidationError

    from bangfu.eligibility.services import ruleset_check

    with pytest.raises(ValidationError) as err:
        ruleset_check({"private_school_ratio": "0"})
    assert set(err.value.message_dict) == {"private_school_ratio"}
