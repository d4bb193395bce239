"""``bangfu match``: cross-department checks from the command line.

    bangfu match import --kind vehicles 车辆.csv [--mapping SOURCE] [--as-of 2026-06-01] [--retention-days 180]
    bangfu match run [--unit CODE] [--engine duckdb|spark] [--dataset ID ...]
    bangfu match findings --format csv [--unit CODE] [--status open] [--reveal] [--output FILE]
    bangfu match request --output request.csv [--plain]
    bangfu match purge

Commands act as ``--user NAME`` (default: ``BANGFU_CLI_USER``); jurisdiction and permissions
apply as in the UI. The findings CSV has the columns ``selectors.FINDING_CSV_COLUMNS``, with the
codes of its coded columns (a format for programs; the page's download has words); it goes to
``--output FILE`` with a byte-order mark for Excel, or to standard output in plain UTF-8
(``common.commands.csv_output``). Without ``--status`` it lists every status, as the API does.
"""

from __future__ import annotations

import csv
import itertools
import os
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import CommandError, CommandParser
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from bangfu.common import sheets
from bangfu.common.commands import TranslatedCommand, csv_output, day, whole_number
from bangfu.common.errors import DomainError, field_errors
from bangfu.common.punctuation import join_list, mark
from bangfu.matching import selectors, services
from bangfu.matching.engine.schemas import DatasetKind
from bangfu.matching.models import FindingStatus
from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.org.cli import unit_by_code
from bangfu.org.models import OrgUnit


