"""Settings shared by every environment. Values come from the environment (django-environ)."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
VAR_DIR = Path(env("BTI_VAR_DIR", default=str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files: /api/docs/ works offline
    "bti_eval.core",
    "bti_eval.accounts",
    "bti_eval.pairs",
    "bti_eval.rounds",
    "bti_eval.judging",
    "bti_eval.results",
    "bti_eval.catalogs",
    "bti_eval.demo",
]

MIDDLEWARE = [
    "bti_eval.core.middleware.ContentSecurityPolicyMiddleware",  # first: every response gets the header
    "django.middleware.security.SecurityMiddleware",
    "bti_eval.core.middleware.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "bti_eval.urls"
WSGI_APPLICATION = "bti_eval.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_tuned(database: dict) -> dict:
    """PostgreSQL: server-side parameter binding, so that psycopg prepares a statement the
    ``DB_PREPARE_THRESHOLD``-th time (default 2) it runs on a connection and PostgreSQL parses and
    plans it once per connection instead of once per execution. The judges' requests run the same
    few statements all day: prepared, they cost PostgreSQL about half the CPU (issue 6's load
    benchmark). ``DB_PREPARE_THRESHOLD=none`` keeps Django's default (client-side binding, nothing
    prepared), e.g. behind a transaction-pooling PgBouncer older than 1.21.

    SQLite (the embedded default): write-ahead logging, so that readers never wait for the writer;
    a busy timeout of ``SQLITE_BUSY_TIMEOUT`` seconds (default 20), so that a writer waits for the
    lock instead of failing; and immediate transactions, which take the write lock at BEGIN: a
    deferred one that reads and then writes fails at once ("database is locked", busy timeout or
    not) when another writer went first. Together they let 30 judges rate at once with no 503."""
    if database.get("ENGINE", "").endswith("sqlite3"):
        options = database.setdefault("OPTIONS", {})
        options.setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
        options.setdefault("timeout", env.float("SQLITE_BUSY_TIMEOUT", default=20.0))
        options.setdefault("transaction_mode", "IMMEDIATE")
    if database.get("ENGINE", "").endswith("postgresql"):
        threshold = str(env("DB_PREPARE_THRESHOLD", default="2")).strip().lower()
        if threshold not in ("", "none", "off", "false"):
            options = database.setdefault("OPTIONS", {})
            options.setdefault("server_side_binding", True)
            options.setdefault("prepare_threshold", int(threshold))
    return database


DATABASES = {"default": database_tuned(env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'bti_eval.sqlite3'}"))}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A ModelBackend whose get_user loads a judge's user, judge and round in one query. The only backend:
# a second ModelBackend would check a wrong password twice.
AUTHENTICATION_BACKENDS = ["bti_eval.judging.auth.JudgeAwareBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
CSRF_FAILURE_VIEW = "bti_eval.core.views.csrf_failure"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/rounds/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files served at the site's root by WhiteNoise: /favicon.ico (browsers ask for it on every page).
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# The cache holds the log-in and invite rate limits (bti_eval.core.ratelimit). Per process here;
# production shares Redis between its workers.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "bti-eval"}}
# Behind this many reverse proxies, the client address is taken from X-Forwarded-For (rate limits).
BTI_TRUSTED_PROXY_COUNT = env.int("BTI_TRUSTED_PROXY_COUNT", default=0)

# Uploads: a pair or catalog file larger than this is refused with a clear 413/400.
BTI_MAX_UPLOAD_BYTES = env.int("BTI_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = BTI_MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "bti_eval.accounts.authentication.ApiTokenAuthentication",  # hashed tokens, then DRF's
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["bti_eval.core.permissions.IsResearcher"],
    # JSON with a nesting and integer-length limit (a clear 400, never a RecursionError).
    "DEFAULT_PARSER_CLASSES": [
        "bti_eval.core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "bti_eval.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "bti_eval.core.exceptions.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "bti_eval.core.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "BTI evaluation platform API",
    "DESCRIPTION": "Import pairs, launch evaluation rounds, watch progress, rate blind, export MOS.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Request bodies get their own components: a file is "binary" there (not a URL, as in responses).
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "bti_eval.core.schema.document_error_responses",
        "bti_eval.core.schema.document_form_nulls",
        "bti_eval.rounds.schema.document_round_rules",
    ],
}

# Celery: JSON only, late acks with prefetch 1 for long explanation chunks.
# Redis when REDIS_URL names it (an empty REDIS_URL counts as unset: never Celery's AMQP default), else
# kombu's filesystem broker of the embedded mode ("localhost" only keeps kombu from warning that the
# URL names no host; the filesystem transport has none).
CELERY_BROKER_URL = env("REDIS_URL", default="") or "filesystem://localhost/"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ROUTES = {
    "bti_eval.explain_chunk": {"queue": "explain"},
    # Automatic metrics load the model too, but on a queue of their own: a job never delays explanations.
    "bti_eval.evaluate_auto_chunk": {"queue": "metrics"},
    "bti_eval.catalog_embed_chunk": {"queue": "explain"},
    "bti_eval.catalog_train_recobert": {"queue": "explain"},
}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

# Explanation work: pairs per chunk task and the model used when a round names none.
BTI_CHUNK_SIZE = env.int("BTI_CHUNK_SIZE", default=16)
BTI_DEFAULT_MODEL = env("BTI_DEFAULT_MODEL", default="")  # "" = the packaged all-MiniLM-L6-v2
BTI_EXPLAIN_DEVICE = env("BTI_EXPLAIN_DEVICE", default="")  # "" = CUDA when available, else CPU

# Results: bootstrap resamples (means; Krippendorff's alpha) and the judges' too-fast threshold
# (median seconds per rating; a round's own too_fast_seconds overrides it).
BTI_BOOTSTRAP_RESAMPLES = env.int("BTI_BOOTSTRAP_RESAMPLES", default=2000)
BTI_ALPHA_RESAMPLES = env.int("BTI_ALPHA_RESAMPLES", default=1000)
BTI_TOO_FAST_SECONDS = env.float("BTI_TOO_FAST_SECONDS", default=3.0)

# A 4xx is logged as one line (django.request would attach a traceback to every 403); a 5xx keeps it.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"client_errors_without_traceback": {"()": "bti_eval.core.logfilters.ClientErrorsWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"filters": ["client_errors_without_traceback"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
