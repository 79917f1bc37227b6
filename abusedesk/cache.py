"""Django's Redis cache, with one client object per connection pool.

Django's client builds a new ``redis.Redis`` for every cache call (its
constructor fills a table of a few hundred response callbacks), which was
about a millisecond of CPU per dashboard view for five calls. A ``redis.Redis``
only borrows a connection from its pool for each command, so one per pool
serves every thread of the process; after a fork the pool itself opens new
connections (redis-py checks the process id).
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None or client.connection_pool is not pool:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class DeskRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
