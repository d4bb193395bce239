"""The finding rules as SQL over two views — ``persons`` and one dataset — plus the step that
turns the rows they return ("hits") into findings, also SQL (``findings_sql``, run by DuckDB over
the hits whichever engine produced them).

``persons``: member_id, household_id, id_key (BIGINT), name_key (BIGINT), monthly_income
(DOUBLE), household_size. A dataset view has the columns of ``schemas`` (with ``name_key``). The
rule SQL is the portable subset that DuckDB and Spark SQL both run; dates and limits are literals
computed here. The name is compared on the stored keys of the normalised forms
(``names.name_key_sql``), integers: an ID match with another name (or none) is a
lower-confidence finding, never dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .record_keys import unpack_sql
from .schemas import DatasetKind


class Rule(StrEnum):
    VEHICLE_OWNED = "vehicle_owned"
    ACTIVE_COMPANY_ROLE = "active_company_role"
    HOMES_OVER_LIMIT = "homes_over_limit"
    RECENT_HOME_PURCHASE = "recent_home_purchase"
    DEATH_RECORD = "death_record"
    INCOME_DISCREPANCY = "income_discrepancy"
    ON_DIBAO = "on_dibao"


class Severity(StrEnum):
    DISQUALIFYING = "disqualifying"
    REVIEW = "review"  # a fact to verify that changes the file (a death)
    DISCREPANCY = "discrepancy"
    INFO = "info"


class Confidence(StrEnum):
    HIGH = "high"  # same ID number and same name
    LOW = "low"  # same ID number, the name differs or is missing


SEVERITY: dict[Rule, Severity] = {
    Rule.VEHICLE_OWNED: Severity.DISQUALIFYING,
    Rule.ACTIVE_COMPANY_ROLE: Severity.DISQUALIFYING,
    Rule.HOMES_OVER_LIMIT: Severity.DISQUALIFYING,
    Rule.RECENT_HOME_PURCHASE: Severity.DISQUALIFYING,
    Rule.DEATH_RECORD: Severity.REVIEW,
    Rule.INCOME_DISCREPANCY: Severity.DISCREPANCY,
    Rule.ON_DIBAO: Severity.INFO,
}
# Rules judged per household: one finding for all the records that together break them.
HOUSEHOLD_RULES = frozenset({Rule.HOMES_OVER_LIMIT})


# The vehicle rule follows domain.md §3: owning a *car* disqualifies, except a livelihood vehicle or
# a disability vehicle. What is not such a car, by the words of its type as the vehicle registry
# writes it (车辆类型, the classes of GA 802: 小型轿车, 轻便二轮摩托车, 轻型普通货车 …) or in English,
# each a LIKE pattern ("%": any text between), case aside. Every other type — a passenger car
# (轿车, 载客汽车, 小型/微型/中型/大型普通客车, 越野车 …), a medium or heavy truck, a tractor unit, a
# type left empty or not known — raises the finding, for a reviewer to judge. Light and mini
# trucks are livelihood vehicles by default (a 轻型/微型货车 is what a hardship worker carries goods
# for a living with); a region that judges otherwise runs its recheck with its own
# ``exempt_vehicle_types``. One table, read by the SQL every engine runs (``rule_sql``).
VEHICLES_NOT_DISQUALIFYING: dict[str, tuple[str, ...]] = {
    "disability vehicle": ("残疾", "disability", "disabled"),
    "livelihood vehicle": (
        "生计", "livelihood", "轻型%货车", "微型%货车", "light truck", "light-duty truck", "mini truck",
    ),
    "motorcycle or moped": ("摩托", "助力车", "电动自行车", "motorcycle", "motorbike", "moped", "scooter"),
    "tricycle": ("三轮", "tricycle"),
    "agricultural vehicle": ("农用", "拖拉机", "低速", "农机", "agricultural", "farm"),
}  # fmt: skip


@dataclass(frozen=True)
class RuleParams:
    """The configurable parameters of the rules (defaults follow domain.md §3)."""

    # A vehicle whose type contains one of these (LIKE patterns) is not a car that disqualifies.
    exempt_vehicle_types: tuple[str, ...] = tuple(p for ps in VEHICLES_NOT_DISQUALIFYING.values() for p in ps)
    # Roles that do not disqualify even in an active company.
    exempt_business_roles: tuple[str, ...] = ("supervisor", "监事", "职工")
    inactive_dibao_words: tuple[str, ...] = ("停保", "终止", "退出", "注销", "stopped", "ended")
    min_homes: int = 2
    # Floor area per head above which two or more homes disqualify: twice the local standard.
    area_per_head_limit: float = 60.0
    recent_purchase_days: int = 365
    # A contribution base (or taxable income / 12) above ratio × declared monthly income, and
    # at least min_gap yuan above it, is an income discrepancy.
    wage_ratio: float = 2.0
    wage_min_gap: float = 500.0

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RuleParams:
        known: dict[str, Any] = {
            k: (tuple(v) if isinstance(v, list) else v)
            for k, v in (data or {}).items()
            if k in cls.__dataclass_fields__
        }
        return cls(**known)


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _contains_any(column: str, words: Sequence[str]) -> str:
    if not words:
        return "FALSE"
    return "(" + " OR ".join(f"LOWER(COALESCE({column}, '')) LIKE {_lit('%' + w.lower() + '%')}" for w in words) + ")"


_NAME_OK = "CASE WHEN p.name_key = d.name_key THEN 1 ELSE 0 END"  # a NULL key (no name) equals nothing
# The record's key as a snapshot holds it: two integers, or text (``record_keys``).
_RECORD = "d.rk_hi AS rk_hi, d.rk_lo AS rk_lo, d.record_key AS record_key"
_COLUMNS = (
    "p.member_id AS member_id, p.household_id AS household_id, " + _RECORD + ", "
    "{rule} AS rule, " + _NAME_OK + " AS name_ok, d.name AS record_name, "
    "{num} AS value_num, {text} AS value_text, {date} AS value_date"
)
_NULL_NUM, _NULL_TEXT, _NULL_DATE = "CAST(NULL AS DOUBLE)", "CAST(NULL AS VARCHAR(1))", "CAST(NULL AS DATE)"


def _select(rule: Rule, *, num: str = _NULL_NUM, text: str = _NULL_TEXT, date: str = _NULL_DATE) -> str:
    return "SELECT " + _COLUMNS.format(rule=_lit(rule.value), num=num, text=text, date=date)


def _after_join(condition: str) -> str:
    """``condition`` on the dataset's columns, tied to the person so that the planner tests it on
    the matched rows only, not on every row of the department file (``p.member_id`` is never
    NULL in the inner join, so the meaning is unchanged)."""
    return f"(p.member_id IS NULL OR {condition})"


def _join(ds: str) -> str:
    return f" FROM persons p JOIN {ds} d ON p.id_key = d.id_key"


def _wage_sql(ds: str, column: str, params: RuleParams, divisor: float = 1.0) -> str:
    wage = f"(d.{column} / {divisor!r})"
    return (
        _select(Rule.INCOME_DISCREPANCY, num=wage, text=_lit(column))
        + _join(ds)
        + f" WHERE {wage} > {params.wage_ratio!r} * COALESCE(p.monthly_income, 0)"
        + f" AND {wage} - COALESCE(p.monthly_income, 0) >= {params.wage_min_gap!r}"
    )


def real_estate_matched_sql(ds: str) -> str:
    """The registry persons' homes in the real-estate dataset view ``ds`` (read by the two rules below)."""
    return (
        f"SELECT p.member_id, p.household_id, p.household_size, {_NAME_OK} AS name_ok, d.name AS record_name, "
        f"{_RECORD}, d.area, d.purchase_date" + _join(ds)
    )


