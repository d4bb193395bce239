"""``bangfu org``: the union tree of a province.

    bangfu org load FILE   # CSV (UTF-8 or GBK) or Excel: code, name, parent_code [, level, kind, division_code]
    bangfu org add --code C --name N [--parent P] [--level L] [--kind K] [--division-code D]
    bangfu org list [--unit CODE]

``load`` and ``add`` check every row first and write nothing when one has a problem (each named by
its row and column); loading the same file again changes nothing, and a new name is written and
audit-logged. ``bangfu/org/tree_file.py`` says what each column holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from bangfu.common.commands import TranslatedCommand
from bangfu.common.errors import field_errors
from bangfu.common.management.commands.ids import EXCEL_SUFFIXES, read_csv, read_excel
from bangfu.org.cli import unit_by_code
from bangfu.org.models import OrgLevel, OrgUnit
from bangfu.org.services import TreeLoad, org_tree_load
from bangfu.org.tree_file import FIELDS, UnitRow, tree_rows

ACTOR = "command line"
OPTIONS = {
    "code": "--code",
    "name": "--name",
    "parent_code": "--parent",
    "level": "--level",
    "kind": "--kind",
    "division_code": "--division-code",
}


class Command(TranslatedCommand):
    help = gettext_noop("The union tree: load a province's unions from a file, add one, list them.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        load = sub.add_parser(
            "load",
            help=_(
                "load unions from a CSV (UTF-8 or GBK) or Excel file with the columns code, name, parent_code "
                "(and optionally level, kind, division_code); all rows or none"
            ),
        )
        load.add_argument("file", type=Path, metavar="FILE")
        add = sub.add_parser("add", help=_("add one union (or rename the one of that code)"))
        add.add_argument(
            "--code", required=True, help=_("a federation's division code, or a grassroots union's own code")
        )
        add.add_argument("--name", required=True)
        add.add_argument("--parent", default="", help=_("the parent union's code (none for the province's federation)"))
        add.add_argument("--level", default="", help=_("province, city, county or grassroots (default: from the code)"))
        add.add_argument("--kind", default="", help=_("federation, enterprise, industry, street, community …"))
        add.add_argument(
            "--division-code", default="", help=_("a grassroots union's division code (default: its parent's)")
        )
        show = sub.add_parser("list", help=_("list the unions with their codes, levels and parents"))
        show.add_argument("--unit", help=_("only this union and those below it"))

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            self._list(options.get("unit"))
            return
        if action == "load":
            path: Path = options["file"]
            if not path.is_file():
                raise CommandError(_("File not found: %(path)s") % {"path": path})
            table = read_excel(path) if path.suffix.lower() in EXCEL_SUFFIXES else read_csv(path)
            try:
                rows = tree_rows(table)
            except ValidationError as exc:
                raise CommandError("\n".join(m for ms in field_errors(exc).values() for m in ms)) from exc
        else:
            values = {f: options[f if f != "parent_code" else "parent"].strip() for f in FIELDS}
            rows = [UnitRow(line=1, columns=OPTIONS, **values)]
        try:
            result = org_tree_load(actor=ACTOR, rows=rows)
        except ValidationError as exc:
            raise CommandError(self._problems(exc, rows, by_option=action == "add")) from exc
        self._report(result)

    def _problems(self, exc: ValidationError, rows: list[UnitRow], *, by_option: bool) -> str:
        """One line per problem, in the order of the rows: where (row and column, or the option) and why."""
        columns = rows[0].columns if rows else {}
        found: list[tuple[int, int, str, str]] = []
        for key, messages in field_errors(exc).items():
            _rows, number, name = key.split(".", 2)
            order = FIELDS.index(name) if name in FIELDS else 0
            found.extend((int(number), order, name, message) for message in messages)
        lines = []
        for line, _order, name, message in sorted(found):
            column = columns.get(name, name)
            if by_option:
                lines.append(f"{column}: {message}")
            else:
                lines.append(
                    _("Row %(row)d, column %(column)s: %(message)s")
                    % {"row": line, "column": column, "message": message}
                )
        if not by_option:
            lines.append(_("Nothing was loaded: correct these rows and load the file again."))
        return "\n".join(lines)

    def _report(self, result: TreeLoad) -> None:
        for unit in result.created:
            self.stdout.write(f"+ {unit.code}\t{unit.name}")
        for unit in result.changed:
            self.stdout.write(f"~ {unit.code}\t{unit.name}")
        self.stdout.write(
            _("%(created)d unions added, %(changed)d changed, %(unchanged)d already so.")
            % {"created": len(result.created), "changed": len(result.changed), "unchanged": result.unchanged}
        )

    def _list(self, code: str | None) -> None:
        units = OrgUnit.objects.select_related("parent").order_by("path")
        if code:
            top = unit_by_code(code)
            units = units.filter(path__startswith=top.path)
        for unit in units.iterator(chunk_size=2000):
            parent = unit.parent.code if unit.parent else "-"
            self.stdout.write(
                f"{unit.code}\t{unit.name}\t{OrgLevel(unit.level).label}\t{unit.kind}\t{unit.division_code}\t{parent}"
            )
