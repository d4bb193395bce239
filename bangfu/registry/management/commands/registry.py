"""``bangfu registry export``: the household files as a table, one row per person.

    bangfu registry export [--format csv|xlsx] [--unit CODE] [--reveal] [--output FILE] [--username U]

ID numbers are masked (``5329**********1234``) unless ``--reveal``. Coded columns are written in
words, in the language the command speaks (``BANGFU_LANGUAGE``): the export is a spreadsheet for
people. A CSV goes to ``--output FILE`` with a byte-order mark for Excel, or to standard output in
plain UTF-8 (``common.commands.csv_output``, as every command's CSV). Every export is written to the
audit log (action ``export``, with the row count, the filter and whether IDs were revealed); one
with ``--reveal`` is also a ``reveal`` entry, as the findings export with full IDs is.

Without ``--username`` the command acts as the system: it is run by an operator on the server,
who can read the database anyway, so it sees every file. With ``--username`` it sees only that
user's jurisdiction and needs the export permission (and the reveal permission for ``--reveal``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.db import models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from bangfu.common import crypto, sheets
from bangfu.common.audit import audit_record
from bangfu.common.commands import TranslatedCommand, csv_output
from bangfu.common.models import AuditAction
from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.org.models import OrgUnit
from bangfu.org.services import org_unit_by_code
from bangfu.registry import codes
from bangfu.registry.models import Member

# (header, value path on Member, how to show the value)
Column = tuple[Any, str, Callable[[Any], Any] | None]


def _labels(choices: type[models.Choices]) -> Callable[[Any], str]:
    table = {value: str(label) for value, label in choices.choices}
    return lambda value: table.get(value, value or "")


def _money(value: Decimal | None) -> Any:
    return "" if value is None else value


def columns() -> list[Column]:
    """The export's columns; labels are resolved in the active language when called."""
    return [
        (gettext_lazy("File number"), "household__file_number", None),
        (gettext_lazy("Union"), "household__unit__name", None),
        (gettext_lazy("Union code"), "household__unit__code", None),
        (gettext_lazy("File state"), "household__state", _labels(codes.FileState)),
        (gettext_lazy("Hardship category"), "household__category", _labels(codes.HardshipCategory)),
        (gettext_lazy("Main cause"), "household__main_cause", _labels(codes.Cause)),
        (gettext_lazy("Name"), "name", None),
        (gettext_lazy("ID number"), "id_masked", None),
        (gettext_lazy("Relationship to head"), "relationship", _labels(codes.Relationship)),
        (gettext_lazy("Sex"), "sex", _labels(codes.Sex)),
        (gettext_lazy("Birth date"), "birth_date", None),
        (gettext_lazy("Ethnicity"), "ethnicity", _labels(codes.Ethnicity)),
        (gettext_lazy("Health"), "health", _labels(codes.Health)),
        (gettext_lazy("Disability type"), "disability_type", _labels(codes.DisabilityType)),
        (gettext_lazy("Disability grade"), "disability_grade", _labels(codes.DisabilityGrade)),
        (gettext_lazy("Work status"), "work_status", _labels(codes.WorkStatus)),
        (gettext_lazy("Monthly income"), "monthly_income", _money),
        (gettext_lazy("Household members living together"), "household__members_living_together", None),
        (gettext_lazy("Household net income per head per month"), "household__net_income_per_head_monthly", _money),
        (gettext_lazy("Date filed"), "household__filed_on", None),
    ]


