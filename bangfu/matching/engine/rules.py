"""The finding rules as SQL over two views — ``persons`` and one dataset — plus the step that
turns the rows they return ("hits") into findings with a confidence.

``persons``: member_id, household_id, id_key (BIGINT), name, monthly_income (DOUBLE),
household_size. A dataset view has the columns of ``schemas``. The SQL is the portable subset
that DuckDB and Spark SQL both run; dates and limits are literals computed here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .names import same_name
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


@dataclass(frozen=True)
class RuleParams:
    """The configurable parameters of the rules (defaults follow domain.md §3)."""

    # A vehicle whose type contains one of these is a livelihood or disability vehicle.
    exempt_vehicle_types: tuple[str, ...] = ("livelihood", "disability", "残疾", "生计", "农用", "三轮")
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


_COLUMNS = (
    "p.member_id AS member_id, p.household_id AS household_id, d.record_key AS record_key, "
    "{rule} AS rule, p.name AS person_name, d.name AS record_name, "
    "{num} AS value_num, {text} AS value_text, {date} AS value_date"
)
_NULL_NUM, _NULL_TEXT, _NULL_DATE = "CAST(NULL AS DOUBLE)", "CAST(NULL AS VARCHAR(1))", "CAST(NULL AS DATE)"


def _select(rule: Rule, *, num: str = _NULL_NUM, text: str = _NULL_TEXT, date: str = _NULL_DATE) -> str:
    return "SELECT " + _COLUMNS.format(rule=_lit(rule.value), num=num, text=text, date=date)


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


def rule_sql(kind: DatasetKind, ds: str, params: RuleParams, today: dt.date) -> str:
    """One query returning the hits of ``kind``'s rules against the dataset view ``ds``."""
    if kind == DatasetKind.VEHICLES:
        exempt = _contains_any("d.vehicle_type", params.exempt_vehicle_types)
        return _select(Rule.VEHICLE_OWNED, text="d.vehicle_type") + _join(ds) + f" WHERE NOT {exempt}"
    if kind == DatasetKind.BUSINESS_ROLES:
        exempt = _contains_any("d.role", params.exempt_business_roles)
        text = "CONCAT(COALESCE(d.company, ''), ' / ', COALESCE(d.role, ''))"
        return _select(Rule.ACTIVE_COMPANY_ROLE, text=text) + _join(ds) + f" WHERE d.company_active AND NOT {exempt}"
    if kind == DatasetKind.REAL_ESTATE:
        cutoff = today - dt.timedelta(days=params.recent_purchase_days)
        matched = (
            "SELECT p.member_id, p.household_id, p.household_size, p.name AS person_name, d.name AS record_name, "
            "d.record_key, d.area, d.purchase_date" + _join(ds)
        )
        per_household = (
            "SELECT household_id, COUNT(*) AS homes, SUM(area) AS total_area FROM "
            "(SELECT household_id, record_key, MAX(COALESCE(area, 0)) AS area "
            "FROM m GROUP BY household_id, record_key) x "
            "GROUP BY household_id"
        )
        per_head = "(h.total_area / GREATEST(m.household_size, 1))"
        return (
            f"WITH m AS ({matched}), h AS ({per_household}) "  # noqa: S608 - literals are escaped by _lit
            f"SELECT m.member_id, m.household_id, m.record_key, {_lit(Rule.HOMES_OVER_LIMIT.value)} AS rule, "
            f"m.person_name, m.record_name, {per_head} AS value_num, CAST(h.homes AS VARCHAR(10)) AS value_text, "
            f"{_NULL_DATE} AS value_date FROM m JOIN h ON m.household_id = h.household_id "
            f"WHERE h.homes >= {int(params.min_homes)} AND {per_head} > {params.area_per_head_limit!r} "
            f"UNION ALL SELECT m.member_id, m.household_id, m.record_key, "
            f"{_lit(Rule.RECENT_HOME_PURCHASE.value)} AS rule, m.person_name, m.record_name, "
            f"m.area AS value_num, {_NULL_TEXT} AS value_text, m.purchase_date AS value_date FROM m "
            f"WHERE m.purchase_date > DATE {_lit(cutoff.isoformat())}"
        )
    if kind == DatasetKind.HUKOU_DEATH:
        return _select(Rule.DEATH_RECORD, date="d.death_date") + _join(ds) + " WHERE d.death_date IS NOT NULL"
    if kind == DatasetKind.DIBAO_ROLL:
        inactive = _contains_any("d.status", params.inactive_dibao_words)
        return _select(Rule.ON_DIBAO, text="d.programme") + _join(ds) + f" WHERE NOT {inactive}"
    if kind == DatasetKind.SOCIAL_INSURANCE:
        return _wage_sql(ds, "contribution_base", params)
    if kind == DatasetKind.HOUSING_FUND:
        return _wage_sql(ds, "deposit_base", params)
    if kind == DatasetKind.TAX:
        return _wage_sql(ds, "taxable_income", params, divisor=12.0)
    raise ValueError(f"unknown dataset kind {kind!r}")


