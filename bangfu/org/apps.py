from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "bangfu.org"
    label = "org"
    verbose_name = _("Union tree and users")

    def ready(self) -> None:
        from . import signin

        signin.connect()
