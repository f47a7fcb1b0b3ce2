"""Production (docker-compose): PostgreSQL, Redis, gunicorn. SECRET_KEY is required, DEBUG off."""

from .base import *  # noqa: F403
from .base import database_tuned, env

SECRET_KEY = env("SECRET_KEY")  # ImproperlyConfigured when missing: no default key in production
DATABASES = {"default": database_tuned(env.db("DATABASE_URL"))}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
CELERY_BROKER_URL = env("REDIS_URL")
# Sessions are read on every request: from Redis, written through to PostgreSQL (durable).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# Rate limits must be shared by every gunicorn worker: Redis (CACHE_URL, default REDIS_URL), through
# Django's Redis backend keeping its client (bti_eval.core.cache).
CACHES = {
    "default": {
        "BACKEND": "bti_eval.core.cache.RedisCache",
        "LOCATION": env("CACHE_URL", default=CELERY_BROKER_URL),
        "KEY_PREFIX": "bti-cache",
    }
}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
