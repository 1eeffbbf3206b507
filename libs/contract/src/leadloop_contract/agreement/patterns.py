"""The agreement's patterns (regex fit rules, student titles), matched by RE2 in linear time.

Python's `re` backtracks: `^(\\w+\\s?)+$` on a 30-character job title takes a minute, and scoring
matches on its event loop for every form fill. RE2 never backtracks, so a match costs time in
proportion to the pattern and the text, whatever the pattern; the price is that RE2 has no
backreferences and no lookaround, and such a pattern is refused when the agreement is published.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol, cast

import re2  # type: ignore[import-untyped]  # google-re2 ships no type information

from leadloop_contract.bounds import MAX_TEXT

MAX_PATTERN = 300
"""Characters in one pattern of the agreement."""
MAX_SUBJECT = MAX_TEXT
"""Characters of a profile field a pattern reads (profile fields are no longer than this)."""
_MAX_MEMORY = 1 << 20  # RE2's budget for one compiled pattern; a bigger one does not compile


class CompiledPattern(Protocol):
    """What scoring uses of an RE2 pattern."""

    def search(self, text: str) -> object | None: ...


class PatternRefused(ValueError):
    """A pattern too long, or one RE2 cannot compile (backreferences, lookaround, bad syntax)."""


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> CompiledPattern:
    """The pattern compiled by RE2, case-insensitive; PatternRefused says why it cannot be."""
    if len(pattern) > MAX_PATTERN:
        raise PatternRefused(f"is {len(pattern)} characters; at most {MAX_PATTERN} are allowed")
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # the error goes back to whoever published the agreement
    options.max_mem = _MAX_MEMORY
    try:
        return cast(CompiledPattern, re2.compile(pattern, options))
    except re2.error as exc:
        detail = exc.args[0] if exc.args else "unknown error"
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise PatternRefused(
            f"RE2 cannot compile it ({detail}); patterns use RE2 syntax: "
            "no backreferences, no lookahead or lookbehind"
        ) from exc


def search(pattern: str, text: str) -> bool:
    """Whether the pattern occurs anywhere in the text (its first MAX_SUBJECT characters)."""
    return compile_pattern(pattern).search(text[:MAX_SUBJECT]) is not None
