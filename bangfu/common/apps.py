from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommonConfig(AppConfig):
    name = "bangfu.common"
    label = "common"
    verbose_name = _("Common")

    def ready(self) -> None:
        from django.core.signals import request_finished
        from django.db.models.signals import post_migrate
        from django.tasks.signals import task_finished

        from . import checks  # noqa: F401 - registers the system checks of the keys
        from .audit import flush_told

        private_data()
        # What a refusal told a user is logged though the refused write rolled back (``audit_told``).
        request_finished.connect(flush_told, dispatch_uid="bangfu.common.audit.flush_told")
        task_finished.connect(flush_told, dispatch_uid="bangfu.common.audit.flush_told.task")
        # The keys' check values, stored by the first migrate that has their table (``common.keys``).
        post_migrate.connect(_record_keys, sender=self, dispatch_uid="bangfu.common.keys.record")


def _record_keys(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from .keys import key_checks_record

    key_checks_record(using=using)


def private_data(media_root: Any = None, database: dict[str, Any] | None = None) -> None:
    """The data kept on disk beside the database — department snapshots with names and death
    dates, rejected rows, the embedded SQLite database — is for the account the system runs as:
    the media folder is made 0700 (what is in it is out of others' reach whatever its own mode)
    and an SQLite database file 0600. A folder or file owned by another account is left alone."""
    import os
    from pathlib import Path

    from django.conf import settings

    media = Path(media_root or settings.MEDIA_ROOT)
    targets = [(media, 0o700)]
    db = database if database is not None else settings.DATABASES.get("default", {})
    name = str(db.get("NAME") or "")
    if "sqlite" in str(db.get("ENGINE", "")) and name and ":memory:" not in name and "mode=memory" not in name:
        targets.append((Path(name), 0o600))
    try:
        media.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    for path, mode in targets:
        try:
            if path.exists() and path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o777 != mode:
                path.chmod(mode)
        except OSError:
            continue
