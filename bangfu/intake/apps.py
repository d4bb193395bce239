from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntakeConfig(AppConfig):
    name = "bangfu.intake"
    label = "intake"
    verbose_name = _("Applications")

    def ready(self) -> None:
        from bangfu.intake.services import persons_in_cases
        from bangfu.registry.services import PERSON_CLAIMS

        if persons_in_cases not in PERSON_CLAIMS:
            PERSON_CLAIMS.append(persons_in_cases)
        from bangfu.intake.reviews import file_closed
        from bangfu.registry.services import STATE_HOOKS

        if file_closed not in STATE_HOOKS:
            STATE_HOOKS.append(file_closed)
        from bangfu.intake.services import drafts_in_audit_log
        from bangfu.org.audit_log import NOT_YET_SHOWN

        if drafts_in_audit_log not in NOT_YET_SHOWN:
            NOT_YET_SHOWN.append(drafts_in_audit_log)
        from bangfu.common.retranslate import COUNTS, VALUES
        from bangfu.intake.legacy import row_count, row_runs_again

        # The import's notes name rows by their numbers (``legacy.row_runs``): their count, and
        # the list in the reader's marks.
        COUNTS.setdefault("rows", row_count)
        VALUES.setdefault("rows", row_runs_again)
