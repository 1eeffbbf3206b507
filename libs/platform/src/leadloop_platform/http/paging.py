"""Cursor paging for list endpoints: `?limit=` (1..500, 100 by default) and an opaque `?cursor=`,
answered as `{"items": [...], "next": <the next page's URL> | null}` with an RFC 8288
`Link: <...>; rel="next"` header. Keyset pagination: the cursor is the last item's key, and the
next page is `WHERE key > cursor ORDER BY key LIMIT limit + 1` (never OFFSET, never the table)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import sqlalchemy as sa
from fastapi import Query, Request, Response
from pydantic import BaseModel, Field

from leadloop_platform.http.problems import Problem

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
MAX_CURSOR_CHARS = 512
T = TypeVar("T")
X = TypeVar("X")
Key = tuple[Any, ...]


class Page(BaseModel, Generic[T]):
    """One page of a list: its items, and where the next page is (null on the last one)."""

    items: list[T]
    next: str | None = Field(
        description="the next page's URL (path and query, relative to the service; the same "
        'filters and limit, a new cursor), also sent as `Link: <...>; rel="next"`; '
        "null on the last page",
        examples=["/v1/reps?limit=2&cursor=WyJyZXAtYm9iIl0", None],
    )


LINK_HEADER = {
    "description": 'RFC 8288 `<url>; rel="next"`, only when there is a next page',
    "schema": {"type": "string"},
}


def page_example(*items: dict[str, Any], next_url: str | None) -> dict[int | str, Any]:
    """A list operation's documented 200: the Link header and an example page."""
    example = {"items": list(items), "next": next_url}
    return {
        200: {
            "headers": {"Link": LINK_HEADER},
            "content": {"application/json": {"example": example}},
        }
    }


@dataclass(frozen=True)
class PageRequest:
    """What a client asked for: at most `limit` items after the key `after` (None: the first)."""

    limit: int = DEFAULT_LIMIT
    after: Key | None = None


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def encode_cursor(key: Sequence[Any]) -> str:
    """An opaque, URL-safe cursor for an item's key (base64url of its JSON, unpadded)."""
    text = json.dumps([_plain(v) for v in key], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def _typed(value: Any, kind: type) -> Any:
    if kind is datetime and isinstance(value, str):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("a time without an offset")
        return moment
    if kind is str and isinstance(value, str) and "\x00" not in value:
        return value
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(f"not a {kind.__name__}")


def decode_cursor(cursor: str, shape: Sequence[type]) -> Key:
    """The key a cursor carries, each value of its type in `shape`; ValueError if none."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not a cursor this service wrote") from exc
    if not isinstance(values, list) or len(values) != len(shape):
        raise ValueError("not a cursor of this list")
    return tuple(_typed(v, kind) for v, kind in zip(values, shape, strict=True))


def bad_cursor(reason: str) -> Problem:
    """A 422 naming the `cursor` parameter, as the edge names any invalid query parameter."""
    error = {"pointer": "/query/cursor", "field": "query.cursor", "message": reason}
    return Problem(
        422,
        f"invalid fields: query.cursor ({reason})",
        kind="validation-error",
        errors=[error | {"code": "invalid"}],
    )


def page_request(*shape: type) -> Callable[..., PageRequest]:
    """A dependency reading `limit` and `cursor` for a list whose key has the types `shape`."""

    def read(
        limit: Annotated[
            int, Query(ge=1, le=MAX_LIMIT, description="items per page (1 to 500)")
        ] = DEFAULT_LIMIT,
        cursor: Annotated[
            str | None,
            Query(
                max_length=MAX_CURSOR_CHARS,
                description="where the page starts: copied from the previous page's `next`",
            ),
        ] = None,
    ) -> PageRequest:
        if cursor is None:
            return PageRequest(limit)
        try:
            return PageRequest(limit, decode_cursor(cursor, shape))
        except ValueError as exc:
            raise bad_cursor(f"{exc}; start again without a cursor") from exc

    return read


def keyset(
    query: sa.Select[Any],
    key: Sequence[sa.ColumnElement[Any]],
    page: PageRequest,
    descending: bool = False,
) -> sa.Select[Any]:
    """The page's rows in SQL: after the cursor's key, in key order, one more than the limit."""
    if page.after is not None:
        columns = sa.tuple_(*key)
        after = sa.tuple_(*(sa.literal(v, c.type) for v, c in zip(page.after, key, strict=True)))
        query = query.where(columns < after if descending else columns > after)
    order = [c.desc() if descending else c.asc() for c in key]
    return query.order_by(*order).limit(page.limit + 1)


def page_of(
    found: Sequence[X],
    page: PageRequest,
    request: Request,
    response: Response,
    key: Callable[[X], Key],
) -> tuple[list[X], str | None]:
    """The page's items (`found` is up to limit + 1 of them) and the next page's URL, which is
    also set as the Link header; the request's other query parameters (filters) are kept."""
    items = list(found[: page.limit])
    if len(found) <= page.limit:
        return items, None
    url = request.url.include_query_params(limit=page.limit, cursor=encode_cursor(key(items[-1])))
    next_url = f"{url.path}?{url.query}"
    response.headers["Link"] = f'<{next_url}>; rel="next"'
    return items, next_url
