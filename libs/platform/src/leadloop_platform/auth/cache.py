"""The principals of recently seen API keys, kept briefly so a busy caller costs no query per
request. Entries are keyed by the key's SHA-256 (never the key itself), only keys that exist
are kept (an unknown token costs a query, never memory), and the size is bounded (least
recently used first out)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from leadloop_platform.auth.keys import Principal

CACHE_SECONDS = 10.0
MAX_ENTRIES = 1024


class AuthCache:
    """Known keys' principals by SHA-256 digest, for `ttl_s`, at most `max_entries` of them."""

    def __init__(
        self,
        ttl_s: float = CACHE_SECONDS,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: str) -> Principal | None:
        """The cached principal, or None when absent or older than the TTL."""
        hit = self._entries.get(digest)
        if hit is None:
            return None
        if self.clock() - hit[0] >= self.ttl_s:
            del self._entries[digest]
            return None
        self._entries.move_to_end(digest)
        return hit[1]

    def put(self, digest: str, principal: Principal) -> None:
        """Remember a key that exists; the least recently used entry leaves when full."""
        self._entries[digest] = (self.clock(), principal)
        self._entries.move_to_end(digest)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def drop(self, key_id: str | None = None) -> None:
        """Forget one key's entries (a revocation), or every entry when `key_id` is None."""
        if key_id is None:
            self._entries.clear()
            return
        for digest in [d for d, (_, p) in self._entries.items() if p.key_id == key_id]:
            del self._entries[digest]

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()
