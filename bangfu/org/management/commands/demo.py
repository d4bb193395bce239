"""``bangfu demo``: migrate the embedded database, seed a demo province once, create one login per
role, print the logins, start a background worker and the scheduler of daily jobs and serve on
http://127.0.0.1:8000."""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import threading
import unicodedata
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from bangfu.common.commands import TranslatedCommand, whole_number
from bangfu.org.models import OrgLevel, OrgUnit, Role, RoleAssignment
from bangfu.org.services import user_add
from bangfu.registry.models import Household

DEMO_COUNTY = "532923"

# (username, role, which unit): the province's people, one county centre, one grassroots union.
DEMO_USERS = [
    ("province_manager", Role.MANAGER, "province"),
    ("province_admin", Role.ADMIN, "province"),
    ("evaluator", Role.EVALUATOR, "province"),
    ("county_staff", Role.CENTRE_STAFF, "county"),
    ("grassroots_cadre", Role.GRASSROOTS_CADRE, "grassroots"),
]


def _pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns (a Chinese character takes two)."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - used, 0)


class Command(TranslatedCommand):
    help = gettext_noop("Prepare and serve the demo (embedded SQLite, seeded province, one login per role).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--households", type=whole_number, default=20000, help=_("households to seed on first run"))
        parser.add_argument("--random-seed", type=whole_number, default=2026)
        parser.add_argument("--addrport", default="127.0.0.1:8000")
        parser.add_argument("--no-serve", action="store_true", help=_("prepare and print the logins, then stop"))

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        from bangfu.common.apps import private_data

        private_data()  # the database file the migration has just made: for this account only
        if not Household.objects.exists():
            self.stdout.write(_("Seeding a demo province with %(n)s households…") % {"n": f"{options['households']:,}"})
            call_command("seed", households=options["households"], random_seed=options["random_seed"])
            self._identify()
        logins = self._logins()
        self._applications()
        self._department_data()
        self.stdout.write("\n" + _("Demo logins (role @ union — username / password):"))
        for row in logins:
            role = f"{Role(row['role']).label} ({row['role']})"
            self.stdout.write(f"  {_pad(role, 36)} @ {_pad(row['unit'], 24)} {row['username']} / {row['password']}")
        if options["no_serve"]:
            return
        opening = _("Open http://%(addrport)s/ — Ctrl-C stops the server, the worker and the scheduler.")
        self.stdout.write("\n" + opening % {"addrport": options["addrport"]} + "\n")
        helpers = _Helpers(self.stdout.write)
        # Stopped by a signal (kill, a service manager, a container stopping) as by Ctrl-C: the
        # worker and the scheduler stop with the server instead of running on without it.
        for stop in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(stop, _exit_on_signal)
        try:
            call_command("runserver", options["addrport"], insecure_serving=True, use_reloader=False)
        finally:
            helpers.stop()

    def _identify(self) -> None:
        """A standard for the demo province this year (the figures of the issue's example) and a
        first recompute, so that every file shows its identification with reasons."""
        from django.utils import timezone

        from bangfu.eligibility import recompute, services
        from bangfu.eligibility.models import Standard
        from bangfu.eligibility.system import SYSTEM

        province = OrgUnit.objects.filter(level=OrgLevel.PROVINCE).order_by("path").first()
        if province is None:
            return
        year = timezone.localdate().year
        if not Standard.objects.filter(division_code=province.division_code, year=year).exists():
            services.standard_set(
                actor=SYSTEM,
                division_code=province.division_code,
                year=year,
                dibao_monthly="1001",
                minimum_wage_monthly="1900",
                housing_area_per_head="20",
                note="demo",
            )
        run = recompute.recompute_start(actor=SYSTEM, unit_id=province.pk)
        self.stdout.write(
            _("Identified %(done)s households (%(changed)s with a new category).")
            % {"done": f"{run.done:,}", "changed": f"{run.changed:,}"}
        )

    def _applications(self) -> None:
        """Applications waiting at each step at the demo cadre's union (once)."""
        from django.contrib.auth import get_user_model

        from bangfu.intake.demo import DEMO_APPLICATIONS, seed_demo_applications

        wanted = ["grassroots_cadre", "county_staff"]
        users = {u.username: u for u in get_user_model().objects.filter(username__in=wanted)}
        cadre, staff = users.get("grassroots_cadre"), users.get("county_staff")
        where = RoleAssignment.objects.filter(user=cadre).select_related("unit").first() if cadre else None
        if where is None or staff is None:
            return
        unit = where.unit
        made = seed_demo_applications(unit=unit, cadre=cadre, staff=staff)
        if made:
            phones = f"{DEMO_APPLICATIONS[0][0]}–{DEMO_APPLICATIONS[-1][0][-2:]}"
            self.stdout.write(
                _("%(n)s applications at %(unit)s wait at each step; their workers sign in at /apply/ as %(phones)s.")
                % {"n": made, "unit": unit.name, "phones": phones}
            )

    def _department_data(self) -> None:
        """Department files about the province's people, imported, and a first recheck (once)."""
        from django.contrib.auth import get_user_model

        from bangfu.matching.demo import seed_demo_datasets

        admin = get_user_model().objects.filter(username="province_admin").first()
        province = OrgUnit.objects.filter(level=OrgLevel.PROVINCE).order_by("path").first()
        if admin is None or province is None:
            return
        run = seed_demo_datasets(actor=admin, unit=province)
        if run is not None:
            self.stdout.write(
                _("Imported six department files and rechecked the province: %(n)s findings to review.")
                % {"n": f"{run.findings_new:,}"}
            )

    def _logins(self) -> list[dict[str, str]]:
        """Create the demo users once; their passwords are kept in var/ (never committed)."""
        path = settings.VAR_DIR / "demo-logins.json"
        if path.exists():
            saved: list[dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
            return saved
        province = OrgUnit.objects.filter(level=OrgLevel.PROVINCE).order_by("path").first()
        # 祥云县 (the seed article's county) when it is in the demo province, else the first county.
        counties = OrgUnit.objects.filter(level=OrgLevel.COUNTY).order_by("path")
        county = counties.filter(division_code=DEMO_COUNTY).first() or counties.first()
        under = OrgUnit.objects.filter(level=OrgLevel.GRASSROOTS, path__startswith=county.path if county else "/")
        grassroots = under.filter(households__isnull=False).order_by("path").first() or under.order_by("path").first()
        units = {"province": province, "county": county, "grassroots": grassroots}
        rows = []
        for username, role, where in DEMO_USERS:
            unit = units[where]
            if unit is None:
                continue
            password = secrets.token_urlsafe(8)
            user_add(actor="demo", username=username, unit=unit, role=role, password=password)
            rows.append({"role": str(role), "unit": unit.name, "username": username, "password": password})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
        path.chmod(0o600)  # the demo's passwords: for the one who runs it
        return rows


# The demo's helper processes: the background worker (imports, rechecks, recomputes, messages) and
# the scheduler of daily jobs.
HELPERS = (("db_worker", gettext_noop("the background worker")), ("schedule", gettext_noop("the scheduler")))
RESTARTS_MOST = 5  # a helper that keeps stopping is left stopped, said, rather than started forever


class _Helpers:
    """The helper processes beside the demo's server, started again when one stops (killed, out of
    memory): a demo whose worker had gone left every background job waiting, and said nothing."""

    POLL_SECONDS = 2.0

    def __init__(self, say: Any) -> None:
        self.say = say
        self.stopping = threading.Event()
        self.processes = {name: self._start(name) for name, _label in HELPERS}
        self.restarts = dict.fromkeys(self.processes, 0)
        threading.Thread(target=self._watch, daemon=True, name="demo-helpers").start()

    @staticmethod
    def _start(name: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "bangfu.cli", name])  # noqa: S603 - a name of HELPERS

    def _watch(self) -> None:
        while not self.stopping.wait(self.POLL_SECONDS):
            for name, label in HELPERS:
                code = self.processes[name].poll()
                if code is None or self.stopping.is_set() or self.restarts[name] > RESTARTS_MOST:
                    continue
                self.restarts[name] += 1
                if self.restarts[name] > RESTARTS_MOST:
                    self.say(
                        _("%(helper)s stopped again (exit code %(code)s) and is left stopped; restart the demo.")
                        % {"helper": _(label).capitalize(), "code": code}
                    )
                    continue
                self.say(
                    _("%(helper)s stopped (exit code %(code)s); starting it again.")
                    % {"helper": _(label).capitalize(), "code": code}
                )
                self.processes[name] = self._start(name)

    def stop(self) -> None:
        self.stopping.set()
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _exit_on_signal(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)
