"""Set-based recompute of a subtree, and the what-if preview.

Each household is reduced to a ``rules.HouseholdSummary`` (everything the rules read, one row): on
PostgreSQL by one aggregating query per chunk of households, elsewhere by loading the facts and
summarising them in Python (``rules.summarise``; a test proves both give the same summaries). The
pure engine decides from the summary; decisions are written with COPY (PostgreSQL) or executemany,
each with its summary, so a what-if on standards or rules can reuse the summaries of households
whose file has not changed since (``whatif_categories``).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import OperationalError, connection, connections, transaction
from django.db.models import F, Max, QuerySet
from django.utils import timezone

from bangfu.common import copytext
from bangfu.org.models import OrgUnit
from bangfu.registry import codes
from bangfu.registry.models import (
    BusinessRole,
    Home,
    Household,
    Income,
    IncomeRecord,
    Member,
    RigidExpense,
    Vehicle,
)

from . import rules, workers
from .adapters import RuleBook, StandardBook, history_from, income_history, member_facts
from .models import CARRIED_OVERRIDES, OVERRIDE_FIELDS, EligibilityDecision, override_holds
from .rules import engine

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
    "run_id",
    *OVERRIDE_FIELDS,
    "condition",
    "precondition_ok",
    "accident_by_share",
    "net_after_accident",
    "basis",
    "facts_version",
)
# Rule parameters a stored decision's ladder inputs do not depend on (``engine.ladder`` reads them).
LADDER_PARAMS = frozenset({"version", "deep_multiple", "relative_multiple", "comparison", "accident_test"})


def basis_of(on: date, standard: rules.Standard | None, ruleset: rules.RuleSet) -> str:
    """A digest of everything a decision's ladder inputs depend on besides the facts: equal digests
    mean ``engine.ladder`` over the stored numbers gives what deciding again would give."""
    if standard is None:
        return ""
    params = {k: v for k, v in sorted(ruleset.to_params().items()) if k not in LADDER_PARAMS}
    key = (
        f"{on.isoformat()}|{standard.minimum_wage_monthly}|{standard.housing_area_per_head}|"
        f"{standard.disposable_income_per_head_last_year}|{json.dumps(params, sort_keys=True)}"
    )
    return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()


def households_in(path: str) -> QuerySet[Household]:
    """The households a recompute of the subtree at ``path`` decides (cancelled and removed files are left)."""
    return Household.objects.filter(unit__path__startswith=path).exclude(state__in=SKIPPED_STATES)


@dataclass
class HouseholdRow:
    id: int
    unit_id: int
    version: int
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
    # (month, net income per head) of the income records, for the exit test's history
    income_records: list[tuple[date, Decimal]] = field(default_factory=list)

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
            income_history=income_history(self.income_records, on),
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


def _heads(path: str, ids: list[int] | None = None) -> list[tuple[Any, ...]]:
    households = households_in(path)
    if ids is not None:
        households = households.filter(pk__in=ids)
    qs = households.order_by("id").values_list(
        "id", "unit_id", "unit__division_code", "main_cause", "secondary_causes", "version"
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


def iter_chunks(
    path: str, on: date, chunk: int = CHUNK, ids: list[int] | None = None
) -> Iterator[tuple[int, list[HouseholdRow]]]:
    """(total, rows) per chunk of households in id order, each row with everything the engine needs."""
    dec, day, js = _converters()
    heads = (
        _heads(path)
        if ids is None
        else [h for start in range(0, len(ids), 900) for h in _heads(path, ids[start : start + 900])]
    )
    heads.sort()
    total = len(heads)
    for start in range(0, total, chunk):
        part = heads[start : start + chunk]
        by_id = {
            hid: HouseholdRow(hid, unit_id, version, code, cause, tuple(int(c) for c in (js(secondary) or ())))
            for hid, unit_id, code, cause, secondary, version in part
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
            records = _rows(cur, IncomeRecord, "month, per_head", lo, hi)
            extras_sql = (  # fixed identifiers, values as parameters
                "SELECT id, accident_costs_yearly, private_school_fees_yearly, public_school_fees_yearly, "  # noqa: S608
                f"studying_abroad_self_funded FROM {_table(Household)} "
                "WHERE id >= %s AND id <= %s AND (accident_costs_yearly <> 0 OR private_school_fees_yearly <> 0 "
                "OR public_school_fees_yearly <> 0 OR studying_abroad_self_funded)"
            )
            cur.execute(extras_sql, [lo, hi])
            extras = list(cur.fetchall())
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
        for hid, month, head in records:
            if (h := get(hid)) is not None:
                h.income_records.append((day(month), dec(head)))
        yield total, list(by_id.values())


def current_decisions(lo: int, hi: int) -> dict[int, tuple[int, str, tuple[Any, ...] | None]]:
    """(id, category, override) of the current (newest) decision of each household with an id in
    [lo, hi]: the override is its ``OVERRIDE_FIELDS`` as stored when approved or pending (one
    that a new decision may carry over), else None."""
    decisions = EligibilityDecision._base_manager
    newest = (
        decisions.filter(household_id__gte=lo, household_id__lte=hi)
        .values("household_id")
        .annotate(last=Max("id"))
        .values("last")
    )
    sql, params = (
        decisions.filter(pk__in=newest)
        .order_by()
        .values_list("household_id", "id", "category", *OVERRIDE_FIELDS)
        .query.sql_with_params()
    )
    with connection.cursor() as cur:  # raw: the override is written back exactly as it was read
        cur.execute(sql, params)
        rows = cur.fetchall()
    return {row[0]: (row[1], row[2], row[3:] if row[3] in CARRIED_OVERRIDES else None) for row in rows}


def _current_join(alias: str, columns: str, household: str) -> str:
    """A LEFT JOIN making ``alias`` the current decision (the newest) of the household whose id is
    ``household``, one index probe per household (never a scan of the history); ``columns`` are
    the ones read (PostgreSQL's lateral join selects them, SQLite's joins the row)."""
    table = _table(EligibilityDecision)
    if connection.vendor == "postgresql":
        return (
            f"LEFT JOIN LATERAL (SELECT {columns} FROM {table} x WHERE x.household_id = {household} "  # noqa: S608
            f"ORDER BY x.id DESC LIMIT 1) {alias} ON true"
        )
    return (
        f"LEFT JOIN {table} {alias} ON {alias}.id = "  # noqa: S608
        f"(SELECT max(x.id) FROM {table} x WHERE x.household_id = {household})"
    )


@dataclass(slots=True)
class Item:
    """One household to decide: its summary, the file's version, its current decision's category
    and, when that decision has an approved or pending override, the override's ``OVERRIDE_FIELDS``
    (carried to the new decision while the computed category stays the same: ``override_holds``),
    and the current decision's id (0 when it has none), which the write locks (``_write``)."""

    id: int
    unit_id: int
    version: int
    previous: str
    summary: rules.HouseholdSummary
    override: tuple[Any, ...] | None = None
    decision: int = 0


