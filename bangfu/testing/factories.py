"""Test data builders shared by every app's tests: a small real union tree, users per role, and
valid household inputs with IDs built for their birthplace and birth year."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth import get_user_model

from bangfu.common.ids import build_resident_id
from bangfu.org.models import OrgKind, OrgLevel, OrgUnit, RoleAssignment
from bangfu.org.services import org_unit_create
from bangfu.registry.inputs import AmountInput, BankAccountInput, HouseholdInput, MemberInput

_seq = itertools.count(1)


# The password of every user the factories make (the browser tests sign in with it).
PASSWORD = "pw-for-tests-123"  # noqa: S105 - a test fixture's


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password(PASSWORD)


def user_with_role(unit: OrgUnit, role: str, username: str | None = None) -> Any:
    user: Any = UserFactory(username=username or f"{role}-{unit.code}-{next(_seq)}")
    RoleAssignment.objects.create(user=user, unit=unit, role=role)
    return user


def new_id(region: str = "532923", born: date = date(1975, 5, 17), female: bool = False) -> str:
    """A fresh valid ID number (unique per call within a test run)."""
    n = next(_seq)
    return build_resident_id(region, born.replace(day=1 + n % 28), n % 100, female)


def pdf_file(*extra: bytes, catalog: bytes = b"", filler: int = 0) -> bytes:
    """A small, well-formed PDF (a cross-reference table the last ``startxref`` points at): a
    catalog with ``catalog`` added to its dictionary, one page, the objects ``extra`` (numbered
    from 4), and ``filler`` spaces before the table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        *extra,
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    out += b" " * filler
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, table)
    return bytes(out)


def household_input(unit: OrgUnit, *, members: int = 3, **overrides: Any) -> HouseholdInput:
    region = unit.division_code if unit.division_code[2:] != "0000" else "532923"
    people = [
        MemberInput(
            relationship="head",
            name="张建国",
            id_number=new_id(region, date(1972, 3, 9)),
            ethnicity="01",
            health="malignant_tumour",
            work_status="laid_off",
            identity="unemployed",
            monthly_income=Decimal("800.00"),
            marital="married",
            hukou="non_agricultural",
            employer="祥云县纺织厂",
            employer_type="state_owned",
            enterprise_state="closed",
        ),
        MemberInput(
            relationship="spouse",
            name="李秀英",
            id_number=new_id(region, date(1974, 8, 2), female=True),
            ethnicity="07",
            identity="working",
            work_status="employed",
            monthly_income=Decimal("1200.00"),
        ),
        MemberInput(
            relationship="son",
            name="张小明",
            id_number=new_id(region, date(2006, 1, 20)),
            ethnicity="01",
            identity="student",
            school_level="undergraduate",
            enrolment_year=2024,
            programme_years=4,
        ),
    ][:members]
    data = HouseholdInput(
        unit_id=unit.pk,
        category="deep",
        main_cause=6,
        secondary_causes=[3, 9],
        address="云南省大理白族自治州祥云县祥城镇文化路12号",
        housing_type="unit_public_rental",
        housing_area=Decimal("46.50"),
        members=people,
        incomes=[AmountInput(kind="pension", amount_yearly=Decimal("2400.00"))],
        rigid_expenses=[AmountInput(kind="medical", amount_yearly=Decimal("18000.00"))],
        bank_account=BankAccountInput(bank="中国工商银行", holder_name="张建国", card_number="6222 0212 3456 7890 123"),
    )
    for key, value in overrides.items():
        setattr(data, key, value)
    return data


def org_tree() -> dict[str, OrgUnit]:
    """云南省总工会 → 大理州总工会 → 祥云县 / 大理市总工会 → one grassroots union each;
    plus 昆明市 → 五华区 for a second city."""
    t: dict[str, OrgUnit] = {}
    t["province"] = org_unit_create(name="云南省总工会", level=OrgLevel.PROVINCE, division_code="530000")
    t["dali"] = org_unit_create(name="大理州总工会", level=OrgLevel.CITY, division_code="532900", parent=t["province"])
    t["xiangyun"] = org_unit_create(
        name="祥云县总工会", level=OrgLevel.COUNTY, division_code="532923", parent=t["dali"]
    )
    t["dalishi"] = org_unit_create(name="大理市总工会", level=OrgLevel.COUNTY, division_code="532901", parent=t["dali"])
    t["xiangyun_g"] = org_unit_create(
        name="祥云县纺织厂工会",
        level=OrgLevel.GRASSROOTS,
        division_code="532923",
        parent=t["xiangyun"],
        kind=OrgKind.ENTERPRISE,
    )
    t["dalishi_g"] = org_unit_create(
        name="大理市下关街道工会",
        level=OrgLevel.GRASSROOTS,
        division_code="532901",
        parent=t["dalishi"],
        kind=OrgKind.STREET,
    )
    t["kunming"] = org_unit_create(
        name="昆明市总工会", level=OrgLevel.CITY, division_code="530100", parent=t["province"]
    )
    t["wuhua"] = org_unit_create(
        name="五华区总工会", level=OrgLevel.COUNTY, division_code="530102", parent=t["kunming"]
    )
    return t
