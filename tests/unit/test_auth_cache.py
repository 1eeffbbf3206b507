"""The auth cache: keyed by the key's SHA-256, bounded (least recently used out), expiring, and
dropping a revoked key's entries. The red team's flood (unique 2 MB bogus tokens, each cached
under its raw value) cannot grow it: unknown tokens are never stored, known ones take 64 bytes."""

from __future__ import annotations

import hashlib
import secrets
from types import SimpleNamespace

import pytest

from leadloop_platform.auth import guard
from leadloop_platform.auth.cache import AuthCache
from leadloop_platform.auth.guard import resolve
from leadloop_platform.auth.keys import Principal, hash_key

READER = Principal(key_id="k-reader", scopes=frozenset({"reports:read"}))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_entries_are_bounded_least_recently_used_first_out() -> None:
    cache = AuthCache(max_entries=3)
    for n in range(3):
        cache.put(f"d{n}", Principal(key_id=f"k{n}", scopes=frozenset()))
    assert cache.get("d0") is not None  # d0 is now the most recently used
    cache.put("d3", READER)
    assert len(cache) == 3
    assert cache.get("d1") is None and cache.get("d0") is not None


def test_entries_expire_and_a_revoked_key_is_dropped() -> None:
    clock = FakeClock()
    cache = AuthCache(ttl_s=10, clock=clock)
    cache.put("d-reader", READER)
    cache.put("d-other", Principal(key_id="k-other", scopes=frozenset()))
    clock.now += 9.9
    assert cache.get("d-reader") == READER
    cache.drop("k-reader")
    assert cache.get("d-reader") is None and cache.get("d-other") is not None
    clock.now += 0.2
    assert cache.get("d-other") is None


async def test_a_flood_of_unique_huge_bogus_tokens_does_not_grow_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    known = "llk_known_" + secrets.token_hex(16)
    lookups: list[str] = []

    async def find_by_hash(_engine: object, digest: str) -> Principal | None:
        """The database's answer: one key exists."""
        lookups.append(digest)
        return READER if digest == hash_key(known) else None

    monkeypatch.setattr(guard, "find_by_hash", find_by_hash)
    cache = AuthCache()
    state = SimpleNamespace(
        settings=SimpleNamespace(bootstrap_api_key=None), engine=None, auth_cache=cache
    )
    for n in range(200):
        token = f"{n:06d}" + "x" * 2_000_000  # 2 MB each, as in the red team's flood
        assert await resolve(state, token) is None
    assert len(cache) == 0
    assert await resolve(state, known) == READER
    assert await resolve(state, known) == READER
    assert len(cache) == 1
    assert lookups.count(hash_key(known)) == 1  # the second call was served from the cache
    assert cache.get(hashlib.sha256(known.encode()).hexdigest()) == READER
