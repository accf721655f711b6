"""Settings read from the environment.

`DATABASE_URL` selects PostgreSQL (production, CI) or SQLite; without it the embedded SQLite
database lives under `var/`. `DJANGO_SECRET_KEY` is honoured; without it a key is generated once
into `var/secret_key` (never committed).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ZEROWASTE_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    from_env = os.environ.get("DJANGO_SECRET_KEY")
    if from_env:
        return from_env
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = [
    h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "zerowaste.core",
    "zerowaste.catalog",
    "zerowaste.declarations",
    "zerowaste.portal",
    "zerowaste.transfers",
    "zerowaste.hazardous",
    "zerowaste.exchange",
    "zerowaste.indicators",
    "zerowaste.household",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "zerowaste.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "zerowaste.core.middleware.RejectNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "zerowaste.core.middleware.RequestContextMiddleware",
    "zerowaste.core.ratelimit.RateLimitMiddleware",
    "zerowaste.core.middleware.IdempotencyMiddleware",
]

ROOT_URLCONF = "zerowaste.urls"
WSGI_APPLICATION = "zerowaste.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "zerowaste.portal.context_processors.actor",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'zerowaste.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the embedded database serve a few concurrent requests.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # One test database per test process, so concurrent runs on one server never drop each other's.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:login"

# Login throttling: this many failures for one username or one address inside the window lock it out.
LOGIN_FAILURE_LIMIT = int(os.environ.get("ZEROWASTE_LOGIN_FAILURE_LIMIT", "5"))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("ZEROWASTE_LOGIN_FAILURE_WINDOW", "900"))
# A household's points link (/household/points/<token>/) is valid this many days after it was issued.
HOUSEHOLD_RESIDENT_TOKEN_MAX_AGE_DAYS = int(os.environ.get("HOUSEHOLD_RESIDENT_TOKEN_MAX_AGE_DAYS", "180"))

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "zerowaste" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [
    (f"vendor/{name}", path)
    for name, path in {
        "htmx": BASE_DIR / "node_modules" / "htmx.org" / "dist",
        "echarts": BASE_DIR / "node_modules" / "echarts" / "dist",
    }.items()
    if path.exists()
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# HSTS and secure cookies only when served over TLS (behind a proxy that says so).
USE_TLS = _env_bool("ZEROWASTE_TLS", False)
if USE_TLS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)

# Background work (large imports, recomputation) goes through the database queue; `zerowaste serve`
# runs its worker beside the web server. Tests use the immediate backend (see conftest.py).
TASKS = {
    "default": {
        "BACKEND": os.environ.get("ZEROWASTE_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# What an uploaded table may hold (zerowaste.core.tabular, ADR 0043): the file, what its zip parts
# expand to, the compression ratio of any part over 1 MB, the shared strings, rows and columns. A
# request (page, API) reads at most IMPORT_MAX_ROWS rows; the command line and background tasks more.
IMPORT_MAX_BYTES = int(os.environ.get("ZEROWASTE_IMPORT_MAX_BYTES", str(32 * 1024 * 1024)))
IMPORT_MAX_UNZIPPED_BYTES = int(os.environ.get("ZEROWASTE_IMPORT_MAX_UNZIPPED_BYTES", str(256 * 1024 * 1024)))
IMPORT_MAX_SHARED_STRINGS_BYTES = int(
    os.environ.get("ZEROWASTE_IMPORT_MAX_SHARED_STRINGS_BYTES", str(32 * 1024 * 1024))
)
IMPORT_MAX_COMPRESSION_RATIO = int(os.environ.get("ZEROWASTE_IMPORT_MAX_COMPRESSION_RATIO", "200"))
IMPORT_MAX_ROWS = int(os.environ.get("ZEROWASTE_IMPORT_MAX_ROWS", "100000"))
IMPORT_MAX_ROWS_OFFLINE = int(os.environ.get("ZEROWASTE_IMPORT_MAX_ROWS_OFFLINE", "2000000"))
IMPORT_MAX_COLUMNS = int(os.environ.get("ZEROWASTE_IMPORT_MAX_COLUMNS", "256"))
# Organization imports above this many rows run as a background task (progress on the job).
ORGANIZATION_IMPORT_BACKGROUND_ROWS = int(
    os.environ.get("ZEROWASTE_ORGANIZATION_IMPORT_BACKGROUND_ROWS", "500")
)
# A dry-run upload (checked, not imported) keeps its file this long; then only its summary is kept.
IMPORT_UPLOAD_RETENTION_HOURS = int(os.environ.get("ZEROWASTE_IMPORT_UPLOAD_RETENTION_HOURS", "24"))
# Images decoded at once per process, and the largest image decoded in full (pixels).
IMAGE_DECODE_CONCURRENCY = int(os.environ.get("ZEROWASTE_IMAGE_DECODE_CONCURRENCY", "2"))
IMAGE_MAX_PIXELS = int(os.environ.get("ZEROWASTE_IMAGE_MAX_PIXELS", "16000000"))

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if os.environ.get("ZEROWASTE_REDIS_URL"):
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["ZEROWASTE_REDIS_URL"],
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ZEROWASTE_LOG_LEVEL", "WARNING")},
}

# Idempotency records older than this may be purged.
IDEMPOTENCY_TTL_HOURS = 24

# API rate limits per token and per address (zerowaste.core.ratelimit), counted in one store that
# every gunicorn worker shares: Redis when configured, else a SQLite file under var/ (ADR 0045).
RATELIMIT_ENABLED = _env_bool("ZEROWASTE_RATELIMIT", True)
RATELIMIT_PER_TOKEN = int(os.environ.get("ZEROWASTE_RATELIMIT_PER_TOKEN", "600"))
RATELIMIT_PER_IP = int(os.environ.get("ZEROWASTE_RATELIMIT_PER_IP", "1200"))
RATELIMIT_WINDOW_S = int(os.environ.get("ZEROWASTE_RATELIMIT_WINDOW", "60"))

# The audit log's secrets live outside the database (zerowaste.core.audit_keys, ADR 0003 and 0044):
# HMAC keys that chain the entries and the Ed25519 key that signs the daily checkpoints, created on
# first use under AUDIT_KEY_DIR (never committed). ZEROWASTE_AUDIT_HMAC_KEYS="k1:<hex>,k2:<hex>"
# (the last keys new entries) replaces the key file. Signed checkpoints are written to
# AUDIT_CHECKPOINT_DIR (one directory per database), which `zerowaste audit verify` reads back.
AUDIT_KEY_DIR = Path(os.environ.get("ZEROWASTE_AUDIT_KEY_DIR", VAR_DIR / "audit-keys"))
AUDIT_HMAC_KEYS = {
    key_id.strip(): secret.strip()
    for key_id, _, secret in (
        pair.partition(":")
        for pair in os.environ.get("ZEROWASTE_AUDIT_HMAC_KEYS", "").split(",")
        if pair.strip()
    )
} or None
AUDIT_SIGNING_KEY_FILE = os.environ.get("ZEROWASTE_AUDIT_SIGNING_KEY_FILE") or None
AUDIT_SIGNING_KEY_SEED: str | None = None  # tests only: a deterministic signing key
AUDIT_TRUSTED_SIGNING_KEYS = [
    k for k in os.environ.get("ZEROWASTE_AUDIT_TRUSTED_SIGNING_KEYS", "").split(",") if k.strip()
]


def _database_label() -> str:
    """A directory name per database, so that databases sharing var/ never read each other's
    checkpoints; derived from the configuration, which a database writer cannot change."""
    import hashlib
    import re

    db = DATABASES["default"]
    sqlite = db["ENGINE"] == "django.db.backends.sqlite3"
    identity = str(db["NAME"]) if sqlite else f"{db.get('HOST') or ''}:{db.get('PORT') or ''}/{db['NAME']}"
    stem = Path(str(db["NAME"])).stem if sqlite else str(db["NAME"])
    label = f"{'sqlite' if sqlite else 'postgres'}-{stem}-{hashlib.sha256(identity.encode()).hexdigest()[:8]}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", label)


RATELIMIT_STORE = os.environ.get("ZEROWASTE_RATELIMIT_STORE") or (
    "cache:default" if os.environ.get("ZEROWASTE_REDIS_URL") else f"sqlite:{VAR_DIR / 'ratelimit.sqlite3'}"
)
AUDIT_CHECKPOINT_DIR = Path(
    os.environ.get("ZEROWASTE_AUDIT_CHECKPOINT_DIR") or VAR_DIR / "audit-checkpoints" / _database_label()
)