def homes_over_limit_sql(m: str, params: RuleParams) -> str:
    """Hits of the household rule over ``m`` (``real_estate_matched_sql``): every home of a
    household with ``min_homes`` or more whose floor area per head is above the limit, each with
    its own area (``value_num``) and registration date (``value_date``), and the household's size
    (``value_text``), from which the findings step counts the homes and the area per head."""
    per_household = (
        "SELECT household_id, COUNT(*) AS homes, SUM(area) AS total_area FROM "  # noqa: S608 - m is a name
        f"(SELECT household_id, rk_hi, rk_lo, record_key, MAX(COALESCE(area, 0)) AS area FROM {m} "
        "GROUP BY household_id, rk_hi, rk_lo, record_key) x GROUP BY household_id"
    )
    per_head = "(h.total_area / GREATEST(m.household_size, 1))"
    return (
        f"SELECT m.member_id, m.household_id, m.rk_hi, m.rk_lo, m.record_key, "  # noqa: S608
        f"{_lit(Rule.HOMES_OVER_LIMIT.value)} AS rule, "
        f"m.name_ok, m.record_name, m.area AS value_num, CAST(m.household_size AS VARCHAR(10)) AS value_text, "
        f"m.purchase_date AS value_date FROM {m} m JOIN ({per_household}) h ON m.household_id = h.household_id "
        f"WHERE h.homes >= {int(params.min_homes)} AND {per_head} > {params.area_per_head_limit!r}"
    )


