"""Input and output shapes of the households API.

Input mirrors ``registry.inputs.HouseholdInput``. It checks only types (a number is a number, a
date a date); every rule — required fields, code lists, ID numbers, amounts, causes, the number of
members — is checked by the service, so the API answers with the same messages as the staff UI and
reports all problems at once. Fields the service requires are marked required in the OpenAPI
schema but may be omitted: the service then names them. Amounts are decimals (as strings or JSON
numbers, read exactly, never through float); unknown fields are refused so that a misspelt field
is not silently ignored.
"""

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from bangfu.common.retranslate import in_reader_language
from bangfu.registry import inputs


def _required(*names: str) -> ConfigDict:
    def extra(schema: dict[str, Any]) -> None:
        schema["required"] = sorted({*schema.get("required", []), *names})

    return ConfigDict(extra="forbid", json_schema_extra=extra)


# --- input ----------------------------------------------------------------------------------------


def one_of(values: Iterable[str]) -> AfterValidator:
    """A filter's value: empty (no filter) or one of ``values``. A value outside them is refused by
    name (422), not taken for a filter that matches nothing and answered with an empty list."""
    allowed = frozenset(values)

    def check(value: str) -> str:
        if value and value not in allowed:
            raise PydanticCustomError("one_of", "not one of the allowed values", {"value": value})
        return value

    return AfterValidator(check)


def choices_field(values: Iterable[str], description: str = "") -> Any:
    """The field of a ``one_of`` filter: empty by default, its values listed in the OpenAPI schema."""
    return Field("", description=description, json_schema_extra={"enum": ["", *values]})


def one_line_break(value: Any) -> Any:
    """Text with each line break as one character (CR LF as LF), as a browser counts it against a
    box's ``maxlength`` and as the services keep it: a reason the page takes is not refused by the
    API for its length."""
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


# Typed text (a decision's reason) whose ``max_length`` counts a line break once: ``one_line_break``.
LineText = Annotated[str, BeforeValidator(one_line_break)]


class InSchema(Schema):
    """A request body: a field it does not know is refused by name (a misspelt key must not be
    dropped and the request done without it: ``{"aprove": false}`` would otherwise approve)."""

    model_config = ConfigDict(extra="forbid")


class MemberIn(InSchema):
    model_config = _required("relationship", "name", "id_number")

    relationship: str = ""
    name: str = ""
    id_number: str = ""
    ethnicity: str = "01"
    sex: str = ""
    birth_date: date | None = None
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
    member_id: int | None = Field(
        None,
        description="On update: the id of an existing member (from GET). With it, id_number may be "
        "left out or given masked, and the stored number is kept.",
    )


class AmountIn(InSchema):
    model_config = _required("kind", "amount_yearly")

    kind: str = ""
    amount_yearly: Decimal | None = None
    note: str = ""


class HomeIn(InSchema):
    model_config = ConfigDict(extra="forbid")

    floor_area: Decimal
    acquired_on: date | None = None
    note: str = ""


class VehicleIn(InSchema):
    model_config = _required("kind")

    kind: str = ""
    note: str = ""


class BusinessRoleIn(InSchema):
    model_config = _required("company", "role")

    company: str = ""
    role: str = ""
    company_active: bool = True


class BankAccountIn(InSchema):
    model_config = _required("bank", "holder_name", "card_number")

    bank: str = ""
    holder_name: str = ""
    card_number: str = ""
    branch: str = ""