class Command(TranslatedCommand):
    help = gettext_noop("Export the household files, one row per person (CSV or Excel).")

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        export = actions.add_parser(
            "export",
            help=_("one row per person; ID numbers masked unless --reveal"),
            description=_(
                "Export the household files, one row per person. Every export is audit-logged. "
                "Without --username the command acts as the system and exports every file."
            ),
        )
        export.add_argument("--format", choices=["csv", "xlsx"], default="csv", help=_("csv (default) or xlsx"))
        export.add_argument("--unit", help=_("only this union's subtree (unit code or division code)"))
        export.add_argument("--reveal", action="store_true", help=_("write full ID numbers (audit-logged)"))
        export.add_argument(
            "--output",
            type=Path,
            help=_("file to write (required for xlsx; a CSV file has a byte-order mark for Excel; default: stdout)"),
        )
        export.add_argument("--username", help=_("export as this user: their jurisdiction and permissions"))

    def handle(self, *args: Any, **options: Any) -> None:
        fmt: str = options["format"]
        output: Path | None = options["output"]
        reveal: bool = options["reveal"]
        if fmt == "xlsx" and output is None:
            raise CommandError(_("An Excel export needs --output FILE."))
        actor = self._actor(options["username"])
        unit = self._unit(options["unit"])
        members = self._queryset(actor, unit, reveal)

        rows = 0
        cols = columns()
        if output is not None and not output.parent.is_dir():
            raise CommandError(_("No such folder: %(path)s") % {"path": output.parent})
        if fmt == "xlsx" and output is not None:
            # People's data in a file: for the account that wrote it only (not the umask's 0644).
            output.touch(mode=0o600)
            output.chmod(0o600)
        try:
            if fmt == "xlsx" and output is not None:
                rows = self._write_xlsx(output, cols, self._rows(members, cols, reveal))
            else:
                rows = self._write_csv(output, cols, self._rows(members, cols, reveal))
        finally:
            with transaction.atomic():
                if reveal:
                    # A full-ID export is a reveal too, logged as such (as the findings export does).
                    audit_record(
                        actor=actor or "command line",
                        action=AuditAction.REVEAL,
                        target_type="registry.members",
                        unit_path=unit.path if unit else "",
                        note=_("Persons exported with full ID numbers: %(n)s") % {"n": rows},
                        after={"rows": rows, "unit": unit.code if unit else "", "format": fmt},
                    )
                audit_record(
                    actor=actor or "command line",
                    action=AuditAction.EXPORT,
                    target_type="registry.members",
                    unit_path=unit.path if unit else "",
                    after={
                        "rows": rows,
                        "format": fmt,
                        "unit": unit.code if unit else "",
                        "reveal": reveal,
                        "output": output.name if output else "stdout",
                    },
                )
        if output is not None:
            self.stderr.write(_("%(rows)d rows written to %(file)s.") % {"rows": rows, "file": output})

    # -- who and what --------------------------------------------------------------------------

    def _actor(self, username: str | None) -> Any:
        if not username:
            return None
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(_("No active user %(username)s.") % {"username": username})
        if not access.has_perm(user, Perm.REGISTRY_EXPORT):
            raise CommandError(_("%(username)s may not export files.") % {"username": username})
        return user

    def _unit(self, code: str | None) -> OrgUnit | None:
        if not code:
            return None
        try:
            return org_unit_by_code(code)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc

    def _queryset(self, actor: Any, unit: OrgUnit | None, reveal: bool) -> models.QuerySet[Member]:
        qs = Member.objects.all()
        if actor is not None:
            if unit is not None and not access.has_perm(actor, Perm.REGISTRY_EXPORT, unit):
                raise CommandError(_("No union with the code %(code)s.") % {"code": unit.code})
            qs = access.scope(actor, qs, Perm.REGISTRY_EXPORT)
            if reveal:
                if not access.has_perm(actor, Perm.PERSONAL_REVEAL, unit):
                    raise CommandError(_("You may not reveal ID numbers here."))
                qs = access.scope(actor, qs, Perm.PERSONAL_REVEAL)
        if unit is not None:
            qs = qs.filter(household__unit__path__startswith=unit.path)
        return qs.order_by("household_id", "position", "id")

    def _rows(self, members: models.QuerySet[Member], cols: list[Column], reveal: bool) -> Iterator[list[Any]]:
        paths = [path for _, path, _ in cols]
        show = [fn for _, _, fn in cols]
        id_index = paths.index("id_masked")
        fields = [*paths, "id_cipher"] if reveal else paths
        for values in members.values_list(*fields).iterator(chunk_size=2000):
            row = [value if fn is None else fn(value) for value, fn in zip(values, show, strict=False)]
            if reveal:
                row[id_index] = crypto.decrypt(values[-1])
            yield row

    # -- writers ---------------------------------------------------------------------------------

    def _write_csv(self, output: Path | None, cols: list[Column], rows: Iterator[list[Any]]) -> int:
        count = 0
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([str(header) for header, _, _ in cols])
        with csv_output(output, self.stdout) as target:
            for row in rows:
                writer.writerow(sheets.csv_row(row))
                count += 1
                if count % 2000 == 0:
                    self._flush(buffer, target)
            self._flush(buffer, target)
        return count

    def _flush(self, buffer: io.StringIO, target: Any) -> None:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if target is self.stdout:
            self.stdout.write(text, ending="")
        else:
            target.write(text)

    def _write_xlsx(self, output: Path, cols: list[Column], rows: Iterator[list[Any]]) -> int:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet(str(_("Household members")))
        sheet.append([str(header) for header, _, _ in cols])
        count = 0
        for row in rows:
            sheet.append(sheets.xlsx_row(sheet, row))
            count += 1
        book.save(output)
        return count
