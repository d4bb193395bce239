from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EligibilityConfig(AppConfig):
    name = "bangfu.eligibility"
    label = "eligibility"
    verbose_name = _("Identification")

    def ready(self) -> None:
        from bangfu.registry import workflow

        from .selectors import exit_test_met, hardship_in_force

        workflow.exit_test_met = exit_test_met
        workflow.hardship_in_force = hardship_in_force
