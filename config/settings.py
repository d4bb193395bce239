"""Settings for bangfu, read from the environment in one place.

Every variable is listed with its default in ``.env.example``. The defaults run the embedded
setup: SQLite under ``var/``, debug off. Secrets (the Django secret key and the two personal-data
keys) are never committed: ``bangfu demo`` writes fresh ones to ``var/bangfu.env`` on first run,
and this module reads that file when it exists (variables already in the environment win).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

from .settings_paths import BASE_DIR, ENV_FILE, VAR_DIR


def _load_env_file(path: Path) -> None:
    """Read KEY=VALUE lines into os.environ without overriding what is already set."""
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        os.environ.setdefault(key.strip(), value.strip())


_load_env_file(ENV_FILE)


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    return env(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


SECRET_KEY = env("BANGFU_SECRET_KEY")
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "BANGFU_SECRET_KEY is not set. Run `bangfu demo` (it writes var/bangfu.env) "
        "or set the variables listed in .env.example."
    )
# Personal-data keys: AES-256-GCM key for ID and card numbers, HMAC key for their lookup hash.
FIELD_ENCRYPTION_KEY = env("BANGFU_FIELD_KEY")
FIELD_HASH_KEY = env("BANGFU_HASH_KEY")

DEBUG = env_bool("BANGFU_DEBUG")
ALLOWED_HOSTS = [h for h in env("BANGFU_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env("BANGFU_CSRF_TRUSTED_ORIGINS").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",  # the API docs page from its own static files, not from a CDN (the CSP below allows none)
    "django_tasks_db",
    "bangfu.common",
    "bangfu.org",
    "bangfu.registry",
    "bangfu.eligibility",
    "bangfu.matching",
    "bangfu.intake",
    "bangfu.api",
    "bangfu.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "bangfu.web.middleware.BadInputMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "bangfu.web.middleware.HtmxSignInMiddleware",
    "bangfu.web.middleware.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "bangfu.web.errors.KeyErrorMiddleware",  # a field key that does not open the stored numbers, said in words
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

# Django's two handlers, giving a file the name its sender wrote (a browser escapes `"` as %22).
FILE_UPLOAD_HANDLERS = ["bangfu.common.uploads.MemoryUploads", "bangfu.common.uploads.TemporaryUploads"]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "bangfu.web.context.navigation",
            ],
        },
    },
]

_database_url = env("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'bangfu.sqlite3'}"
try:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=int(env("BANGFU_DB_CONN_MAX_AGE", "60")))}
except (ValueError, dj_database_url.UnknownSchemeError) as exc:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"DATABASE_URL is not a database address bangfu can use ({exc}); "
        "e.g. sqlite:///var/bangfu.sqlite3 or postgres://user:password@host:5432/bangfu"
    ) from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Web requests are short: JIT compilation cost more (~50 ms) than it saved on every large plan.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE avoids lock upgrades mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One cache for every web process (rate limits such as the self-test's count across all of them):
# a table in the database, created by the migrations, so the demo and CI need no other service.
# Room for many clients' counters: past MAX_ENTRIES Django culls a third of the rows, counters too.
CACHES = {
    "default": {
        "BACKEND": "bangfu.common.cache.DatabaseCache",
        "LOCATION": "bangfu_cache",
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }
}

TASKS = {
    "default": {
        "BACKEND": env("BANGFU_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A form whose CSRF token no longer holds (signed in or out in another tab): the site's own page.
CSRF_FAILURE_VIEW = "bangfu.web.errors.csrf_failure"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:household_list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
# The language of the commands (`BANGFU_LANGUAGE=en bangfu match findings`), and the pages' when
# the browser asks for none of LANGUAGES; Chinese unless set.
LANGUAGE_CODE = env("BANGFU_LANGUAGE", "zh-hans").strip().lower()
if LANGUAGE_CODE not in dict(LANGUAGES):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"BANGFU_LANGUAGE={LANGUAGE_CODE!r} is not a language of bangfu: use one of "
        + ", ".join(code for code, _name in LANGUAGES)
    )
LOCALE_PATHS = [BASE_DIR / "bangfu" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
# Dates and times as ISO in every language (``bangfu/formats``): the pages, the printouts and
# the department files then write a day one way.
FORMAT_MODULE_PATH = ["bangfu.formats"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Bootstrap, htmx and ECharts come from npm at build time (package.json); served from here.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    (prefix, NODE_MODULES / sub)
    for prefix, sub in [("vendor/bootstrap", "bootstrap/dist"), ("vendor/echarts", "echarts/dist")]
    if (NODE_MODULES / sub).is_dir()
]
MEDIA_ROOT = VAR_DIR / "media"
# Files saved through the storages are for the account the system runs as (its folder is 0700 too).
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
MEDIA_URL = "media/"
# Files with personal data (applicants' attachments, legacy import workbooks) are encrypted at rest
# by the "private" storage (bangfu.common.storage), in the same folder as before so that files
# stored before encryption are found; `bangfu files encrypt` encrypts those where they are.
# Department dataset snapshots (Parquet, read by DuckDB or Spark from their path) stay in "default".
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "private": {
        "BACKEND": "bangfu.common.storage.EncryptedStorage",
        "OPTIONS": {"backend": "django.core.files.storage.FileSystemStorage"},
    },
}
# Whether a stored file without the encryption marker (stored before encryption) is still read.
# Turn off once `bangfu files check` finds none left: a file swapped for an unencrypted one is then refused.
BANGFU_FILES_ALLOW_PLAINTEXT = env_bool("BANGFU_FILES_ALLOW_PLAINTEXT", True)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("BANGFU_SECURE_COOKIES")
SESSION_COOKIE_SAMESITE = "Lax"
# A sign-in lasts a working day, not Django's two weeks: the pages show ID numbers, incomes and
# health, often on a shared counter computer.
SESSION_COOKIE_AGE = int(env("BANGFU_SESSION_HOURS", "12")) * 3600
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True  # the pages send the token from the page (hx-headers, forms), never read the cookie
CSRF_COOKIE_SAMESITE = "Lax"
# The language chosen at the top of a page (/i18n/setlang/) is kept for a year, like a browser's own
# setting: without an age it was a cookie of the browser session, gone when the browser closed while
# the sign-in (SESSION_COOKIE_AGE) lived on. It says nothing about the person, and no script reads it.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content-Security-Policy: scripts only from this site's own files (no inline script or handler),
# so text a worker or a department file put on a page cannot run even if it escaped its escaping.
# Inline styles stay allowed: the progress bars and indentation use style="…", and htmx adds its
# indicator style.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# Behind one reverse proxy that terminates TLS and sets X-Forwarded-For and X-Forwarded-Proto: the
# client's address is the one the proxy appended (sign-in limits count per address) and a request
# the proxy took over HTTPS is secure.
BANGFU_PROXY_HEADERS = env_bool("BANGFU_PROXY_HEADERS")
if BANGFU_PROXY_HEADERS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HTTPS only: redirect plain HTTP, and tell browsers to keep to HTTPS for this many seconds.
SECURE_SSL_REDIRECT = env_bool("BANGFU_SSL_REDIRECT")
SECURE_HSTS_SECONDS = int(env("BANGFU_HSTS_SECONDS", "0"))

# No ID number in a log line (``common.logs``): not in a request line's query string (the
# development server's and the demo's access log, ``django.server``), nor in a message.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_ids": {"()": "bangfu.common.logs.RedactIdNumbers"}},
    "formatters": {
        "django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"}
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_ids"]},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server", "filters": ["redact_ids"]},
    },
    "loggers": {"django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False}},
    "root": {"handlers": ["console"], "level": env("BANGFU_LOG_LEVEL", "WARNING")},
}

# Rows per page in lists.
BANGFU_PAGE_SIZE = int(env("BANGFU_PAGE_SIZE", "25"))
# Department datasets are purged this many days after their as-of date unless set per dataset.
BANGFU_DATASET_RETENTION_DAYS = int(env("BANGFU_DATASET_RETENTION_DAYS", "180"))
# What one department file's import may take (bangfu.matching.services.import_limits): rows, and
# MB of data unpacked (a Parquet file's uncompressed data as its footer says; a CSV file's size).
# The page and the API import inside the request; the command line (bangfu match import) in its
# own process, for the files of tens of millions of rows (split a national file above it).
BANGFU_DATASET_WEB_MAX_ROWS = int(env("BANGFU_DATASET_WEB_MAX_ROWS", "5000000"))
BANGFU_DATASET_WEB_MAX_MB = int(env("BANGFU_DATASET_WEB_MAX_MB", "2048"))
BANGFU_DATASET_MAX_ROWS = int(env("BANGFU_DATASET_MAX_ROWS", "100000000"))
BANGFU_DATASET_MAX_MB = int(env("BANGFU_DATASET_MAX_MB", "40960"))
# Spark master for `bangfu match run --engine spark` (local[N] runs Spark inside this machine).
BANGFU_SPARK_MASTER = env("BANGFU_SPARK_MASTER", "local[2]")

# Applications (bangfu.intake.conf documents each; empty means the app's default).
BANGFU_INTAKE_NOTICE_DAYS = int(env("BANGFU_INTAKE_NOTICE_DAYS", "7"))
BANGFU_INTAKE_LIMIT_DAYS = json.loads(env("BANGFU_INTAKE_LIMIT_DAYS") or "{}")
BANGFU_INTAKE_CHECK_REQUIRED = [c for c in env("BANGFU_INTAKE_CHECK_REQUIRED").split(",") if c]
if env("BANGFU_INTAKE_MESSAGE_BACKENDS"):
    BANGFU_INTAKE_MESSAGE_BACKENDS = env("BANGFU_INTAKE_MESSAGE_BACKENDS").split(",")
if env("BANGFU_INTAKE_CODE_SENDER"):
    BANGFU_INTAKE_CODE_SENDER = env("BANGFU_INTAKE_CODE_SENDER")
BANGFU_INTAKE_MAX_UPLOAD_MB = int(env("BANGFU_INTAKE_MAX_UPLOAD_MB", "10"))
BANGFU_INTAKE_IMPORT_MAX_MB = int(env("BANGFU_INTAKE_IMPORT_MAX_MB", "100"))
BANGFU_INTAKE_IMPORT_BACKGROUND_KB = int(env("BANGFU_INTAKE_IMPORT_BACKGROUND_KB", "256"))
BANGFU_INTAKE_IMPORT_BACKGROUND_CELLS = int(env("BANGFU_INTAKE_IMPORT_BACKGROUND_CELLS", "200000"))
BANGFU_INTAKE_IMPORT_STALE_MINUTES = int(env("BANGFU_INTAKE_IMPORT_STALE_MINUTES", "30"))
BANGFU_INTAKE_REVIEW_AFTER_DAYS = int(env("BANGFU_INTAKE_REVIEW_AFTER_DAYS", "365"))
