from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from bangfu.common import crypto
from bangfu.common.models import AuditEntry
from bangfu.registry import services
from bangfu.registry.models import BankAccount, Household, Member
from bangfu.testing.factories import household_input, new_id

from .conftest import as_json


def _plain_ids(h: Household) -> list[str]:
    return [crypto.decrypt(m.id_cipher) for m in h.members.all()]


def _service_errors(actor: Any, data: Any) -> dict[str, list[str]]:
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        services.household_create(actor=actor, data=data)
    return exc.value.message_dict


def test_create_returns_the_file_without_plain_id_numbers(api_as: Any, tree: dict) -> None:
    data = household_input(tree["xiangyun_g"])
    body = as_json(data)
    body["members"][0]["monthly_income"] = 800.1  # a JSON number: read exactly, no float rounding
    response = api_as("xiangyun_staff").post("/households", body)
    assert response.status_code == 201, response.content
    out = response.json()
    h = Household.objects.get(pk=out["id"])
    assert out["file_number"] == h.file_number and out["version"] == 1
    assert out["unit"]["name"] == "祥云县纺织厂工会"
    assert [m["name"] for m in out["members"]] == ["张建国", "李秀英", "张小明"]
    assert h.members.get(relationship="head").monthly_income == Decimal("800.10")
    assert out["members"][0]["monthly_income"] == "800.10"
    assert out["economy"]["net_income_per_head_monthly"] == str(h.net_income_per_head_monthly)
    assert out["bank_account"]["card_masked"] == h.bank_account.card_masked
    # Newest first: the file opened, then identified at once.
    assert [e["kind"] for e in out["timeline"][:2]] == ["eligibility_decided", "file_created"]
    text = response.content.decode()
    for plain in [*_plain_ids(h), "6222021234567890123"]:
        assert plain not in text
    for m in out["members"]:
        assert "*" in m["id_masked"] and "id_number" not in m


def test_get_returns_the_same_file(api_as: Any, xiangyun_file: Household) -> None:
    out = api_as("xiangyun_staff").get(f"/households/{xiangyun_file.pk}").json()
    assert out["file_number"] == xiangyun_file.file_number
    assert out["incomes"][0] | {"id": 0} == {"id": 0, "kind": "pension", "amount_yearly": "2400.00", "note": ""}
    assert out["rigid_expenses"][0]["amount_yearly"] == "18000.00"
    for plain in _plain_ids(xiangyun_file):
        assert plain not in json.dumps(out)


def _bad_checksum(data: Any) -> str:
    good = data.members[1].id_number
    wrong = "0" if good[-1] != "0" else "1"
    data.members[1].id_number = good[:-1] + wrong
    return good[-1]


BAD_INPUTS = [
    # (name, change the input, the field path named, a phrase the message must contain)
    ("checksum", lambda d: f"should be {_bad_checksum(d)}", "members.1.id_number", None),
    ("secondary_causes", lambda d: setattr(d, "secondary_causes", [1, 2, 3, 4]), "secondary_causes", "(4 chosen)"),
    (
        "negative_income",
        lambda d: setattr(d.members[0], "monthly_income", Decimal("-5")),
        "members.0.monthly_income",
        "negative",
    ),
    (
        "negative_yearly",
        lambda d: setattr(d.incomes[0], "amount_yearly", Decimal("-1.00")),
        "incomes.0.amount_yearly",
        "negative",
    ),
    (
        "too_old",
        lambda d: setattr(d.members[2], "id_number", new_id("532923", date(1901, 1, 1))),
        "members.2.birth_date",
        "not plausible",
    ),
    ("forty_members", lambda d: setattr(d, "members", [d.members[0]] * 40), "members", "40 members"),
    # Taken before: the file was not found by searching 李四, and the exports showed '-李四.
    ("leading_hyphen", lambda d: setattr(d.members[1], "name", "-李四"), "members.1.name", "starts with a letter"),
]


