"""Legacy import benchmark: a 100,000-row Excel file in the import template's layout.

    python bench/legacy_import.py [--url postgres://postgres@127.0.0.1:5432/bangfu_bench_intake] [--rows 100000]
        [--repeat 3] [--imports 1] [--file FILE.xlsx]

Makes the file (households of 1–4 people, valid IDs, Chinese form terms; some rows with errors),
then in the same run times: a bare python-calamine read of the file (``to_python`` of the first
sheet), the import's check (read, parse, registry validation, bulk open-file look-up) and the whole
one-pass import with commit (``imports.import_file``: one read, one check, bulk write in one
transaction; with the CPU time of this process and of its PostgreSQL server process), and prints
the ratio to the bare read (goal ≤ 5×). On PostgreSQL it then measures the database's own part:
the rows inserted again with and without their indexes, and the imported rows' text written again
with COPY alone (``write_floor``: a bare read plus that is the floor of any import of the file into
this schema). Each step is timed beside bare
reads of the same moment (``--repeat`` checks, ``--imports`` imports) and medians are compared;
``--file`` keeps the made file for the next run. The database is a scratch one: created and
migrated if missing, its household tables emptied first. Only 127.0.0.1 is allowed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from statistics import median
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜"
GIVEN = "建国秀英明华丽军伟芳敏静强磊洋艳勇杰娟涛超霞平刚桂兰玉梅红春燕海波云鹏飞文志东"


def make_file(rows: int, seed: int) -> bytes:
    from openpyxl import Workbook

    from bangfu.common.ids import build_resident_id
    from bangfu.intake import legacy

    rng = random.Random(seed)
    headers = [c.header for c in legacy.COLUMNS]
    idx = {h: i for i, h in enumerate(headers)}
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("建档立卡")
    ws.append(headers)
    used: set[str] = set()
    regions = ["532923", "532901", "532922", "532924", "532925", "532926", "532927", "532928", "532929", "532930"]

    def person(born: dt.date, female: bool) -> str:
        while True:
            rid = build_resident_id(rng.choice(regions), born, rng.randrange(100), female)
            if rid not in used:
                used.add(rid)
                return rid

    n, h = 0, 0
    while n < rows:
        h += 1
        size = min(rng.choice([1, 2, 2, 3, 3, 3, 4]), rows - n)
        number = f"B{seed:03d}{h:08d}"
        for k in range(size):
            r: list[object] = [None] * len(headers)
            r[idx["档案编号"]] = number
            if k == 0:
                born = dt.date(rng.randint(1960, 1990), rng.randint(1, 12), rng.randint(1, 28))
                r[idx["困难类别"]] = rng.choice(["低保户", "低保边缘户", "意外致困户", "深度困难", "相对困难"])
                r[idx["主要致困原因"]] = rng.choice(["患重特大疾病", "下岗失业", "6", "3", "无劳动能力"])
                r[idx["次要致困原因"]] = rng.choice(["", "子女上学", "9、4"])
                r[idx["住址"]] = f"云南省大理白族自治州祥云县祥城镇文化路{rng.randint(1, 300)}号"
                r[idx["住房类型"]] = rng.choice(["承租单位公房", "商品房/自购房", "租房", "自建房"])
                r[idx["住房面积"]] = round(rng.uniform(20, 90), 1)
                r[idx["建档日期"]] = dt.date(rng.randint(2010, 2017), rng.randint(1, 12), rng.randint(1, 28))
                r[idx["开户银行"]] = "中国工商银行"
                r[idx["银行卡号"]] = "6222" + "".join(str(rng.randrange(10)) for _ in range(15))
                r[idx["与户主关系"]] = "户主"
                r[idx["联系电话"]] = f"139{rng.randrange(10**8):08d}"
            else:
                rel = ["配偶", "子", "女"][k - 1]
                born = dt.date(rng.randint(1990, 2012), rng.randint(1, 12), rng.randint(1, 28))
                if rel == "配偶":
                    born = dt.date(rng.randint(1960, 1990), rng.randint(1, 12), rng.randint(1, 28))
                r[idx["与户主关系"]] = rel
            female = k == 1 or (k == 3)
            r[idx["姓名"]] = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))
            rid = person(born, female)
            if rng.random() < 0.002:
                rid = rid[:-1] + ("0" if rid[-1] != "0" else "1")  # a wrong check digit
            r[idx["身份证号"]] = rid
            r[idx["民族"]] = rng.choice(["汉族", "汉族", "汉族", "彝族", "白族", "回族"])
            r[idx["健康状况"]] = rng.choice(["良好", "良好", "恶性肿瘤", "糖尿病", "高血压病"])
            r[idx["就业状况"]] = rng.choice(["在岗", "下(待)岗", "失(无)业", "退休", ""])
            r[idx["月收入"]] = rng.choice([0, 800, 1200.5, 1500, 2100])
            ws.append(r)
            n += 1
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _load() -> str:
    """The machine's load averages (1, 5 and 15 minutes): the figures mean little without them."""
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


