"""Rows of synthetic households, made from a random seed alone (same seed and count → same rows).

Everything random comes from one ``random.Random(seed)``; personal numbers are encrypted and
hashed like the registry services do, and the economy is computed by ``registry.economy``.
Rows are tuples in the column order of ``COLUMNS`` and come in chunks, so a million households
never sit in memory at once.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bangfu.common import crypto, divisions
from bangfu.common.ids import compute_check_digit, mask_id
from bangfu.registry.economy import Economy, PersonFacts, compute_economy
from bangfu.registry.income_records import add_months, per_head
from bangfu.registry.services import name_pinyin

from . import data
from .tree import Grassroots

# The data describes the files as they stand on this day (fixed, so that a seed always gives the
# same people, ages and incomes).
AS_OF = dt.date(2026, 6, 30)
FILED_FROM = dt.date(2014, 1, 1)
SHANGHAI = dt.timezone(dt.timedelta(hours=8))

# Column order of each table's rows (model attnames; the loader checks they cover every column).
COLUMNS: dict[str, list[str]] = {
    "household": [
        "id", "file_number", "unit_id", "state", "category", "is_migrant_worker", "tier", "main_cause",
        "secondary_causes", "cause_note", "address", "housing_type", "housing_area", "medical_insurance",
        "self_reliant", "members_living_together", "head_monthly_income", "other_income_yearly", "income_yearly",
        "rigid_expense_yearly", "income_per_head_monthly", "net_income_per_head_monthly", "zero_employment",
        "filed_on", "filed_by_name", "reviewed_by_name", "entered_by_id", "created_at", "updated_at", "version",
        "accident_costs_yearly", "private_school_fees_yearly", "public_school_fees_yearly",
        "studying_abroad_self_funded",
    ],
    "member": [
        "id", "household_id", "unit_id", "position", "relationship", "name", "name_pinyin", "name_initials",
        "ethnicity", "sex", "birth_date", "id_cipher", "id_hash", "id_masked", "on_open_file", "living_together",
        "deceased",
        "health", "disease_note", "disability_type", "disability_grade", "medical_insurance", "marital", "hukou",
        "phone", "identity", "work_status", "monthly_income", "school_level", "enrolment_year", "programme_years",
        "school_or_employer", "political_status", "model_worker_level", "work_start_date", "industry", "employer",
        "employer_type", "enterprise_state", "single_parent",
    ],
    "income": ["id", "household_id", "kind", "amount_yearly", "note"],
    "rigid_expense": ["id", "household_id", "kind", "amount_yearly", "note"],
    "home": ["id", "household_id", "floor_area", "acquired_on", "note"],
    "vehicle": ["id", "household_id", "kind", "note"],
    "business_role": ["id", "household_id", "company", "role", "company_active"],
    "bank_account": [
        "id", "household_id", "bank", "branch", "holder_name", "card_cipher", "card_hash", "card_masked",
    ],
    "timeline": ["id", "household_id", "at", "actor_id", "kind", "summary", "data"],
    "income_record": [
        "id", "household_id", "month", "net_income", "members", "per_head", "source", "note", "recorded_by_id",
        "recorded_at",
    ],
}  # fmt: skip
TABLES = list(COLUMNS)
OPEN_STATES = frozenset({"active", "temporary", "relieved"})
YUAN = Decimal(1)


class Weighted:
    """A weighted choice drawn with one ``rng.random()``."""

    def __init__(self, pairs: Sequence[tuple[Any, int]]) -> None:
        self.values = [v for v, _ in pairs]
        self.cum = list(itertools.accumulate(w for _, w in pairs))
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect_right(self.cum, rng.random() * self.total)]


W_SURNAME = Weighted(data.SURNAMES)
W_YUNNAN_ETHNICITY = Weighted(data.YUNNAN_ETHNICITY)
W_PREFECTURE_ETHNICITY = {k: Weighted(v) for k, v in data.PREFECTURE_ETHNICITY.items()}
W_CATEGORY = Weighted(data.CATEGORY_WEIGHTS)
W_MAIN_CAUSE = Weighted(data.MAIN_CAUSE_WEIGHTS)
W_ACCIDENT_CAUSE = Weighted(data.ACCIDENT_MAIN_CAUSE_WEIGHTS)
W_SECONDARY_COUNT = Weighted(data.SECONDARY_COUNT_WEIGHTS)
W_SIZE = Weighted(data.SIZE_WEIGHTS)
W_STATE = Weighted(data.STATE_WEIGHTS)
W_TIER = Weighted(data.TIER_WEIGHTS)
W_SERIOUS = Weighted(data.SERIOUS_HEALTH)
W_CHRONIC = Weighted(data.CHRONIC_HEALTH)
W_DISABILITY = Weighted(data.DISABILITY_TYPES)
W_GRADE = Weighted([(1, 15), (2, 25), (3, 30), (4, 30)])
W_HEAD_WORK = Weighted(data.HEAD_WORK_WEIGHTS)
W_HOUSING = Weighted(data.HOUSING_WEIGHTS)
W_INSURANCE = Weighted(data.INSURANCE_WEIGHTS)
W_EMPLOYER_TYPE = Weighted(data.EMPLOYER_TYPE_WEIGHTS)
W_ENTERPRISE_STATE = Weighted(data.ENTERPRISE_STATE_WEIGHTS)
W_POLITICAL = Weighted(data.POLITICAL_WEIGHTS)
W_MARITAL_ALONE = Weighted([("divorced", 40), ("widowed", 35), ("single", 25)])
ALL_CAUSES = list(range(1, 11))
# Monthly income follow-up: this share of the open files has 6 to 12 months of records, up to the
# month before the seed runs (so the exit test has something to read in the demo).
FOLLOW_UP_SHARE = 0.1
W_FOLLOW_UP_SOURCE = Weighted([("home_visit", 40), ("phone_call", 35), ("self_report", 15), ("department_data", 10)])
FILED_DAYS = (AS_OF - FILED_FROM).days


@dataclass
class Person:
    relationship: str
    sex: str
    birth: dt.date
    ethnicity: str
    name: str = ""
    region: str = ""
    health: str = "good"
    disability_type: str = ""
    disability_grade: int | None = None
    identity: str = ""
    work_status: str = ""
    income: Decimal = Decimal(0)
    school_level: str = ""
    enrolment_year: int | None = None
    programme_years: int | None = None
    marital: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def age(self) -> int:
        return AS_OF.year - self.birth.year - ((AS_OF.month, AS_OF.day) < (self.birth.month, self.birth.day))


@dataclass
class Chunk:
    rows: dict[str, list[tuple[Any, ...]]]
    households: int = 0
    persons: int = 0


@dataclass
class Counters:
    """Next primary key per table and the last file number per prefix (division code + year)."""

    next_id: dict[str, int]
    file_numbers: dict[str, int]


@functools.cache
def _same_name_codes(county: str) -> tuple[str, ...]:
    """Codes of the county's province that ever had the county's current name (older codes of it)."""
    name = divisions.division_name(county)
    return tuple(
        code
        for code, periods in divisions.division_table().items()
        if code[:2] == county[:2] and code != county and any(p.name == name for p in periods)
    )


@functools.cache
def region_for(county: str, year: int) -> str:
    """A region code valid for someone born in ``county`` in ``year``: the county's code if it was
    in use then, else a code that had the county's name then, else the prefecture's, else the
    province's."""
    if divisions.division_exists(county, year):
        return county
    for code in (*_same_name_codes(county), county[:4] + "00", county[:2] + "0000"):
        if divisions.division_exists(code, year):
            return code
    return county