# What the summary query reads of each household's current decision: its category, override and id.
_CURRENT_COLUMNS = ", ".join(("category", *OVERRIDE_FIELDS, "id"))


def _in(values: frozenset[str]) -> str:
    """A SQL list of the engine's own code sets (fixed values from code, never user input)."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in sorted(values))


def _summary_sql(with_ids: bool) -> str:
    """One row per household with everything ``rules.HouseholdSummary`` holds, aggregated by PostgreSQL.
    The code sets come from the engine, so the rules stay in one place."""
    able = (
        f"identity NOT IN ({_in(engine.NOT_ABLE_IDENTITIES | {'working'})}) "
        f"AND work_status NOT IN ({_in(engine.RETIRED_STATUSES | engine.EMPLOYED_STATUSES)}) "
        f"AND health NOT IN ({_in(engine.SERIOUS_HEALTH)}) AND health <> 'disabled' AND disability_type = '' "
        "AND NOT COALESCE(disability_grade <= 2, false)"
    )
    rng = "household_id BETWEEN %(lo)s AND %(hi)s"
    return f"""
WITH hh AS (
    SELECT h.id, h.unit_id, u.division_code, h.version, h.main_cause, h.secondary_causes::text AS causes,
           h.accident_costs_yearly, h.private_school_fees_yearly, h.public_school_fees_yearly,
           h.studying_abroad_self_funded
    FROM {_table(Household)} h JOIN {_table(OrgUnit)} u ON u.id = h.unit_id
    WHERE h.id BETWEEN %(lo)s AND %(hi)s AND left(u.path, %(plen)s) = %(path)s
      AND h.state NOT IN ({_in(frozenset(str(x) for x in SKIPPED_STATES))})
      {"AND h.id = ANY(%(ids)s)" if with_ids else ""}
)
SELECT hh.id, hh.unit_id, hh.division_code, hh.version, hh.main_cause, hh.causes,
       m.n, m.wages, m.able_born, m.able_income, m.ill, m.disabled, m.student, m.job_loss, m.head_migrant,
       m.head_start, i.other, i.aid, r.rigid, r.schooling, v.kinds, b.roles, ho.n, ho.area, ho.last,
       hh.accident_costs_yearly, hh.private_school_fees_yearly, hh.public_school_fees_yearly,
       hh.studying_abroad_self_funded, {", ".join(f"d.{c}" for c in _CURRENT_COLUMNS.split(", "))},
       ir.months, ir.per_head