@pytest.mark.parametrize(("name", "change", "path", "phrase"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_422_with_the_services_message_and_saves_nothing(
    api_as: Any, tree: dict, users: dict[str, Any], name: str, change: Any, path: str, phrase: str | None
) -> None:
    data = household_input(tree["xiangyun_g"])
    result = change(data)
    phrase = phrase or result
    response = api_as("xiangyun_staff").post("/households", as_json(data))
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert path in error["fields"], error
    assert any(phrase in m for m in error["fields"][path]), error["fields"][path]
    assert Household.objects.count() == 0 and Member.objects.count() == 0
    assert error["fields"] == _service_errors(users["xiangyun_staff"], data)


def test_missing_mandatory_fields_are_named_like_the_service_names_them(
    api_as: Any, tree: dict, users: dict[str, Any]
) -> None:
    data = household_input(tree["xiangyun_g"])
    body = as_json(data)
    for key in ("address", "main_cause", "category", "unit_id"):
        del body[key]
    del body["members"][1]["name"]
    response = api_as("xiangyun_staff").post("/households", body)
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert {"address", "main_cause", "category", "unit_id", "members.1.name"} <= set(fields)
    data.address, data.main_cause, data.category, data.unit_id = "", None, "", None
    data.members[1].name = ""
    assert fields == _service_errors(users["xiangyun_staff"], data)
    assert Household.objects.count() == 0


def test_person_on_another_open_file_names_it_masked(
    api_as: Any, tree: dict, users: dict[str, Any], dalishi_file: Household
) -> None:
    data = household_input(tree["xiangyun_g"])
    spouse = dalishi_file.members.get(relationship="spouse")
    data.members[1].id_number = crypto.decrypt(spouse.id_cipher)
    response = api_as("xiangyun_staff").post("/households", as_json(data))
    assert response.status_code == 422
    [message] = response.json()["error"]["fields"]["members.1.id_number"]
    assert crypto.mask_middle(dalishi_file.file_number, 6, 4) in message
    assert dalishi_file.file_number not in message
    assert Household.objects.count() == 1
    assert response.json()["error"]["fields"] == _service_errors(users["xiangyun_staff"], data)


def test_wrong_types_are_422_with_dotted_paths(api_as: Any, tree: dict) -> None:
    body = as_json(household_input(tree["xiangyun_g"]))
    body["members"][0]["monthly_income"] = "eight hundred"
    body["members"][1]["birth_date"] = "1974-13-40"
    body["secondary_causes"] = ["three"]
    body["homes"] = [{"note": "no area"}]
    body["adress"] = "misspelt"
    response = api_as("xiangyun_staff").post("/households", body)
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {
        "members.0.monthly_income": ["Enter a number."],
        "members.1.birth_date": ["Enter a date as YYYY-MM-DD."],
        "secondary_causes.0": ["Enter a whole number."],
        "homes.0.floor_area": ["This field is required."],
        "adress": ["This field is not part of the request; check its spelling."],
    }
    assert Household.objects.count() == 0


def test_messages_follow_accept_language(api_as: Any, tree: dict) -> None:
    body = as_json(household_input(tree["xiangyun_g"]))
    body["homes"] = [{}]
    english = api_as("xiangyun_staff", "en").post("/households", body).json()["error"]
    chinese = api_as("xiangyun_staff", "zh-hans").post("/households", body).json()["error"]
    assert english["fields"]["homes.0.floor_area"] == ["This field is required."]
    assert chinese["fields"]["homes.0.floor_area"] != english["fields"]["homes.0.floor_area"]


def test_unreadable_body_is_400(api_as: Any) -> None:
    api = api_as("xiangyun_staff")
    response = api.client.post(
        "/api/v1/households", data="{not json", content_type="application/json", headers=api.headers
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_update_with_the_current_version_saves_and_bumps_it(api_as: Any, tree: dict, xiangyun_file: Household) -> None:
    api = api_as("xiangyun_staff")
    data = household_input(tree["xiangyun_g"])
    for m, plain in zip(data.members, _plain_ids(xiangyun_file), strict=True):
        m.id_number = plain
    data.address = "祥云县祥城镇新华路1号"
    response = api.put(f"/households/{xiangyun_file.pk}", as_json(data, version=1))
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2 and response.json()["address"] == "祥云县祥城镇新华路1号"
    assert [e["kind"] for e in response.json()["timeline"][:2]] == ["eligibility_decided", "file_updated"]


def test_update_from_what_get_returned_keeps_the_stored_ids(api_as: Any, xiangyun_file: Household) -> None:
    """A client edits what GET gave it (masked IDs plus member ids) without revealing anything."""
    api = api_as("xiangyun_staff")
    body = api.get(f"/households/{xiangyun_file.pk}").json()
    members = [
        {k: v for k, v in m.items() if k not in {"id", "position", "id_masked"}}
        | {"member_id": m["id"], "id_number": m["id_masked"]}
        for m in body["members"]
    ]
    members[0]["monthly_income"] = "950.00"
    data = as_json(household_input(xiangyun_file.unit), version=body["version"])
    data["members"] = members
    response = api.put(f"/households/{xiangyun_file.pk}", data)
    assert response.status_code == 200, response.content
    assert [m["id_masked"] for m in response.json()["members"]] == [m["id_masked"] for m in body["members"]]
    assert response.json()["members"][0]["monthly_income"] == "950.00"
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_update_keeps_the_stored_bank_card_unless_told_otherwise(api_as: Any, xiangyun_file: Household) -> None:
    """The card as GET shows it (masked) or blank keeps the stored number; the account left out
    stays; ``null`` removes it. Before, the masked card was refused and a left-out account deleted."""
    api = api_as("xiangyun_staff")
    stored = crypto.decrypt(xiangyun_file.bank_account.card_cipher)
    masked = xiangyun_file.bank_account.card_masked

    def put(**account: Any) -> Any:
        body = api.get(f"/households/{xiangyun_file.pk}").json()
        data = as_json(household_input(xiangyun_file.unit), version=body["version"])
        data["members"] = [
            {k: v for k, v in m.items() if k not in {"id", "position", "id_masked"}}
            | {"member_id": m["id"], "id_number": m["id_masked"]}
            for m in body["members"]
        ]
        data.pop("bank_account", None)
        data.update(account)
        response = api.put(f"/households/{xiangyun_file.pk}", data)
        assert response.status_code == 200, response.content
        return BankAccount.objects.filter(household=xiangyun_file).first()

    for card in (masked, "", " "):
        account = put(bank_account={"bank": "中国农业银行", "holder_name": "张建国", "card_number": card})
        assert account is not None and crypto.decrypt(account.card_cipher) == stored and account.bank == "中国农业银行"
    account = put()  # left out
    assert account is not None and crypto.decrypt(account.card_cipher) == stored
    assert put(bank_account=None) is None
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_update_with_a_stale_version_is_409_and_changes_nothing(
    api_as: Any, tree: dict, xiangyun_file: Household
) -> None:
    data = household_input(tree["xiangyun_g"])
    for m, plain in zip(data.members, _plain_ids(xiangyun_file), strict=True):
        m.id_number = plain
    data.address = "somewhere else"
    Household.objects.filter(pk=xiangyun_file.pk).update(version=2)  # someone saved meanwhile
    response = api_as("xiangyun_staff").put(f"/households/{xiangyun_file.pk}", as_json(data, version=1))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict" and error["details"] == {"version": 2}
    xiangyun_file.refresh_from_db()
    assert xiangyun_file.address != "somewhere else"


def test_update_needs_a_version(api_as: Any, tree: dict, xiangyun_file: Household) -> None:
    response = api_as("xiangyun_staff").put(
        f"/households/{xiangyun_file.pk}", as_json(household_input(tree["xiangyun_g"]))
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"version": ["This field is required."]}


def test_reveal_id_returns_the_number_and_is_audited(api_as: Any, xiangyun_file: Household) -> None:
    head = xiangyun_file.members.get(relationship="head")
    response = api_as("xiangyun_staff").post(
        f"/households/{xiangyun_file.pk}/members/{head.pk}/reveal-id", {"reason": "bank form"}
    )
    assert response.status_code == 200
    assert response.json() == {"id_number": crypto.decrypt(head.id_cipher)}
    entry = AuditEntry.objects.get(action="reveal", target_type="member.id_number")
    assert entry.target_id == str(head.pk) and entry.note == "bank form"


def test_reveal_bank_card_returns_the_number_and_is_audited(api_as: Any, xiangyun_file: Household) -> None:
    response = api_as("xiangyun_staff").post(f"/households/{xiangyun_file.pk}/reveal-bank-card")
    assert response.status_code == 200
    assert response.json() == {"card_number": "6222021234567890123"}
    assert AuditEntry.objects.filter(action="reveal", target_type="bank_account.card_number").count() == 1


def test_reveal_without_the_permission_is_403_and_not_audited(api_as: Any, xiangyun_file: Household) -> None:
    head = xiangyun_file.members.get(relationship="head")
    cadre = api_as("xiangyun_cadre")  # may edit files, may not reveal numbers
    for response in (
        cadre.post(f"/households/{xiangyun_file.pk}/members/{head.pk}/reveal-id"),
        cadre.post(f"/households/{xiangyun_file.pk}/reveal-bank-card"),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_reveal_id_through_another_files_path_is_404(
    api_as: Any, tree: dict, users: dict[str, Any], xiangyun_file: Household
) -> None:
    other = services.household_create(actor=users["xiangyun_cadre"], data=household_input(tree["xiangyun_g"]))
    head = xiangyun_file.members.get(relationship="head")
    response = api_as("xiangyun_staff").post(f"/households/{other.pk}/members/{head.pk}/reveal-id")
    assert response.status_code == 404
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_an_unexpected_failure_still_answers_in_the_error_shape(
    api_as: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("database on fire")

    monkeypatch.setattr("bangfu.registry.selectors.household_list", broken)
    response = api_as("xiangyun_staff").get("/households")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert "database on fire" not in response.content.decode()
    assert "database on fire" in caplog.text


def test_the_file_shows_its_identification_beside_the_category_it_was_approved_with(
    api_as: Any, xiangyun_file: Household
) -> None:
    from bangfu.registry.codes import HardshipCategory

    api = api_as("xiangyun_staff")
    assert api.post(f"/eligibility/households/{xiangyun_file.pk}/decision", {}).status_code in (200, 201)
    ident = api.get(f"/households/{xiangyun_file.pk}").json()["identification"]
    assert set(ident) >= {"category", "effective_category", "decided_at", "agrees_with_file"}
    other = next(c for c in HardshipCategory.values if c != ident["effective_category"])
    Household.objects.filter(pk=xiangyun_file.pk).update(category=other)
    out = api.get(f"/households/{xiangyun_file.pk}").json()
    assert out["category"] == other and out["identification"]["agrees_with_file"] is False
    Household.objects.filter(pk=xiangyun_file.pk).update(category=ident["effective_category"])
    if ident["effective_category"] in HardshipCategory.values:
        assert api.get(f"/households/{xiangyun_file.pk}").json()["identification"]["agrees_with_file"] is True
    schema = api.get("/openapi.json").json()["components"]["schemas"]["HouseholdDetailOut"]["properties"]
    assert "identification" in schema["category"]["description"]