@functools.cache
def place_name(code: str) -> str:
    return divisions.division_name(code) or ""


@functools.cache
def _pinyin(name: str) -> tuple[str, str]:
    return name_pinyin(name)


@functools.cache
def _address_base(county: str) -> str:
    return divisions.full_name(county) or ""


def _money(value: float) -> Decimal:
    return Decimal(round(value)) * YUAN


class Generator:
    def __init__(self, *, seed: int, units: Sequence[Grassroots], counters: Counters, now: dt.datetime) -> None:
        self.rng = random.Random(seed)
        # The follow-up records draw from their own stream, so the files are those of the same seed
        # without them.
        self.follow_rng = random.Random(f"income:{seed}")
        self.follow_last = add_months(now.astimezone(SHANGHAI).date(), -1)
        self.units = list(units)
        # Some unions have many more files than others.
        self.w_unit = Weighted([(u, self.rng.randint(1, 8)) for u in self.units])
        self.counters = counters
        self.now = now
        self.used_ids: set[int] = set()
        self.counties: dict[str, list[str]] = {}
        for u in self.units:
            if u.division_code not in self.counties.setdefault(u.division_code[:4], []):
                self.counties[u.division_code[:4]].append(u.division_code)

    # -- ids -------------------------------------------------------------------------------------

    def _pk(self, table: str) -> int:
        pk = self.counters.next_id[table]
        self.counters.next_id[table] = pk + 1
        return pk

    def _resident_id(self, region: str, birth: dt.date, female: bool) -> str:
        sex_digit = 2 if female else 1
        base = int(f"{region}{birth:%Y%m%d}") * 1000
        seq = self.rng.randrange(100)
        for step in range(100):
            key = base + ((seq + step) % 100) * 10 + sex_digit
            if key not in self.used_ids:
                self.used_ids.add(key)
                first17 = f"{key:017d}"
                return first17 + compute_check_digit(first17)
        return self._resident_id(region, birth + dt.timedelta(days=1), female)  # pragma: no cover - 100 alike

    # -- people ----------------------------------------------------------------------------------

    def _ethnicity(self, prefecture: str) -> str:
        w = W_PREFECTURE_ETHNICITY.get(prefecture, W_YUNNAN_ETHNICITY)
        return str(w(self.rng))

    def _birth(self, age: int) -> dt.date:
        year = AS_OF.year - age
        start = dt.date(year, 1, 1).toordinal()
        day = dt.date.fromordinal(start + self.rng.randrange(365))
        return day if day <= AS_OF else AS_OF - dt.timedelta(days=self.rng.randrange(1, 200))

    def _given(self, p: Person) -> str:
        rng = self.rng
        female = p.sex == "F"
        if p.ethnicity == "18" and rng.random() < 0.7:
            return rng.choice(data.DAI_FEMALE_GIVEN if female else data.DAI_MALE_GIVEN)
        if p.birth.year >= 1995:
            return rng.choice(data.CHILD_FEMALE_GIVEN if female else data.CHILD_MALE_GIVEN)
        return rng.choice(data.FEMALE_GIVEN if female else data.MALE_GIVEN)

    def _name(self, p: Person, surname: str | None) -> str:
        rng = self.rng
        if p.ethnicity == "05":  # Uyghur: own name · father's name
            own = rng.choice(data.UYGHUR_FEMALE if p.sex == "F" else data.UYGHUR_MALE)
            father = rng.choice([n for n in data.UYGHUR_MALE if n != own])
            return f"{own}·{father}"
        if p.ethnicity == "04":
            return rng.choice(data.TIBETAN_GIVEN) + rng.choice(data.TIBETAN_GIVEN)
        given = self._given(p)
        if given[:1] in {"岩", "玉"} and p.ethnicity == "18":
            return given
        return (surname or self._surname(p.ethnicity)) + given

    def _surname(self, ethnicity: str) -> str:
        local = data.ETHNIC_SURNAMES.get(ethnicity)
        if local and ethnicity != "04" and self.rng.random() < 0.5:
            return self.rng.choice(local)
        return str(W_SURNAME(self.rng))

    def _family(self, size: int, head_sex: str, head_age: int, ethnicity: str, prefecture: str) -> list[Person]:
        rng = self.rng
        head = Person("head", head_sex, self._birth(head_age), ethnicity)
        people = [head]
        other = "F" if head_sex == "M" else "M"
        married = size >= 2 and rng.random() < (0.75 if size >= 3 else 0.55)
        if married:
            spouse_age = max(20, head_age + (rng.randint(-6, 2) if head_sex == "M" else rng.randint(-2, 6)))
            spouse_eth = ethnicity if rng.random() < 0.8 else self._ethnicity(prefecture)
            people.append(Person("spouse", other, self._birth(spouse_age), spouse_eth))
        remaining = size - len(people)
        parents_wanted = 0
        if head_age + 22 <= 95:
            if remaining >= 4:
                parents_wanted = 2
            elif remaining >= 1 and rng.random() < 0.25:
                parents_wanted = 1 if remaining <= 2 else rng.choice((1, 2))
        children_wanted = size - len(people) - parents_wanted
        youngest_parent_age = min(p.age for p in people)
        for _ in range(children_wanted):
            top = max(0, youngest_parent_age - 20)
            low = max(0, youngest_parent_age - 38)
            age = rng.randint(low, top) if top > low else top
            sex = rng.choice("MF")
            child_eth = ethnicity if rng.random() < 0.85 or len(people) == 1 else people[1].ethnicity
            people.append(Person("son" if sex == "M" else "daughter", sex, self._birth(age), child_eth))
        for i in range(parents_wanted):
            age = min(95, head_age + rng.randint(22, 34))
            sex = "M" if i == 0 and parents_wanted == 2 else rng.choice("MF")
            rel = "father" if sex == "M" else "mother"
            people.append(Person(rel, sex, self._birth(age), ethnicity))
        # Names: children take the father's surname, a couple keep their own.
        head_surname = self._surname(ethnicity)
        spouse_surname = self._surname(people[1].ethnicity) if married else None
        father_surname = head_surname if head_sex == "M" else (spouse_surname or self._surname(ethnicity))
        for p in people:
            if p.relationship == "head":
                p.name = self._name(p, head_surname)
            elif p.relationship == "spouse":
                p.name = self._name(p, spouse_surname)
            elif p.relationship in {"son", "daughter"}:
                p.name = self._name(p, father_surname if rng.random() < 0.9 else None)
            elif p.relationship == "father":
                p.name = self._name(p, head_surname)
            else:
                p.name = self._name(p, None)
        for p in people:
            if p.relationship in {"head", "spouse"}:
                p.marital = "married" if married else str(W_MARITAL_ALONE(rng))
            elif p.relationship in {"father", "mother"}:
                p.marital = "married" if parents_wanted == 2 else "widowed"
            else:
                p.marital = "married" if p.age >= 26 and rng.random() < 0.5 else "single"
        return people

    def _health(self, people: list[Person], main_cause: int, secondary: list[int]) -> None:
        rng = self.rng
        causes = {main_cause, *secondary}
        for p in people:
            roll = rng.random()
            older = p.age >= 60
            if roll < (0.12 if older else 0.05):
                p.health = str(W_CHRONIC(rng))
            elif roll < (0.2 if older else 0.08):
                p.health = str(W_SERIOUS(rng))
            elif roll < (0.24 if older else 0.1):
                p.health = "disabled"
        if 6 in causes:
            sick = people[0] if rng.random() < 0.6 or len(people) == 1 else rng.choice(people[1:])
            sick.health = str(W_SERIOUS(rng))
        if 1 in causes:
            unable = people[0] if rng.random() < 0.7 or len(people) == 1 else rng.choice(people[1:])
            unable.health = "disabled" if rng.random() < 0.6 else str(W_SERIOUS(rng))
            if unable.health == "disabled":
                unable.disability_grade = rng.choice((1, 2))
        for p in people:
            if p.health == "disabled":
                p.disability_type = str(W_DISABILITY(rng))
                if p.disability_grade is None:
                    p.disability_grade = int(W_GRADE(rng))

    def _work(self, p: Person, household_migrant: bool, main_cause: int) -> None:
        rng = self.rng
        age = p.age
        if age < 6:
            p.identity = "preschool"
            if age >= 3:
                p.school_level, p.enrolment_year, p.programme_years = "preschool", AS_OF.year - (age - 3), 3
            return
        if age < 22 and (age < 18 or rng.random() < 0.6):
            p.identity = "student"
            level, start_age, years = (
                ("primary", 6, 6)
                if age < 12
                else ("junior", 12, 3)
                if age < 15
                else (rng.choice(("senior", "vocational")), 15, 3)
                if age < 18
                else (rng.choice(("college", "undergraduate", "undergraduate")), 18, 4)
            )
            p.school_level, p.programme_years = level, years
            p.enrolment_year = AS_OF.year - min(age - start_age, years - 1)
            return
        retire_age = 60 if p.sex == "M" else 55
        if p.disability_grade is not None and p.disability_grade <= 2:
            p.identity, p.work_status = "unable", ""
            return
        if age >= retire_age:
            if rng.random() < 0.7:
                p.identity, p.work_status = "retired", "retired"
                p.income = _money(rng.uniform(900, 2600))
            else:
                p.identity = "unemployed" if rng.random() < 0.5 else "unable"
            return
        if p.relationship == "head":
            status = "migrant_worker" if household_migrant else str(W_HEAD_WORK(rng))
            if main_cause == 3 and status not in {"laid_off", "unemployed"}:
                status = rng.choice(("laid_off", "unemployed"))
        else:
            status = rng.choice(("employed", "employed", "unemployed", "laid_off", "migrant_worker"))
        if p.health in {"malignant_tumour", "end_stage_renal", "permanent_paralysis", "deep_coma"}:
            status = "sick_leave" if rng.random() < 0.7 else "unemployed"
        p.work_status = status
        p.identity = "working" if status in {"employed", "migrant_worker", "sick_leave"} else "unemployed"
        p.income = {
            "employed": lambda: _money(rng.lognormvariate(7.4, 0.3)),  # median ≈ 1,650 yuan
            "migrant_worker": lambda: _money(rng.uniform(1300, 2800)),
            "laid_off": lambda: _money(rng.uniform(0, 700)),
            "sick_leave": lambda: _money(rng.uniform(500, 1300)),
            "early_retired": lambda: _money(rng.uniform(800, 1500)),
            "unemployed": lambda: Decimal(0),
        }[status]()

    # -- households ------------------------------------------------------------------------------

    def chunks(self, total: int, size: int = 5000) -> Iterator[Chunk]:
        done = 0
        while done < total:
            n = min(size, total - done)
            chunk = Chunk({t: [] for t in TABLES})
            for _ in range(n):
                self._household(chunk)
            done += n
            yield chunk

    def _household(self, chunk: Chunk) -> None:
        rng = self.rng
        rows = chunk.rows
        unit: Grassroots = self.w_unit(rng)
        county = unit.division_code
        prefecture = county[:4] + "00"
        category = str(W_CATEGORY(rng))
        migrant = rng.random() < data.MIGRANT_SHARE
        main = int(W_ACCIDENT_CAUSE(rng) if category == "accident" else W_MAIN_CAUSE(rng))
        secondary = rng.sample([c for c in ALL_CAUSES if c != main and c != 10], int(W_SECONDARY_COUNT(rng)))
        secondary.sort()
        size = int(W_SIZE(rng))
        ethnicity = "05" if rng.random() < 0.003 else self._ethnicity(prefecture)
        head_sex = "M" if rng.random() < 0.6 else "F"
        head_age = rng.randint(60, 75) if rng.random() < 0.1 else rng.randint(28, 59)
        people = self._family(size, head_sex, head_age, ethnicity, prefecture)
        self._health(people, main, secondary)
        for p in people:
            self._work(p, migrant, main)

        state = str(W_STATE(rng))
        filed_on = FILED_FROM + dt.timedelta(days=rng.randrange(FILED_DAYS))
        prefix = f"{county}{filed_on.year}"
        number = self.counters.file_numbers.get(prefix, 0) + 1
        self.counters.file_numbers[prefix] = number
        hid = self._pk("household")
        file_number = f"{prefix}{number:06d}"

        # Incomes and rigid expenses.
        incomes: list[tuple[str, Decimal]] = []
        expenses: list[tuple[str, Decimal]] = []
        if any(p.work_status == "unemployed" for p in people) and rng.random() < 0.3:
            incomes.append(("unemployment_benefit", _money(rng.uniform(800, 1300)) * 6))
        if rng.random() < 0.15:
            incomes.append(("union_aid", _money(rng.uniform(5, 30)) * 100))
        if rng.random() < 0.1:
            incomes.append(("support_received", _money(rng.uniform(1200, 6000))))
        if category == "accident" and rng.random() < 0.5:
            incomes.append(("compensation", _money(rng.uniform(2000, 20000))))
        if any(p.age >= 60 and p.work_status != "retired" for p in people):
            incomes.append(("basic_resident_pension", _money(rng.uniform(100, 200)) * 12))
        if rng.random() < 0.2:
            incomes.append(("festival_gift", Decimal(500)))
        wages_yearly = sum((p.income for p in people), Decimal(0)) * 12
        budget = wages_yearly + sum((a for k, a in incomes if k not in {"basic_resident_pension", "festival_gift"}), 0)
        ill = [p for p in people if p.health not in {"good", "disabled"}]
        if ill:
            share = rng.uniform(0.2, 0.7) if main in {6, 8} else rng.uniform(0.05, 0.3)
            expenses.append(("medical", _money(max(1500, float(budget) * share))))
        students = [p for p in people if p.identity == "student"]
        if students:
            per = [
                rng.uniform(8000, 15000) if s.school_level in {"college", "undergraduate"} else 1500 for s in students
            ]
            expenses.append(("schooling", _money(sum(per))))
        if any(p.disability_grade is not None and p.disability_grade <= 2 for p in people) and rng.random() < 0.5:
            expenses.append(("care", _money(rng.uniform(3000, 9000))))
        if any(p.work_status == "migrant_worker" for p in people) and rng.random() < 0.3:
            expenses.append(("job_costs", _money(rng.uniform(1000, 3000))))

        facts = [
            PersonFacts(p.relationship, p.birth, True, False, p.income, p.identity, p.work_status, p.disability_grade)
            for p in people
        ]
        economy = compute_economy(facts, incomes, [a for _, a in expenses], AS_OF)
        # Most files sit between 0.3 and 2 times the dibao line: odd jobs and family help fill the gap.
        target = rng.uniform(300, 1900)
        if economy.net_income_per_head_monthly < target / 2 and rng.random() < 0.85:
            gap = (Decimal(int(target)) - economy.net_income_per_head_monthly) * 12 * len(people)
            incomes.append(("other", _money(float(gap) * rng.uniform(0.7, 1.0))))
            economy = compute_economy(facts, incomes, [a for _, a in expenses], AS_OF)

        housing = str(W_HOUSING(rng))
        area = None if housing == "none" else _money(rng.uniform(18, 60) + 8 * len(people))
        is_open = state in OPEN_STATES
        head = people[0]
        address = f"{_address_base(county)}{rng.choice(data.ROADS)}{rng.randint(1, 300)}号"
        filer = self._cadre_name(prefecture)
        rows["household"].append(
            (
                hid, file_number, unit.id, state, category, migrant, str(W_TIER(rng)), main,
                json.dumps(secondary), rng.choice(data.OTHER_CAUSE_NOTES) if main == 10 else "", address, housing,
                area, str(W_INSURANCE(rng)), rng.random() < 0.3, economy.members_living_together,
                economy.head_monthly_income, economy.other_income_yearly, economy.income_yearly,
                economy.rigid_expense_yearly, economy.income_per_head_monthly, economy.net_income_per_head_monthly,
                economy.zero_employment, filed_on, filer, self._cadre_name(prefecture), None, self.now, self.now, 1,
                Decimal(0), Decimal(0), Decimal(0), False,
            )
        )  # fmt: skip

        for pos, p in enumerate(people):
            region = region_for(county if rng.random() < 0.8 else rng.choice(self._counties(prefecture)), p.birth.year)
            rid = self._resident_id(region, p.birth, p.sex == "F")
            pinyin, initials = _pinyin(p.name)
            is_head = p.relationship == "head"
            employer = ""
            if p.identity == "working" or (is_head and p.work_status in {"laid_off", "sick_leave", "early_retired"}):
                employer = f"{place_name(county)}{rng.choice(data.ENTERPRISES)}"
            elif p.identity == "student":
                employer = f"{place_name(county)}第{rng.randint(1, 9)}中学"
            work_start = (
                dt.date(p.birth.year + rng.randint(17, 24), rng.randint(1, 12), 1)
                if is_head and p.age >= 25 and p.identity != "student"
                else None
            )
            rows["member"].append(
                (
                    self._pk("member"), hid, unit.id, pos, p.relationship, p.name, pinyin, initials, p.ethnicity, p.sex,
                    p.birth, crypto.encrypt(rid), crypto.keyed_hash(rid), mask_id(rid), is_open, True, False,
                    p.health, data.DISABILITY_NOTES.get(p.disability_type, ""), p.disability_type,
                    p.disability_grade, str(W_INSURANCE(rng)), p.marital,
                    "non_agricultural" if not migrant else "agricultural",
                    f"1{rng.choice('35789')}{rng.randrange(10**9):09d}" if p.age >= 16 else "",
                    p.identity, p.work_status, p.income, p.school_level, p.enrolment_year, p.programme_years,
                    employer, str(W_POLITICAL(rng)) if p.age >= 18 else "", "none" if is_head else "", work_start,
                    rng.choice(data.INDUSTRIES) if is_head and employer else "", employer if is_head else "",
                    str(W_EMPLOYER_TYPE(rng)) if is_head and employer else "",
                    str(W_ENTERPRISE_STATE(rng)) if is_head and employer else "",
                    is_head and head.marital in {"divorced", "widowed"} and len(people) > 1,
                )
            )  # fmt: skip
        for kind, amount in incomes:
            rows["income"].append((self._pk("income"), hid, kind, amount, ""))
        for kind, amount in expenses:
            rows["rigid_expense"].append((self._pk("rigid_expense"), hid, kind, amount, ""))
        if housing in data.OWNED_HOUSING and area is not None:
            acquired = dt.date(rng.randint(1985, 2012), rng.randint(1, 12), 1)
            rows["home"].append((self._pk("home"), hid, area, acquired, ""))
            if rng.random() < 0.02:  # a second home: a finding for the economic check
                second = dt.date(rng.randint(2015, 2025), rng.randint(1, 12), 1)
                rows["home"].append((self._pk("home"), hid, _money(rng.uniform(60, 140)), second, ""))
        roll = rng.random()
        if roll < 0.05:
            rows["vehicle"].append((self._pk("vehicle"), hid, "livelihood", "电动三轮车"))
        elif roll < 0.06:
            rows["vehicle"].append((self._pk("vehicle"), hid, "car", ""))
        elif roll < 0.062:
            rows["vehicle"].append((self._pk("vehicle"), hid, "farm_machinery", ""))
        if any(p.health == "disabled" for p in people) and rng.random() < 0.1:
            rows["vehicle"].append((self._pk("vehicle"), hid, "disability", ""))
        if rng.random() < 0.004:
            company = f"{place_name(county)}{head.name[0]}氏{rng.choice(data.BUSINESS_COMPANIES)}"
            role = rng.choice(("legal_representative", "controlling_shareholder", "employer"))
            rows["business_role"].append((self._pk("business_role"), hid, company, role, rng.random() < 0.4))
        if rng.random() < data.BANK_SHARE:
            bank, bin_ = rng.choice(data.BANKS)
            card = f"{bin_}{rng.randrange(10**13):013d}"
            rows["bank_account"].append(
                (
                    self._pk("bank_account"), hid, bank, f"{place_name(county)}支行", head.name,
                    crypto.encrypt(card), crypto.keyed_hash(card), crypto.mask_middle(card),
                )
            )  # fmt: skip
        if is_open and self.follow_rng.random() < FOLLOW_UP_SHARE:
            self._follow_up(rows, hid, economy)
        at = dt.datetime.combine(filed_on, dt.time(9, 0), SHANGHAI).astimezone(dt.UTC)
        rows["timeline"].append(
            (
                self._pk("timeline"), hid, at, None, "file_created", "",
                json.dumps({"file_number": file_number, "source": "seed"}),
            )
        )  # fmt: skip
        chunk.households += 1
        chunk.persons += len(people)

    def _follow_up(self, rows: dict[str, list[tuple[Any, ...]]], hid: int, economy: Economy) -> None:
        """6 to 12 months of income records ending last month: a household on its way out of
        hardship, its income per head moving from about the filed figure towards 0.7–1.8 thousand
        yuan, with now and then a month nobody followed up."""
        rng = self.follow_rng
        n = rng.randint(6, 12)
        members = max(economy.members_living_together, 1)
        start = max(300.0, float(economy.net_income_per_head_monthly))
        target = rng.uniform(700, 1800)
        skipped = rng.randint(1, n - 2) if n >= 7 and rng.random() < 0.15 else None
        for i in range(n):
            if i == skipped:
                continue
            month = add_months(self.follow_last, i - n + 1)
            level = start + (target - start) * min(1.0, (i + 1) / max(n - 3, 1))
            net = _money(level * members * rng.uniform(0.92, 1.08))
            recorded = dt.datetime.combine(add_months(month, 1), dt.time(10, 0), SHANGHAI) + dt.timedelta(
                days=rng.randrange(20)
            )
            rows["income_record"].append(
                (
                    self._pk("income_record"), hid, month, net, members, per_head(net, members),
                    str(W_FOLLOW_UP_SOURCE(rng)), "", None, min(recorded, self.now).astimezone(dt.UTC),
                )
            )  # fmt: skip

    def _cadre_name(self, prefecture: str) -> str:
        p = Person("head", self.rng.choice("MF"), dt.date(1980, 1, 1), self._ethnicity(prefecture))
        return self._name(p, None)

    def _counties(self, prefecture: str) -> list[str]:
        return self.counties[prefecture[:4]]