class HouseholdIn(InSchema):
    model_config = _required("unit_id", "category", "main_cause", "address", "housing_type", "members")

    unit_id: int | None = None
    category: str = ""
    main_cause: int | None = None
    address: str = ""
    housing_type: str = ""
    members: list[MemberIn] = Field(default_factory=list)
    tier: str = ""
    state: str = "active"
    is_migrant_worker: bool = False
    secondary_causes: list[int] = Field(default_factory=list)
    cause_note: str = ""
    housing_area: Decimal | None = None
    medical_insurance: str = ""
    self_reliant: bool = False
    accident_costs_yearly: Decimal = Field(
        Decimal(0),
        description="This year's costs of a disaster, accident, epidemic or major illness after compensation and "
        "insurance (yuan; 意外致困的致困支出): the accident test compares them with the household's income",
    )
    private_school_fees_yearly: Decimal = Field(
        Decimal(0),
        description="A child's private school fees per year (yuan): a disqualifier when above the rule set's "
        "multiple of public_school_fees_yearly",
    )
    public_school_fees_yearly: Decimal = Field(
        Decimal(0), description="What a public school at the same level costs per year (yuan)"
    )
    studying_abroad_self_funded: bool = Field(
        False, description="A child studies abroad at the family's own expense (a disqualifier)"
    )
    filed_on: date | None = None
    filed_by_name: str = ""
    reviewed_by_name: str = ""
    incomes: list[AmountIn] = Field(default_factory=list)
    rigid_expenses: list[AmountIn] = Field(default_factory=list)
    homes: list[HomeIn] = Field(default_factory=list)
    vehicles: list[VehicleIn] = Field(default_factory=list)
    business_roles: list[BusinessRoleIn] = Field(default_factory=list)
    bank_account: BankAccountIn | None = None

    def to_input(self) -> inputs.HouseholdInput:
        """The service's input carrier (plain dataclasses)."""
        nested = {"members", "incomes", "rigid_expenses", "homes", "vehicles", "business_roles", "bank_account"}
        data = self.model_dump(exclude={*nested, "version"})
        return inputs.HouseholdInput(
            **data,
            members=[inputs.MemberInput(**m.model_dump()) for m in self.members],
            incomes=[inputs.AmountInput(**a.model_dump()) for a in self.incomes],
            rigid_expenses=[inputs.AmountInput(**a.model_dump()) for a in self.rigid_expenses],
            homes=[inputs.HomeInput(**h.model_dump()) for h in self.homes],
            vehicles=[inputs.VehicleInput(**v.model_dump()) for v in self.vehicles],
            business_roles=[inputs.BusinessRoleInput(**b.model_dump()) for b in self.business_roles],
            bank_account=inputs.BankAccountInput(**self.bank_account.model_dump()) if self.bank_account else None,
        )


class HouseholdUpdateIn(HouseholdIn):
    model_config = _required("unit_id", "category", "main_cause", "address", "housing_type", "members", "version")

    version: int


# --- output ---------------------------------------------------------------------------------------


class UnitRefOut(Schema):
    id: int
    code: str
    name: str


class UnitOut(UnitRefOut):
    level: int
    parent_id: int | None
    division_code: str


class HeadOut(Schema):
    name: str
    id_masked: str
    sex: str
    birth_date: date


class HouseholdRowOut(Schema):
    id: int
    file_number: str
    unit: UnitRefOut
    state: str
    category: str
    main_cause: int
    head: HeadOut | None
    net_income_per_head_monthly: Decimal
    members_living_together: int


class HouseholdPageOut(Schema):
    count: int = Field(description="Rows matching, counted up to 10,001 (1,001 with a text search)")
    count_capped: bool = Field(description="True when more rows match than are counted: narrow the search")
    page: int
    page_size: int
    results: list[HouseholdRowOut]
    search_hint: str = Field(
        "",
        description="What the page says under its search box of a search that cannot find what was meant "
        "(an ID number Excel stored as a number, 5.32923E+17, has lost its last digits); empty otherwise",
    )


class MemberOut(Schema):
    """A member as stored; the ID number only masked (reveal it through its own endpoint)."""

    id: int
    position: int
    relationship: str
    name: str
    id_masked: str
    ethnicity: str
    sex: str
    birth_date: date
    living_together: bool
    deceased: bool
    health: str
    disease_note: str
    disability_type: str
    disability_grade: int | None
    medical_insurance: str
    marital: str
    hukou: str
    phone: str
    identity: str
    work_status: str
    monthly_income: Decimal
    school_level: str
    enrolment_year: int | None
    programme_years: int | None
    school_or_employer: str
    political_status: str
    model_worker_level: str
    work_start_date: date | None
    industry: str
    employer: str
    employer_type: str
    enterprise_state: str
    single_parent: bool


class AmountOut(Schema):
    id: int
    kind: str
    amount_yearly: Decimal
    note: str


