"""Whether the personal-data keys in use are the ones this database was made with.

The first migrate stores what each key makes of a fixed text (``KeyCheck``): the keyed hash of it
with ``BANGFU_HASH_KEY``, and the text encrypted with ``BANGFU_FIELD_KEY``. A start with another
key — a backup restored beside newly generated keys, a typing error in the service's environment —
is then refused by the system check (``common.checks``) with the variable's name, instead of an ID
search and a recheck that find nothing (another hash key) or a server error on the first number
read (another field key).
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone
from django.utils.translation import gettext as _

from . import crypto

CHECK_TEXT = "bangfu key check v1"
HASH, FIELD = "hash", "field"


def _table_exists(using: str) -> bool:
    from .models import KeyCheck

    with connections[using].cursor() as cursor:
        return KeyCheck._meta.db_table in connections[using].introspection.table_names(cursor)


def key_checks_record(*, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Store the check value of each key that has none yet (after migrate); a key of the wrong form
    is left for the system check to name. Returns the names stored."""
    from .models import KeyCheck

    if not _table_exists(using):
        return []
    made = {HASH: "FIELD_HASH_KEY", FIELD: "FIELD_ENCRYPTION_KEY"}
    have = set(KeyCheck.objects.using(using).values_list("name", flat=True))
    stored = []
    for name, setting in made.items():
        if name in have or crypto.key_problem(setting):
            continue
        crypto.keys_forget()
        value = crypto.keyed_hash(CHECK_TEXT) if name == HASH else crypto.encrypt(CHECK_TEXT)
        KeyCheck.objects.using(using).get_or_create(name=name, defaults={"value": value, "made_at": timezone.now()})
        stored.append(name)
    return stored


def key_mismatches(*, using: str = DEFAULT_DB_ALIAS) -> dict[str, str]:
    """A message for each key in use (by its environment variable) that is not the one the database's
    check value was made with (nothing when the database has no check values yet, or no table for
    them: before migrate)."""
    from .models import KeyCheck

    if not _table_exists(using):
        return {}
    values = dict(KeyCheck.objects.using(using).values_list("name", "value"))
    crypto.keys_forget()  # the settings in force now, not keys read before
    problems = {}
    if HASH in values and not crypto.key_problem("FIELD_HASH_KEY") and crypto.keyed_hash(CHECK_TEXT) != values[HASH]:
        problems["BANGFU_HASH_KEY"] = _(
            "BANGFU_HASH_KEY is not the key this database was made with: ID search and rechecks "
            "would find nothing; restore the key from the backup."
        )
    if FIELD in values and not crypto.key_problem("FIELD_ENCRYPTION_KEY"):
        try:
            opened = crypto.decrypt(values[FIELD]) == CHECK_TEXT
        except crypto.FieldKeyError:
            opened = False
        if not opened:
            problems["BANGFU_FIELD_KEY"] = crypto.field_key_message()
    return problems