FROM hh
LEFT JOIN (
    SELECT household_id, count(*) AS n, sum(monthly_income) AS wages,
           array_agg(birth_date ORDER BY id) FILTER (WHERE {able}) AS able_born,
           array_agg(monthly_income ORDER BY id) FILTER (WHERE {able}) AS able_income,
           bool_or(health IN ({_in(engine.SERIOUS_HEALTH)})) AS ill,
           bool_or(health = 'disabled' OR disability_type <> '' OR disability_grade IS NOT NULL) AS disabled,
           bool_or(identity = 'student') AS student,
           bool_or(work_status IN ({_in(engine.JOB_LOSS_STATUSES)})
                   AND enterprise_state IN ({_in(engine.CLOSED_ENTERPRISE)})) AS job_loss,
           bool_or(relationship = 'head' AND (work_status = 'migrant_worker' OR hukou = 'agricultural'))
               AS head_migrant,
           max(work_start_date) FILTER (WHERE relationship = 'head') AS head_start
    FROM {_table(Member)} WHERE {rng} AND living_together AND NOT deceased GROUP BY household_id
) m ON m.household_id = hh.id
LEFT JOIN (
    SELECT household_id,
           sum(amount_yearly) FILTER (WHERE kind NOT IN ({_in(engine.NOT_COUNTED_INCOME | {engine.UNION_AID})}))
               AS other,
           sum(amount_yearly) FILTER (WHERE kind = '{engine.UNION_AID}') AS aid
    FROM {_table(Income)} WHERE {rng} GROUP BY household_id
) i ON i.household_id = hh.id
LEFT JOIN (
    SELECT household_id, sum(amount_yearly) AS rigid, bool_or(kind = 'schooling' AND amount_yearly > 0) AS schooling
    FROM {_table(RigidExpense)} WHERE {rng} GROUP BY household_id
) r ON r.household_id = hh.id
LEFT JOIN (
    SELECT household_id, array_agg(DISTINCT kind) AS kinds FROM {_table(Vehicle)}
    WHERE {rng} AND kind NOT IN ({_in(engine.ALLOWED_VEHICLES)}) GROUP BY household_id
) v ON v.household_id = hh.id
LEFT JOIN (
    SELECT household_id, array_agg(DISTINCT role) AS roles FROM {_table(BusinessRole)}
    WHERE {rng} AND company_active GROUP BY household_id
) b ON b.household_id = hh.id
LEFT JOIN (
    SELECT household_id, count(*) AS n, sum(floor_area) AS area, max(acquired_on) AS last
    FROM {_table(Home)} WHERE {rng} GROUP BY household_id
) ho ON ho.household_id = hh.id
{_current_join("d", _CURRENT_COLUMNS, "hh.id")}
LEFT JOIN (
    SELECT household_id, array_agg(month ORDER BY month) AS months, array_agg(per_head ORDER BY month) AS per_head
    FROM {_table(IncomeRecord)} WHERE {rng} AND month >= %(history_from)s AND month <= %(on)s GROUP BY household_id
) ir ON ir.household_id = hh.id
ORDER BY hh.id
"""  # noqa: S608 - identifiers and code sets from the code, values as parameters


def _pg_items(rows: list[tuple[Any, ...]], on: date) -> list[Item]:
    accident_causes = engine.ACCIDENT_CAUSES
    carried = CARRIED_OVERRIDES
    condition_from = engine.condition_from
    summary = rules.HouseholdSummary
    out: list[Item] = []
    append = out.append
    for (
        hid,
        unit_id,
        code,
        version,
        main,
        causes_json,
        n,
        wages,
        able_born,
        able_income,
        ill,
        disabled,
        student,
        job_loss,
        head_migrant,
        head_start,
        other,
        aid,
        rigid,
        schooling,
        kinds,
        roles,
        homes,
        area,
        last,
        accident,
        private,
        public,
        abroad,
        previous,
        o_status,
        o_category,
        o_reason,
        o_by,
        o_at,
        o_approved_by,
        o_approved_at,
        o_replaces,
        decision_id,
        months,
        per_heads,
    ) in rows:
        causes = {main, *(int(c) for c in json.loads(causes_json))} if causes_json != "[]" else {main}
        append(
            Item(
                hid,
                unit_id,
                version,
                previous or "",
                summary(
                    code,
                    n or 0,
                    wages or ZERO,
                    tuple(zip(able_born, able_income, strict=True)) if able_born else (),
                    other or ZERO,
                    aid or ZERO,
                    rigid or ZERO,
                    condition_from(
                        illness=bool(ill),
                        disability=bool(disabled),
                        student=bool(student),
                        schooling_costs=bool(schooling),
                        job_loss=bool(job_loss),
                        causes=causes,
                    ),
                    accident if accident and causes & accident_causes else ZERO,
                    ", ".join(sorted(kinds)) if kinds else "",
                    ", ".join(sorted(roles)) if roles else "",
                    homes or 0,
                    area or ZERO,
                    last,
                    private or ZERO,
                    public or ZERO,
                    bool(abroad),
                    bool(head_migrant),
                    head_start,
                    income_history(zip(months, per_heads, strict=True), on) if months else (),
                ),
                (o_status, o_category, o_reason, o_by, o_at, o_approved_by, o_approved_at, o_replaces)
                if o_status in carried
                else None,
                decision_id or 0,
            )
        )
    return out


def _ids_of(path: str, ids: list[int] | None, id_range: tuple[int, int] | None = None) -> list[int]:
    qs = households_in(path)
    if id_range is not None:
        qs = qs.filter(pk__gte=id_range[0], pk__lte=id_range[1])
    sql, params = qs.order_by("id").values_list("id", flat=True).query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute(sql, params)
        found = [r[0] for r in cur.fetchall()]
    if ids is not None:
        wanted = set(ids)
        found = [i for i in found if i in wanted]
    return found


def iter_items(
    path: str,
    on: date,
    chunk: int = CHUNK,
    ids: list[int] | None = None,
    id_range: tuple[int, int] | None = None,
) -> Iterator[tuple[int, list[Item]]]:
    """(total, items) per chunk of the subtree's households (or of ``ids`` among them, or of those
    with ids in ``id_range``), in id order."""
    if id_range is not None:
        ids = _ids_of(path, None, id_range)
    if connection.vendor != "postgresql":
        for total, part in iter_chunks(path, on, chunk, ids):
            current = current_decisions(part[0].id, part[-1].id)
            items = []
            for h in part:
                decision, previous, override = current.get(h.id, (0, "", None))
                items.append(
                    Item(h.id, h.unit_id, h.version, previous, engine.summarise(h.facts(on)), override, decision)
                )
            yield total, items
        return
    all_ids = _ids_of(path, ids) if id_range is None else (ids or [])
    total = len(all_ids)
    sql = _summary_sql(ids is not None and id_range is None)
    for start in range(0, total, chunk):
        window = all_ids[start : start + chunk]
        params: dict[str, Any] = {
            "lo": window[0],
            "hi": window[-1],
            "path": path,
            "plen": len(path),
            "on": on,
            "history_from": history_from(on),
        }
        if ids is not None and id_range is None:
            params["ids"] = window
        with connection.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall()
        yield total, _pg_items(rows, on)


@dataclass
class Outcome:
    total: int = 0
    done: int = 0
    changed: int = 0
    # (unit_id, household_id, previous category, new category) for every household whose category changed
    changes: list[tuple[int, int, str, str]] = field(default_factory=list)
    categories: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # households whose current decision's approved or pending override lapsed (its computed
    # category changed), so the new decision does not carry it (``override_holds``)
    lapsed: int = 0
    # households left without a decision of this run: another decision was stored for each after
    # the run read it, twice (once before its chunk was written, again before it was decided anew)
    superseded: int = 0
    # of a what-if's changes, the households whose category changes on its day whatever the values
    # (the values in force give them the same new category: ages, the year before a purchase)
    anyway: set[int] = field(default_factory=set)


class Books:
    """The standard and rule set of each division code on a day, looked up once per code."""

    def __init__(self, on: date, standards: StandardBook, rulebook: RuleBook) -> None:
        self.on = on
        self.standards = standards
        self.rulebook = rulebook
        self._by_code: dict[str, tuple[rules.Standard | None, rules.RuleSet]] = {}
        self._basis: dict[str, str] = {}

    def get(self, code: str) -> tuple[rules.Standard | None, rules.RuleSet]:
        found = self._by_code.get(code)
        if found is None:
            found = self._by_code[code] = (self.standards.get(code, self.on), self.rulebook.get(code))
        return found

    def basis(self, code: str) -> str:
        found = self._basis.get(code)
        if found is None:
            found = self._basis[code] = basis_of(self.on, *self.get(code))
        return found


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
    ids: list[int] | None = None,
    id_range: tuple[int, int] | None = None,
    out: Outcome | None = None,
) -> Outcome:
    """Decide every household in the subtree (or ``ids`` among them); with ``write`` store the
    decisions as current, each with its summary.

    An override holds while the computed decision it overrode stays the same: a new decision
    carries the approved or pending override of the decision it replaces when its computed category
    is that decision's, as ``services.decision_compute`` does; the overrides that lapse are counted
    (``Outcome.lapsed``), not put on each household's timeline.

    People keep working while a run goes on. The decisions a chunk replaces are locked when the
    chunk is written and their overrides read again then (``_write``), so an override asked for,
    approved or rejected after the chunk was read is the one carried (or lapsed). A household for
    which another decision was stored after the run read it (a person decided it again, or another
    run did) is decided again from what is stored then, after the last chunk, like every household
    of the run: its file as it is now, with that newer decision as the one replaced. One for which
    that happens a second time keeps the newer decision and is counted in ``Outcome.superseded``."""
    books = Books(on, standards or StandardBook.load(on.year), rulebook or RuleBook.load())
    out = out or Outcome()
    now = timezone.now()
    again: list[int] = []
    for total, part in iter_items(path, on, chunk, ids, id_range):
        out.total = total
        again += _decide(part, books, out, write=write, now=now, run_id=run_id, actor_id=actor_id)
        out.done += len(part)
        if progress is not None:
            progress(out)
    if again:
        for _total, part in iter_items(path, on, chunk, again):
            out.superseded += len(_decide(part, books, out, write=write, now=now, run_id=run_id, actor_id=actor_id))
        if progress is not None:
            progress(out)
    return out


def _decide(
    part: list[Item],
    books: Books,
    out: Outcome,
    *,
    write: bool,
    now: datetime,
    run_id: int | None,
    actor_id: int | None,
) -> list[int]:
    """Decide a chunk (with ``write``, store it) and count it in ``out``; the households left out
    because another decision was stored for them meanwhile (``_write``) are returned, uncounted."""
    on = books.on
    decide = engine.decide_summary
    decided: list[tuple[Item, rules.Decision, str]] = []
    for item in part:
        code = item.summary.region_code
        standard, ruleset = books.get(code)
        decided.append((item, decide(item.summary, on, standard, ruleset, explain=write), books.basis(code)))
    left = _write(decided, now=now, run_id=run_id, actor_id=actor_id) if write else set()
    categories = out.categories
    for item, d, _basis in decided:
        if left and item.id in left:
            continue
        categories[d.category] += 1
        prev = item.previous
        if prev and prev != d.category:
            out.changed += 1
            out.changes.append((item.unit_id, item.id, prev, d.category))
            if item.override is not None:
                out.lapsed += 1
    return sorted(left)


def whatif(
    *,
    path: str,
    on: date,
    standards: StandardBook,
    rulebook: RuleBook,
    baseline: tuple[StandardBook, RuleBook] | None = None,
) -> Outcome:
    """What a recompute of the subtree with these standards and rules would give, stored nothing.

    A household whose current decision was read from the same file version, on the same day, with
    the same everything-but-the-dibao-lines (``basis_of``) is decided again from the decision's
    stored numbers by ``engine.ladder``; every other household goes through the engine from its
    facts. Both give exactly what ``run_engine`` would.

    ``baseline``: the standards and rules in force. The households that go through the engine
    (decided on another day, or changed since) are also decided by them; a change they give too
    is in ``anyway`` (it comes from the day or the file, not from the values previewed)."""
    books = Books(on, standards, rulebook)
    inner, params = (
        households_in(path)
        .order_by()
        .values_list("id", "unit_id", "unit__division_code", "version")
        .query.sql_with_params()
    )
    columns = (
        "category, facts_version, basis, net_income_per_head_monthly, condition, precondition_ok, "
        "disqualifiers, accident_by_share, net_after_accident"
    )
    sql = (
        "SELECT q.id, q.unit_id, q.unit__division_code, q.version, "  # noqa: S608 - fixed identifiers
        + ", ".join(f"d.{c.strip()}" for c in columns.split(","))
        + f" FROM ({inner}) q {_current_join('d', columns, 'q.id')}"
        " ORDER BY q.id"
    )
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    dec = _converters()[0]
    ladder = engine.ladder
    out = Outcome(total=len(rows))
    categories, changes = out.categories, out.changes
    again: list[int] = []
    for hid, unit_id, code, version, prev, facts_version, basis, net, cond, pre, dq, share, after in rows:
        if not prev or facts_version != version or not basis or basis != books.basis(code):
            again.append(hid)
            continue
        if net is None:
            new: str = rules.Category.CANNOT_DECIDE
        else:
            standard, ruleset = books.get(code)
            assert standard is not None  # noqa: S101 - an equal basis means a standard was found
            new = ladder(
                net=dec(net),
                condition=cond or None,
                precondition_ok=bool(pre),
                disqualified=dq not in ("[]", [], None),
                accident_by_share=None if share is None else bool(share),
                net_after_accident=dec(after),
                dibao=standard.dibao_monthly,
                rules=ruleset,
            )[0]
        categories[new] += 1
        if prev != new:
            out.changed += 1
            changes.append((unit_id, hid, prev, new))
    out.done = out.total - len(again)
    if again:
        rest = run_engine(path=path, on=on, standards=standards, rulebook=rulebook, ids=again)
        out.done += rest.done
        out.changed += rest.changed
        changes.extend(rest.changes)
        for category, n in rest.categories.items():
            categories[category] += n
        if baseline is not None and rest.changes:
            changed = [c[1] for c in rest.changes]
            base = run_engine(path=path, on=on, standards=baseline[0], rulebook=baseline[1], ids=changed)
            by_base = {hid: new for _unit, hid, _prev, new in base.changes}
            # absent from the baseline's changes: the values in force keep the current category
            out.anyway = {hid for _unit, hid, prev, new in rest.changes if by_base.get(hid, prev) == new}
    return out


# Large recomputes on PostgreSQL run in this many processes, each on its own range of households
# and its own connection: the rules and the database's writing then use both cores.
WORKERS = 2
PARALLEL_MIN = 200_000


def can_run_parallel(total: int) -> bool:
    return (
        WORKERS > 1
        and total >= PARALLEL_MIN
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block  # workers would not see uncommitted rows
    )


def _worker(args: tuple[str, date, tuple[int, int], int | None, int | None]) -> Outcome:
    """One process of ``run_parallel``: a fresh interpreter (spawned, not forked from a process that
    may hold threads and locks), set up by ``workers.init`` on the parent's database."""
    from .models import RecomputeRun

    path, on, id_range, run_id, actor_id = args

    last = [0, 0]

    def progress(out: Outcome) -> None:
        if run_id is not None:
            RecomputeRun.objects.filter(pk=run_id).update(
                done=F("done") + (out.done - last[0]), changed=F("changed") + (out.changed - last[1])
            )
        last[:] = [out.done, out.changed]

    try:
        with connection.cursor() as cur:
            # The processes already use every core: a parallel plan of the summary query would only
            # add its gathering to the load.
            cur.execute("SET max_parallel_workers_per_gather = 0")
        out = run_engine(
            path=path, on=on, write=True, run_id=run_id, actor_id=actor_id, id_range=id_range, progress=progress
        )
        out.categories = dict(out.categories)
        return out
    finally:
        connections.close_all()