@dataclass(frozen=True)
class Hit:
    """One row returned by a rule query."""

    dataset_id: int
    kind: str
    member_id: int
    household_id: int
    record_key: str
    rule: str
    person_name: str | None
    record_name: str | None
    value_num: float | None
    value_text: str | None
    value_date: dt.date | None


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


def _details(hit: Hit) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if hit.value_num is not None:
        out["value"] = round(float(hit.value_num), 2)
    if hit.value_text is not None:
        out["text"] = hit.value_text
    if hit.value_date is not None:
        out["date"] = hit.value_date.isoformat()
    if hit.record_name:
        out["record_name"] = hit.record_name
    return out


def build_findings(hits: Iterable[Hit]) -> list[Finding]:
    """Findings from hits: the name is the second signal (never a reason to drop one)."""
    single: dict[tuple[int, int, str, str], Finding] = {}
    grouped: dict[tuple[int, int, str], list[Hit]] = {}
    for hit in hits:
        rule = Rule(hit.rule)
        if rule in HOUSEHOLD_RULES:
            grouped.setdefault((hit.household_id, hit.dataset_id, hit.rule), []).append(hit)
            continue
        key = (hit.member_id, hit.dataset_id, hit.rule, hit.record_key)
        confidence = Confidence.HIGH if same_name(hit.person_name, hit.record_name) else Confidence.LOW
        previous = single.get(key)
        if previous is not None and previous.confidence == Confidence.HIGH:
            continue  # an exact duplicate record; keep the better-matching one
        single[key] = Finding(
            household_id=hit.household_id,
            member_id=hit.member_id,
            dataset_id=hit.dataset_id,
            kind=hit.kind,
            record_key=hit.record_key,
            rule=hit.rule,
            severity=SEVERITY[rule].value,
            confidence=confidence.value,
            details=_details(hit),
        )
    findings = list(single.values())
    for (household_id, dataset_id, rule_code), group in grouped.items():
        rule = Rule(rule_code)
        keys = sorted({h.record_key for h in group})
        high = all(same_name(h.person_name, h.record_name) for h in group)
        first = min(group, key=lambda h: (h.member_id, h.record_key))
        details = {"records": keys, "homes": int(first.value_text or len(keys))}
        if first.value_num is not None:
            details["area_per_head"] = round(float(first.value_num), 2)
        findings.append(
            Finding(
                household_id=household_id,
                member_id=first.member_id,
                dataset_id=dataset_id,
                kind=first.kind,
                record_key=",".join(keys)[:200],
                rule=rule.value,
                severity=SEVERITY[rule].value,
                confidence=(Confidence.HIGH if high else Confidence.LOW).value,
                details=details,
            )
        )
    findings.sort(key=lambda f: f.sort_key)
    return findings