def recent_purchase_sql(m: str, params: RuleParams, today: dt.date) -> str:
    """Hits of the recent-purchase rule over ``m`` (``real_estate_matched_sql``)."""
    cutoff = today - dt.timedelta(days=params.recent_purchase_days)
    return (
        f"SELECT m.member_id, m.household_id, m.rk_hi, m.rk_lo, m.record_key, "  # noqa: S608
        f"{_lit(Rule.RECENT_HOME_PURCHASE.value)} AS rule, "
        f"m.name_ok, m.record_name, m.area AS value_num, {_NULL_TEXT} AS value_text, m.purchase_date AS value_date "
        f"FROM {m} m WHERE m.purchase_date > DATE {_lit(cutoff.isoformat())}"
    )


def rule_sql(kind: DatasetKind, ds: str, params: RuleParams, today: dt.date) -> str:
    """One query returning the hits of ``kind``'s rules against the dataset view ``ds``."""
    if kind == DatasetKind.VEHICLES:
        exempt = _contains_any("d.vehicle_type", params.exempt_vehicle_types)
        return _select(Rule.VEHICLE_OWNED, text="d.vehicle_type") + _join(ds) + f" WHERE {_after_join('NOT ' + exempt)}"
    if kind == DatasetKind.BUSINESS_ROLES:
        exempt = _contains_any("d.role", params.exempt_business_roles)
        text = "CONCAT(COALESCE(d.company, ''), ' / ', COALESCE(d.role, ''))"
        return (
            _select(Rule.ACTIVE_COMPANY_ROLE, text=text)
            + _join(ds)
            + f" WHERE {_after_join('d.company_active AND NOT ' + exempt)}"
        )
    if kind == DatasetKind.REAL_ESTATE:
        return (
            f"WITH m AS ({real_estate_matched_sql(ds)}) "
            f"{homes_over_limit_sql('m', params)} UNION ALL {recent_purchase_sql('m', params, today)}"
        )
    if kind == DatasetKind.HUKOU_DEATH:
        return _select(Rule.DEATH_RECORD, date="d.death_date") + _join(ds) + " WHERE d.death_date IS NOT NULL"
    if kind == DatasetKind.DIBAO_ROLL:
        inactive = _contains_any("d.status", params.inactive_dibao_words)
        return _select(Rule.ON_DIBAO, text="d.programme") + _join(ds) + f" WHERE {_after_join('NOT ' + inactive)}"
    if kind == DatasetKind.SOCIAL_INSURANCE:
        return _wage_sql(ds, "contribution_base", params)
    if kind == DatasetKind.HOUSING_FUND:
        return _wage_sql(ds, "deposit_base", params)
    if kind == DatasetKind.TAX:
        return _wage_sql(ds, "taxable_income", params, divisor=12.0)
    raise ValueError(f"unknown dataset kind {kind!r}")


HIT_COLUMNS = (
    "dataset_id",
    "kind",
    "member_id",
    "household_id",
    "rk_hi",
    "rk_lo",
    "record_key",
    "rule",
    "name_ok",
    "record_name",
    "value_num",
    "value_text",
    "value_date",
)
FINDING_COLUMNS = (
    "household_id",
    "member_id",
    "dataset_id",
    "kind",
    "record_key",
    "rule",
    "severity",
    "confidence",
    "details",
)