def run_parallel(*, path: str, on: date, run_id: int | None, actor_id: int | None) -> Outcome:
    """``run_engine(write=True)`` in ``WORKERS`` processes, each on a contiguous range of the
    subtree's households; the run's progress counts what every process has written."""
    ids = _ids_of(path, None)
    step = -(-len(ids) // WORKERS)
    ranges = [(ids[i], ids[min(i + step, len(ids)) - 1]) for i in range(0, len(ids), step)]
    database = str(connection.settings_dict["NAME"])
    with multiprocessing.get_context("spawn").Pool(len(ranges), initializer=workers.init, initargs=(database,)) as pool:
        results = pool.map(_worker, [(path, on, r, run_id, actor_id) for r in ranges])
    out = Outcome(total=len(ids))
    for r in results:
        out.done += r.done
        out.changed += r.changed
        out.lapsed += r.lapsed
        out.superseded += r.superseded
        out.changes.extend(r.changes)
        for category, n in r.categories.items():
            out.categories[category] += n
    return out


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


# The override fields of a decision that carries none, and the same as COPY text.
_NO_OVERRIDE: tuple[Any, ...] = ("", "", "", None, None, None, None, "")


def _row(
    item: Item, d: rules.Decision, basis: str, now: Any, run_id: int | None, actor_id: int | None
) -> tuple[Any, ...]:
    return (
        item.id,
        d.category,
        d.income_category,
        item.previous,
        d.is_migrant_worker,
        None if d.net_income_per_head_monthly is None else str(d.net_income_per_head_monthly),
        _reasons_json(d.reasons),
        _dumps(d.disqualifiers),
        d.exit_months_above,
        d.exit_test_met,
        d.standard_version,
        d.ruleset_version,
        now,
        actor_id,
        run_id,
        *(o if (o := item.override) is not None and override_holds(o[0], item.previous, d.category) else _NO_OVERRIDE),
        d.condition or "",
        d.precondition_ok if d.net_income_per_head_monthly is not None else None,
        d.accident_by_share,
        None if d.net_after_accident is None else str(d.net_after_accident),
        basis,
        item.version,
    )


_NO_OVERRIDE_COPY = "\t".join(map(copytext.field, _NO_OVERRIDE))


def _json_field(value: Any) -> str:
    text = _dumps(value)
    return copytext.escape(text)  # JSON has no raw tabs or newlines


_JSON_UNSAFE = re.compile(r'["\\\x00-\x1f]')


def _reasons_json(reasons: tuple[rules.Reason, ...]) -> str:
    """The reasons as stored (a JSON list of {"code", "params"}), exactly as ``_dumps`` writes them;
    written by hand where no parameter needs escaping (the codes and keys are the engine's own
    identifiers), which a million decisions per recompute make worth it."""
    parts = []
    for code, params in reasons:
        if not params:
            parts.append(f'{{"code":"{code}","params":{{}}}}')
            continue
        if _JSON_UNSAFE.search("".join(params.values())):
            return _dumps([{"code": r.code, "params": r.params} for r in reasons])
        parts.append(f'{{"code":"{code}","params":{{' + ",".join([f'"{k}":"{v}"' for k, v in params.items()]) + "}}")
    return "[" + ",".join(parts) + "]"


def _reasons_copy(reasons: tuple[rules.Reason, ...]) -> str:
    text = _reasons_json(reasons)
    return copytext.escape(text)  # JSON has no raw tabs or newlines


def _copy_line(item: Item, d: rules.Decision, basis: str, tail: str, versions: dict[tuple[str, str], str]) -> str:
    """One decision as a line of COPY text, in the order of ``DECISION_COLUMNS``; ``versions``
    caches the (standard, rule set) version fields, the same for a whole region. The override of
    the current decision is carried while the computed category stays the same (``override_holds``)."""
    o = item.override
    override = (
        "\t".join(map(copytext.field, o))
        if o is not None and override_holds(o[0], item.previous, d.category)
        else _NO_OVERRIDE_COPY
    )
    net = d.net_income_per_head_monthly
    months, met = d.exit_months_above, d.exit_test_met
    share, after = d.accident_by_share, d.net_after_accident
    pre = "\\N" if net is None else ("t" if d.precondition_ok else "f")
    key = (d.standard_version, d.ruleset_version)
    version = versions.get(key)
    if version is None:
        version = versions[key] = f"{copytext.field(key[0])}\t{copytext.field(key[1])}"
    return (
        f"{item.id}\t{d.category}\t{d.income_category}\t{item.previous}\t{'t' if d.is_migrant_worker else 'f'}\t"
        f"{'\\N' if net is None else net}\t"
        f"{_reasons_copy(d.reasons)}\t{_json_field(d.disqualifiers) if d.disqualifiers else '[]'}\t"
        f"{'\\N' if months is None else months}\t{'\\N' if met is None else ('t' if met else 'f')}\t"
        f"{version}\t{tail}\t{override}\t"
        f"{d.condition or ''}\t{pre}\t{'\\N' if share is None else ('t' if share else 'f')}\t"
        f"{'\\N' if after is None else after}\t{basis}\t{item.version}\n"
    )


def _recheck(cur: Any, decided: list[tuple[Item, rules.Decision, str]]) -> set[int]:
    """Inside the write transaction, before the chunk is written: lock the current decisions it
    replaces and read again what may have changed since the chunk was read. Each item's override
    becomes its current decision's as it is now; the households for which another decision was
    stored meanwhile are returned (their item no longer names the decision they would replace).

    On PostgreSQL the decisions read are locked (``FOR UPDATE``, in household order, so two runs
    never wait on each other in a circle) before they are read again: an override asked for,
    approved or rejected at this moment (``services._current_decision`` locks the same row)
    finishes first and is seen, or waits for this chunk and then finds its decision replaced; a
    decision stored meanwhile, even by someone who held the lock this statement waited for, is
    seen by the second statement, which starts after the lock is held. SQLite has one writer at a
    time, and the write transaction is it from its start. Two statements per chunk on PostgreSQL,
    one on SQLite, each one index probe per household; only the decisions that have an override
    or were replaced come back."""
    table = _table(EligibilityDecision)
    households = [item.id for item, _d, _basis in decided]
    loaded = [item.decision for item, _d, _basis in decided]
    params: list[Any]
    if connection.vendor == "postgresql":
        # Arrays as text (cheaper to send than 20,000 numbers adapted one by one); each decision
        # locked by a probe of the primary key (a list of ids in ``= ANY`` may be planned as a scan
        # of every decision), in the chunk's household order, the same in every run.
        array = "{%s}"
        if any(loaded):
            cur.execute(
                f"SELECT count(*) FROM unnest(%s::bigint[]) AS v(d), "  # noqa: S608 - fixed identifiers
                f"LATERAL (SELECT 1 FROM {table} x WHERE x.id = v.d FOR UPDATE) locked",
                [array % ",".join([str(d) for d in loaded if d])],
            )
        source = "unnest(%s::bigint[], %s::bigint[]) AS v(h, d)"
        params = [array % ",".join(map(str, households)), array % ",".join(map(str, loaded))]
    else:
        source = "(SELECT json_extract(value, '$[0]') AS h, json_extract(value, '$[1]') AS d FROM json_each(%s)) v"
        params = [json.dumps(list(zip(households, loaded, strict=True)))]
    columns = ", ".join(("id", *OVERRIDE_FIELDS))
    cur.execute(
        f"SELECT v.h, c.{columns.replace(', ', ', c.')} FROM {source} "  # noqa: S608 - fixed identifiers
        f"{_current_join('c', columns, 'v.h')} WHERE c.id <> v.d OR c.override_status <> ''",
        params,
    )
    now = {row[0]: row[1:] for row in cur.fetchall()}
    superseded: set[int] = set()
    for item, _d, _basis in decided:
        fresh = now.get(item.id)
        if fresh is None:  # still the decision read, with no override
            item.override = None
        elif fresh[0] != item.decision:
            superseded.add(item.id)
        else:
            item.override = fresh[1:] if fresh[1] in CARRIED_OVERRIDES else None
    return superseded


# Tries of a chunk's write that PostgreSQL ended to break a deadlock (its locks met those of people
# who lock a decision while holding another lock); the chunk is then written again from its lock.
WRITE_TRIES = 3
DEADLOCK = "40P01"


def _write(
    decided: list[tuple[Item, rules.Decision, str]], *, now: datetime, run_id: int | None, actor_id: int | None
) -> set[int]:
    """Store a chunk's decisions, each carrying the override of the decision it replaces as that
    decision is at the moment of writing (``_recheck``); the households for which another decision
    was stored since the chunk was read are left out and returned. The rows are made before the
    transaction, with the overrides as read, and made again inside it only where an override
    changed: the locks are held for little more than the insert."""
    table = EligibilityDecision._meta.db_table
    cols = ", ".join(DECISION_COLUMNS)
    pg = connection.vendor == "postgresql"
    make: Callable[[Item, rules.Decision, str], Any]
    if pg:
        tail = "\t".join(map(copytext.field, (now, actor_id, run_id)))
        versions: dict[tuple[str, str], str] = {}

        def make(item: Item, d: rules.Decision, basis: str) -> str:
            return _copy_line(item, d, basis, tail, versions)
    else:
        stamp = connection.ops.adapt_datetimefield_value(now)

        def make(item: Item, d: rules.Decision, basis: str) -> tuple[Any, ...]:
            return _row(item, d, basis, stamp, run_id, actor_id)

    made: list[Any] = [make(item, d, basis) for item, d, basis in decided]
    made_with = [item.override for item, _d, _basis in decided]
    tries = 0
    while True:
        tries += 1
        try:
            with transaction.atomic(), connection.cursor() as cur:
                superseded = _recheck(cur, decided)
                rows: list[Any] = []
                for i, (item, d, basis) in enumerate(decided):
                    if superseded and item.id in superseded:
                        continue
                    if item.override != made_with[i]:  # changed since the chunk was read
                        made[i], made_with[i] = make(item, d, basis), item.override
                    rows.append(made[i])
                if pg:
                    # A crash may lose the last chunks written (the run is then re-run), never half a chunk.
                    cur.execute("SET LOCAL synchronous_commit TO off")
                    if rows:
                        with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                            copy.write("".join(rows))
                else:
                    marks = ", ".join(["%s"] * len(DECISION_COLUMNS))
                    cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)  # noqa: S608
            return superseded
        except OperationalError as exc:
            if tries == WRITE_TRIES or getattr(exc.__cause__, "sqlstate", None) != DEADLOCK:
                raise
