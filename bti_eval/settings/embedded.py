"""The embedded default (``make demo``): SQLite and a filesystem broker, no external services.

SQLite runs with write-ahead logging, a busy timeout and immediate transactions (base.database_tuned),
so that concurrent judges wait a moment for the write lock instead of getting a 503.

SECRET_KEY, when not in the environment, is generated once and kept in ``var/secret_key``.
"""

import secrets

from .base import *  # noqa: F403
from .base import CACHES, VAR_DIR

VAR_DIR.mkdir(parents=True, exist_ok=True)
_key_file = VAR_DIR / "secret_key"
if not SECRET_KEY:  # noqa: F405
    if not _key_file.exists():
        _key_file.write_text(secrets.token_urlsafe(50))
    SECRET_KEY = _key_file.read_text().strip()

WHITENOISE_USE_FINDERS = True
# Static files come straight from the finders here (nothing is collected for the demo); an empty
# STATIC_ROOT of its own keeps WhiteNoise from warning, at every start, that there is none.
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)

# kombu's filesystem transport (base's CELERY_BROKER_URL when REDIS_URL is unset): producer and
# consumer share one folder, no server needed.
_broker_dir = VAR_DIR / "broker"
for _sub in ("queue", "processed", "control"):
    (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": str(_broker_dir / "queue"),
    "data_folder_out": str(_broker_dir / "queue"),
    "processed_folder": str(_broker_dir / "processed"),
    "control_folder": str(_broker_dir / "control"),
    "store_processed": False,
}

# Reports of results (bti_eval.results.report) in files under var/: the server, the worker and
# ``manage.py export_results`` share each computation (the default cache is per process).
CACHES = {
    **CACHES,
    "results": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache" / "results"),
        "OPTIONS": {"MAX_ENTRIES": 500},
    },
}
BTI_RESULTS_CACHE = "results"
