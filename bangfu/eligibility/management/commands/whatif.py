"""``bangfu whatif --unit CODE --dibao 1100 [--minimum-wage 2000] [--from 2027-01-01] [--rule key=value …]
[--report preview.xlsx] [--save]``.

Shows how many households of each unit would change category if the unit's division had these
parameters, without storing anything; ``--save`` then makes them new standard / rule-set versions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from bangfu.common.audit import audit_record
from bangfu.common.commands import TranslatedCommand, problems_text
from bangfu.common.errors import field_errors
from bangfu.common.models import AuditAction
from bangfu.common.punctuation import join_list
from bangfu.eligibility.config_forms import normalise_number
from bangfu.eligibility.models import DecisionCategory
from bangfu.eligibility.recompute import changes_xlsx, whatif_preview, whatif_save
from bangfu.eligibility.services import SYSTEM
from bangfu.org.cli import unit_by_code

from .identify import parse_date


def parse_rule(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep:
        raise CommandError(_("Give rules as key=value."))
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


class Command(TranslatedCommand):
    help = gettext_noop("Preview the effect of changed standards or rules on a unit's households (nothing is saved).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--unit", required=True, help=_("unit code (the division code of a federation)"))
        parser.add_argument("--dibao", help=_("urban dibao per month"))
        parser.add_argument("--minimum-wage", help=_("minimum wage per month"))
        parser.add_argument("--from", dest="start", help=_("effective from (YYYY-MM-DD, default today)"))
        parser.add_argument("--rule", action="append", default=[], help=_("rule-set parameter key=value"))
        parser.add_argument("--report", help=_("write the households that would change to this .xlsx file"))
        parser.add_argument("--save", action="store_true", help=_("save the parameters as new versions"))

    def handle(self, *args: Any, **options: Any) -> None:
        unit = unit_by_code(options["unit"])
        on = parse_date(options["start"]) or timezone.localdate()
        # Typed as on the page: full-width digits, thousands separators.
        standard = {
            "dibao_monthly": normalise_number(options["dibao"]),
            "minimum_wage_monthly": normalise_number(options["minimum_wage"]),
        }
        standard = {k: v for k, v in standard.items() if v is not None}
        rules = dict(parse_rule(r) for r in options["rule"])
        if not standard and not rules:
            raise CommandError(_("Give --dibao, --minimum-wage or --rule."))
        try:
            preview = whatif_preview(actor=SYSTEM, unit_id=unit.pk, on=on, standard=standard, rule_params=rules)
        except ValidationError as exc:
            # Each problem on a line of its own, named by the option that gave it (the service names its fields).
            raise CommandError(problems_text(exc, _OPTIONS)) from exc
        label = dict(DecisionCategory.choices)
        self.stdout.write(
            _("%(changed)d of %(total)d households would change category (standard %(standard)s, rules %(rules)s).")
            % {
                "changed": preview.changed,
                "total": preview.total,
                "standard": preview.standard_version,
                "rules": preview.ruleset_version,
            }
        )
        for u in preview.by_unit:
            moves = join_list(
                f"{label.get(a, a)} → {label.get(b, b)}: {n}" for (a, b), n in sorted(u.transitions.items())
            )
            self.stdout.write(f"  {u.unit_name}: {u.changed} ({moves})")
        if preview.anyway:
            self.stdout.write(
                ngettext(
                    "Of these, %(n)s household changes on %(day)s even with the values in force (they give "
                    "it the same new category: ages, the year before a home purchase, or its file changed since "
                    "its decision).",
                    "Of these, %(n)s households change on %(day)s even with the values in force (they give "
                    "them the same new category: ages, the year before a home purchase, or their files changed "
                    "since their decisions).",
                    preview.anyway,
                )
                % {"n": preview.anyway, "day": on.isoformat()}
            )
        if options["report"]:
            Path(options["report"]).write_bytes(changes_xlsx(preview.households, preview.anyway_files))
            audit_record(
                actor="system",
                action=AuditAction.EXPORT,
                target_type="eligibility_whatif",
                target_id=unit.code,
                unit_path=unit.path,
                after={"rows": len(preview.households), "format": "xlsx", "on": str(on), "file": options["report"]},
            )
        if options["save"]:
            try:
                saved_standard, saved_rules = whatif_save(
                    actor=SYSTEM, unit_id=unit.pk, on=on, standard=standard, rule_params=rules
                )
            except ValidationError as exc:  # nothing to save: the values in force already
                raise CommandError(" ".join(m for ms in field_errors(exc).values() for m in ms)) from exc
            for saved in (saved_standard, saved_rules):
                if saved is not None:
                    self.stdout.write(_("Saved %(version)s.") % {"version": saved.label})


_OPTIONS = {
    "unit_id": "--unit",
    "dibao_monthly": "--dibao",
    "minimum_wage_monthly": "--minimum-wage",
    "effective_from": "--from",
}
