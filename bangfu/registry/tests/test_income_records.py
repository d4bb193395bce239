"""Monthly income follow-up (收入跟踪): the records, the service, the API and the household page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.test import Client
from django.utils import timezone

from bangfu.api.tests.conftest import Api
from bangfu.common.audit import audit_verify
from bangfu.common.errors import DomainError, ErrorCode, field_errors
from bangfu.common.models import AuditEntry
from bangfu.org.services import token_create
from bangfu.registry import income_records, selectors, services
from bangfu.registry.income_records import IncomeRecordInput, add_months, income_record_add
from bangfu.registry.models import Household, IncomeRecord, TimelineEvent
from bangfu.testing.factories import household_input

pytestmark = pytest.mark.django_db


def this_month() -> Any:
    return timezone.localdate().replace(day=1)


def months_ago(n: int) -> Any:
    return add_months(this_month(), -n)


@pytest.fixture
def xiangyun(tree: dict, users: dict[str, Any]) -> Household:
    return services.household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))


@pytest.fixture
def dalishi(tree: dict, users: dict[str, Any]) -> Household:
    return services.household_create(actor=users["dalishi_staff"], data=household_input(tree["dalishi_g"]))


def record(
    actor: Any, h: Household, month: Any, amount: str, *, members: int | None = None, **kw: Any
) -> income_records.Recorded:
    data = IncomeRecordInput(month=month, net_income=Decimal(amount), source="home_visit", members=members, **kw)
    return income_record_add(actor=actor, household_id=h.pk, data=data)


# --- validation ---------------------------------------------------------------------------------


def test_every_bad_field_is_named_at_once(xiangyun: Household, users: dict[str, Any]) -> None:
    bad = IncomeRecordInput(
        month=add_months(this_month(), 1), net_income=Decimal("-5"), source="rumour", members=21, note="x" * 201
    )
    with pytest.raises(ValidationError) as exc:
        income_record_add(actor=users["xiangyun_staff"], household_id=xiangyun.pk, data=bad)
    errors = field_errors(exc.value)
    assert set(errors) == {"month", "net_income", "members", "source", "note"}
    assert "is in the future" in errors["month"][0]
    assert errors["net_income"] == ["Amounts cannot be negative."]
    assert errors["members"] == ["A household has 1 to 20 members."]
    assert not IncomeRecord.objects.exists()
    assert Household.objects.get(pk=xiangyun.pk).version == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"month": None}, "month", "Enter the month as YYYY-MM."),
        ({"net_income": None}, "net_income", "Enter the household's net income that month."),
        ({"net_income": Decimal("10.005")}, "net_income", "Use at most two decimal places (yuan and fen)."),
        ({"net_income": Decimal("99999999")}, "net_income", "99999999 is implausibly large."),
        ({"members": 0}, "members", "A household has 1 to 20 members."),
        ({"source": ""}, "source", "Choose how the income was learnt."),
    ],
)
def test_one_bad_field(
    xiangyun: Household, users: dict[str, Any], changes: dict[str, Any], field: str, message: str
) -> None:
    fields = {"month": months_ago(1), "net_income": Decimal("3000"), "source": "phone_call", **changes}
    with pytest.raises(ValidationError) as exc:
        income_record_add(actor=users["xiangyun_staff"], household_id=xiangyun.pk, data=IncomeRecordInput(**fields))
    assert field_errors(exc.value) == {field: [message]}


def test_a_month_long_before_the_file_was_opened_is_refused(xiangyun: Household, users: dict[str, Any]) -> None:
    staff = users["xiangyun_staff"]
    record(staff, xiangyun, months_ago(12), "2000")  # the months the application was judged on
    with pytest.raises(ValidationError) as exc:
        record(staff, xiangyun, months_ago(13), "2000")
    [message] = field_errors(exc.value)["month"]
    assert "more than 12 months before the file was opened" in message
    assert f"the earliest month is {months_ago(12):%Y-%m}" in message


def test_the_database_refuses_what_the_service_would(xiangyun: Household) -> None:
    base = {"household": xiangyun, "source": "home_visit", "recorded_at": timezone.now(), "per_head": 0}
    IncomeRecord.objects.create(month=months_ago(1), net_income=0, members=1, **base)
    for bad in (
        {"month": months_ago(1), "net_income": 10, "members": 1},  # a second record of the month
        {"month": months_ago(2), "net_income": -1, "members": 1},
        {"month": months_ago(2), "net_income": 1, "members": 0},
        {"month": months_ago(2), "net_income": 1, "members": 21},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            IncomeRecord.objects.create(**bad, **base)


# --- the service --------------------------------------------------------------------------------


def test_recording_a_month(xiangyun: Household, users: dict[str, Any]) -> None:
    staff = users["xiangyun_staff"]
    done = record(staff, xiangyun, months_ago(1).replace(day=17), "3000.50", note=" 回访 ")
    r = IncomeRecord.objects.get()
    assert done.replaced is None and done.record.pk == r.pk
    assert (r.month, r.net_income, r.members, r.per_head, r.note) == (
        months_ago(1),  # stored as the first day of the month
        Decimal("3000.50"),
        3,  # by default the members living together
        Decimal("1000.17"),
        "回访",
    )
    assert r.recorded_by == staff
    # A new version of the file: a decision read from the version before is out of date.
    assert Household.objects.get(pk=xiangyun.pk).version == 2
    event = TimelineEvent.objects.filter(household=xiangyun, kind="income_recorded").get()
    assert event.summary == f"{months_ago(1):%Y-%m} · 3000.50 / 3 = 1000.17"
    assert event.actor == staff
    entry = AuditEntry.objects.filter(target_type="income_record").get()
    assert entry.after is not None
    assert (entry.action, entry.target_id, entry.after["per_head"]) == ("create", str(r.pk), "1000.17")
    assert audit_verify() is None


def test_a_recorded_month_is_refused_unless_replaced(xiangyun: Household, users: dict[str, Any]) -> None:
    staff = users["xiangyun_staff"]
    record(staff, xiangyun, months_ago(2), "2400")
    with pytest.raises(DomainError) as exc:
        record(staff, xiangyun, months_ago(2), "3600", members=2)
    assert exc.value.code == ErrorCode.CONFLICT
    assert f"{months_ago(2):%Y-%m} already has a record: 2400.00 yuan for 3 member(s)" in exc.value.message
    assert exc.value.details["existing"]["net_income"] == "2400.00"
    assert IncomeRecord.objects.get().net_income == Decimal("2400.00")

    done = record(staff, xiangyun, months_ago(2), "3600", members=2, replace=True)
    r = IncomeRecord.objects.get()
    assert (r.pk, r.net_income, r.members, r.per_head) == (done.record.pk, Decimal("3600.00"), 2, Decimal("1800.00"))
    assert done.replaced is not None and done.replaced["net_income"] == "2400.00"
    # The replaced figures stay on the timeline and in the audit log.
    latest = TimelineEvent.objects.filter(kind="income_recorded").order_by("-id").first()
    assert latest is not None and latest.data["replaced"]["members"] == "3"
    assert latest.summary.endswith("(← 2400.00 / 3)")
    update = AuditEntry.objects.filter(target_type="income_record", action="update").get()
    assert update.before is not None and update.before["net_income"] == "2400.00"
    assert Household.objects.get(pk=xiangyun.pk).version == 3


def test_another_countys_household_is_not_found(xiangyun: Household, dalishi: Household, users: dict[str, Any]) -> None:
    with pytest.raises(Http404):
        record(users["xiangyun_staff"], dalishi, months_ago(1), "1000")
    with pytest.raises(Http404):
        record(users["xiangyun_staff"], Household(pk=987654), months_ago(1), "1000")
    with pytest.raises(Http404):
        selectors.income_record_list(actor=users["xiangyun_staff"], household_id=dalishi.pk)
    # The province's manager sees every county's records but may not write them.
    record(users["dalishi_staff"], dalishi, months_ago(1), "1000")
    assert selectors.income_record_list(actor=users["province_manager"], household_id=dalishi.pk).count() == 1
    with pytest.raises(PermissionDenied):
        record(users["province_manager"], dalishi, months_ago(2), "1000")
    assert IncomeRecord.objects.count() == 1


def test_the_list_is_newest_first(xiangyun: Household, users: dict[str, Any]) -> None:
    for n, amount in [(3, "900"), (1, "1500"), (2, "1200")]:
        record(users["xiangyun_cadre"], xiangyun, months_ago(n), amount)
    rows = selectors.income_record_list(actor=users["evaluator"], household_id=xiangyun.pk)
    assert [r.month for r in rows] == [months_ago(1), months_ago(2), months_ago(3)]
    assert len(selectors.income_record_list(actor=users["evaluator"], household_id=xiangyun.pk, limit=2)) == 2


# --- the API ------------------------------------------------------------------------------------


def api_as(user: Any) -> Api:
    return Api(token_create(actor=user, user=user, name="tests"))


def test_api_records_lists_and_corrects(xiangyun: Household, users: dict[str, Any]) -> None:
    api = api_as(users["xiangyun_staff"])
    url = f"/households/{xiangyun.pk}/income-records"
    month = f"{months_ago(1):%Y-%m}"
    created = api.post(url, {"month": month, "net_income": 3000, "source": "phone_call", "note": "回访"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert {k: body[k] for k in ("month", "net_income", "members", "per_head", "source", "recorded_by")} == {
        "month": month,
        "net_income": "3000.00",
        "members": 3,
        "per_head": "1000.00",
        "source": "phone_call",
        "recorded_by": "xiangyun_staff",
    }
    assert body["replaced"] is None

    again = api.post(url, {"month": month, "net_income": "2400", "source": "home_visit"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    assert again.json()["error"]["details"]["existing"]["net_income"] == "3000.00"

    fixed = api.post(url, {"month": month + "-15", "net_income": "2400", "source": "home_visit", "replace": True})
    assert fixed.status_code == 200, fixed.content
    assert fixed.json()["replaced"]["net_income"] == "3000.00"
    assert fixed.json()["per_head"] == "800.00"

    listed = api_as(users["evaluator"]).get(url)
    assert listed.status_code == 200
    assert [(r["month"], r["net_income"]) for r in listed.json()] == [(month, "2400.00")]


def test_api_names_each_bad_field(xiangyun: Household, users: dict[str, Any]) -> None:
    api = api_as(users["xiangyun_staff"])
    url = f"/households/{xiangyun.pk}/income-records"
    response = api.post(url, {"month": "last month", "net_income": "-1", "members": 30, "source": "gossip"})
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert fields == {
        "month": ["Enter the month as YYYY-MM."],
        "net_income": ["Amounts cannot be negative."],
        "members": ["A household has 1 to 20 members."],
        "source": ["“gossip” is not one of the allowed values."],
    }
    typed = api.post(url, {"month": "2026-01", "net_income": "lots", "source": "phone_call"})
    assert typed.status_code == 422 and typed.json()["error"]["fields"]["net_income"] == ["Enter a number."]
    assert not IncomeRecord.objects.exists()


def test_api_may_not_write_without_edit_permission(xiangyun: Household, users: dict[str, Any]) -> None:
    response = api_as(users["evaluator"]).post(
        f"/households/{xiangyun.pk}/income-records",
        {"month": f"{months_ago(1):%Y-%m}", "net_income": "1", "source": "phone_call"},
    )
    assert response.status_code == 403
    assert not IncomeRecord.objects.exists()


# --- the household page -------------------------------------------------------------------------


def client_for(user: Any) -> Client:
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(user)
    return c


def _section(html: str) -> str:
    return html.split('id="income-followup"', 1)[1].split("</section>", 1)[0]


def test_the_page_lists_twelve_months_with_the_gaps(xiangyun: Household, users: dict[str, Any]) -> None:
    record(users["xiangyun_staff"], xiangyun, months_ago(1), "3000")
    record(users["xiangyun_staff"], xiangyun, months_ago(3), "1500", members=2)
    record(users["xiangyun_staff"], xiangyun, months_ago(12), "999")  # older than the twelve months shown
    html = client_for(users["xiangyun_cadre"]).get(f"/households/{xiangyun.pk}/").content.decode()
    section = _section(html)
    assert "Monthly income follow-up" in section
    assert section.count('data-month="') == 12
    assert section.count("data-missing") == 10
    assert f'data-month="{months_ago(1):%Y-%m}"' in section and "1,000.00" in section
    assert "750.00" in section  # 1,500 shared by two
    assert f'data-month="{months_ago(12):%Y-%m}"' not in section
    assert 'name="net_income"' in section  # a cadre of the union may record


def test_readers_see_the_months_but_no_form(xiangyun: Household, users: dict[str, Any]) -> None:
    html = client_for(users["evaluator"]).get(f"/households/{xiangyun.pk}/").content.decode()
    section = _section(html)
    assert "Not recorded" in section and 'name="net_income"' not in section


def test_the_form_records_a_month(xiangyun: Household, users: dict[str, Any]) -> None:
    c = client_for(users["xiangyun_cadre"])
    url = f"/households/{xiangyun.pk}/income-records/"
    month = f"{months_ago(1):%Y-%m}"
    response = c.post(url, {"month": month, "net_income": "3，000.00", "members": "3", "source": "home_visit"})
    assert response.status_code == 302
    assert response["Location"] == f"/households/{xiangyun.pk}/#income-followup"
    assert IncomeRecord.objects.get().per_head == Decimal("1000.00")
    page = c.get(response["Location"]).content.decode()
    assert f"The income of {month} was recorded." in page

    # The same month again: the conflict is shown under the month with the choice to replace.
    again = c.post(url, {"month": month, "net_income": "2400", "source": "phone_call"}, headers={"HX-Request": "true"})
    assert again.status_code == 200
    section = again.content.decode()
    assert "already has a record: 3000.00 yuan" in section
    assert 'name="replace"' in section
    fixed = c.post(
        url,
        {"month": month, "net_income": "2400", "source": "phone_call", "replace": "on"},
        headers={"HX-Request": "true"},
    )
    assert f"The income of {month} was corrected." in fixed.content.decode()
    assert "800.00" in _section(fixed.content.decode())
    assert IncomeRecord.objects.get().net_income == Decimal("2400.00")


def test_the_form_shows_each_error_under_its_field(xiangyun: Household, users: dict[str, Any]) -> None:
    c = client_for(users["xiangyun_cadre"])
    future = f"{add_months(this_month(), 2):%Y-%m}"
    response = c.post(
        f"/households/{xiangyun.pk}/income-records/", {"month": future, "net_income": "abc", "source": ""}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert f"{future} is in the future." in html
    assert "Enter a number." in html
    assert not IncomeRecord.objects.exists()
    response = c.post(
        f"/households/{xiangyun.pk}/income-records/", {"month": future, "net_income": "100", "source": ""}
    )
    html = response.content.decode()
    assert "Choose how the income was learnt." in html and f"{future} is in the future." in html
    comma = c.post(f"/households/{xiangyun.pk}/income-records/", {"month": future, "net_income": "1,20", "source": ""})
    html = comma.content.decode()
    assert "“1,20”: write decimals with a point, and a comma only between thousands" in html
    assert "Enter a number." not in html and f"{future} is in the future." in html


def test_the_form_of_another_county_is_not_found(dalishi: Household, users: dict[str, Any]) -> None:
    c = client_for(users["xiangyun_staff"])
    data = {"month": f"{months_ago(1):%Y-%m}", "net_income": "100", "source": "phone_call"}
    assert c.post(f"/households/{dalishi.pk}/income-records/", data).status_code == 404
    assert client_for(users["evaluator"]).post(f"/households/{dalishi.pk}/income-records/", data).status_code == 403
    assert not IncomeRecord.objects.exists()


def test_the_page_works_whether_or_not_the_form_is_wired(xiangyun: Household, users: dict[str, Any]) -> None:
    """Under the site's own URLs the section shows (with the form once its address is there)."""
    response = client_for(users["xiangyun_cadre"]).get(f"/households/{xiangyun.pk}/")
    assert response.status_code == 200
    assert "Monthly income follow-up" in response.content.decode()


