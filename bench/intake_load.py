"""Benchmark: the application submit and status API under load, served by granian on PostgreSQL,
beside a trivial endpoint (``GET /api/v1/health``, no database) on the same server in the same run.

    .venv/bin/python bench/intake_load.py [--url postgres://postgres@127.0.0.1:5432/bangfu_bench_load]
        [--seconds 15] [--warmup 3] [--concurrency 16] [--server-workers 2] [--client-processes 2]
        [--kinds health,status,submit]

Set-up (kept between runs): migrate the database, a small union tree, and enough applicants with a
complete draft application each (one phone token per applicant). Then granian serves the project
with the production settings (``config.settings``, DEBUG off) on 127.0.0.1, and a load of
``--concurrency`` keep-alive connections (spread over ``--client-processes`` processes, on the same
two cores as the server) runs for ``--warmup`` seconds (not counted: each worker's first requests
load code and tables once) and then ``--seconds`` (counted) against, in turn:

* ``health`` — ``GET /api/v1/health``;
* ``status`` — ``GET /api/v1/applicant/applications/{id}`` (the worker following their case);
* ``submit`` — ``POST /api/v1/applicant/applications/{id}/submit`` (each request submits a
  different draft: validation of every mandatory field, the open-file check, the workflow
  transition with a row lock, the timeline, the audit log and the message to the worker).

Prints requests/s, p50 and p95 for each, and the ratios to ``health``.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import multiprocessing
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HOST = "127.0.0.1"


def _environment(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="config.settings",
        BANGFU_DEBUG="0",
        BANGFU_ALLOWED_HOSTS=HOST,
        BANGFU_LOG_LEVEL="ERROR",
        BANGFU_INTAKE_MESSAGE_BACKENDS="bangfu.intake.messaging.InAppBackend",
    )
    keys = ROOT / "var" / "bench_load.env"
    if not keys.exists():
        keys.parent.mkdir(parents=True, exist_ok=True)
        keys.write_text(
            f"BANGFU_SECRET_KEY={secrets.token_urlsafe(48)}\n"
            f"BANGFU_FIELD_KEY={base64.b64encode(secrets.token_bytes(32)).decode()}\n"
            f"BANGFU_HASH_KEY={base64.b64encode(secrets.token_bytes(32)).decode()}\n"
        )
        keys.chmod(0o600)
    for line in keys.read_text().splitlines():
        k, _sep, v = line.partition("=")
        env.setdefault(k, v)
    return env


def prepare(url: str, drafts: int) -> list[tuple[str, int]]:
    """(token, application id) of ``drafts`` complete drafts, creating the missing ones."""
    os.environ.update(_environment(url))
    import django

    django.setup()
    from dataclasses import asdict

    from django.core.management import call_command

    from bangfu.common.ids import build_resident_id
    from bangfu.intake import data, otp, services
    from bangfu.intake.models import Applicant, Application, ApplicationState
    from bangfu.org.models import OrgUnit
    from bangfu.testing.factories import household_input, org_tree

    call_command("migrate", verbosity=0)
    if not OrgUnit.objects.filter(division_code="530000").exists():
        org_tree()
    unit = OrgUnit.objects.get(name="祥云县纺织厂工会")
    have = Application.objects.filter(state=ApplicationState.DRAFT, applicant__phone__startswith="139")
    missing = drafts - have.count()
    if missing > 0:
        start = Applicant.objects.filter(phone__startswith="139").count()
        t = time.perf_counter()
        for k in range(start, start + missing):
            applicant = Applicant.objects.create(phone=f"139{k:08d}")
            h = household_input(unit)
            born = date(1960, 1, 1) + timedelta(days=k % 9000)
            for j, m in enumerate(h.members):
                m.id_number = build_resident_id("532923", born + timedelta(days=3650 * j), k // 9000 * 3 + j, j == 1)
            h.members[0].phone = applicant.phone
            services.application_create(actor=applicant, unit_id=unit.pk, form=data.normalise(asdict(h)))
        print(f"created {missing} drafts in {time.perf_counter() - t:.1f} s", flush=True)
    rows = have.select_related("applicant").order_by("id")[:drafts]
    return [(otp.token_for(a.applicant), a.pk) for a in rows if a.applicant is not None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"granian exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/api/v1/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("granian did not answer in time")


def _client(
    args: tuple[int, str, list[tuple[str, int]], int, float, float, float],
) -> tuple[list[float], int, int]:
    """One client process: ``threads`` keep-alive connections for ``warmup`` then ``seconds``;
    latencies in ms of the requests started after the warm-up."""
    port, kind, work, threads, warmup, seconds, start_at = args
    lat: list[float] = []
    errors = [0]
    done = [0]
    lock = threading.Lock()
    queue = list(work)
    while time.time() < start_at:
        time.sleep(0.01)
    counted_from = time.monotonic() + warmup
    end = counted_from + seconds

    def run(k: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        mine: list[float] = []
        bad = 0
        i = k
        while time.monotonic() < end:
            if kind == "health":
                method, path, body, headers = "GET", "/api/v1/health", None, {}
            else:
                if kind == "submit":
                    with lock:
                        if not queue:
                            break
                        token, app_id = queue.pop()
                else:
                    token, app_id = work[i % len(work)]
                    i += threads
                headers = {"Authorization": f"Bearer {token}"}
                if kind == "status":
                    method, path, body = "GET", f"/api/v1/applicant/applications/{app_id}", None
                else:
                    method, path = "POST", f"/api/v1/applicant/applications/{app_id}/submit"
                    body, headers["Content-Type"] = b"{}", "application/json"
            counted = time.monotonic() >= counted_from
            t = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                ok = resp.status < 400
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
                ok = False
            if counted:
                mine.append((time.perf_counter() - t) * 1000)
                bad += not ok
        conn.close()
        with lock:
            lat.extend(mine)
            errors[0] += bad
            done[0] += len(mine)

    pool = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return lat, errors[0], done[0]


def load(
    port: int, kind: str, work: list[tuple[str, int]], concurrency: int, procs: int, warmup: float, seconds: float
) -> dict[str, Any]:
    threads = max(concurrency // procs, 1)
    parts = [work[p::procs] for p in range(procs)]
    start_at = time.time() + 1.0
    with multiprocessing.get_context("spawn").Pool(procs) as pool:
        out = pool.map(_client, [(port, kind, parts[p], threads, warmup, seconds, start_at) for p in range(procs)])
    lat = sorted(x for o in out for x in o[0])
    errors = sum(o[1] for o in out)
    n = len(lat)
    return {
        "kind": kind,
        "requests": n,
        "errors": errors,
        "rps": n / seconds,  # the requests started in the counted window
        "p50": statistics.median(lat) if lat else float("nan"),
        "p95": lat[int(0.95 * (n - 1))] if lat else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgres://postgres@127.0.0.1:5432/bangfu_bench_load")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=3, help="seconds of load before counting starts")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--server-workers", type=int, default=2)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument(
        "--kinds", default="health,status,submit", help="which loads to run, in order (the ratios need health first)"
    )
    args = parser.parse_args()
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if not kinds or set(kinds) - {"health", "status", "submit"}:
        raise SystemExit("--kinds takes a comma-separated list of health, status and submit")
    if not args.url.startswith("postgres"):
        raise SystemExit("this benchmark runs on PostgreSQL (--url postgres://…)")
    _ensure_database(args.url)
    # Enough drafts that the submit phase never runs out (a generous upper bound on its rate).
    work = prepare(args.url, drafts=int(400 * (args.warmup + args.seconds)))
    granian = shutil.which("granian", path=str(Path(sys.executable).parent)) or "granian"
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        log = open(Path(tmp) / "granian.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [
                granian,
                "--interface",
                "wsgi",
                "config.wsgi:application",
                "--host",
                HOST,
                "--port",
                str(port),
                "--workers",
                str(args.server_workers),
                "--blocking-threads",
                "8",
                "--no-ws",
            ],
            cwd=ROOT,
            env=_environment(args.url),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(port, proc)
            results = [
                load(port, kind, work, args.concurrency, args.client_processes, args.warmup, args.seconds)
                for kind in kinds
            ]
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            log.close()
    base = results[0]["rps"] if results[0]["kind"] == "health" else float("nan")
    print(
        f"\ngranian {args.server_workers} workers, {args.concurrency} connections, "
        f"{args.seconds:.0f} s each after {args.warmup:.0f} s of warm-up, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print("| endpoint | requests | errors | req/s | p50 ms | p95 ms | req/s vs health |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['kind']} | {r['requests']:,} | {r['errors']} | {r['rps']:,.0f} | {r['p50']:.1f} | "
            f"{r['p95']:.1f} | {r['rps'] / base:.2f} |"
        )


def _ensure_database(url: str) -> None:
    import psycopg

    base, _slash, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    main()
