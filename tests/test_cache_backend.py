"""The Redis cache backend keeps one redis.Redis client per pool (Django's builds one per call)."""

from __future__ import annotations

import pytest
from django.conf import settings

from bti_eval.core.cache import RedisCache


@pytest.mark.skipif(not getattr(settings, "REDIS_AVAILABLE", False), reason="Redis is not reachable")
def test_one_client_serves_every_call_and_the_cache_works():
    cache = RedisCache(settings.CACHES["default"]["LOCATION"], {"KEY_PREFIX": "bti-test-cache-backend"})
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client is cache._cache.get_client("key")
    cache.set("answer", {"value": 42}, 30)
    assert cache.get("answer") == {"value": 42}
    cache.delete("answer")
    assert cache.get("answer") is None