def hits_sql(dataset_id: int, kind: DatasetKind, ds: str, params: RuleParams, today: dt.date) -> str:
    """``rule_sql`` with the dataset's id and kind: rows of ``HIT_COLUMNS``."""
    return tagged_sql(dataset_id, kind, rule_sql(kind, ds, params, today))


def tagged_sql(dataset_id: int, kind: DatasetKind, rule_query: str) -> str:
    """The rows of a rule query with the dataset's id and kind in front: rows of ``HIT_COLUMNS``."""
    return (
        f"SELECT {int(dataset_id)} AS dataset_id, {_lit(kind.value)} AS kind, h.member_id, h.household_id, "  # noqa: S608
        "h.rk_hi, h.rk_lo, h.record_key, h.rule, h.name_ok, h.record_name, h.value_num, h.value_text, h.value_date "
        f"FROM ({rule_query}) h"
    )


def _json_str(expr: str) -> str:
    return f"CAST(to_json({expr}) AS VARCHAR)"


def _num(expr: str) -> str:
    return f"CAST(round({expr}, 2) AS VARCHAR)"


_SEVERITY_SQL = (
    "CASE rule " + " ".join(f"WHEN {_lit(r.value)} THEN {_lit(s.value)}" for r, s in SEVERITY.items()) + " END"
)
_HOUSEHOLD_RULES_SQL = ", ".join(_lit(r.value) for r in sorted(HOUSEHOLD_RULES))

# A per-person finding's key and the values chosen among duplicate hits (see ``findings_sql``).
_PERSON_KEY = "household_id, member_id, dataset_id, kind, rk_hi, rk_lo, record_key, rule"
_PERSON_VALUES = "name_ok, value_num, value_text, value_date, record_name"
_PERSON_ANY = f"""
hp AS MATERIALIZED (
    SELECT {_PERSON_KEY}, {_PERSON_VALUES}, hash({_PERSON_KEY}) AS g FROM {{person_hits}} h
), dup AS (
    SELECT g FROM hp GROUP BY g HAVING count(*) > 1
), person AS (
    SELECT {_PERSON_KEY}, {_PERSON_VALUES} FROM hp ANTI JOIN dup ON hp.g = dup.g
    UNION ALL
    SELECT {_PERSON_KEY}, 1 - s.o, s.value_num, s.value_text, s.value_date, s.record_name FROM (
        SELECT {_PERSON_KEY}, min(struct_pack(
            o := 1 - name_ok, value_num := value_num, value_text := value_text, value_date := value_date,
            record_name := record_name
        )) AS s
        FROM hp SEMI JOIN dup ON hp.g = dup.g
        GROUP BY {_PERSON_KEY}
    ) x
)"""  # noqa: S608
# Hits whose finding keys are known to be distinct (no dataset has two records with one ID and one
# record key): each is a finding as it is, and the rows stream from the join to the result.
_PERSON_UNIQUE = f"person AS (SELECT {_PERSON_KEY}, {_PERSON_VALUES} FROM {{person_hits}} h)"  # noqa: S608
_RECORD_TEXT = unpack_sql("rk_hi", "rk_lo", "record_key")
_FINDINGS_REST = f"""
home AS (
    SELECT household_id, dataset_id, rule, record, min(member_id) AS member_id, min(kind) AS kind,
           min(name_ok) AS name_ok, max(COALESCE(value_num, 0)) AS area, min(value_date) AS bought,
           max(CAST(value_text AS BIGINT)) AS size
    FROM (SELECT *, {_RECORD_TEXT} AS record FROM {{household_hits}} hh) hh
    GROUP BY household_id, dataset_id, rule, record
), household AS (
    SELECT household_id, min(member_id) AS member_id, dataset_id, min(kind) AS kind, rule,
           min(name_ok) AS name_ok, list(record ORDER BY record) AS records,
           count(*) AS homes, sum(area) / greatest(max(size), 1) AS per_head,
           list(struct_pack(record := record, area := round(area, 2),
                            date := strftime(bought, '%Y-%m-%d')) ORDER BY record) AS home_records
    FROM home
    GROUP BY household_id, dataset_id, rule
), rows AS (
    SELECT household_id, member_id, dataset_id, kind, rk_hi, rk_lo, record_key, rule, name_ok,
           '{{' || concat_ws(',',
               CASE WHEN isfinite(value_num) THEN '"value":' || {_num("value_num")} END,
               CASE WHEN value_text IS NOT NULL THEN '"text":' || {_json_str("value_text")} END,
               CASE WHEN value_date IS NOT NULL THEN '"date":"' || strftime(value_date, '%Y-%m-%d') || '"' END,
               CASE WHEN record_name <> '' THEN '"record_name":' || {_json_str("record_name")} END
           ) || '}}' AS details
    FROM person
    UNION ALL
    SELECT household_id, member_id, dataset_id, kind, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT),
           left(array_to_string(records, ','), 200), rule, name_ok,
           '{{"records":' || {_json_str("records")} || ',"homes":' || CAST(homes AS VARCHAR)
           || CASE WHEN isfinite(per_head) THEN ',"area_per_head":' || {_num("per_head")} ELSE '' END
           || ',"home_records":' || {_json_str("home_records")} || '}}'
    FROM household
)
SELECT household_id, member_id, dataset_id, kind, rk_hi, rk_lo, left(record_key, 200) AS record_key, rule,
       {_SEVERITY_SQL} AS severity,
       CASE WHEN name_ok = 1 THEN {_lit(Confidence.HIGH.value)} ELSE {_lit(Confidence.LOW.value)} END AS confidence,
       details
FROM rows
"""  # noqa: S608 - literals are escaped by _lit