class Command(TranslatedCommand):
    help = gettext_noop("Cross-department checks: import department data, run a recheck, list findings.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", default=os.environ.get("BANGFU_CLI_USER", ""), help=_("act as this user"))
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        imp = actions.add_parser("import", help=_("import a department file (CSV, Excel or Parquet)"))
        imp.add_argument("--kind", required=True, choices=[k.value for k in DatasetKind])
        imp.add_argument("file", type=Path)
        imp.add_argument("--mapping", default="", help=_("source name whose saved column mapping to use (and update)"))
        imp.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=COLUMN",
            help=_("take this field from the file's column of this name, e.g. id_number=车主身份证 (repeatable)"),
        )
        imp.add_argument("--as-of", type=day, default=None, help=_("date the data is as of"))
        imp.add_argument("--retention-days", type=whole_number, default=None)
        run = actions.add_parser("run", help=_("recheck a unit's files against datasets"))
        run.add_argument("--unit", default="", help=_("unit code (default: your whole jurisdiction)"))
        run.add_argument("--engine", choices=services.ENGINES, default="duckdb")
        run.add_argument("--dataset", type=whole_number, action="append", help=_("dataset id (default: all current)"))
        fnd = actions.add_parser(
            "findings",
            help=_("write the findings as CSV (the export is audit-logged)"),
            description=_(
                "Write the findings of your jurisdiction as CSV, with codes in the coded columns. "
                "Every status unless --status is given. With --output the file is written in UTF-8 "
                "with a byte-order mark, for Excel, and readable by you only; without it, the rows go "
                "to standard output in plain UTF-8, for other programs."
            ),
        )
        fnd.add_argument("--format", choices=["csv"], default="csv")
        fnd.add_argument("--unit", default="")
        fnd.add_argument(
            "--status", default="", choices=["", *FindingStatus.values], help=_("only this status (default: all)")
        )
        fnd.add_argument("--reveal", action="store_true", help=_("full ID numbers (audit-logged)"))
        fnd.add_argument(
            "--output", type=Path, help=_("file to write, with a byte-order mark for Excel (default: stdout)")
        )
        req = actions.add_parser("request", help=_("write a request file for an outside checking centre"))
        req.add_argument("--output", type=Path, required=True)
        req.add_argument("--unit", default="")
        req.add_argument("--plain", action="store_true", help=_("include ID numbers and names (audit-logged)"))
        actions.add_parser("purge", help=_("delete datasets past their retention period"))

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "purge":
            self.stdout.write(_("%(count)s datasets purged") % {"count": services.purge_expired_datasets()})
            return
        actor = self._actor(options["user"])
        try:
            getattr(self, f"_{action}")(actor, options)
        except DomainError as exc:
            raise CommandError(_problem_text(exc)) from exc
        except ValidationError as exc:
            raise CommandError(" ".join(m for ms in field_errors(exc).values() for m in ms)) from exc
        except PermissionDenied as exc:
            raise CommandError(
                _("%(username)s may not do this: it needs the permission to %(permission)s.")
                % {"username": actor.username, "permission": access.perm_label(exc)}
            ) from exc
        except Http404 as exc:
            raise CommandError(
                _("Not found, or outside the jurisdiction of %(username)s.") % {"username": actor.username}
            ) from exc
        except KeyboardInterrupt as exc:
            # An import or a run stopped part way writes nothing (each is one transaction).
            raise CommandError(_("Interrupted: nothing was written."), returncode=130) from exc

    def _actor(self, username: str) -> Any:
        users = get_user_model().objects.filter(is_active=True)
        user = users.filter(username=username).first() if username else None
        if user is None and username:
            raise CommandError(_("No active user is named %(name)s.") % {"name": username})
        if user is None:
            raise CommandError(_("Name the user to act as: --user NAME (or BANGFU_CLI_USER)."))
        return user

    def _unit(self, code: str, actor: Any = None, perm: Perm | None = None) -> OrgUnit | None:
        """The union of ``code``; with ``actor``, one in the actor's jurisdiction for ``perm``
        (another answers "not found, or outside the jurisdiction")."""
        if not code:
            return None
        unit = unit_by_code(code)
        if actor is not None and perm is not None and not access.units(actor, perm).filter(pk=unit.pk).exists():
            # A union the user sees but may not do this at: name the permission, not "not found".
            if access.has_perm(actor, Perm.HOUSEHOLD_VIEW, unit):
                raise PermissionDenied(perm.value)
            raise Http404
        return unit

    def _import(self, actor: Any, o: dict[str, Any]) -> None:
        path: Path = o["file"]
        if not path.is_file():
            raise CommandError(_("File not found: %(path)s") % {"path": path})
        ds = services.dataset_import(
            actor=actor,
            kind=o["kind"],
            path=path,
            file_name=path.name,
            source=o["mapping"],
            mapping=services.mapping_parse(";".join(o["map"])) or None,
            as_of=o["as_of"],
            retention_days=o["retention_days"],
        )
        imported = _(
            "dataset %(id)s: rows taken %(taken)s, rejected %(rejected)s, duplicate %(dup)s; purged on %(exp)s"
        ) % {
            "id": ds.pk,
            "taken": ds.rows_taken,
            "rejected": ds.rows_rejected,
            "dup": ds.rows_duplicate,
            "exp": ds.expires_on,
        }
        self.stdout.write(" ".join(filter(None, [imported, services.rows_skipped_in_words(ds)])))

    def _run(self, actor: Any, o: dict[str, Any]) -> None:
        unit = self._unit(o["unit"], actor, services.RUN_PERM)
        # As the run page: the newest dataset of each kind the union may use, none past its retention.
        ids = o["dataset"] or [
            d.pk for d in services.usable_datasets(unit or services.top_unit(actor, services.RUN_PERM))
        ]
        if not ids:
            raise CommandError(_("No datasets to check against; import one first."))
        run = services.match_run(actor=actor, unit=unit, dataset_ids=ids, engine=o["engine"])
        run.refresh_from_db()
        if run.status != "done":  # a queued task: run it here
            run = services.match_run_execute(run_id=run.pk)
        self.stdout.write(
            _("run %(id)s: %(persons)s persons in %(households)s files checked, %(new)s new findings")
            % {"id": run.pk, "persons": run.persons, "households": run.households, "new": run.findings_new}
        )

    def _findings(self, actor: Any, o: dict[str, Any]) -> None:
        unit = self._unit(o["unit"], actor, services.VIEW_PERM)  # not the header alone, as if it had none
        if o["reveal"] and not access.has_perm(actor, services.REVEAL_PERM):
            raise CommandError(_("You may not reveal ID numbers here."))
        filters = selectors.FindingFilters(unit_id=unit.pk if unit else None, status=o["status"])
        output: Path | None = o["output"]
        if output is not None and not output.parent.is_dir():  # said before the export is logged
            raise CommandError(_("No such folder: %(path)s") % {"path": output.parent})
        rows = selectors.findings_rows(actor=actor, filters=filters, reveal=o["reveal"])
        first = next(rows, None)  # the export permission is checked (and the export logged) here
        count = 0
        with csv_output(output, self.stdout) as target:
            writer = csv.DictWriter(target, selectors.FINDING_CSV_COLUMNS, lineterminator="\n")
            writer.writeheader()
            for row in itertools.chain([first] if first else [], rows):
                writer.writerow({k: sheets.csv_safe(v) for k, v in row.items()})
                count += 1
        if output is not None:
            self.stderr.write(_("%(rows)d rows written to %(file)s.") % {"rows": count, "file": output})

    def _request(self, actor: Any, o: dict[str, Any]) -> None:
        path: Path = o["output"]
        if not path.parent.is_dir():
            raise CommandError(_("No such folder: %(path)s") % {"path": path.parent})
        fmt = "parquet" if path.suffix.lower() in {".parquet", ".pq"} else "csv"
        count = services.exchange_request_export(
            actor=actor, target=path, unit=self._unit(o["unit"]), fmt=fmt, hashed_only=not o["plain"]
        )
        self.stdout.write(_("%(count)s persons written to %(file)s") % {"count": count, "file": path.name})


def _problem_text(exc: DomainError) -> str:
    """The problem in words, as the import page shows it: the columns found, the reasons with
    their counts (not the details as a Python dict)."""
    details = dict(exc.details or {})
    lines = [exc.message]
    if headers := details.get("headers"):
        lines.append(_("Columns in the file") + mark("colon") + join_list(headers))
    if reasons := details.get("reasons"):
        lines.append(f"{_('Reason')} ({_('Rows')}):")
        lines += [f"  {reason} ({n})" for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1])]
    return "\n".join(lines)
