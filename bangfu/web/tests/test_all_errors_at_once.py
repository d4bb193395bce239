"""One submit of the file form names every problem the checks can find: the values the form could
not read (a negative amount, a year with a letter) came alone, and the service's checks of the
rest (a check digit, a phone, a future date, a person already on another file) only on the next
submit, once those were put right."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from bangfu.common import crypto
from bangfu.registry.models import Household

from .formdata import form_data
from .test_pages import _fill_new


def client_for(user: Any) -> Client:
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(user)
    return c


def field_block(html: str, field_id: str) -> str:
    """What is said under the field (its ``…_error`` block; empty when nothing is)."""
    start = html.find(f'id="{field_id}_error">')
    return "" if start < 0 else html[start : html.index("</div></div>", start)]


def test_the_new_file_form_says_the_services_errors_beside_its_own(
    tree: dict, users: dict[str, Any], xiangyun_household: Household
) -> None:
    c = client_for(users["xiangyun_staff"])
    on_file = xiangyun_household.members.get(relationship="head")
    data = form_data(c.get(reverse("web:household_create")).content.decode())
    _fill_new(data, tree["xiangyun_g"], crypto.decrypt(on_file.id_cipher), "53292319740802002X")  # bad check digit
    data.update(
        {
            # What the form reads but the checks refuse.
            "head-phone": ["12345"],
            "household-housing_area": ["-5"],
            "household-secondary_causes": ["1", "2", "3", "10"],
            "household-cause_note": [""],
            "bank-card_number": ["1234"],
            "household-filed_on": ["2099-01-01"],
            # What the form cannot read.
            "incomes-0-amount_yearly": ["-100"],
            "members-0-enrolment_year": ["20x4"],
            "household-accident_costs_yearly": ["abc"],
            "homes-TOTAL_FORMS": ["1"],
            "homes-0-floor_area": ["12,5"],
            "homes-0-acquired_on": ["2099-05-01"],
        }
    )
    response = c.post(reverse("web:household_create"), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert Household.objects.count() == 1  # only the file that was there

    # The form's own.
    assert "Ensure this value is greater than or equal to 0." in field_block(html, "id_incomes-0-amount_yearly")
    assert "Enter a whole number." in field_block(html, "id_members-0-enrolment_year")
    assert "Enter a number." in field_block(html, "id_household-accident_costs_yearly")
    assert "Enter a number." in field_block(html, "id_homes-0-floor_area")
    # The service's, in the same submit.
    assert "check digit" in field_block(html, "id_members-0-id_number")
    assert "A phone number has 7 to 12 digits" in field_block(html, "id_head-phone")
    assert "between 0 and 5,000" in field_block(html, "id_household-housing_area")
    assert "Choose at most three secondary causes (4 chosen)." in html
    assert "Describe the “other” cause." in field_block(html, "id_household-cause_note")
    assert "A bank card number has 12 to 19 digits." in field_block(html, "id_bank-card_number")
    assert "The date is in the future." in field_block(html, "id_household-filed_on")
    assert "The date is in the future." in field_block(html, "id_homes-0-acquired_on")
    assert f"already on the open file {xiangyun_household.file_number}" in field_block(html, "id_head-id_number")
    # A value the form could not read is not also said to be missing.
    assert "This field is required." not in field_block(html, "id_incomes-0-amount_yearly")
    assert "This field is required." not in field_block(html, "id_household-accident_costs_yearly")


def test_the_edit_form_says_the_services_errors_beside_its_own(
    xiangyun_household: Household, users: dict[str, Any]
) -> None:
    c = client_for(users["xiangyun_staff"])
    url = reverse("web:household_edit", args=[xiangyun_household.pk])
    data = form_data(c.get(url).content.decode())
    data["household-address"] = [""]
    data["members-0-phone"] = ["12"]
    data["household-filed_on"] = ["5.3.2024"]  # not a date the form reads
    data["incomes-0-kind"] = ["pension"]
    data["incomes-0-amount_yearly"] = ["-1"]
    response = c.post(url, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a valid date." in field_block(html, "id_household-filed_on")
    assert "Ensure this value is greater than or equal to 0." in field_block(html, "id_incomes-0-amount_yearly")
    assert "Enter the address." in field_block(html, "id_household-address")
    assert "A phone number has 7 to 12 digits" in field_block(html, "id_members-0-phone")
    xiangyun_household.refresh_from_db()
    assert xiangyun_household.version == 1 and xiangyun_household.address


def test_a_change_of_state_the_edit_may_not_make_is_said_with_the_other_errors(
    xiangyun_household: Household, users: dict[str, Any]
) -> None:
    c = client_for(users["xiangyun_staff"])
    url = reverse("web:household_edit", args=[xiangyun_household.pk])
    data = form_data(c.get(url).content.decode())
    data["household-state"] = ["removed"]
    data["household-address"] = [""]
    html = c.post(url, data).content.decode()
    assert "Enter the address." in field_block(html, "id_household-address")
    assert "A file is removed from its removal proposal" in field_block(html, "id_household-state")
    data["incomes-0-amount_yearly"] = ["-1"]  # and with a value the form cannot read
    html = c.post(url, data).content.decode()
    assert "A file is removed from its removal proposal" in field_block(html, "id_household-state")
    xiangyun_household.refresh_from_db()
    assert xiangyun_household.state == "active" and xiangyun_household.version == 1