def findings_sql(person_hits: str, household_hits: str, ctes: Sequence[str] = (), *, unique: bool = False) -> str:
    """Findings (DuckDB SQL, in no particular order) from the hits of the per-person rules
    (``person_hits``) and of the household rules (``household_hits``), each a table or a
    parenthesised query read once; ``ctes`` (``name AS (…)``) go in front. The rows are those of
    ``FINDING_COLUMNS`` with the record's key as the snapshots hold it (``rk_hi``, ``rk_lo``,
    ``record_key``): ``record_keys.with_record_keys`` makes it text.

    Per person: one finding per member, dataset, rule and record (of duplicate records the one
    whose name matches, then the smallest values: deterministic); per household (homes over the
    limit): one finding for all the records, with the first member. Details are JSON text.

    Duplicates are rare, and choosing among them (``min`` of a struct) is the costly part of the
    query, so the hits are split on a 64-bit hash of the finding's key: a hit whose hash no other
    hit shares is a finding as it is; only the hits sharing a hash (true duplicates, or the rare
    collision, which the exact grouping then keeps apart) are grouped. With ``unique`` (import
    found no two records of each dataset with one ID and one record key: ``record_keys.UNIQUE_META``)
    there is nothing to choose: the hits are the findings, and they stream from the join to the
    result instead of being held for that step."""
    person = _PERSON_UNIQUE if unique else _PERSON_ANY
    body = (person + ", " + _FINDINGS_REST).replace("{person_hits}", person_hits)
    return "WITH " + ", ".join([*ctes, body.replace("{household_hits}", household_hits)])


# The findings of a table ``hits`` holding the rows of every rule (the Arrow hits of an engine).
FINDINGS_SQL = findings_sql(
    f"(SELECT * FROM hits WHERE rule NOT IN ({_HOUSEHOLD_RULES_SQL}))",  # noqa: S608 - literals by _lit
    f"(SELECT * FROM hits WHERE rule IN ({_HOUSEHOLD_RULES_SQL}))",  # noqa: S608 - literals by _lit
)


@dataclass(frozen=True)
class Finding:
    household_id: int
    member_id: int
    dataset_id: int
    kind: str
    record_key: str
    rule: str
    severity: str
    confidence: str
    details: dict[str, Any] = field(default_factory=dict, compare=True, hash=False)

    @property
    def sort_key(self) -> tuple[int, int, int, str, str]:
        return (self.household_id, self.member_id, self.dataset_id, self.rule, self.record_key)
