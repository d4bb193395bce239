"""Model fields of the core."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.db import models

from . import crypto


class EncryptedJSONField(models.TextField):
    """A JSON value stored as AES-GCM ciphertext (``crypto.encrypt`` of its JSON text): for data
    that holds personal numbers and cannot be split into the registry's cipher, hash and mask
    columns, such as an application's form (ID numbers, a bank card) while it goes back and forth.
    It cannot be queried inside; reading a row decrypts the whole value. A value written before it
    was encrypted (JSON text) is still read."""

    description = "JSON, encrypted"
    if TYPE_CHECKING:  # for django-stubs: the stored value is any JSON value, not str
        _pyi_private_set_type: Any
        _pyi_private_get_type: Any

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return self._load(value)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._load(value)
        return value

    def _load(self, value: str | None) -> Any:
        if value is None:
            return None
        if crypto.is_encrypted(value):
            value = crypto.decrypt(value)
        return json.loads(value)

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return crypto.encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str))

    def value_to_string(self, obj: Any) -> str:  # serialisation (dumpdata): encrypted too
        return str(self.get_prep_value(self.value_from_object(obj)))