# --- the seed -----------------------------------------------------------------------------------


def test_the_seed_follows_up_a_share_of_open_files() -> None:
    from bangfu.seed.run import seed_run

    seed_run(households=600, random_seed=5)
    followed = set(IncomeRecord.objects.values_list("household_id", flat=True))
    open_files = set(
        Household.objects.filter(state__in=["active", "temporary", "relieved"]).values_list("id", flat=True)
    )
    assert followed <= open_files
    assert 0.05 * len(open_files) < len(followed) < 0.16 * len(open_files)
    last = add_months(this_month(), -1)
    for hid in list(followed)[:20]:
        months = sorted(IncomeRecord.objects.filter(household_id=hid).values_list("month", flat=True))
        assert 6 <= len(months) <= 12 and months[-1] <= last
    for r in IncomeRecord.objects.all()[:200]:
        assert r.per_head == income_records.per_head(r.net_income, r.members)


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("1,800元", Decimal(1800)), ("¥1800.50", Decimal("1800.50")), ("１８００ 元", Decimal(1800)), ("", None)],
)
def test_an_amount_is_read_as_people_type_it(typed: str, amount: Decimal | None) -> None:
    from bangfu.registry.income_records import parse_amount

    assert parse_amount(typed) == amount
    assert parse_amount("1800元x").is_nan()  # type: ignore[union-attr]


def test_the_form_names_every_problem_with_a_value_it_could_not_read(
    xiangyun: Household, users: dict[str, Any]
) -> None:
    """Members "2.5" gave "Enter a whole number." alone: the month "abc" and the missing source
    were told one submit later."""
    c = client_for(users["xiangyun_cadre"])
    url = f"/households/{xiangyun.pk}/income-records/"
    html = c.post(url, {"month": "abc", "net_income": "100", "members": "2.5", "source": ""}).content.decode()
    assert "Enter a whole number." in html
    assert "Enter the month as YYYY-MM." in html
    assert "Choose how the income was learnt." in html
    assert not IncomeRecord.objects.exists()
    # The same through htmx, each under its own field.
    live = c.post(url, {"month": "abc", "members": "2.5"}, headers={"HX-Request": "true"}).content.decode()
    assert "net income that month." in live and "Enter the month as YYYY-MM." in live