class HomeOut(Schema):
    id: int
    floor_area: Decimal
    acquired_on: date | None
    note: str


class VehicleOut(Schema):
    id: int
    kind: str
    note: str


class BusinessRoleOut(Schema):
    id: int
    company: str
    role: str
    company_active: bool


class BankAccountOut(Schema):
    bank: str
    branch: str
    holder_name: str
    card_masked: str


class TimelineEventOut(Schema):
    id: int
    at: datetime
    kind: str
    summary: str
    data: dict[str, Any]
    actor: str | None

    @staticmethod
    def resolve_summary(obj: Any) -> str:
        """In the caller's language when it is one of the system's messages (it is kept as written)."""
        return in_reader_language(obj.summary)

    @staticmethod
    def resolve_actor(obj: Any) -> str | None:
        return obj.actor.username if obj.actor_id else None


class EconomyOut(Schema):
    """The file's own arithmetic (registry.economy), recomputed on every save."""

    members_living_together: int
    head_monthly_income: Decimal
    other_income_yearly: Decimal
    income_yearly: Decimal
    rigid_expense_yearly: Decimal
    income_per_head_monthly: Decimal
    net_income_per_head_monthly: Decimal
    zero_employment: bool


class IdentificationOut(Schema):
    """The household's current identification decision, beside the file's category."""

    category: str = Field(description="What the rules decide from the file's data today")
    effective_category: str = Field(
        description="The category in force: the rules' one, or the one a person set by an approved override"
    )
    override_status: str = Field(
        description="'', 'pending', 'approved', 'rejected' or 'superseded' (closed by an application's approval)"
    )
    override_category: str = Field(
        "",
        description="The category a person set or asked for by the override ('' when none); while it is pending, "
        "the file carries effective_category and takes this one when a second person approves it",
    )
    decided_at: datetime
    standard_version: str
    ruleset_version: str
    agrees_with_file: bool = Field(
        description="Whether effective_category is the file's category; when not (a recompute decided otherwise), "
        "the file keeps its category until a person changes it (an override, the yearly review, an edit of the file)"
    )
    file_not_eligible: str = Field(
        "",
        description="When the file is open and the identification in force finds the household not eligible "
        "(no override waiting): the sentence the household page's banner shows, saying the file is to be taken to "
        "its exit or removal (and that the override was not approved, after a rejection); '' otherwise",
    )


class HouseholdDetailOut(Schema):
    id: int
    file_number: str
    version: int
    unit: UnitRefOut
    state: str
    category: str = Field(
        description="The category the file was approved with (at approval, or as imported); "
        "`identification` holds what the rules decide today"
    )
    tier: str
    is_migrant_worker: bool
    main_cause: int
    secondary_causes: list[int]
    cause_note: str
    address: str
    housing_type: str
    housing_area: Decimal | None
    medical_insurance: str
    self_reliant: bool
    accident_costs_yearly: Decimal = Field(description="Hardship costs this year after compensation and insurance")
    private_school_fees_yearly: Decimal
    public_school_fees_yearly: Decimal
    studying_abroad_self_funded: bool
    filed_on: date | None
    filed_by_name: str
    reviewed_by_name: str
    entered_by: str | None
    created_at: datetime
    updated_at: datetime
    economy: EconomyOut
    members: list[MemberOut]
    incomes: list[AmountOut]
    rigid_expenses: list[AmountOut]
    homes: list[HomeOut]
    vehicles: list[VehicleOut]
    business_roles: list[BusinessRoleOut]
    bank_account: BankAccountOut | None
    identification: IdentificationOut | None = Field(
        description="The current identification decision (null: none yet); read its reasons at "
        "/eligibility/households/{id}/decision"
    )
    timeline: list[TimelineEventOut]


class RevealedIdOut(Schema):
    id_number: str


class RevealedCardOut(Schema):
    card_number: str


class RevealIn(InSchema):
    model_config = ConfigDict(extra="forbid")

    reason: str = ""


class RoleOut(Schema):
    role: str
    known: bool
    unit: UnitRefOut


class MeOut(Schema):
    username: str
    roles: list[RoleOut]
    permissions: list[str]
