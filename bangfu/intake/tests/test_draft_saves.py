"""Saving a draft: a form opened before the draft was saved again (another tab, another device,
someone else) never overwrites that save, however often it is sent; and a value wrong in itself
(a negative amount, an area out of range) is refused at the save, not only at the submit, and no
identification is made from it."""

from __future__ import annotations

import html
import json
from datetime import datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from bangfu.intake import otp, selectors, services
from bangfu.intake.models import Applicant, Application
from bangfu.intake.tests.helpers import form_data, sign_in

pytestmark = pytest.mark.django_db


class _Form(HTMLParser):
    """The fields of the application form on a page (the form holding ``version``), as a browser
    would send them."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._current: dict[str, Any] | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def _add(self, name: str, value: str) -> None:
        assert self._current is not None
        if name in self._current:
            old = self._current[name]
            self._current[name] = [*(old if isinstance(old, list) else [old]), value]
        else:
            self._current[name] = value

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = {}
            self.forms.append(self._current)
        elif self._current is None:
            return
        elif tag == "input" and a.get("name") and a.get("type") not in {"submit", "file"}:
            if a.get("type") in {"checkbox", "radio"} and "checked" not in a:
                return
            self._add(a["name"], a.get("value", ""))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self._add(self._select, a.get("value", ""))
        elif tag == "textarea":
            self._textarea = a.get("name")
            self._add(self._textarea or "", "")

    def handle_data(self, data: str) -> None:
        if self._textarea and self._current is not None:
            self._current[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def application_form(page: str) -> dict[str, Any]:
    parser = _Form()
    parser.feed(page)
    (form,) = [f for f in parser.forms if "version" in f and "m-TOTAL_FORMS" in f]
    return form


def _cadre(users: dict[str, Any]) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(users["xiangyun_cadre"])
    return c


def _counter_draft(tree: dict, users: dict[str, Any]) -> Application:
    unit = tree["xiangyun_g"]
    return services.application_create(actor=users["xiangyun_cadre"], unit_id=unit.pk, form=form_data(unit, 1))


# --- a form opened before the last save ----------------------------------------------------------


def test_a_stale_tab_never_overwrites_the_save_made_in_another(tree: dict, users: dict[str, Any]) -> None:
    app = _counter_draft(tree, users)
    url = f"/applications/{app.pk}/"
    tab1 = application_form(_cadre(users).get(url).content.decode())
    tab2 = application_form(_cadre(users).get(url).content.decode())
    c = _cadre(users)
    saved = c.post(url, {**tab1, "h-address": "祥云县新街道8号", "save": "1"})
    assert saved.status_code == 302
    refused = c.post(url, {**tab2, "h-cause_note": "病后失业", "save": "1"})
    page = refused.content.decode()
    assert refused.status_code == 400
    # Said without blaming "someone else": it may be the same person in another tab.
    assert "This application was changed after you opened it" in page and "Someone else" not in page
    # What is saved now beside what was typed, and a way to load the saved version.
    assert 'id="unsaved-differences"' in page and 'id="load-saved"' in page
    assert "祥云县新街道8号" in page and "病后失业" in page
    # The refused form keeps the version its values were based on: sent again, it is refused again.
    again = application_form(page)
    assert again["version"] == tab2["version"] == str(app.version)
    assert again["h-cause_note"] == "病后失业"
    second = c.post(url, {**again, "save": "1"})
    assert second.status_code == 400 and 'id="unsaved-differences"' in second.content.decode()
    app.refresh_from_db()
    assert app.data["address"] == "祥云县新街道8号" and app.data.get("cause_note") != "病后失业"
    # Loaded again, the form is the draft as it is now, and saves.
    fresh = application_form(c.get(url).content.decode())
    assert fresh["h-address"] == "祥云县新街道8号"
    assert c.post(url, {**fresh, "h-cause_note": "病后失业", "save": "1"}).status_code == 302
    app.refresh_from_db()
    assert app.data["address"] == "祥云县新街道8号" and app.data["cause_note"] == "病后失业"


def test_the_conflict_is_said_neutrally_in_chinese(tree: dict, users: dict[str, Any]) -> None:
    app = _counter_draft(tree, users)
    url = f"/applications/{app.pk}/"
    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    c.force_login(users["xiangyun_cadre"])
    tab = application_form(c.get(url).content.decode())
    services.application_save_draft(
        actor=users["xiangyun_cadre"], application_id=app.pk, form={**app.data, "address": "别处"}
    )
    page = c.post(url, {**tab, "h-cause_note": "病后失业", "save": "1"}).content.decode()
    assert 'id="unsaved-differences"' in page and "他人已对其进行了处理" not in page


def test_a_workers_stale_phone_tab_never_overwrites_either(tree: dict) -> None:
    unit = tree["xiangyun_g"]
    worker = Applicant.objects.create(phone="13912340001")
    app = services.application_create(actor=worker, unit_id=unit.pk, form=form_data(unit, 1))
    url = f"/apply/{app.pk}/"
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), worker)
    tab1 = application_form(c.get(url).content.decode())
    tab2 = application_form(c.get(url).content.decode())
    assert c.post(url, {**tab1, "h-address": "祥云县新街道8号", "save": "1"}).status_code == 302
    refused = c.post(url, {**tab2, "h-cause_note": "病后失业", "save": "1"})
    page = refused.content.decode()
    assert refused.status_code == 400 and "This draft was saved from another window" in page
    assert 'id="unsaved-differences"' in page
    assert c.post(url, {**application_form(page), "save": "1"}).status_code == 400
    app.refresh_from_db()
    assert app.data["address"] == "祥云县新街道8号"


def test_the_api_saves_a_draft_only_against_the_version_it_read(tree: dict, users: dict[str, Any]) -> None:
    unit = tree["xiangyun_g"]
    worker = Applicant.objects.create(phone="13912340002")
    app = services.application_create(actor=worker, unit_id=unit.pk, form=form_data(unit, 1))
    c = Client(headers={"Authorization": f"Bearer {otp.token_for(worker)}", "Accept-Language": "en"})
    path = f"/api/v1/applicant/applications/{app.pk}"

    def put(body: dict[str, Any]) -> Any:
        return c.generic("PUT", path, json.dumps(body), "application/json")

    changed = {**app.data, "address": "祥云县新街道8号"}
    # Without the version it read, a client would overwrite whatever was saved since.
    blind = put({"form": changed})
    assert blind.status_code == 422 and "expected_version" in json.dumps(blind.json())
    first = put({"form": changed, "expected_version": app.version})
    assert first.status_code == 200
    stale = put({"form": {**app.data, "cause_note": "病后失业"}, "expected_version": app.version})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "conflict"
    app.refresh_from_db()
    assert app.data["address"] == "祥云县新街道8号"
    # The answer gives what the client needs to compare without reading the draft again: the
    # version now, when and by whom it was saved, and the form as the GET gives it.
    details = stale.json()["error"]["details"]
    now = c.get(path).json()
    assert details["version"] == now["version"] == app.version and details["data"] == now["data"]
    assert details["data"]["address"] == "祥云县新街道8号" and details["state"] == "draft"
    assert app.form_saved_at is not None
    assert abs(datetime.fromisoformat(details["saved_at"]) - app.form_saved_at).total_seconds() < 0.001
    assert details["saved_by_worker"] and details["saved_by_you"] and details["saved_by"] == ""


def test_a_stale_counter_save_says_who_saved_the_draft_and_what(tree: dict, users: dict[str, Any]) -> None:
    """A colleague's save: named to staff, with the form as saved; the draft saved since is not
    read again by the client."""
    from django.utils import timezone

    from bangfu.intake.tests.helpers import staff_api
    from bangfu.org.models import Role
    from bangfu.testing.factories import user_with_role

    app = _counter_draft(tree, users)
    colleague = user_with_role(tree["xiangyun_g"], Role.GRASSROOTS_CADRE, "xiangyun_cadre_2")
    read = app.version
    before = timezone.now()
    services.application_save_draft(
        actor=colleague, application_id=app.pk, form={**app.data, "address": "别处"}, expected_version=read
    )
    c = staff_api(users["xiangyun_cadre"])
    path = f"/api/v1/applications/{app.pk}"
    stale = c.generic("PUT", path, json.dumps({"form": app.data, "expected_version": read}), "application/json")
    assert stale.status_code == 409
    details = stale.json()["error"]["details"]
    now = c.get(path).json()
    assert details["version"] == now["version"] == read + 1 and details["data"] == now["data"]
    assert details["data"]["address"] == "别处" and details["unit_id"] == app.unit_id
    assert details["saved_by"] == "xiangyun_cadre_2" and not details["saved_by_worker"]
    assert not details["saved_by_you"]
    saved_at = datetime.fromisoformat(details["saved_at"])
    assert before <= saved_at <= timezone.now()
    # The same person in another tab is told it was they.
    services.application_save_draft(
        actor=users["xiangyun_cadre"], application_id=app.pk, form={**app.data, "address": "祥云县新街道8号"}
    )
    again = c.generic("PUT", path, json.dumps({"form": app.data, "expected_version": read}), "application/json")
    assert again.json()["error"]["details"]["saved_by_you"]
    # The OpenAPI document describes it.
    from bangfu.api.api import api as ninja_api

    schema = ninja_api.get_openapi_schema()
    for put_path in ("/api/v1/applications/{application_id}", "/api/v1/applicant/applications/{application_id}"):
        responses = {str(code): answer for code, answer in schema["paths"][put_path]["put"]["responses"].items()}
        answer = responses["409"]["content"]["application/json"]["schema"]
        assert answer["$ref"].endswith("/DraftConflictOut")
    described = schema["components"]["schemas"]["DraftConflictDetails"]["properties"]
    assert {"version", "saved_at", "saved_by", "saved_by_worker", "saved_by_you", "data"} <= set(described)


# --- values wrong in themselves --------------------------------------------------------------------


def test_a_negative_or_impossible_figure_is_refused_at_the_save(tree: dict, users: dict[str, Any]) -> None:
    app = _counter_draft(tree, users)
    url = f"/applications/{app.pk}/"
    c = _cadre(users)
    form = application_form(c.get(url).content.decode())
    bad = {
        **form,
        "h-address": "祥云县新街道8号",
        "m-0-monthly_income": "-300",
        "e-0-kind": "medical",
        "e-0-amount_yearly": "-5000",
        "h-housing_area": "-3",
        "save": "1",
    }
    r = c.post(url, bad)
    page = r.content.decode()
    assert r.status_code == 400 and "Not saved: please correct the marked fields." in page
    assert page.count("Amounts cannot be negative.") == 2
    assert "The floor area must be between 0 and 5,000 m²." in page
    # Each error under its own box; what else was typed stays in the form.
    assert 'id="id_m-0-monthly_income_error"' in page and 'id="id_e-0-amount_yearly_error"' in page
    assert 'id="id_h-housing_area_error"' in page
    kept = application_form(page)
    assert kept["h-address"] == "祥云县新街道8号" and kept["m-0-monthly_income"] == "-300"
    before = app.version
    app.refresh_from_db()
    assert app.version == before and app.data["address"] != "祥云县新街道8号"
    # A mandatory field left empty is still a draft to save.
    assert c.post(url, {**form, "h-address": "", "h-main_cause": "", "save": "1"}).status_code == 302


@pytest.mark.parametrize(
    ("path", "value", "phrase"),
    [
        ("members.0.monthly_income", "-300", "Amounts cannot be negative."),
        ("rigid_expenses.0.amount_yearly", "-5000", "Amounts cannot be negative."),
        ("housing_area", "-3", "The floor area must be between 0 and 5,000 m²."),
        ("housing_area", "9000", "The floor area must be between 0 and 5,000 m²."),
        ("incomes.0.amount_yearly", "12.345", "Use at most two decimal places (yuan and fen)."),
        ("members.0.monthly_income", "abc", "number"),
    ],
)
def test_the_api_and_the_service_refuse_it_too(
    tree: dict, users: dict[str, Any], path: str, value: str, phrase: str
) -> None:
    app = _counter_draft(tree, users)
    form = json.loads(json.dumps(app.data))
    form.setdefault("rigid_expenses", [{"kind": "medical", "amount_yearly": "100"}])
    form.setdefault("incomes", [{"kind": "pension", "amount_yearly": "100"}])
    if not form["rigid_expenses"]:
        form["rigid_expenses"] = [{"kind": "medical", "amount_yearly": "100"}]
    if not form["incomes"]:
        form["incomes"] = [{"kind": "pension", "amount_yearly": "100"}]
    *parents, last = path.split(".")
    target: Any = form
    for p in parents:
        target = target[int(p)] if p.isdigit() else target[p]
    target[last] = value
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(users["xiangyun_cadre"])
    r = c.generic(
        "PUT", f"/api/v1/applications/{app.pk}", json.dumps({"form": form, "expected_version": app.version}),
        "application/json",
    )  # fmt: skip
    assert r.status_code == 422, r.content
    assert phrase in " ".join(r.json()["error"]["fields"][path])
    before = app.version
    app.refresh_from_db()
    assert app.version == before


def test_the_phone_refuses_it_at_the_save(tree: dict) -> None:
    unit = tree["xiangyun_g"]
    worker = Applicant.objects.create(phone="13912340003")
    app = services.application_create(actor=worker, unit_id=unit.pk, form=form_data(unit, 1))
    url = f"/apply/{app.pk}/"
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), worker)
    form = application_form(c.get(url).content.decode())
    r = c.post(url, {**form, "m-0-monthly_income": "-300", "save": "1"})
    assert r.status_code == 400 and "Amounts cannot be negative." in r.content.decode()
    before = app.version
    app.refresh_from_db()
    assert app.version == before


def test_no_identification_from_figures_that_cannot_be_right(tree: dict, users: dict[str, Any]) -> None:
    """A draft saved before such figures were refused: the page does not identify it from them."""
    app = _counter_draft(tree, users)
    assert selectors.application_decision(app) is not None
    data = json.loads(json.dumps(app.data))
    data["rigid_expenses"] = [{"kind": "medical", "amount_yearly": "-5000"}]
    Application.objects.filter(pk=app.pk).update(data=data)
    app.refresh_from_db()
    assert selectors.application_decision(app) is None
    page = _cadre(users).get(f"/applications/{app.pk}/").content.decode()
    assert 'id="decision-figures-wrong"' in page
    assert html.escape("Not enough data yet.") not in page


def test_the_differences_are_read_as_the_form_reads_them() -> None:
    from django.utils import translation

    from bangfu.intake.forms import differences

    with translation.override("en"):
        rows = differences(
            {"secondary_causes": ["1", "2"], "members": [{"relationship": "head", "name": "王华"}]},
            {"secondary_causes": ["3"], "members": [{"relationship": "spouse", "name": "王华"}]},
            kind="formal",
        )
    assert rows == [
        (
            "Secondary causes (up to three)",
            "No capacity to work, Able to work but not employed",
            "Laid off or unemployed",
        ),
        ("Member 1: Relationship", "Head of household", "Spouse"),
    ]


def test_a_draft_never_saved_since_it_was_made_is_saved_as_made(tree: dict, users: dict[str, Any]) -> None:
    """The drafts already there when the save came to be recorded: one at its first version was
    saved when and by whom it was made; the others' last save is not known."""
    import importlib

    from django.apps import apps

    made = _counter_draft(tree, users)
    saved = _counter_draft(tree, users)
    services.application_save_draft(
        actor=users["xiangyun_cadre"], application_id=saved.pk, form={**saved.data, "address": "别处"}
    )
    Application.objects.update(form_saved_at=None, form_saved_by=None)  # as before the columns
    migration = importlib.import_module("bangfu.intake.migrations.0017_application_form_saved")
    migration.drafts_as_made(apps, None)
    made.refresh_from_db()
    assert (made.form_saved_at, made.form_saved_by_id) == (made.created_at, users["xiangyun_cadre"].pk)
    assert Application.objects.filter(pk=saved.pk, form_saved_at=None, form_saved_by=None).exists()
