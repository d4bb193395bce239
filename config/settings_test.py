"""Test settings: fixed throw-away keys, fast hashing; the database still comes from DATABASE_URL."""

import os

os.environ.setdefault("BANGFU_SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("BANGFU_FIELD_KEY", "dGVzdC1vbmx5LWZpZWxkLWtleS0zMi1ieXRlcyEhISE=")
os.environ.setdefault("BANGFU_HASH_KEY", "dGVzdC1vbmx5LWhhc2gta2V5LTMyLWJ5dGVzLSEhISE=")
os.environ.setdefault("BANGFU_ENV_FILE", "/nonexistent")

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
BANGFU_INTAKE_CODE_SENDER = "bangfu.intake.messaging.LogCodeSender"  # the tests read the codes from its outbox
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "private": {
        "BACKEND": "bangfu.common.storage.EncryptedStorage",
        "OPTIONS": {"backend": "django.core.files.storage.InMemoryStorage"},
    },
}

# Tests read messages in the source language unless they choose one (the product defaults to
# zh-hans; bangfu/web/tests check that the pages come out in Chinese by default).
LANGUAGE_CODE = "en"
