"""Typed input for household writes, shared by the staff UI, the API, imports and the seeder.

Amounts arrive as Decimal (fen-exact); dates as ``datetime.date``. Optional code fields use ""
for "not given". Validation lives in ``validation.py``; these are plain carriers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass
class MemberInput:
    relationship: str
    name: str
    id_number: str  # may be left blank (or masked) on update when member_id names an existing member
    ethnicity: str = "01"
    sex: str = ""  # derived from the ID number when blank
    birth_date: date | None = None  # derived from the ID number when blank
    living_together: bool = True
    deceased: bool = False
    health: str = "good"
    disease_note: str = ""
    disability_type: str = ""
    disability_grade: int | None = None
    medical_insurance: str = ""
    marital: str = ""
    hukou: str = ""
    phone: str = ""
    identity: str = ""
    work_status: str = ""
    monthly_income: Decimal = Decimal(0)
    school_level: str = ""
    enrolment_year: int | None = None
    programme_years: int | None = None
    school_or_employer: str = ""
    political_status: str = ""
    model_worker_level: str = ""
    work_start_date: date | None = None
    industry: str = ""
    employer: str = ""
    employer_type: str = ""
    enterprise_state: str = ""
    single_parent: bool = False
    member_id: int | None = None  # an existing member of the file being updated


@dataclass
class AmountInput:
    kind: str
    amount_yearly: Decimal | None  # None: not given (a form's value it could not read), refused as required
    note: str = ""


@dataclass
class HomeInput:
    floor_area: Decimal | None  # None: not given, refused as required
    acquired_on: date | None = None
    note: str = ""


@dataclass
class VehicleInput:
    kind: str
    note: str = ""


@dataclass
class BusinessRoleInput:
    company: str
    role: str
    company_active: bool = True


@dataclass
class BankAccountInput:
    bank: str
    holder_name: str
    card_number: str
    branch: str = ""


@dataclass
class HouseholdInput:
    unit_id: int | None
    category: str
    main_cause: int | None
    address: str
    housing_type: str
    members: list[MemberInput]
    tier: str = ""  # defaults from the unit's level
    state: str = "active"
    is_migrant_worker: bool = False
    secondary_causes: list[int] = field(default_factory=list)
    cause_note: str = ""
    housing_area: Decimal | None = None
    medical_insurance: str = ""
    self_reliant: bool = False
    # What identification's accident test and disqualifiers read (yearly amounts, yuan).
    accident_costs_yearly: Decimal = Decimal(0)
    private_school_fees_yearly: Decimal = Decimal(0)
    public_school_fees_yearly: Decimal = Decimal(0)
    studying_abroad_self_funded: bool = False
    filed_on: date | None = None
    filed_by_name: str = ""
    reviewed_by_name: str = ""
    incomes: list[AmountInput] = field(default_factory=list)
    rigid_expenses: list[AmountInput] = field(default_factory=list)
    homes: list[HomeInput] = field(default_factory=list)
    vehicles: list[VehicleInput] = field(default_factory=list)
    business_roles: list[BusinessRoleInput] = field(default_factory=list)
    bank_account: BankAccountInput | None = None