WRITTEN = ["registry_household", "registry_bankaccount", "registry_timelineevent", "registry_member"]


def write_floor(connection: Any, server_cpu: Any, bare_read: Any, runs: int = 3) -> None:
    """What the database alone needs for the imported rows: their text (as the import sends it,
    read back with COPY TO) written again with COPY into the emptied tables, each table's rows in
    the order the import writes them, with every index and with the foreign keys checked as the import checks
    them; in a transaction rolled back each time. No Python work at all: an import of this file
    into this schema can take no less than a bare read and this (the server starts on the rows
    only once the first of them are read), so their sum is the floor of the import's ratio."""
    from django.db import transaction

    texts = {}
    with connection.cursor() as cur:
        raw = cur.cursor
        for table in WRITTEN:
            data = bytearray()
            # The members as the import sends them: by union and name, file order among equal names.
            order = "unit_id, name, id" if table == "registry_member" else "id"
            with raw.copy(f"COPY (SELECT * FROM {table} ORDER BY {order}) TO STDOUT") as copy:  # noqa: S608 - the names above
                for chunk in copy:
                    data += chunk
            texts[table] = bytes(data)
        cur.execute(
            "SELECT string_agg(quote_ident(conname), ', ') FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
            [WRITTEN],
        )
        foreign_keys = cur.fetchone()[0]
    walls, cpus, bares = [], [], [bare_read()]
    for _ in range(runs):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("TRUNCATE " + ", ".join(WRITTEN) + " CASCADE")
            cur.execute(f"SET CONSTRAINTS {foreign_keys} IMMEDIATE")
            s0, t0 = server_cpu(), time.perf_counter()
            for table in WRITTEN:
                with cur.cursor.copy(f"COPY {table} FROM STDIN") as copy:
                    copy.write(texts[table])
            walls.append(time.perf_counter() - t0)
            cpus.append(server_cpu() - s0)
            transaction.set_rollback(True)
        bares.append(bare_read())
    wall, bare = median(walls), median(bares)
    print(
        f"the database alone, the imported rows written again (COPY of their text, indexes, foreign keys): "
        f"median {wall:.2f} s of {runs} (server CPU {median(cpus):.2f} s) = {wall / bare:.1f}× the bare read beside "
        f"it ({bare:.2f} s): an import's floor, read and write, {(bare + wall) / bare:.1f}× the bare read"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgres://postgres@127.0.0.1:5432/bangfu_bench_intake")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="checks (each beside a bare read)")
    parser.add_argument("--imports", type=int, default=1, help="imports with commit (the registry emptied between)")
    parser.add_argument("--file", type=Path, help="keep the made file here and use it again next time")
    args = parser.parse_args()
    url = urlparse(args.url)
    if url.hostname not in {"127.0.0.1", "localhost", None}:
        raise SystemExit("only a local database is allowed")
    os.environ["DATABASE_URL"] = args.url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
    if url.scheme.startswith("postgres"):
        import psycopg

        admin = args.url.rsplit("/", 1)[0] + "/postgres"
        name = url.path.lstrip("/")
        with psycopg.connect(admin, autocommit=True) as con:
            if not con.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                con.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ}
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], cwd=ROOT, env=env, check=True)

    import django

    django.setup()
    from django.db import connection

    from bangfu.intake import imports
    from bangfu.org.models import OrgUnit, Role
    from bangfu.testing.factories import org_tree, user_with_role

    with connection.cursor() as cur:
        tables = [
            "intake_importissue", "intake_importbatch", "registry_timelineevent", "registry_bankaccount",
            "registry_member",
        ]  # fmt: skip
        if connection.vendor == "postgresql":
            cur.execute("TRUNCATE " + ", ".join(tables) + ", registry_household CASCADE")
        else:
            for table in [*tables, "registry_household"]:
                cur.execute(f"DELETE FROM {table}")  # noqa: S608 - the names above
    tree = {u.code: u for u in OrgUnit.objects.all()} or {u.code: u for u in org_tree().values()}
    county = next(u for u in tree.values() if u.name == "祥云县总工会")
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.filter(username="bench_staff").first() or user_with_role(
        county, Role.CENTRE_STAFF, "bench_staff"
    )

    t0 = time.perf_counter()
    if args.file and args.file.exists():
        content = args.file.read_bytes()
    else:
        content = make_file(args.rows, args.seed)
        if args.file:
            args.file.write_bytes(content)
    print(f"file: {args.rows:,} rows, {len(content) / 1e6:.1f} MB (made in {time.perf_counter() - t0:.1f} s)")

    from python_calamine import CalamineWorkbook

    def bare_read() -> float:
        t0 = time.perf_counter()
        CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()
        return time.perf_counter() - t0

    def empty_registry() -> None:
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                cur.execute("TRUNCATE " + ", ".join(tables) + ", registry_household CASCADE")
            else:
                for table in [*tables, "registry_household"]:
                    cur.execute(f"DELETE FROM {table}")  # noqa: S608 - the names above

    # Other work on the machine slows the bare read as much as the import: each step is measured
    # beside bare reads of the same moment, and medians are compared.
    bares = [bare_read()]
    checks, check_cpu = [], []
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = imports.check(actor=staff, unit=county, content=content)
        checks.append(time.perf_counter() - t0)
        check_cpu.append(time.process_time() - c0)
        bares.append(bare_read())
    print(
        f"bare python-calamine read: median {median(bares):.2f} s of {len(bares)} "
        f"({', '.join(f'{b:.2f}' for b in bares)})"
    )
    print(
        f"check only (read, parse, validate, open-file look-up): median {median(checks):.2f} s "
        f"= {median(checks) / median(bares):.1f}× (CPU {median(check_cpu):.2f} s; "
        f"{out.households:,} households, {len(out.ready):,} valid, {len(out.issues):,} problems; "
        f"load average {_load()})"
    )
    del out

    def server_cpu() -> float:
        """CPU seconds of this connection's server process so far (0 when it cannot be read)."""
        if connection.vendor != "postgresql":
            return 0.0
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    totals, total_cpu, server_cpus, import_bares = [], [], [], []
    for i in range(args.imports):
        if i:
            empty_registry()
        import_bares.append(bare_read())
        s0 = server_cpu()
        t0, c0 = time.perf_counter(), time.process_time()
        batch = imports.import_file(actor=staff, unit_id=county.pk, name="bench.xlsx", content=content, commit=True)
        totals.append(time.perf_counter() - t0)
        total_cpu.append(time.process_time() - c0)
        server_cpus.append(server_cpu() - s0)
        import_bares.append(bare_read())
    total, bare = median(totals), median(import_bares)
    verdict = "ok" if total <= 5 * bare else "MISSED"
    print(
        f"one-pass import with commit: median {total:.2f} s of {len(totals)} (CPU of this process "
        f"{median(total_cpu):.2f} s, of the server {median(server_cpus):.2f} s) = {total / bare:.1f}× the median "
        f"bare read beside it ({bare:.2f} s) "
        f"(goal ≤ 5×: {verdict}); {batch.households_created:,} files, {batch.persons_valid:,} persons written, "
        f"state {batch.state}; load average {_load()}"
    )
    if connection.vendor == "postgresql":
        # The database's own share: the imported rows inserted again into copies of the tables
        # with all their indexes, and without any (no foreign keys in either).
        # Best of three, with and without in turn.
        floor_bares = [bare_read()]
        with connection.cursor() as cur:
            for table in ["registry_household", "registry_member"]:
                cur.execute("SELECT count(*) FROM pg_indexes WHERE tablename = %s", [table])
                n_indexes = cur.fetchone()[0]
                spent: dict[str, list[float]] = {"indexes": [], "heap": []}
                for _ in range(3):
                    for label, like in [("indexes", "INCLUDING ALL"), ("heap", "INCLUDING DEFAULTS")]:
                        cur.execute(f"CREATE TEMP TABLE bench_copy (LIKE {table} {like})")
                        t0 = time.perf_counter()
                        cur.execute(f"INSERT INTO bench_copy SELECT * FROM {table}")  # noqa: S608 - the names above
                        spent[label].append(time.perf_counter() - t0)
                        cur.execute("DROP TABLE bench_copy")
                print(
                    f"  {table}: inserting the rows again with its {n_indexes} indexes {min(spent['indexes']):.2f} s, "
                    f"without {min(spent['heap']):.2f} s (best of 3)"
                )
        floor_bares.append(bare_read())
        print(f"  (bare reads beside these: {', '.join(f'{b:.2f}' for b in floor_bares)} s)")
        write_floor(connection, server_cpu, bare_read)
    t0 = time.perf_counter()
    again = imports.import_file(actor=staff, unit_id=county.pk, name="bench.xlsx", content=content, commit=True)
    print(f"the same file again: {time.perf_counter() - t0:.2f} s (same batch: {again.pk == batch.pk})")


if __name__ == "__main__":
    main()
