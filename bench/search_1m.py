"""Search and list-page benchmark on a million household files (PostgreSQL).

    python bench/search_1m.py [--url postgres://postgres@127.0.0.1:5432/bangfu_bench_1m] [--queries 200]
        [--no-migrate]

The database is kept between runs: the first run migrates it and seeds 1,000,000 households
(``bangfu seed --households 1000000 --random-seed 1``, several minutes); later runs reuse it.
Measures p50/p95 of ``registry.selectors.household_list`` + a Django paginator (page of 25, as the
list page uses it) for: search by a real ID number written the way department files write it,
by name prefix, by pinyin prefix, and the unfiltered list (first page and a later page), for a
province manager and a county user; the same through ``/households/`` with the Django test client;
and the number of queries per page for page sizes 10 and 50. Only 127.0.0.1 is allowed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _dirty(number: str, rng: random.Random) -> str:
    """An ID number as department files write it: spaces, full-width digits, lower-case x."""
    kind = rng.randrange(3)
    if kind == 0:
        return f"{number[:6]} {number[6:14]} {number[14:]}".lower()
    if kind == 1:
        return number.translate(str.maketrans("0123456789X", "０１２３４５６７８９ｘ"))
    return " " + number.lower() + "\u3000"


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def _measure(name: str, fn: Callable[[Any], Any], args: list[Any], goal_ms: float, results: list[str]) -> None:
    fn(args[0])  # warm-up
    samples = []
    for arg in args:
        started = time.perf_counter()
        fn(arg)
        samples.append(time.perf_counter() - started)
    p50, p95 = _percentiles(samples)
    verdict = "ok" if p95 < goal_ms else "MISSED"
    line = (
        f"{name:<48} n={len(samples):<4} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  (goal p95 < {goal_ms:.0f} ms: {verdict})"
    )
    print(line, flush=True)
    results.append(line)


def prepare(url: str, migrate: bool = True) -> None:
    import psycopg

    admin = url.rsplit("/", 1)[0] + "/postgres"
    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    script = str(Path(sys.executable).with_name("bangfu"))
    if migrate:
        subprocess.run([script, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    with psycopg.connect(url) as conn:
        count = conn.execute("SELECT count(*) FROM registry_household").fetchone()[0]  # type: ignore[index]
    if count == 0:
        print("seeding 1,000,000 households (once) ...", flush=True)
        subprocess.run(
            [script, "seed", "--households", "1000000", "--random-seed", "1", "--quiet"], cwd=ROOT, env=env, check=True
        )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")  # fresh planner statistics (a bulk load leaves none)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgres://postgres@127.0.0.1:5432/bangfu_bench_1m")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--no-migrate", action="store_true", help="measure the database as it is (e.g. before a migration)"
    )
    args = parser.parse_args()
    if urlparse(args.url).hostname not in {"127.0.0.1", "localhost"}:
        sys.exit("benchmarks run against 127.0.0.1 only")
    prepare(args.url, migrate=not args.no_migrate)

    os.environ["DATABASE_URL"] = args.url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
    os.environ.setdefault("BANGFU_ALLOWED_HOSTS", "testserver,127.0.0.1")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse

    from bangfu.common import crypto
    from bangfu.common.paging import CappedPaginator
    from bangfu.org.models import OrgUnit, Role, RoleAssignment
    from bangfu.registry.models import Household, Member
    from bangfu.registry.selectors import HouseholdFilters, household_count_cap, household_list

    rng = random.Random(1)
    n = args.queries
    User = get_user_model()  # noqa: N806
    actors = {}
    for username, code, role in [
        ("bench_province", "530000", Role.MANAGER),
        ("bench_county", "532923", Role.CENTRE_STAFF),
    ]:
        user, _ = User.objects.get_or_create(username=username)
        user.set_password("bench-password-1")
        user.save()
        RoleAssignment.objects.get_or_create(user=user, unit=OrgUnit.objects.get(code=code), role=role)
        actors[username] = user
    total = Household.objects.count()
    county = OrgUnit.objects.get(code="532923")
    in_county = Household.objects.filter(unit__path__startswith=county.path).count()
    print(f"{total} households, {Member.objects.count()} persons; 532923 has {in_county} households", flush=True)

    top = Member.objects.order_by("-id").values_list("id", flat=True).first() or 1
    sample_ids = [rng.randrange(1, top) for _ in range(n)]
    sample = list(Member.objects.filter(id__in=sample_ids).values_list("id_cipher", "name", "name_pinyin"))
    numbers = [_dirty(crypto.decrypt(c), rng) for c, _, _ in sample]
    names = [name[:2] for _, name, _ in sample]
    pinyins = [p[: rng.randint(4, 7)] for _, _, p in sample]

    def page(actor: Any, q: str = "", number: int = 1, size: int = 25) -> list[Any]:
        filters = HouseholdFilters(q=q)
        qs = household_list(actor=actor, filters=filters)
        p = CappedPaginator(qs, size, cap=household_count_cap(filters)).get_page(number)
        return [(h.file_number, h.unit.name, [m.name for m in h.heads]) for h in p.object_list]

    results: list[str] = []
    for username, actor in actors.items():

        def search(q: Any, a: Any = actor) -> Any:
            return page(a, q)

        def listing(number: Any, a: Any = actor) -> Any:
            return page(a, number=number)

        _measure(f"{username}: search by ID (dirty form)", search, numbers, 50, results)
        _measure(f"{username}: search by name prefix", search, names, 50, results)
        _measure(f"{username}: search by pinyin prefix", search, pinyins, 50, results)
        _measure(f"{username}: list, first page", listing, [1] * 50, 150, results)
        _measure(f"{username}: list, page 40", listing, [40] * 50, 150, results)

    for size in (10, 50):
        with CaptureQueriesContext(connection) as ctx:
            page(actors["bench_province"], size=size)
        print(f"queries for a page of {size}: {len(ctx.captured_queries)}")
        results.append(f"queries for a page of {size}: {len(ctx.captured_queries)}")

    try:
        url = reverse("web:household_list")
    except NoReverseMatch:
        print("web:household_list does not exist yet: HTTP measurements skipped")
        return
    for username in actors:
        client = Client()
        client.force_login(actors[username])

        def get(params: dict[str, Any], c: Client = client) -> None:
            response = c.get(url, params)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")

        def get_q(q: Any, fetch: Callable[[dict[str, Any]], None] = get) -> None:
            fetch({"q": q})

        def get_page(number: Any, fetch: Callable[[dict[str, Any]], None] = get) -> None:
            fetch({"page": number})

        _measure(f"{username}: HTTP /households/?q=<ID>", get_q, numbers[:100], 50, results)
        _measure(f"{username}: HTTP /households/?q=<name>", get_q, names[:100], 50, results)
        _measure(f"{username}: HTTP /households/", get_page, [1] * 50, 150, results)
        _measure(f"{username}: HTTP /households/?page=40", get_page, [40] * 50, 150, results)


if __name__ == "__main__":
    main()
