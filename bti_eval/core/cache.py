"""The Redis cache backend with one ``redis.Redis`` client per connection pool.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache call; its
constructor (the response-callback tables) was about 7% of a judge request's CPU, since every
request reads its session through the cache (``cached_db``). A ``redis.Redis`` is safe to share
between threads (it takes a connection from its pool per command), and Django's caches are per
thread anyway, so this backend keeps the client it built.

Use ``"BACKEND": "bti_eval.core.cache.RedisCache"`` with the same LOCATION and OPTIONS as
Django's ``django.core.cache.backends.redis.RedisCache``.
"""

from __future__ import annotations

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
