"""Benchmark: recompute every household's category (with reasons stored) vs one hand-written SQL
query that computes the categories alone (the floor), in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_identify \\
        .venv/bin/python bench/identify_recompute.py --households 1000000
    DATABASE_URL=sqlite:///var/bench_identify.sqlite3 .venv/bin/python bench/identify_recompute.py --households 71000

Seeds the province (530000) once with ``bangfu.seed`` (kept between runs), sets a dibao standard,
then times: the recompute (``recompute_start``; ``--workers`` processes on PostgreSQL, ``--repeat``
times, medians reported), the floor query right after each, and the what-if preview (which reuses
the stored decisions' numbers). Each recompute also reports the CPU seconds its Python processes
used (the database's are not included): a figure the load of other work on the machine moves less.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from bangfu.eligibility import bulk, recompute, services  # noqa: E402
from bangfu.eligibility.models import EligibilityDecision, Standard  # noqa: E402
from bangfu.org.models import OrgUnit  # noqa: E402
from bangfu.registry.models import Household  # noqa: E402

ON = date(2026, 6, 1)

FLOOR_SQL = """
WITH m AS (
    SELECT household_id,
           SUM(CASE WHEN living_together AND NOT deceased THEN 1 ELSE 0 END) AS n,
           SUM(CASE WHEN living_together AND NOT deceased THEN monthly_income ELSE 0 END) * 12 AS wages,
           MAX(CASE WHEN health NOT IN ('good', 'general_illness', 'disabled') THEN 1 ELSE 0 END) AS ill
    FROM registry_member GROUP BY household_id
), i AS (
    SELECT household_id, SUM(amount_yearly) AS income FROM registry_income
    WHERE kind NOT IN ('basic_resident_pension', 'festival_gift') GROUP BY household_id
), r AS (
    SELECT household_id, SUM(amount_yearly) AS rigid FROM registry_rigidexpense GROUP BY household_id
), net AS (
    SELECT h.id, (COALESCE(m.wages, 0) + COALESCE(i.income, 0) - COALESCE(r.rigid, 0)) / 12.0
               / (CASE WHEN COALESCE(m.n, 0) > 0 THEN m.n ELSE 1 END) AS net, COALESCE(m.ill, 0) AS ill
    FROM registry_household h
    LEFT JOIN m ON m.household_id = h.id LEFT JOIN i ON i.household_id = h.id
    LEFT JOIN r ON r.household_id = h.id
    WHERE h.state NOT IN ('cancelled', 'removed')
)
SELECT CASE WHEN net < %s AND ill = 1 THEN 'deep' WHEN net < 2 * %s THEN 'relative' ELSE 'not_eligible' END AS c,
       COUNT(*)
FROM net GROUP BY 1
"""


def _python_cpu() -> float:
    """CPU seconds of this process and of its finished child processes (the recompute's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=71_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workers", type=int, default=bulk.WORKERS, help="processes for the recompute (PostgreSQL)")
    parser.add_argument("--repeat", type=int, default=1, help="recomputes to time (the median is reported)")
    args = parser.parse_args()
    bulk.WORKERS = args.workers
    bulk.PARALLEL_MIN = 0
    call_command("migrate", verbosity=0)
    province = OrgUnit.objects.filter(code="530000").first()
    have = Household.objects.filter(unit__path__startswith=province.path).count() if province else 0
    if have == 0:
        t = time.perf_counter()
        call_command("seed", households=args.households, random_seed=args.seed, quiet=True)
        print(f"seeded {args.households} households in {time.perf_counter() - t:.1f} s")
        province = OrgUnit.objects.get(code="530000")
    elif have != args.households:
        sys.exit(f"the database already holds {have} households in 530000; use another database")
    assert province is not None
    if not Standard.objects.filter(division_code="530000", year=ON.year).exists():
        services.standard_set(
            actor=services.SYSTEM,
            division_code="530000",
            year=ON.year,
            dibao_monthly="1001",
            minimum_wage_monthly="1900",
            housing_area_per_head="20",
        )
    print(f"{connection.vendor}: {have or args.households} households")

    procs = args.workers if connection.vendor == "postgresql" else 1
    took_all, floor_all = [], []
    for _ in range(args.repeat):
        cpu = _python_cpu()
        t = time.perf_counter()
        run = recompute.recompute_start(actor=services.SYSTEM, unit_id=province.pk, on=ON)
        took = time.perf_counter() - t
        cpu = _python_cpu() - cpu
        t = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(FLOOR_SQL, ["1001", "1001"])
            floor_rows = cur.fetchall()
        floor = time.perf_counter() - t
        took_all.append(took)
        floor_all.append(floor)
        print(
            f"recompute (engine, reasons stored, {procs} process(es)): {run.done} households, "
            f"{run.changed} changed, {took:.2f} s (Python {cpu:.1f} CPU s); floor SQL (categories alone) {floor:.2f} s "
            f"{sorted(floor_rows)}; ratio {took / floor:.1f}x"
        )
    took, floor = statistics.median(took_all), statistics.median(floor_all)
    print(f"median recompute {took:.2f} s, median floor {floor:.2f} s, ratio {took / floor:.1f}x")

    for dibao in ("1100", "1001"):
        t = time.perf_counter()
        preview = recompute.whatif_preview(
            actor=services.SYSTEM, unit_id=province.pk, on=ON, standard={"dibao_monthly": dibao}
        )
        print(
            f"what-if dibao 1,001 → {dibao}: {preview.changed} of {preview.total} would change, "
            f"{time.perf_counter() - t:.2f} s"
        )
    print(f"decisions stored: {EligibilityDecision.objects.count()}")


if __name__ == "__main__":
    main()
