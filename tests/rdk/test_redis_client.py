"""The shared cache's Redis client parses replies in C (hiredis), not Python."""

from redis.utils import HIREDIS_AVAILABLE


def test_redis_replies_are_parsed_by_hiredis():
    from redis._parsers import _HiredisParser
    from redis.connection import DefaultParser

    assert HIREDIS_AVAILABLE
    assert DefaultParser is _HiredisParser
