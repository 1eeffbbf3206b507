"""Cursor paging (issue #14, item 11): a cursor round-trips its key, a cursor that does not decode
is a 422 naming it (never a 500), limit is 1..500, and the next link keeps the filters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

import httpx
import pytest
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request, Response
from sqlalchemy.dialects import postgresql

from leadloop_platform.http.paging import (
    Page,
    PageRequest,
    decode_cursor,
    encode_cursor,
    keyset,
    page_of,
    page_request,
)
from leadloop_platform.http.problems import install_problem_handlers

AT = datetime(2026, 11, 4, 9, 15, 0, 123456, tzinfo=UTC)
REPS = [f"rep-{name}" for name in ("alice", "bob", "carol", "dan", "erin")]


def test_a_cursor_round_trips_its_key_and_is_url_safe() -> None:
    cursor = encode_cursor([AT, "rep-ä/+?&="])
    assert cursor.isascii() and not set(cursor) & set("+/=?&%")
    assert decode_cursor(cursor, (datetime, str)) == (AT, "rep-ä/+?&=")
    assert decode_cursor(encode_cursor([7]), (int,)) == (7,)


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        "%%%",
        encode_cursor(["rep-alice"]),  # one value where two are keyed
        encode_cursor([AT, 3]),  # a number where a name is
        encode_cursor(["yesterday", "rep-alice"]),
        encode_cursor(["2026-11-04T09:15:00", "rep-alice"]),  # no offset
        encode_cursor([AT, "rep-\x00"]),
        "eyJhIjogMX0",  # {"a": 1}
    ],
)
def test_a_cursor_this_list_did_not_write_is_refused(cursor: str) -> None:
    with pytest.raises(ValueError):
        decode_cursor(cursor, (datetime, str))


def test_the_sql_is_a_keyset_never_an_offset() -> None:
    t = sa.table("reps", sa.column("created_at", sa.DateTime(timezone=True)), sa.column("id"))
    first = keyset(sa.select(t), [t.c.created_at, t.c.id], PageRequest(limit=2), descending=True)
    after = keyset(sa.select(t), [t.c.created_at, t.c.id], PageRequest(2, (AT, "rep-bob")))
    sql = [str(q.compile(dialect=postgresql.dialect())) for q in (first, after)]
    assert "WHERE" not in sql[0] and "DESC" in sql[0]
    assert "(reps.created_at, reps.id) > (" in sql[1]
    assert all("LIMIT" in s and "OFFSET" not in s for s in sql)
    params = after.compile().params
    assert 3 in params.values()  # limit + 1: whether another page follows
    assert AT in params.values() and "rep-bob" in params.values()


def list_app() -> FastAPI:
    """A list of five reps paged by name, with a `team` filter the next link must keep."""
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/v1/reps", response_model=Page[str])
    async def list_reps(
        request: Request,
        response: Response,
        page: Annotated[PageRequest, Depends(page_request(str))],
        team: str | None = None,
    ) -> Page[str]:
        after = page.after[0] if page.after else ""
        found = [r for r in REPS if r > after][: page.limit + 1]
        items, next_url = page_of(found, page, request, response, key=lambda r: (r,))
        return Page[str](items=items, next=next_url)

    return app


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=list_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://routing") as client:
        yield client


async def test_pages_follow_next_with_the_filters_until_null(http: httpx.AsyncClient) -> None:
    seen, links = [], []
    url: str | None = "/v1/reps?team=dach&limit=2"
    while url is not None:
        r = await http.get(url)
        assert r.status_code == 200, r.text
        seen += r.json()["items"]
        url = r.json()["next"]
        links.append(r.headers.get("link"))
        if url is not None:
            assert "team=dach" in url and "limit=2" in url
            assert links[-1] == f'<{url}>; rel="next"'
    assert seen == REPS
    assert len(links) == 3 and links[-1] is None
    everything = (await http.get("/v1/reps")).json()
    assert everything == {"items": REPS, "next": None}


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=many"])
async def test_a_limit_out_of_bounds_is_a_422_naming_it(
    http: httpx.AsyncClient, query: str
) -> None:
    r = await http.get(f"/v1/reps?{query}")
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == ["query.limit"]
    assert (await http.get("/v1/reps?limit=500")).status_code == 200


@pytest.mark.parametrize("cursor", ["%%%", "WyJyZXAtYWxpY2UiLDFd", "x" * 600, "e30"])
async def test_a_bad_cursor_is_a_422_naming_it(http: httpx.AsyncClient, cursor: str) -> None:
    r = await http.get("/v1/reps", params={"cursor": cursor})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    [error] = r.json()["errors"]
    assert error["field"] == "query.cursor" and error["pointer"] == "/query/cursor"


def test_the_page_shape_is_documented() -> None:
    document = list_app().openapi()
    schema = document["components"]["schemas"]["Page_str_"]
    assert set(schema["required"]) == {"items", "next"}
    assert schema["properties"]["next"]["examples"]
    parameters = document["paths"]["/v1/reps"]["get"]["parameters"]
    limit = next(p for p in parameters if p["name"] == "limit")
    assert limit["schema"]["minimum"] == 1 and limit["schema"]["maximum"] == 500
    assert limit["schema"]["default"] == 100
