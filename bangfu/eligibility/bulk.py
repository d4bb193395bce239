"""Set-based recompute of a subtree: facts loaded with a few large queries per chunk of households,
the pure engine run on each, decisions written with COPY (PostgreSQL) or executemany (SQLite).

The same loader serves the what-if preview (``write=False`` with other standards or rules).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from bangfu.registry import codes
from bangfu.registry.models import BusinessRole, Home, Household, Income, Member, RigidExpense, Vehicle

from . import rules
from .adapters import RuleBook, StandardBook, member_facts
from .models import EligibilityDecision, ExtraFacts

CHUNK = 20_000
SKIPPED_STATES = (codes.FileState.CANCELLED, codes.FileState.REMOVED)
ZERO = Decimal(0)
FEN = Decimal("0.01")

DECISION_COLUMNS = (
    "household_id",
    "category",
    "income_category",
    "previous_category",
    "is_migrant_worker",
    "net_income_per_head_monthly",
    "reasons",
    "disqualifiers",
    "exit_months_above",
    "exit_test_met",
    "standard_version",
    "ruleset_version",
    "decided_at",
    "decided_by_id",
    "is_current",
    "run_id",
    "override_status",
    "overridden_category",
    "override_reason",
)


def households_in(path: str) -> QuerySet[Household]:
    """The households a recompute of the subtree at ``path`` decides (cancelled and removed files are left)."""
    return Household.objects.filter(unit__path__startswith=path).exclude(state__in=SKIPPED_STATES)


@dataclass
class HouseholdRow:
    id: int
    unit_id: int
    region_code: str
    main_cause: int | None
    secondary_causes: tuple[int, ...]
    members: list[rules.MemberFacts] = field(default_factory=list)
    incomes: list[tuple[str, Decimal]] = field(default_factory=list)
    rigid: list[tuple[str, Decimal]] = field(default_factory=list)
    homes: list[rules.HomeFacts] = field(default_factory=list)
    vehicles: list[str] = field(default_factory=list)
    roles: list[rules.BusinessRoleFacts] = field(default_factory=list)
    extra: tuple[Decimal, Decimal, Decimal, bool] | None = None

    def facts(self, on: date) -> rules.HouseholdFacts:
        e = self.extra
        return rules.HouseholdFacts(
            members=tuple(self.members),
            region_code=self.region_code,
            decision_date=on,
            incomes=tuple(self.incomes),
            rigid_expenses=tuple(self.rigid),
            homes=tuple(self.homes),
            vehicles=tuple(self.vehicles),
            business_roles=tuple(self.roles),
            main_cause=self.main_cause,
            secondary_causes=self.secondary_causes,
            accident_costs_yearly=e[0] if e else ZERO,
            private_school_fees_yearly=e[1] if e else ZERO,
            public_school_fees_yearly=e[2] if e else ZERO,
            studying_abroad_self_funded=e[3] if e else False,
        )


def _table(model: Any) -> str:
    return str(model._meta.db_table)


def _converters() -> tuple[Callable[[Any], Any], Callable[[Any], Any], Callable[[Any], Any]]:
    """(decimal, date, json) converters for raw rows: PostgreSQL's driver returns Python types,
    SQLite returns numbers and ISO strings (converted as the ORM does)."""
    if connection.vendor == "postgresql":
        return (lambda v: v), (lambda v: v), (lambda v: json.loads(v) if isinstance(v, str) else v)
    return (
        lambda v: None if v is None else Decimal(repr(v) if isinstance(v, float) else str(v)).quantize(FEN),
        lambda v: None if v is None else (v if isinstance(v, date) else date.fromisoformat(v)),
        lambda v: json.loads(v) if isinstance(v, str) else v,
    )


def _heads(path: str) -> list[tuple[Any, ...]]:
    qs = (
        households_in(path)
        .order_by("id")
        .values_list("id", "unit_id", "unit__division_code", "main_cause", "secondary_causes")
    )
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cur:  # raw: the ORM's per-value converters cost more than the query
        cur.execute(sql, params)
        return cur.fetchall()


def _rows(cur: Any, model: Any, columns: str, lo: int, hi: int) -> list[tuple[Any, ...]]:
    cur.execute(
        f"SELECT household_id, {columns} FROM {_table(model)} "  # noqa: S608 - fixed identifiers
        "WHERE household_id >= %s AND household_id <= %s ORDER BY household_id, id",
        [lo, hi],
    )
    return list(cur.fetchall())


def iter_chunks(path: str, on: date, chunk: int = CHUNK) -> Iterator[tuple[int, list[HouseholdRow]]]:
    """(total, rows) per chunk of households in id order, each row with everything the engine needs."""
    dec, day, js = _converters()
    heads = _heads(path)
    total = len(heads)
    for start in range(0, total, chunk):
        part = heads[start : start + chunk]
        by_id = {
            hid: HouseholdRow(hid, unit_id, code, cause, tuple(int(c) for c in (js(secondary) or ())))
            for hid, unit_id, code, cause, secondary in part
        }
        lo, hi = part[0][0], part[-1][0]
        with connection.cursor() as cur:
            members = _rows(
                cur,
                Member,
                "birth_date, relationship, living_together, deceased, monthly_income, identity, work_status, "
                "health, disability_type, disability_grade, enterprise_state, work_start_date, hukou",
                lo,
                hi,
            )
            incomes = _rows(cur, Income, "kind, amount_yearly", lo, hi)
            rigid = _rows(cur, RigidExpense, "kind, amount_yearly", lo, hi)
            homes = _rows(cur, Home, "floor_area, acquired_on", lo, hi)
            vehicles = _rows(cur, Vehicle, "kind", lo, hi)
            roles = _rows(cur, BusinessRole, "role, company_active", lo, hi)
            extras = _rows(
                cur,
                ExtraFacts,
                "accident_costs_yearly, private_school_fees_yearly, public_school_fees_yearly, "
                "studying_abroad_self_funded",
                lo,
                hi,
            )
        get = by_id.get
        for hid, born, rel, living, dead, income, ident, work, health, dtype, grade, ent, started, hukou in members:
            if (h := get(hid)) is not None:
                h.members.append(
                    member_facts(
                        birth_date=day(born),
                        on=on,
                        relationship=rel,
                        living_together=bool(living),
                        deceased=bool(dead),
                        monthly_income=dec(income),
                        identity=ident,
                        work_status=work,
                        health=health,
                        disability_type=dtype,
                        disability_grade=grade,
                        enterprise_state=ent,
                        work_start_date=day(started),
                        hukou=hukou,
                    )
                )
        for hid, kind, amount in incomes:
            if (h := get(hid)) is not None:
                h.incomes.append((kind, dec(amount)))
        for hid, kind, amount in rigid:
            if (h := get(hid)) is not None:
                h.rigid.append((kind, dec(amount)))
        for hid, area, acquired in homes:
            if (h := get(hid)) is not None:
                h.homes.append(rules.HomeFacts(dec(area), day(acquired)))
        for hid, kind in vehicles:
            if (h := get(hid)) is not None:
                h.vehicles.append(kind)
        for hid, role, active in roles:
            if (h := get(hid)) is not None:
                h.roles.append(rules.BusinessRoleFacts(role, bool(active)))
        for hid, accident, private, public, abroad in extras:
            if (h := get(hid)) is not None:
                h.extra = (dec(accident), dec(private), dec(public), bool(abroad))
        yield total, list(by_id.values())


def current_categories(lo: int, hi: int) -> dict[int, str]:
    return dict(
        EligibilityDecision.objects.filter(is_current=True, household_id__gte=lo, household_id__lte=hi).values_list(
            "household_id", "category"
        )
    )


@dataclass
class Outcome:
    total: int = 0
    done: int = 0
    changed: int = 0
    # (unit_id, household_id, previous category, new category) for every household whose category changed
    changes: list[tuple[int, int, str, str]] = field(default_factory=list)
    categories: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def run_engine(
    *,
    path: str,
    on: date,
    standards: StandardBook | None = None,
    rulebook: RuleBook | None = None,
    write: bool = False,
    run_id: int | None = None,
    actor_id: int | None = None,
    progress: Callable[[Outcome], None] | None = None,
    chunk: int = CHUNK,
) -> Outcome:
    """Decide every household in the subtree; with ``write`` store the decisions as current."""
    standards = standards or StandardBook.load(on.year)
    rulebook = rulebook or RuleBook.load()
    out = Outcome()
    now = timezone.now()
    for total, part in iter_chunks(path, on, chunk):
        out.total = total
        lo, hi = part[0].id, part[-1].id
        previous = current_categories(lo, hi)
        decided: list[tuple[HouseholdRow, rules.Decision, str]] = []
        for h in part:
            d = rules.decide(h.facts(on), standards.get(h.region_code, on), rulebook.get(h.region_code))
            prev = previous.get(h.id, "")
            decided.append((h, d, prev))
            out.categories[d.category] += 1
            if prev and prev != d.category:
                out.changed += 1
                out.changes.append((h.unit_id, h.id, prev, d.category))
        if write:
            _write(decided, now=now, run_id=run_id, actor_id=actor_id)
        out.done += len(part)
        if progress is not None:
            progress(out)
    return out


def _row(
    h: HouseholdRow, d: rules.Decision, prev: str, now: Any, run_id: int | None, actor_id: int | None
) -> tuple[Any, ...]:
    return (
        h.id,
        d.category,
        d.income_category,
        prev,
        d.is_migrant_worker,
        None if d.net_income_per_head_monthly is None else str(d.net_income_per_head_monthly),
        json.dumps([{"code": r.code, "params": r.params} for r in d.reasons], ensure_ascii=False),
        json.dumps(list(d.disqualifiers)),
        d.exit_months_above,
        d.exit_test_met,
        d.standard_version,
        d.ruleset_version,
        now,
        actor_id,
        True,
        run_id,
        "",
        "",
        "",
    )


def _write(
    decided: list[tuple[HouseholdRow, rules.Decision, str]], *, now: datetime, run_id: int | None, actor_id: int | None
) -> None:
    ids = [h.id for h, _d, _p in decided]
    table = EligibilityDecision._meta.db_table
    cols = ", ".join(DECISION_COLUMNS)
    stamp: Any = now if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(now)
    rows = [_row(h, d, p, stamp, run_id, actor_id) for h, d, p in decided]
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                f"UPDATE {table} SET is_current = false WHERE is_current AND household_id = ANY(%s)",  # noqa: S608
                [ids],
            )
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            for start in range(0, len(ids), 900):
                part = ids[start : start + 900]
                marks = ", ".join(["%s"] * len(part))
                cur.execute(
                    f"UPDATE {table} SET is_current = 0 WHERE is_current AND household_id IN ({marks})",  # noqa: S608
                    part,
                )
            marks = ", ".join(["%s"] * len(DECISION_COLUMNS))
            cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)  # noqa: S608
