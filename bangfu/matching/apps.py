from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MatchingConfig(AppConfig):
    name = "bangfu.matching"
    label = "matching"
    verbose_name = _("Cross-department checks")

    def ready(self) -> None:
        from bangfu.common.retranslate import VALUES
        from bangfu.matching.record_words import record_in_words_again

        # A line of the timeline or the audit log names a department record as its writer read it
        # ("row 3 of the file"): the reader reads it in theirs.
        VALUES.setdefault("record", record_in_words_again)
