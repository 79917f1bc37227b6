"""The desk's Redis cache: Django's, with one client object per pool."""

from django.core.cache import cache, caches

from abusedesk.cache import DeskRedisCache


def test_every_call_shares_one_client_and_the_values_round_trip():
    assert isinstance(caches["default"], DeskRedisCache)
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client() is client
    cache.set("test-shared-client", {"n": 1}, 30)
    assert cache.get("test-shared-client") == {"n": 1}
    assert cache.get_many(["test-shared-client", "test-absent"]) == {
        "test-shared-client": {"n": 1}
    }
    assert cache._cache.get_client(write=True) is client
