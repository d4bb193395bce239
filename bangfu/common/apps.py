from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommonConfig(AppConfig):
    name = "bangfu.common"
    label = "common"
    verbose_name = _("Common")

    def ready(self) -> None:
        from django.core.signals import request_finished
        from django.tasks.signals import task_finished

        from .audit import flush_told

        # What a refusal told a user is logged though the refused write rolled back (``audit_told``).
        request_finished.connect(flush_told, dispatch_uid="bangfu.common.audit.flush_told")
        task_finished.connect(flush_told, dispatch_uid="bangfu.common.audit.flush_told.task")
