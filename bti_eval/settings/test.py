"""Test settings: the real PostgreSQL and Redis when reachable, else SQLite and the filesystem broker.

With ``CI=true`` an unreachable service fails the run instead of falling back. Override the
addresses with ``TEST_DATABASE_URL`` and ``TEST_REDIS_URL``; ``TEST_DB_NAME`` names the PostgreSQL test
database (default ``test_bti_eval``), so that two suites can run side by side on one server.
"""

import os
import secrets
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import database_tuned, env

SECRET_KEY = "test-only-secret-key-not-for-production-use-0123456789abcdef"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

_CI = env.bool("CI", default=False)
_DB_URL = env("TEST_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/test")
_REDIS_URL = env("TEST_REDIS_URL", default="redis://127.0.0.1:6379/15")


def _reachable(url: str) -> bool:
    parts = urlparse(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=1):
            return True
    except OSError:
        return False


POSTGRES_AVAILABLE = _reachable(_DB_URL)
REDIS_AVAILABLE = _reachable(_REDIS_URL)
if _CI and not (POSTGRES_AVAILABLE and REDIS_AVAILABLE):
    raise ImproperlyConfigured(
        f"CI=true but PostgreSQL ({_DB_URL}: {POSTGRES_AVAILABLE}) or Redis "
        f"({_REDIS_URL}: {REDIS_AVAILABLE}) is unreachable; start them or unset CI."
    )

# A worker subprocess started by an end-to-end test must share the pytest process's test database
# and broker folder: the test passes them in TEST_DB_NAME_OVERRIDE and TEST_BROKER_DIR.
_DB_NAME_OVERRIDE = env("TEST_DB_NAME_OVERRIDE", default="")

if POSTGRES_AVAILABLE:
    DATABASES = {"default": database_tuned(env.db_url_config(_DB_URL))}
    DATABASES["default"]["TEST"] = {"NAME": env("TEST_DB_NAME", default="test_bti_eval")}
else:
    # A file, not :memory:, so that a worker subprocess can open the same test database.
    # Tuned as the embedded settings are (WAL, busy timeout, immediate transactions): a worker
    # subprocess writes to it while the tests do.
    DATABASES = {
        "default": database_tuned(
            {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": ":memory:",
                "TEST": {"NAME": str(Path(tempfile.mkdtemp(prefix="bti-test-db-")) / "test_bti_eval.sqlite3")},
            }
        )
    }
if _DB_NAME_OVERRIDE:
    DATABASES["default"]["NAME"] = _DB_NAME_OVERRIDE

if REDIS_AVAILABLE:
    CELERY_BROKER_URL = _REDIS_URL
    # The production cache backend, with a per-process prefix: parallel test runs share this Redis.
    CACHES = {
        "default": {
            "BACKEND": "bti_eval.core.cache.RedisCache",
            "LOCATION": _REDIS_URL,
            "KEY_PREFIX": f"bti-test-{os.getpid()}-{secrets.token_hex(4)}",
        }
    }
    # A fault test gives its worker a short visibility timeout, so that the task of a worker it
    # killed comes back within seconds instead of an hour.
    _VISIBILITY_TIMEOUT = env.int("TEST_BROKER_VISIBILITY_TIMEOUT", default=0)
    if _VISIBILITY_TIMEOUT:
        CELERY_BROKER_TRANSPORT_OPTIONS = {
            "visibility_timeout": _VISIBILITY_TIMEOUT,
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
        }
else:
    _broker_dir = Path(env("TEST_BROKER_DIR", default="") or tempfile.mkdtemp(prefix="bti-broker-"))
    (_broker_dir / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
# Unit tests run tasks in-process; the end-to-end test starts a real worker against the broker.
CELERY_TASK_ALWAYS_EAGER = False
