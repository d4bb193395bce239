"""Seed-and-load benchmark: ``bangfu seed`` against a plain COPY of the same rows (PostgreSQL).

    python bench/seed_load.py [--households 71000] [--runs 3] [--url postgres://postgres@127.0.0.1:5432/bangfu_bench]

For each run: create the scratch database from a migrated template, time ``bangfu seed`` (a fresh
process, as an operator runs it). Then dump the seeded registry tables with ``COPY … TO``, empty
them, and time ``COPY … FROM`` of the same rows into the same tables (same indexes, one
transaction) — the floor any loader has to pay. Prints both medians and the ratio (goal ≤ 3×).
The scratch databases are dropped at the end. Only 127.0.0.1 is allowed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import psycopg

ROOT = Path(__file__).resolve().parent.parent
TABLES = [
    "registry_household",
    "registry_member",
    "registry_income",
    "registry_rigidexpense",
    "registry_home",
    "registry_vehicle",
    "registry_businessrole",
    "registry_bankaccount",
    "registry_timelineevent",
]


def admin_url(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


def recreate(url: str, name: str, template: str | None = None) -> None:
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))


def drop(url: str, name: str) -> None:
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def bangfu(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    return subprocess.run(
        [str(Path(sys.executable).with_name("bangfu")), *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )


def copy_baseline(url: str, workdir: Path) -> tuple[float, int]:
    """Dump the seeded rows, empty the tables, time loading them back with COPY."""
    rows = 0
    with psycopg.connect(url) as conn:
        for table in TABLES:
            with (workdir / f"{table}.copy").open("wb") as out, conn.cursor().copy(f"COPY {table} TO STDOUT") as cp:
                for block in cp:
                    out.write(block)
        conn.execute("TRUNCATE " + ", ".join(TABLES) + " CASCADE")
        conn.commit()
        conn.execute("CHECKPOINT")
        started = time.perf_counter()
        with conn.transaction():
            for table in TABLES:
                with (
                    (workdir / f"{table}.copy").open("rb") as src,
                    conn.cursor().copy(f"COPY {table} FROM STDIN") as cp,
                ):
                    while block := src.read(1 << 20):
                        cp.write(block)
        elapsed = time.perf_counter() - started
        for table in TABLES:
            rows += conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]  # noqa: S608 - fixed names
    return elapsed, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=71000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--url", default="postgres://postgres@127.0.0.1:5432/bangfu_bench")
    args = parser.parse_args()
    parsed = urlparse(args.url)
    if parsed.hostname not in {"127.0.0.1", "localhost"}:
        sys.exit("benchmarks run against 127.0.0.1 only")
    name = parsed.path.lstrip("/")
    template = f"{name}_template"
    template_url = args.url.rsplit("/", 1)[0] + "/" + template

    recreate(args.url, template)
    bangfu(template_url, "migrate", "-v0")
    seed_times, copy_times, reported = [], [], []
    try:
        for run in range(args.runs):
            recreate(args.url, name, template)
            with psycopg.connect(args.url, autocommit=True) as conn:
                conn.execute("CHECKPOINT")
            started = time.perf_counter()
            out = bangfu(args.url, "seed", "--households", str(args.households), "--random-seed", str(args.seed))
            seed_times.append(time.perf_counter() - started)
            reported.append(out.stdout.strip())
            with tempfile.TemporaryDirectory(prefix="bangfu-bench-") as tmp:
                elapsed, rows = copy_baseline(args.url, Path(tmp))
            copy_times.append(elapsed)
            print(
                f"run {run + 1}: seed {seed_times[-1]:.1f} s (process), COPY {elapsed:.1f} s "
                f"({rows} rows), ratio {seed_times[-1] / elapsed:.2f}"
            )
            print(f"  {reported[-1]}")
    finally:
        drop(args.url, name)
        drop(args.url, template)
    seed_median, copy_median = statistics.median(seed_times), statistics.median(copy_times)
    print(
        f"median of {args.runs}: seed {seed_median:.1f} s, plain COPY {copy_median:.1f} s, "
        f"ratio {seed_median / copy_median:.2f} (goal ≤ 3)"
    )


if __name__ == "__main__":
    main()
