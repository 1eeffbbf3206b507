"""Entity tags (RFC 9110): a representation's ETag, If-None-Match for reads (304), If-Match for
writes (412 when the representation changed since the client read it)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import Request

from leadloop_platform.http.problems import Problem

ETAG_HEADER = {"description": "the representation's entity tag", "schema": {"type": "string"}}
IF_MATCH_FAILED = {
    "description": "If-Match names an entity tag that is not the current one "
    "(or the resource does not exist)"
}


def quoted(tag: str) -> str:
    """A strong entity tag: the opaque value in double quotes."""
    return f'"{tag}"'


def etag_of(representation: Any) -> str:
    """The strong entity tag of a JSON representation: a hash of its canonical JSON."""
    canonical = json.dumps(representation, sort_keys=True, separators=(",", ":"), default=str)
    return quoted(hashlib.sha256(canonical.encode()).hexdigest()[:32])


def _listed(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def not_modified(request: Request, etag: str) -> bool:
    """Whether If-None-Match names `etag` (compared weakly, as RFC 9110 says) or is `*`."""
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    tags = _listed(header)
    return "*" in tags or etag in {t.removeprefix("W/") for t in tags}


def require_match(request: Request, etag: str | None) -> None:
    """Raise a 412 unless If-Match is absent or names `etag` (None: nothing exists yet)."""
    header = request.headers.get("if-match")
    if header is None:
        return
    tags = _listed(header)
    # If-Match compares strongly: a weak tag never matches
    if etag is not None and ("*" in tags or etag in tags):
        return
    current = "the resource does not exist" if etag is None else f"the current ETag is {etag}"
    raise Problem(
        412,
        f"If-Match {header} does not match: {current}; read it again and retry",
        kind="precondition-failed",
        title="Precondition failed",
    )
